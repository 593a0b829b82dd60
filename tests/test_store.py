"""The audit store: upserts never duplicate, results are replaced per school and week."""

from __future__ import annotations

import pytest

from socialaudit.models import AccountCollection, CheckResult, CollectionStatus, Finding, Severity, Status
from socialaudit.weeks import IsoWeek

W47 = IsoWeek.parse("2026-W47")


def test_posts_upsert_by_platform_account_and_id(store, make_post):
    store.upsert_posts([make_post(id="1"), make_post(id="2")], run_id="r1")
    store.upsert_posts([make_post(id="1", text="Edited text of the first post.")], run_id="r2")
    assert store.count_posts() == 2
    start, end = W47.bounds()
    stored = {p.id: p for p in store.posts_for("st-aidans", start, end)}
    assert stored["1"].text == "Edited text of the first post."
    # the same id on another platform is another post
    store.upsert_posts([make_post(id="1", platform="mastodon")], run_id="r2")
    assert store.count_posts() == 3


def test_posts_for_filters_school_and_window(store, make_post):
    from datetime import datetime, timezone

    store.upsert_posts([make_post(id="in"), make_post(id="other", school="holy-cross"),
                        make_post(id="late", created_at=datetime(2026, 11, 30, tzinfo=timezone.utc))], run_id="r")
    start, end = W47.bounds()
    assert [p.id for p in store.posts_for("st-aidans", start, end)] == ["in"]


def _result(findings: int) -> CheckResult:
    items = tuple(Finding(check="post_frequency", severity=Severity.BREACH, status=Status.FAIL, school="st-aidans",
                          policy="4.3", message=f"finding {i}") for i in range(findings))
    return CheckResult(check="post_frequency", policy="4.3", school="st-aidans",
                       status=Status.FAIL if findings else Status.PASS, summary="s", findings=items, metrics={"posts": 1})


def test_results_and_findings_are_replaced_not_appended(store):
    store.save_results(W47, "st-aidans", [_result(2)], run_id="r1")
    store.save_results(W47, "st-aidans", [_result(1)], run_id="r2")
    [result] = store.results_for(W47, "st-aidans")
    assert len(result.findings) == 1
    assert result.metrics == {"posts": 1}
    store.save_results(W47, "st-aidans", [_result(0)], run_id="r3")
    [result] = store.results_for(W47, "st-aidans")
    assert result.status is Status.PASS and result.findings == ()
    assert store.findings_between(W47, W47) == []


def test_collections_replaced_per_week_and_school(store):
    ok = AccountCollection(school="st-aidans", platform="rss", account="a", status=CollectionStatus.OK, posts=3)
    gone = AccountCollection(school="st-aidans", platform="rss", account="b", status=CollectionStatus.UNAVAILABLE)
    store.record_collections(W47, "st-aidans", [ok, gone], run_id="r1")
    store.record_collections(W47, "st-aidans", [ok], run_id="r2")
    assert store.collections_for(W47, "st-aidans") == [ok]


def test_metric_history_by_week(store):
    store.save_results(W47, "st-aidans", [_result(0)], run_id="r")
    history = store.metric_history("st-aidans", "post_frequency", W47.previous(3))
    assert history == {"2026-W47": {"status": "pass", "posts": 1}}


def test_runs_recorded_and_finished(store):
    store.start_run("run-1", W47, config_source="config/trust.yaml", schools=["a", "b"])
    store.start_run("run-1", W47, config_source="config/trust.yaml", schools=["a", "b"])  # a retried plan task
    store.finish_run("run-1", state="failed", missing=["b"])
    [run] = store.list_runs(W47)
    assert run["state"] == "failed" and run["missing"] == ["b"]


def test_run_timestamps_are_aware_utc_on_every_backend(store):
    from datetime import timezone

    store.start_run("run-tz", W47, config_source="c", schools=["a"])
    store.finish_run("run-tz", state="success", missing=[])
    run = store.get_run("run-tz")
    assert run["started_at"].tzinfo is not None and run["started_at"].utcoffset().total_seconds() == 0
    assert run["finished_at"] >= run["started_at"]
    assert run["schools"] == ["a"] and run["missing"] == []
    assert store.list_runs()[0]["started_at"].tzinfo == timezone.utc


