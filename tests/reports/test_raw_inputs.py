"""What the checks read besides the posts is kept with the run: a school's calendars, as they were
read, and the link resolutions its external_links check judged (each request's answer), land in the
run's raw folder, which the archive seals, so an auditor can see what a 4.4 or 4.1 finding was
judged on."""

from __future__ import annotations

import gzip
import json
from typing import Any

import requests

from socialaudit.environment import safe_run_id
from socialaudit.raw import kept_page, page_body
from tests.reports.conftest import WEEK


def test_each_calendar_read_is_kept_in_the_runs_raw_folder_and_sealed(demo_week: Any) -> None:
    from socialaudit import archive

    config = demo_week.load()
    raw = demo_week.output / "raw" / str(WEEK) / safe_run_id("test_run")
    url = config.school("holy-cross").calendars[0]
    [pages] = (raw / "holy-cross" / "calendar").rglob("pages.jsonl.gz")
    assert sorted(p.name for p in pages.parent.iterdir()) == ["pages.jsonl.gz"]  # one file for the calendar
    [meta] = [json.loads(line) for line in gzip.decompress(pages.read_bytes()).splitlines()]
    assert page_body(meta) == requests.get(url, timeout=10).content
    assert meta["platform"] == "calendar" and meta["url"] == url and meta["content_type"] == "text/calendar"
    assert meta["page"] == 0 and meta["bytes"] == len(page_body(meta))
    # a calendar that could not be read leaves no body, only why, as its school's check says
    [failed] = (raw / "st-josephs" / "calendar").rglob("*.json")
    assert failed.name == "failed.json" and [p.name for p in failed.parent.iterdir()] == ["failed.json"]
    assert json.loads(failed.read_text(encoding="utf-8"))["error"] == "HTTP 404"
    archive.archive_run(WEEK, "test_run", demo_week)
    sealed = archive.open_archive(demo_week.output)
    [entry] = [e for e in sealed.runs() if e["week"] == str(WEEK)]
    names = sealed.read_json(entry["folder"], archive.MANIFEST)["files"]
    assert any(n.startswith("raw/holy-cross/calendar/") and n.endswith("/pages.jsonl.gz") for n in names)
    assert "raw/st-josephs/calendar/" + failed.relative_to(raw / "st-josephs" / "calendar").as_posix() in names


def test_each_link_resolution_the_check_judged_is_kept_with_every_answer_and_sealed(demo_week: Any) -> None:
    """In the demo, Sacred Heart posts a scouts link and a shortened maths link that ends at a
    blocklisted casino: the kept resolutions show each request and its answer, the short link's 301
    to the casino, and the hop the resolver stopped at without opening it."""
    from socialaudit import archive
    from socialaudit.links import HopAnswer, read_kept

    raw = demo_week.output / "raw" / str(WEEK) / safe_run_id("test_run")
    kept = {pages.parts[-4]: read_kept(kept_page(lambda name, folder=pages.parent: (folder / name).read_bytes(), ""))
            for pages in raw.glob("*/links/resolutions/pages.jsonl.gz")}
    assert sorted(kept) == ["sacred-heart"]
    scouts, short = "http://northmoor-scouts.demo.example/web/camp", "http://short.demo.example/s/maths"
    casino = "http://mathsgames-casino.demo.example/web/spin"
    resolutions = kept["sacred-heart"]
    assert sorted(resolutions) == [scouts, short]
    assert resolutions[scouts].answers == (HopAnswer(method="HEAD", url=scouts, status=200),)
    assert resolutions[short].chain == (short, casino) and resolutions[short].stopped == "blocklisted: gambling"
    assert resolutions[short].answers == (HopAnswer(method="HEAD", url=short, status=301, location=casino),)
    [result] = [r for r in demo_week.store().results_for(WEEK, "sacred-heart") if r.check == "external_links"]
    assert result.metrics["resolved"] == 2 and any("mathsgames-casino" in f.message for f in result.findings)
    archive.archive_run(WEEK, "test_run", demo_week)
    sealed = archive.open_archive(demo_week.output)
    [entry] = [e for e in sealed.runs() if e["week"] == str(WEEK)]
    names = sealed.read_json(entry["folder"], archive.MANIFEST)["files"]
    assert "raw/sacred-heart/links/resolutions/pages.jsonl.gz" in names
