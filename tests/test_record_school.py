"""pipeline._record_school on SQLite and PostgreSQL: one school's posts and statuses are one commit, and a post the
database refuses costs its own account only (nothing else collected is lost, and the failure is named in one line)."""

from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from collectors._base import CollectionResult
from collectors._pool import Outcome
from socialaudit.config import Account
from socialaudit.models import CollectionStatus, Post
from socialaudit.pipeline import _record_school, _SchoolJobs
from socialaudit.weeks import IsoWeek

WEEK = IsoWeek.parse("2026-W47")
WHEN = datetime(2026, 11, 17, 9, tzinfo=timezone.utc)
RSS = Account(platform="rss", url="https://st-aidans.example.sch.uk/feed")
MASTODON = Account(platform="mastodon", handle="@staidans@mastodon.example")


def _post(account: Account, post_id: str, *, url: str = "", text: str = "A lovely week.") -> Post:
    return Post(platform=account.platform, account=account.key, school="st-aidans", id=post_id,
                url=url or f"https://example.org/{post_id}", created_at=WHEN, text=text)


def _record(store, *results: CollectionResult):
    accounts = [RSS, MASTODON][:len(results)]
    sessions = [SimpleNamespace(scrub=lambda text: text) for _ in accounts]
    part = _SchoolJobs(school_id="st-aidans", accounts=accounts, sessions=sessions, jobs=[None] * len(accounts),
                       raw=None)
    outcomes = [Outcome(job=None, value=result) for result in results]
    return _record_school(part, outcomes, store, WEEK, "run-1")


def test_a_nul_in_hostile_input_is_dropped_not_refused(store):
    """PostgreSQL refuses NUL in text; a hostile status may carry one in its URL or text."""
    _record(store, CollectionResult(posts=[_post(RSS, "good")]),
            CollectionResult(posts=[_post(MASTODON, "bad", url="https://masto.example/\x00x", text="hi\x00there")]))
    stored = {p.id: p for p in store.posts_for("st-aidans", WHEN.replace(day=16), WHEN.replace(day=18))}
    assert sorted(stored) == ["bad", "good"]
    assert stored["bad"].url == "https://masto.example/x" and stored["bad"].text == "hithere"
    assert {c.status for c in store.collections_for(WEEK, "st-aidans")} == {CollectionStatus.OK}


def test_posts_the_database_refuses_cost_their_account_only(store):
    """A hostile post id longer than the column (255): PostgreSQL refuses it (SQLite stores it). The other account's
    posts are kept and its status stands; the refused account is an error named in one line."""
    refused_id = "9" * 300
    _, summary = _record(store, CollectionResult(posts=[_post(RSS, "good")]),
                         CollectionResult(posts=[_post(MASTODON, "fine"), _post(MASTODON, refused_id)]))
    stored = sorted(p.id for p in store.posts_for("st-aidans", WHEN.replace(day=16), WHEN.replace(day=18)))
    statuses = {c.account: c for c in store.collections_for(WEEK, "st-aidans")}
    assert statuses[RSS.key].status is CollectionStatus.OK
    assert summary["accounts"][f"rss:{RSS.key}"] == "ok"
    if store.engine.dialect.name == "postgresql":
        assert stored == ["good"]  # the account's posts go together: its status says it was not collected
        assert statuses[MASTODON.key].status is CollectionStatus.ERROR
        assert statuses[MASTODON.key].message.startswith("its posts could not be stored: ")
        assert "\n" not in statuses[MASTODON.key].message and refused_id not in statuses[MASTODON.key].message
    else:
        assert stored == sorted(["good", "fine", refused_id])
        assert statuses[MASTODON.key].status is CollectionStatus.OK


def test_credentials_found_are_read_once_a_batch_and_a_failed_lookup_is_tried_again(monkeypatch):
    from collectors._base import TransientError
    from socialaudit import pipeline

    calls: list[tuple[str, str]] = []

    def lookup(platform: str, connection: str = "") -> dict | None:
        calls.append((platform, connection))
        if len(calls) == 1:  # Airflow's API did not answer
            raise TransientError("the Airflow connection socialaudit_mastodon could not be read (API_SERVER_ERROR)")
        return {"token": "t1"}

    monkeypatch.setattr(pipeline, "load_credentials", lookup)
    known = pipeline.BatchCredentials()
    with pytest.raises(TransientError):
        known.for_account(MASTODON)
    assert known.for_account(MASTODON) == {"token": "t1"}  # a failed lookup is kept for nothing: asked again
    assert known.for_account(MASTODON) == {"token": "t1"}  # kept: no third lookup
    assert calls == [("mastodon", "")] * 2