def test_post_json_round_trips_unicode_and_timestamps(store, make_post):
    from datetime import datetime, timedelta, timezone

    from socialaudit.models import Comment, Media

    local = datetime(2026, 11, 17, 23, 30, tzinfo=timezone(timedelta(hours=-5)))  # 04:30 UTC on the 18th
    post = make_post(id="u", created_at=local, text="Café «fête» 🎉 — l'école \\ \"quoted\"",
                     media=(Media(type="photo", url="https://img.example/1.jpg", alt="Pupils' art"),),
                     comments=(Comment(id="c1", post_id="u", author="A parent", text="Lovely ✨"),))
    store.upsert_posts([post], run_id="r")
    start, end = W47.bounds()
    [back] = store.posts_for("st-aidans", start, end)
    assert back == post
    assert back.created_at == datetime(2026, 11, 18, 4, 30, tzinfo=timezone.utc)


def test_upsert_keeps_first_run_and_moves_last_run(store, make_post):
    from sqlalchemy import select

    from socialaudit.store import posts

    store.upsert_posts([make_post(id="1")], run_id="first")
    store.upsert_posts([make_post(id="1")], run_id="second")
    with store.engine.connect() as conn:
        row = conn.execute(select(posts.c.first_run, posts.c.last_run)).one()
    assert (row.first_run, row.last_run) == ("first", "second")


def test_every_upsert_moves_every_column_but_the_key_and_first_run(store, make_post):
    """The upsert statement is built once per dialect and table and shared: each later upsert, from this Store
    or another on the same database, still updates every other column and keeps first_run."""
    from sqlalchemy import select

    from socialaudit.store import Store, posts

    other = Store(store.url, engine=store.engine)
    for n, (writer, text) in enumerate([(store, "First text."), (other, "Edited once."), (store, "Edited twice.")]):
        writer.upsert_posts([make_post(id="1", text=text, url=f"https://example.sch.uk/news/{n}/")], run_id=f"run{n}")
    with store.engine.connect() as conn:
        row = conn.execute(select(posts.c.first_run, posts.c.last_run, posts.c.url)).one()
    assert (row.first_run, row.last_run, row.url) == ("run0", "run2", "https://example.sch.uk/news/2/")
    start, end = W47.bounds()
    assert [p.text for p in other.posts_for("st-aidans", start, end)] == ["Edited twice."]


def test_findings_between_ordered_by_week_school_check_and_position(store):
    other = CheckResult(check="a_first_check", policy="4.1", school="st-aidans", status=Status.WARN, summary="s",
                        findings=(Finding(check="a_first_check", severity=Severity.WARNING, status=Status.WARN,
                                          school="st-aidans", policy="4.1", message="earlier check"),))
    w46 = IsoWeek.parse("2026-W46")
    store.save_results(W47, "st-aidans", [_result(3), other], run_id="r")
    store.save_results(w46, "st-aidans", [_result(1)], run_id="r")
    rows = store.findings_between(w46, W47)
    assert [(r["week"], r["check"], r["message"]) for r in rows] == [
        ("2026-W46", "post_frequency", "finding 0"),
        ("2026-W47", "a_first_check", "earlier check"),
        ("2026-W47", "post_frequency", "finding 0"),
        ("2026-W47", "post_frequency", "finding 1"),
        ("2026-W47", "post_frequency", "finding 2"),
    ]
    assert [r.check for r in store.results_for(W47, "st-aidans")] == ["a_first_check", "post_frequency"]


def test_purge_posts_before_blanks_text_and_keeps_identity(store, make_post):
    from datetime import datetime, timezone

    from socialaudit.models import Comment, Media

    old = make_post(id="old", created_at=datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc), text="Amelia in Year 2",
                    media=(Media(type="photo", url="https://img.example/o.jpg", alt="Amelia painting"),),
                    links=("https://st-aidans.example.sch.uk/news/",),
                    comments=(Comment(id="c", post_id="old", author="Parent Name", text="Well done Amelia"),))
    new = make_post(id="new", text="Kept: inside retention.")
    store.upsert_posts([old, new], run_id="r")
    cutoff = datetime(2026, 6, 1, tzinfo=timezone.utc)
    assert store.purge_posts_before(cutoff) == 1
    assert store.purge_posts_before(cutoff) == 0  # idempotent
    [purged] = store.posts_for("st-aidans", datetime(2026, 1, 1, tzinfo=timezone.utc), cutoff)
    assert (purged.id, purged.url, purged.created_at, purged.links) == (old.id, old.url, old.created_at, old.links)
    assert purged.text == "" and purged.media[0].alt == "" and purged.media[0].url == "https://img.example/o.jpg"
    assert purged.comments[0].text == "" and purged.comments[0].author == "" and purged.comments[0].id == "c"
    start, end = W47.bounds()
    assert [p.text for p in store.posts_for("st-aidans", start, end)] == ["Kept: inside retention."]
    assert store.count_posts() == 2


