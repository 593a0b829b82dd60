"""Auditing past weeks from stored posts (``{"collect": false}``, ``run --from-store``), without dag.test.

The collecting run goes to the platform simulator over real sockets; the backfill run must give the
same results from the store alone, and an account the store has nothing for is "not evaluated".
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from socialaudit import pipeline
from socialaudit.models import CollectionStatus, Status
from socialaudit.weeks import IsoWeek

W47 = IsoWeek.parse("2026-W47")
W46 = W47 - 1
SCHOOL = "st-aidans"


def _results(env: Any, week: IsoWeek) -> dict[str, tuple[str, list[str]]]:
    return {r.check: (r.status.value, [f.key for f in r.findings]) for r in env.store().results_for(week, SCHOOL)}


@pytest.mark.parametrize("audit_env", ["sqlite", "postgresql"], indirect=True)
def test_from_store_gives_the_collecting_runs_results(audit_env, simulator):
    env = audit_env
    collected = pipeline.collect_school(SCHOOL, W47, "run-collect", env)
    assert collected["posts"] > 0
    pipeline.check_school(SCHOOL, W47, "run-collect", env)
    before = _results(env, W47)
    before_collections = env.store().collections_for(W47, SCHOOL)
    posts_before = env.store().count_posts()

    out = pipeline.collect_from_store(SCHOOL, W47, "run-backfill", env)
    assert out["from_store"] is True and out["posts"] == collected["posts"]
    assert out["accounts"] == collected["accounts"]
    pipeline.check_school(SCHOOL, W47, "run-backfill", env)
    assert _results(env, W47) == before
    assert env.store().count_posts() == posts_before

    after = env.store().collections_for(W47, SCHOOL)
    assert [(c.platform, c.account, c.status, c.posts) for c in after] == \
        [(c.platform, c.account, c.status, c.posts) for c in before_collections]
    for c in after:
        assert c.message.startswith("From the store (collected by run run-collect)"), c.message
    # a second backfill keeps saying where the data came from, without nesting
    pipeline.collect_from_store(SCHOOL, W47, "run-backfill-2", env)
    assert [c.message for c in env.store().collections_for(W47, SCHOOL)] == [c.message for c in after]
    assert env.store().collection_runs(W47, SCHOOL)[(after[0].platform, after[0].account)] == "run-backfill-2"


def test_a_week_never_collected_is_not_evaluated(audit_env, make_post):
    env = audit_env
    school = env.load().school(SCHOOL)
    # A post is stored for W46 (from some other source), but no collection of the week was recorded.
    rss = school.accounts[0]
    env.store().upsert_posts([make_post(id="w46", account=rss.key, text="Week 46: our reading challenge began.",
                                        created_at=datetime(2026, 11, 10, 10, tzinfo=timezone.utc))], run_id="elsewhere")
    out = pipeline.collect_from_store(SCHOOL, W46, "run-backfill", env)
    assert set(out["accounts"].values()) == {"not_collected"}
    collections = env.store().collections_for(W46, SCHOOL)
    assert len(collections) == len(school.accounts)
    assert all(c.status is CollectionStatus.NOT_COLLECTED and not c.status.collected for c in collections)
    assert collections[0].message == "From the store: no collection of this account is stored for 2026-W46"
    pipeline.check_school(SCHOOL, W46, "run-backfill", env)
    frequency = next(r for r in env.store().results_for(W46, SCHOOL) if r.check == "post_frequency")
    assert frequency.status is Status.NOT_EVALUATED
    rendered = pipeline.render_school(SCHOOL, W46, "run-backfill", env)
    html = open(rendered["report"], encoding="utf-8").read()
    assert "Not collected this week: audited from stored posts, none stored" in html


def test_purged_post_texts_are_not_audited_as_empty_posts(audit_env, simulator):
    env = audit_env
    pipeline.collect_school(SCHOOL, W47, "run-collect", env)
    store = env.store()
    assert store.purge_posts_before(datetime(2026, 12, 1, tzinfo=timezone.utc)) > 0
    out = pipeline.collect_from_store(SCHOOL, W47, "run-backfill", env)
    purged = [c for c in store.collections_for(W47, SCHOOL) if "purged" in c.message]
    assert purged and all(c.status is CollectionStatus.NOT_COLLECTED for c in purged)
    assert purged[0].message == ("From the store: the texts of this week's posts were purged "
                                 "(trust.retention.post_texts)")
    assert "not_collected" in out["accounts"].values()


def test_audit_schools_batch_without_collecting(audit_env, simulator):
    env = audit_env
    item = pipeline.plan(W47, "run-collect", env)[0]
    pipeline.audit_schools(item, env)
    first = {s: _results(env, W47) for s in item["schools"][:1]}
    rendered = pipeline.audit_schools({**item, "run_id": "run-backfill"}, env, collect=False)
    assert [r["school"] for r in rendered] == item["schools"]
    assert {s: _results(env, W47) for s in item["schools"][:1]} == first


@pytest.mark.parametrize(("params", "expected"), [
    (None, True), ({}, True), ({"collect": None}, True), ({"collect": True}, True), ({"collect": False}, False),
    ({"collect": "false"}, False), ({"collect": "True"}, True),
])
def test_collect_param(params, expected):
    assert pipeline.wants_collection(params) is expected


def test_collect_param_rejects_nonsense():
    with pytest.raises(ValueError, match="param 'collect' must be true or false, not 'sometimes'"):
        pipeline.wants_collection({"collect": "sometimes"})


def test_cli_run_has_from_store():
    from socialaudit.cli import build_parser

    args = build_parser().parse_args(["run", "--from", "2026-W30", "--to", "2026-W47", "--from-store"])
    assert (args.from_week, args.to_week, args.from_store) == ("2026-W30", "2026-W47", True)
    assert build_parser().parse_args(["run"]).from_store is False
