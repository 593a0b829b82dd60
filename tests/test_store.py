"""The audit store: upserts never duplicate, results are replaced per school and week."""

from __future__ import annotations

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