def test_archive_seals_are_kept_per_archive_and_never_replaced(store):
    from datetime import datetime, timezone

    from socialaudit.store import SealConflict

    sealed_at = datetime(2026, 11, 30, 6, 12, tzinfo=timezone.utc)
    seal = {"folder": "2026-W47/scheduled__2026-11-23", "seq": 1, "run_id": "scheduled__2026-11-23", "week": "2026-W47",
            "manifest_sha256": "a" * 64, "previous_sha256": None, "sealed_at": sealed_at}
    store.record_seal(archive="file:///srv/archive", **seal)
    store.record_seal(archive="file:///srv/archive", **seal)  # a retried archive task: the same seal again
    store.record_seal(archive="s3://bucket/archive", **{**seal, "manifest_sha256": "b" * 64})  # another archive
    [row] = store.seals_for("file:///srv/archive")
    assert row["manifest_sha256"] == "a" * 64 and row["sealed_at"] == sealed_at and row["previous_sha256"] is None
    assert store.sealed_archives() == ["file:///srv/archive", "s3://bucket/archive"]
    with pytest.raises(SealConflict, match=r"^file:///srv/archive: the store already holds a different seal for "
                                           r"2026-W47/scheduled__2026-11-23 \(position 1, manifest sha256 a{16}\.\.\.\)"):
        store.record_seal(archive="file:///srv/archive", **{**seal, "manifest_sha256": "c" * 64})
    assert store.seals_for("file:///srv/archive") == [row]


def test_pg_helper_says_what_is_missing(monkeypatch, tmp_path):
    """Without server binaries the PostgreSQL cases skip (or fail under SOCIALAUDIT_REQUIRE_PG=1) saying why."""
    import pytest

    from tests import pg

    monkeypatch.setattr(pg, "PG_ROOT", tmp_path / "no-postgresql")
    with pytest.raises(pg.PgUnavailable, match=r"binaries not found under .*no-postgresql \(apt-get install postgresql"):
        pg.start_server(tmp_path / "pg")


def test_retention_config_defaults_to_forever_and_is_validated():
    from pathlib import Path

    import pytest
    import yaml

    from socialaudit.config import ConfigError, parse_config

    raw = yaml.safe_load((Path(__file__).resolve().parents[1] / "config" / "trust.yaml").read_text(encoding="utf-8"))
    raw["trust"].pop("retention", None)
    retention = parse_config(raw, "trust.yaml").trust.retention
    assert (retention.raw_responses, retention.post_texts, retention.findings, retention.reports) == (None,) * 4
    raw["trust"]["retention"] = {"raw_responses": 90, "post_texts": 365}
    assert parse_config(raw, "trust.yaml").trust.retention.post_texts == 365
    for bad, message in (({"post_texts": 0}, "trust.retention.post_texts: Input should be greater than or equal to 1"),
                         ({"posts": 30}, "trust.retention.posts: Extra inputs are not permitted"),
                         ({"reports": "a year"}, "trust.retention.reports: Input should be a valid integer, unable to parse string as an integer")):
        raw["trust"]["retention"] = bad
        with pytest.raises(ConfigError) as caught:
            parse_config(raw, "trust.yaml")
        assert str(caught.value) == f"trust.yaml: {message}"