def test_a_connection_airflow_says_is_not_defined_is_not_looked_up_again_in_the_batch(monkeypatch):
    from socialaudit import pipeline

    calls: list[tuple[str, str]] = []

    def lookup(platform: str, connection: str = "") -> dict | None:
        calls.append((platform, connection))
        return None  # Airflow answered "not defined"

    monkeypatch.setattr(pipeline, "load_credentials", lookup)
    known = pipeline.BatchCredentials()
    other = Account(platform="mastodon", handle="@holycross@mastodon.example", connection="socialaudit_other")
    assert [known.for_account(MASTODON) for _ in range(10)] == [None] * 10
    assert calls == [("mastodon", "")]
    assert known.for_account(other) is None  # another connection is its own question
    assert calls[-1] == ("mastodon", "socialaudit_other") and len(calls) == 2
    assert pipeline.BatchCredentials().for_account(MASTODON) is None and len(calls) == 3  # another batch asks again


def test_airflow_s_not_found_is_no_credentials_and_its_failure_is_transient(monkeypatch, tmp_path):
    """Review finding: every exception of the lookup read as "not defined", so a failing API made the account
    AUTH_FAILED ("did not accept the trust's credentials"), which is never retried."""
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException, AirflowRuntimeError, ErrorType
    from airflow.sdk.execution_time.comms import ErrorResponse

    from collectors._base import TransientError, load_credentials

    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    for name in ("SOCIALAUDIT_MASTODON_TOKEN", "AIRFLOW_CONN_SOCIALAUDIT_MASTODON"):
        monkeypatch.delenv(name, raising=False)
    assert load_credentials("mastodon") is None  # the real lookup: Airflow says it is not defined

    def failing(conn_id: str):  # type: ignore[no-untyped-def]
        raise AirflowRuntimeError(ErrorResponse(error=ErrorType.API_SERVER_ERROR, detail={"status_code": 503}))

    monkeypatch.setattr(Connection, "get", classmethod(lambda cls, conn_id: failing(conn_id)))
    with pytest.raises(TransientError, match="socialaudit_mastodon could not be read .API_SERVER_ERROR"):
        load_credentials("mastodon")

    def missing(conn_id: str):  # type: ignore[no-untyped-def]
        raise AirflowNotFoundException(f"The conn_id `{conn_id}` isn't defined")

    monkeypatch.setattr(Connection, "get", classmethod(lambda cls, conn_id: missing(conn_id)))
    assert load_credentials("mastodon") is None


def test_platforms_whose_collector_reads_no_credentials_are_not_looked_up(monkeypatch):
    from socialaudit import pipeline

    calls: list[str] = []

    def lookup(platform: str, connection: str = "") -> dict | None:
        calls.append(platform)
        return None

    monkeypatch.setattr(pipeline, "load_credentials", lookup)
    bluesky = Account(platform="bluesky", handle="staidans.bsky.social")
    known = pipeline.BatchCredentials()
    assert [known.for_account(a) for a in (RSS, bluesky, MASTODON, RSS, bluesky)] == [None] * 5
    assert calls == ["mastodon"]  # Mastodon takes an optional token; the feed and the public AppView none


def test_a_collector_that_says_it_reads_no_credentials_does_not():
    """``CREDENTIALS = False`` skips the Connection lookup, so a collector saying it must never use the argument."""
    import ast
    import importlib
    import inspect

    from collectors._base import platforms, takes_credentials

    public = [p for p in platforms() if not takes_credentials(p)]
    assert {"rss", "bluesky"} <= set(public)
    assert takes_credentials("mastodon") and takes_credentials("facebook")
    for platform in public:
        tree = ast.parse(inspect.getsource(importlib.import_module(f"collectors.{platform}")))
        used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
        assert "credentials" not in used, platform


def test_a_transaction_belongs_to_its_thread(store):
    """Another thread's transaction, opened and closed while this one is open, leaves this one whole: its writes
    are still inside it, and roll back with it."""
    import threading

    class Stop(Exception):
        pass

    def other() -> None:
        with store.transaction():
            pass

    try:
        with store.transaction():
            thread = threading.Thread(target=other)
            thread.start()
            thread.join()
            store.upsert_posts([_post(RSS, "rolled-back")], run_id="run-1")
            raise Stop
    except Stop:
        pass
    assert store.posts_for("st-aidans", WHEN.replace(day=16), WHEN.replace(day=18)) == []
