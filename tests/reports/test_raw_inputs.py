"""What the checks read besides the posts is kept with the run: a school's calendars, as they were
read, land in the run's raw folder, which the archive seals, so an auditor can see the events a 4.4
finding was judged on."""

from __future__ import annotations

import gzip
import json
from typing import Any

import requests

from socialaudit.environment import safe_run_id
from tests.reports.conftest import WEEK


def test_each_calendar_read_is_kept_in_the_runs_raw_folder_and_sealed(demo_week: Any) -> None:
    from socialaudit import archive

    config = demo_week.load()
    raw = demo_week.output / "raw" / str(WEEK) / safe_run_id("test_run")
    url = config.school("holy-cross").calendars[0]
    [body] = (raw / "holy-cross" / "calendar").rglob("page-0000.body.gz")
    assert gzip.decompress(body.read_bytes()) == requests.get(url, timeout=10).content
    meta = json.loads(body.with_name("page-0000.json").read_text(encoding="utf-8"))
    assert meta["platform"] == "calendar" and meta["url"] == url and meta["content_type"] == "text/calendar"
    # a calendar that could not be read leaves nothing to keep, and its school's check says why
    assert not (raw / "st-josephs" / "calendar").exists()
    archive.archive_run(WEEK, "test_run", demo_week)
    sealed = archive.open_archive(demo_week.output)
    [entry] = [e for e in sealed.runs() if e["week"] == str(WEEK)]
    names = sealed.read_json(entry["folder"], archive.MANIFEST)["files"]
    assert any(n.startswith("raw/holy-cross/calendar/") and n.endswith(".body.gz") for n in names)
