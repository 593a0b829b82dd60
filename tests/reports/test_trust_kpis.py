"""The Trust report's figures summed by the database (Store.week_totals) equal the per-school computation they
replaced, kept here as the reference: on the demo weeks and on a generated store full of edge cases (schools not
evaluated, not finished, reviewed findings, cross-posted incidents, a week with no data, a school no longer in
the config, a check missing, events under their older key), on SQLite and on PostgreSQL."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest
from sqlalchemy import event

from checks import event_promotion
from socialaudit import reports
from socialaudit.config import TrustConfig, parse_config
from socialaudit.models import Severity, Status
from socialaudit.store import Store
from socialaudit.weeks import IsoWeek
from tests.conftest import ROOT
from tests.reports.conftest import WEEK


def synthetic_store() -> Any:
    spec = importlib.util.spec_from_file_location("synthetic_store", ROOT / "scripts" / "synthetic_store.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def reference_kpis(config: TrustConfig, week: IsoWeek, store: Store, missing: list[str] | tuple[str, ...] = ()) -> dict[str, Any] | None:
    """The per-school computation the report made before (reports._kpis up to 2026-12-06), unchanged."""
    kpi: dict[str, Any] = {"schools": len(config.schools), "meeting_frequency": 0, "frequency_known": 0,
                           "critical": 0, "findings": 0, "events_promoted": 0, "events_due": 0,
                           "events_known": False, "accounts": 0, "accounts_collected": 0, "missing": len(missing)}
    seen = False
    week_results = store.results_for_week(week)
    week_collections = store.collections_for_week(week)
    for school in config.schools:
        if school.id in missing:
            kpi["accounts"] += len(school.accounts)
            continue
        results = week_results.get(school.id, [])
        if results:
            seen = True
        collections = week_collections.get(school.id, [])
        by_check = {r.check: r for r in results}
        frequency = by_check.get("post_frequency")
        if frequency and frequency.status in (Status.PASS, Status.FAIL, Status.NOT_APPLICABLE):
            kpi["frequency_known"] += 1
            if frequency.status in (Status.PASS, Status.NOT_APPLICABLE):
                kpi["meeting_frequency"] += 1
        findings = [f for r in results for f in r.findings if not f.suppressed and f.severity != Severity.INFO]
        kpi["critical"] += reports._incidents(f for f in findings if f.severity == Severity.CRITICAL)
        kpi["findings"] += reports._incidents(findings)
        for r in results:
            if reports._clause_of(r.policy) == "4.4":
                kpi["events_known"] = True
                promoted, due = event_promotion.promotion_figures(r.metrics)
                kpi["events_promoted"] += promoted
                kpi["events_due"] += due
        kpi["accounts"] += len(school.accounts)
        kpi["accounts_collected"] += sum(1 for c in collections if c.status.collected)
    if not seen:
        return None
    kpi["coverage"] = round(100 * kpi["accounts_collected"] / kpi["accounts"]) if kpi["accounts"] else 0
    return kpi


def _compare(config: TrustConfig, store: Store, week: IsoWeek, missing: list[str]) -> dict[str, dict[str, Any] | None]:
    weeks = week.previous(10)
    queries = []
    listener = lambda *args: queries.append(args[2])  # noqa: E731 - the statement, counted
    event.listen(store.engine, "before_cursor_execute", listener)
    try:
        got = reports._kpis(config, weeks, store, missing=missing, missing_week=week)
    finally:
        event.remove(store.engine, "before_cursor_execute", listener)
    assert len(queries) <= 6, queries  # three grouped queries per set of schools, never one per school or week
    for w in weeks:
        expected = reference_kpis(config, w, store, missing if w == week else ())
        assert got[str(w)] == expected, str(w)
    return got


def test_the_demo_weeks_give_the_same_figures(demo_week):
    config, store = demo_week.load(), demo_week.store()
    got = _compare(config, store, WEEK, [])
    assert got[str(WEEK)] is not None and got[str(WEEK - 1)] is not None
    _compare(config, store, WEEK, ["holy-cross", "st-hildas"])


@pytest.mark.parametrize("missing", [0, 3])
def test_a_generated_store_with_edge_cases_gives_the_same_figures(store, missing):
    synthetic = synthetic_store()
    raw = synthetic.trust_config(120, seed=4)
    config = parse_config(raw, "generated")
    synthetic.fill(store.url, raw, WEEK, weeks=10, seed=4)
    absent = [s.id for s in config.schools[:missing]]
    got = _compare(config, store, WEEK, absent)
    empty = WEEK - synthetic.EMPTY_WEEK_OFFSET
    assert got[str(empty)] is None  # a week with no data has no figures
    now = got[str(WEEK)]
    assert now is not None and now["missing"] == missing
    # the store holds what the edge cases need, so the comparison above proved something
    weeks = [k for k in got.values() if k]
    assert sum(k["critical"] for k in weeks) and now["findings"] > now["critical"] and now["events_known"] and now["events_due"]
    assert 0 < now["accounts_collected"] < now["accounts"] and now["frequency_known"] < len(config.schools)
    reviewed = [f for rs in store.results_for_week(WEEK).values() for r in rs for f in r.findings if f.suppressed]
    assert reviewed
    older = [r for rs in store.results_for_week(WEEK).values() for r in rs if "events_due" in r.metrics]
    assert older
    assert "gen-removed" in store.results_for_week(WEEK)  # not in the config: counted by neither


def reference_rows(config: TrustConfig, week: IsoWeek, store: Store, missing: list[str]) -> list[dict[str, Any]]:
    """What each matrix row showed when the report decoded every result (reports.trust_view up to 2026-12-06)."""
    from checks import post_frequency
    from checks._base import registry

    out = []
    week_results = store.results_for_week(week)
    for school in config.schools:
        results = {r.check: r for r in week_results.get(school.id, [])} if school.id not in missing else {}
        cells = [results[name].status.value if name in results else ("error" if school.id in missing else "not_evaluated")
                 for name in registry()]
        findings = [f for r in results.values() for f in r.findings if not f.suppressed and f.severity != Severity.INFO]
        reviewed = [f for r in results.values() for f in r.findings if f.suppressed]
        frequency = results.get("post_frequency")
        out.append({"id": school.id, "cells": cells, "findings": reports._incidents(findings),
                    "critical": reports._incidents(f for f in findings if f.severity == Severity.CRITICAL),
                    "suppressed": reports._incidents(reviewed),
                    "posts": post_frequency.week_figures(frequency.metrics, 3).posts if frequency else None,
                    "reviewed": sorted((f.check, f.message) for f in reviewed)})
    return out


def test_the_matrix_rows_read_without_decoding_results_are_the_same(store):
    synthetic = synthetic_store()
    raw = synthetic.trust_config(150, seed=7)
    config = parse_config(raw, "generated")
    synthetic.fill(store.url, raw, WEEK, weeks=2, seed=7)
    missing = [config.schools[5].id]
    view = reports.trust_view(config, WEEK, store, missing=missing)
    expected = reference_rows(config, WEEK, store, missing)
    got = [{"id": r["id"], "cells": [c["status"] for c in r["cells"]], "findings": r["findings"], "critical": r["critical"],
            "suppressed": r["suppressed"], "posts": r["posts"]} for r in view["rows"]]
    assert got == [{k: v for k, v in e.items() if k != "reviewed"} for e in expected]
    assert any(r["critical"] for r in got) and any(r["suppressed"] for r in got) and any(r["posts"] is None for r in got)
    listed = sorted((f["check"], f["message"]) for f in view["suppressed"])
    # one row per incident: the reviewed list holds each reviewed finding, the copies of an incident once
    assert len(listed) == sum(r["suppressed"] for r in got) and set(listed) == {x for e in expected for x in e["reviewed"]}
    # the totals by local authority and phase add up to the matrix's
    by = {g["key"]: g["rows"] for g in view["groupings"]}
    assert set(by) == {"local_authority", "phase", "group"}
    for rows in by.values():
        assert sum(t["schools"] for t in rows) == len(config.schools) and sum(t["missing"] for t in rows) == 1
        assert sum(t["critical"] for t in rows) == sum(r["critical"] for r in got)
        assert sum(t["findings"] for t in rows) == sum(r["findings"] for r in got)
    assert by["group"][-1]["name"] == "(none given)"  # most schools have no group: totalled last
