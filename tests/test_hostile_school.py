"""A school with one good and three hostile accounts finishes: the pipeline's collect, check and render steps.

The hostile server (``tests/collectors/hostile.py``) is the config's ``demo:`` simulator, the one
internal origin the run may open. Its accounts redirect to the cloud metadata address, loop, and
trickle their body; a fourth account's collector fails on hostile input in a way no collector
error covers. Each is that account's one-line error, the good account's posts are stored and
checked, the school's report is written, and the frequency check is "not evaluated", never "pass".
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from collectors import rss
from socialaudit import pipeline
from socialaudit.models import CollectionStatus, Status
from socialaudit.weeks import IsoWeek
from tests.collectors.hostile import Canary, HostileServer
from tests.conftest import write_demo_config

W47 = IsoWeek.parse("2026-W47")
SCHOOL = "st-aidans"
HOSTILE = {"/redirect-metadata": "169.254.169.254 is a link-local address",
           "/loop-a": "the redirects go round in a loop",
           "/trickle-body": "no complete answer within the 1 s deadline"}


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    canary = Canary("127.0.0.2")
    with HostileServer(canary) as server:
        yield server
    assert canary.connections == 0  # no internal address other than the allowed origin was ever reached
    canary.close()


@pytest.fixture
def env(hostile: HostileServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    def edit(raw: dict[str, Any]) -> None:
        raw["demo"]["simulator"] = hostile.url
        school = next(s for s in raw["schools"] if s["id"] == SCHOOL)
        school["accounts"] = [{"platform": "rss", "url": f"{hostile.url}/feed"}] + [
            {"platform": "rss", "url": hostile.url + path} for path in [*HOSTILE, "/blog/feed"]]
        school["calendars"] = []
        raw["schools"] = [school]

    config = write_demo_config(hostile.url, tmp_path / "trust.yaml", edit=edit)
    output = tmp_path / "output"
    monkeypatch.setenv("SOCIALAUDIT_CONFIG", str(config))
    monkeypatch.setenv("SOCIALAUDIT_OUTPUT", str(output))
    monkeypatch.setenv("SOCIALAUDIT_DB_URL", f"sqlite:///{output / 'socialaudit.db'}")
    monkeypatch.setenv("SOCIALAUDIT_HTTP_DEADLINE", "1")
    return pipeline.Environment.from_env()


def test_hostile_accounts_are_confined_and_the_school_finishes(env, hostile, monkeypatch, capsys):
    # The blog's collector meets something no collector error covers (as a parser's RecursionError did).
    real_parse = rss.parse_feed

    def parse(body: bytes, **kwargs: Any) -> Any:
        if "/blog/" in kwargs["feed_url"]:
            raise RecursionError("maximum recursion depth exceeded")
        return real_parse(body, **kwargs)

    monkeypatch.setattr(rss, "parse_feed", parse)
    out = pipeline.collect_school(SCHOOL, W47, "run-hostile", env)

    statuses = {c.account: c for c in env.store().collections_for(W47, SCHOOL)}
    good = statuses[f"{hostile.url}/feed"]
    assert good.status is CollectionStatus.OK and good.posts == 2
    for path, words in HOSTILE.items():
        failed = statuses[hostile.url + path]
        assert failed.status is CollectionStatus.ERROR and words in failed.message, failed.message
        assert "\n" not in failed.message
    blog = statuses[f"{hostile.url}/blog/feed"]
    assert blog.status is CollectionStatus.ERROR
    assert blog.message == "RecursionError: maximum recursion depth exceeded"
    assert out["posts"] == 2 and env.store().count_posts() == 2  # the good account's posts are kept
    printed = capsys.readouterr()
    assert "Traceback" not in printed.out + printed.err  # the task log gets one line per failed account

    checked = pipeline.check_school(SCHOOL, W47, "run-hostile", env)
    assert checked["statuses"]["post_frequency"] == Status.NOT_EVALUATED.value  # never "pass"
    frequency = next(r for r in env.store().results_for(W47, SCHOOL) if r.check == "post_frequency")
    assert "could not be collected" in frequency.summary

    rendered = pipeline.render_school(SCHOOL, W47, "run-hostile", env)
    assert Path(rendered["report"]).is_file()


@pytest.mark.slow
def test_a_full_run_with_hostile_accounts_succeeds_with_them_not_evaluated(env, hostile):
    """Through the DAG (dag.test): the run succeeds, the school has its report, the hostile accounts are named."""
    from socialaudit.cli.run import run_week

    run = run_week(W47)
    assert run.state == "success"
    statuses = {c.account: c.status for c in env.store().collections_for(W47, SCHOOL)}
    assert statuses[f"{hostile.url}/feed"] is CollectionStatus.OK
    assert all(statuses[hostile.url + path] is CollectionStatus.ERROR for path in HOSTILE)
    assert statuses[f"{hostile.url}/blog/feed"] is CollectionStatus.PARTIAL  # page 2 refused, page 1 kept
    # the good feed's 2 posts and the blog's first page's 2 meet the minimum of 3 whatever the failed
    # accounts hold: a pass stands on posts seen (with 2 seen it is "not evaluated", as above)
    frequency = next(r for r in env.store().results_for(W47, SCHOOL) if r.check == "post_frequency")
    assert frequency.status is Status.PASS and frequency.metrics["posts"] == 4, frequency
    report = (env.output / "reports" / "2026-W47" / "schools" / f"{SCHOOL}.html").read_text(encoding="utf-8")
    assert "169.254.169.254 is a link-local address" in report and "Traceback" not in report


def test_every_failure_leaves_its_reason_and_what_came_in_raw(hostile, tmp_path, monkeypatch):
    """"The raw response kept" holds for every failure: a body refused for its size keeps its start
    (64 KiB at most), a refused redirect hop and a loop keep each redirect followed, and a page that
    failed after earlier pages keeps its reason beside them, each in the account's raw folder, sealed."""
    import gzip
    import json

    from collectors._base import KEPT_BYTES
    from socialaudit.raw import FAILED, FAILED_BODY, RawArchive, kept_page

    def edit(raw: dict[str, Any]) -> None:
        raw["demo"]["simulator"] = hostile.url
        school = next(s for s in raw["schools"] if s["id"] == SCHOOL)
        school["accounts"] = [{"platform": "rss", "url": hostile.url + path}
                              for path in ("/feed", "/huge-body", "/redirect-metadata", "/loop-a", "/blog/feed")]
        school["calendars"] = []
        raw["schools"] = [school]

    config = write_demo_config(hostile.url, tmp_path / "trust.yaml", edit=edit)
    env = pipeline.Environment(config=config, output=tmp_path / "output",
                               db_url=f"sqlite:///{tmp_path / 'output' / 'socialaudit.db'}")
    pipeline.collect_school(SCHOOL, W47, "run-raw", env)
    raw = RawArchive(env.output / "raw" / str(W47) / "run-raw" / SCHOOL)

    def kept(path: str) -> tuple[dict[str, Any] | None, bytes | None]:
        folder = raw.for_account("rss", hostile.url + path).folder
        meta = json.loads((folder / FAILED).read_text(encoding="utf-8")) if (folder / FAILED).exists() else None
        body = gzip.decompress((folder / FAILED_BODY).read_bytes()) if (folder / FAILED_BODY).exists() else None
        return meta, body

    assert kept("/feed") == (None, None)  # a good account leaves its pages only
    huge, start = kept("/huge-body")
    assert huge is not None and huge["error"].endswith("response exceeds the 10485760-byte cap")
    assert huge["status"] == 200 and huge["content_type"] == "application/rss+xml" and huge["pages_kept"] == 0
    assert start is not None and len(start) == KEPT_BYTES == huge["body_bytes_kept"] and start.startswith(b"<rss><!-- xxx")
    metadata, nothing = kept("/redirect-metadata")
    assert metadata is not None and nothing is None and "169.254.169.254 is a link-local address" in metadata["error"]
    assert metadata["redirects"] == [{"url": f"{hostile.url}/redirect-metadata", "status": 302,
                                      "location": "http://169.254.169.254/latest/meta-data/iam/security-credentials/"}]
    loop, _ = kept("/loop-a")
    assert loop is not None and "the redirects go round in a loop" in loop["error"]
    assert [(r["url"], r["status"]) for r in loop["redirects"]] == [(f"{hostile.url}/loop-a", 302),
                                                                    (f"{hostile.url}/loop-b", 307)]
    blog, _ = kept("/blog/feed")  # page 2 redirected to an internal address: page 1 kept, and why it stopped
    assert blog is not None and blog["pages_kept"] == 1 and blog["error"].startswith("page 2 failed: ")
    assert blog["redirects"][0]["url"] == f"{hostile.url}/blog/page-2-fails"
    folder = raw.for_account("rss", f"{hostile.url}/blog/feed").folder
    assert kept_page(lambda name: (folder / name).read_bytes() if (folder / name).exists() else None, "", 1)