@pytest.mark.parametrize(("require", "outcome"), [("", "1 skipped"), ("1", "1 error")])
def test_without_postgresql_cases_skip_unless_required(tmp_path, require, outcome):
    """What CI relies on: SOCIALAUDIT_REQUIRE_PG=1 turns the skip into an error naming the cause."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {k: v for k, v in os.environ.items() if k not in ("SOCIALAUDIT_TEST_PG_URL", "SOCIALAUDIT_REQUIRE_PG")}
    env.update(SOCIALAUDIT_TEST_PG_ROOT=str(tmp_path / "none"), SOCIALAUDIT_REQUIRE_PG=require,
               PYTHONPATH=str(root / "plugins"))
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs",
                           "tests/test_store.py::test_upsert_keeps_first_run_and_moves_last_run[postgresql]"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert outcome in done.stdout, done.stdout[-2000:]
    assert "binaries not found under" in done.stdout
    if require:
        assert done.returncode != 0 and "PostgreSQL required (SOCIALAUDIT_REQUIRE_PG=1) but unavailable" in done.stdout


def test_from_store_is_a_column_and_an_older_database_is_migrated(store):
    """AccountCollection.from_store is stored in a column of its own. A database made before the column existed
    gets it when a Store opens it, filled from the message's first words (what the state was then); opening it
    again changes nothing."""
    from sqlalchemy import text

    from socialaudit.models import FROM_STORE
    from socialaudit.store import Store

    kept = AccountCollection(school="st-aidans", platform="rss", account="a", status=CollectionStatus.OK, posts=3,
                             message=f"{FROM_STORE} (collected by run r1)", from_store=True)
    fresh = AccountCollection(school="st-aidans", platform="rss", account="b", status=CollectionStatus.OK, posts=2)
    store.record_collections(W47, "st-aidans", [kept, fresh], run_id="r2")
    assert store.collections_for(W47, "st-aidans") == [kept, fresh]
    # the same database as the previous version left it: no column, the state only in the message
    with store.engine.begin() as conn:
        conn.execute(text("ALTER TABLE collections DROP COLUMN from_store"))
        conn.execute(text("INSERT INTO collections (week, school, platform, account, run_id, status, message, posts, "
                          "skipped, pages) VALUES ('2026-W46', 'st-aidans', 'rss', 'a', 'r0', 'ok', :m, 1, 0, 0)"),
                     {"m": f"{FROM_STORE} (collected by run r-1)"})
    for _ in range(2):
        again = Store(store.url, engine=store.engine)
        assert [c.from_store for c in again.collections_for(W47, "st-aidans")] == [True, False]
        assert [c.from_store for c in again.collections_for(IsoWeek.parse("2026-W46"), "st-aidans")] == [True]
    # once migrated, the column alone says it: the message's words no longer decide
    worded = AccountCollection(school="st-aidans", platform="rss", account="c", status=CollectionStatus.OK,
                               message="From the storeroom's feed, 2 posts")
    again.record_collections(IsoWeek.parse("2026-W48"), "st-aidans", [worded], run_id="r3")
    assert again.collections_for(IsoWeek.parse("2026-W48"), "st-aidans") == [worded]


# --- one engine per database and process (issue 12: CPU per school) ---

def test_stores_on_one_sqlite_file_share_an_engine_until_the_file_is_replaced(tmp_path, make_post):
    """Every step makes a Store; one engine per file keeps its compiled statements. A file deleted and
    made again at the same path gets a new engine: no write goes through a connection to the old file."""
    from socialaudit.store import Store

    url = f"sqlite:///{tmp_path / 'store.db'}"
    first = Store(url)
    first.upsert_posts([make_post(id="a")], run_id="r1")
    again = Store(url)
    assert again.engine is first.engine and again.count_posts() == 1
    (tmp_path / "store.db").unlink()
    for leftover in tmp_path.glob("store.db-*"):
        leftover.unlink()
    fresh = Store(url)
    assert fresh.engine is not first.engine
    assert fresh.count_posts() == 0  # the tables made again in the new file
    fresh.upsert_posts([make_post(id="b")], run_id="r2")
    assert Store(url).count_posts() == 1 and Store(url).engine is fresh.engine


def test_a_store_on_a_database_missing_a_table_makes_it(tmp_path):
    from sqlalchemy import text

    from socialaudit.store import Store

    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = Store(url)
    with store.engine.begin() as conn:
        conn.execute(text("DROP TABLE link_resolutions"))
    Store(url)  # the schema check sees the table missing and makes it
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM link_resolutions")).scalar() == 0
