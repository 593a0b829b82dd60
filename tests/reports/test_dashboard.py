"""The Trust report (the CIO's dashboard) as a static site: KPIs against last week, the matrix and
its links, week navigation, the CSP, and byte-identical reruns."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from socialaudit.config import load_config
from socialaudit.models import AccountCollection, CheckResult, CollectionStatus, Severity, Status, Suppression
from tests.conftest import ROOT
from tests.reports.conftest import WEEK, add_findings, critical_named_child, finding, rerender

SCHOOLS = ("st-aidans", "holy-cross", "st-hildas", "our-lady", "st-josephs", "sacred-heart")


def _seed_week(store: Any, week: Any, frequency: dict[str, Status], critical: dict[str, int], failed_accounts: set[str]) -> None:
    """Hand-made results: post_frequency per school, some critical findings, some accounts not collected."""
    config = load_config(ROOT / "config" / "trust.yaml")
    for school in config.schools:
        status = frequency[school.id]
        findings = tuple(critical_named_child(school.id) for _ in range(critical.get(school.id, 0)))
        results = [CheckResult(check="post_frequency", policy="4.3", school=school.id, status=status,
                               summary="seeded", metrics={"posts": 3 if status is Status.PASS else 1}),
                   CheckResult(check="injected_probe", policy="4.1", school=school.id,
                               status=Status.FAIL if findings else Status.PASS, summary="seeded", findings=findings)]
        store.save_results(week, school.id, results, run_id="seed")
        store.record_collections(week, school.id, [
            AccountCollection(school=school.id, platform=a.platform, account=a.key,
                              status=CollectionStatus.UNAVAILABLE if school.id in failed_accounts else CollectionStatus.OK)
            for a in school.accounts], run_id="seed")


def test_kpis_are_compared_with_last_week(store):
    from socialaudit import reports

    config = load_config(ROOT / "config" / "trust.yaml")
    passing, failing = Status.PASS, Status.FAIL
    _seed_week(store, WEEK - 1, dict.fromkeys(SCHOOLS, failing) | {"st-aidans": passing, "our-lady": passing},
               {"st-hildas": 1}, {"st-josephs"})
    _seed_week(store, WEEK, dict.fromkeys(SCHOOLS, passing) | {"holy-cross": failing, "st-josephs": Status.NOT_EVALUATED},
               {"st-hildas": 2, "holy-cross": 1}, {"st-josephs"})
    view = reports.trust_view(config, WEEK, store, missing=[])
    kpis = {k["id"]: k for k in view["kpis"]}
    assert kpis["frequency"]["value"] == "4 of 6"
    assert kpis["frequency"]["compare"] == {"text": "up 2 on last week (2)", "tone": "good", "symbol": "\u25b2"}
    assert kpis["critical"]["value"] == "3"
    assert kpis["critical"]["compare"]["text"] == "up 2 on last week (1)" and kpis["critical"]["compare"]["tone"] == "bad"
    accounts = sum(len(s.accounts) for s in config.schools)
    collected = accounts - len(config.school("st-josephs").accounts)
    assert kpis["coverage"]["value"] == f"{round(100 * collected / accounts)}% ({collected} of {accounts} accounts)"
    assert kpis["coverage"]["compare"]["text"] == "same as last week"
    # a week with nothing before it says so instead of inventing a comparison
    first = {k["id"]: k for k in reports.trust_view(config, WEEK - 1, store, missing=[])["kpis"]}
    assert first["frequency"]["compare"]["text"] == "no figures for last week"
    # the matrix: a school whose audit did not finish is an error, never a pass, and has no link
    view = reports.trust_view(config, WEEK, store, missing=["sacred-heart"])
    row = next(r for r in view["rows"] if r["id"] == "sacred-heart")
    assert row["overall"] == "error" and {c["status"] for c in row["cells"]} == {"error"}
    html = reports.render("trust.html", **view, earlier=[], script="", script_hash="'none'")
    assert 'href="schools/sacred-heart.html' not in html and 'href="schools/holy-cross.html' in html


def _site(output: Path) -> dict[str, bytes]:
    return {str(p.relative_to(output)): p.read_bytes() for p in sorted(output.rglob("*"))
            if p.is_file() and p.suffix in (".html", ".eml", ".json") and "raw" not in p.parts}


def test_rerendering_a_week_is_byte_identical(demo_week):
    add_findings(demo_week.store(), WEEK, "st-hildas", [critical_named_child("st-hildas")])
    rerender(demo_week, WEEK)
    before = _site(demo_week.output)
    rerender(demo_week, WEEK - 1)  # an earlier week rendered later must not change this week's pages
    rerender(demo_week, WEEK)
    assert _site(demo_week.output) == before


def test_navigation_to_earlier_weeks_and_the_weeks_index(demo_week):
    reports_dir = demo_week.output / "reports"
    this_week = (reports_dir / str(WEEK) / "index.html").read_text()
    last_week = (reports_dir / str(WEEK - 1) / "index.html").read_text()
    assert f'href="../{WEEK - 1}/index.html"' in this_week and 'href="../index.html"' in this_week
    assert f"../{WEEK}/index.html" not in last_week  # only earlier weeks: reruns stay identical
    index = (reports_dir / "index.html").read_text()
    assert index.index(f'href="{WEEK}/index.html"') < index.index(f'href="{WEEK - 1}/index.html"')  # newest first
    assert "Schools meeting 3 posts a week" in index
    for href in re.findall(r'href="([^"#]+)', this_week):
        if not href.startswith("http"):
            assert (reports_dir / str(WEEK) / href).resolve().is_file(), href


def test_matrix_cells_link_to_the_check_in_the_school_report(demo_week):
    page = (demo_week.output / "reports" / str(WEEK) / "index.html").read_text()
    links = re.findall(r'href="schools/([a-z0-9-]+)\.html#check-([a-z0-9_]+)"', page)
    assert {school for school, _check in links} == set(SCHOOLS)
    for school, check in links:
        report = (demo_week.output / "reports" / str(WEEK) / "schools" / f"{school}.html").read_text()
        assert f'id="check-{check}"' in report


def test_pages_allow_nothing_external(demo_week):
    from socialaudit.reports import script_hash

    pages = sorted((demo_week.output / "reports").rglob("*.html"))
    assert len(pages) >= 2 * (len(SCHOOLS) + 1) + 1
    for page in pages:
        html = page.read_text()
        csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
        assert csp, page
        policy = csp.group(1).replace("&#39;", "'")
        assert "default-src 'none'" in policy and "http" not in policy and "*" not in policy
        assert "connect-src 'none'" in policy and "'unsafe-eval'" not in policy
        assert not re.search(r"<(script|img|iframe|link)[^>]+(src|href)=", html), page
        scripts = re.findall(r"<script>(.*?)</script>", html, flags=re.S)
        if scripts:  # the one inline script is allowed by its hash, not by 'unsafe-inline'
            assert len(scripts) == 1 and f"script-src {script_hash(scripts[0])}" in policy
            assert "fetch(" not in scripts[0] and "XMLHttpRequest" not in scripts[0]
        else:
            assert "script-src 'none'" in policy


@pytest.mark.parametrize("page", ["index.html", "schools/our-lady.html"])
def test_hostile_text_is_escaped_in_the_reports(demo_week, page):
    probe = "http://127.0.0.1:9"
    add_findings(demo_week.store(), WEEK, "our-lady", [
        finding("our-lady", severity=Severity.BREACH, message="<script>window.__pwned=1</script>",
                evidence=f'<img src="{probe}/x.png" onerror="window.__pwned=2">', post_url="javascript:window.__pwned=3")])
    rerender(demo_week, WEEK)
    html = (demo_week.output / "reports" / str(WEEK) / page).read_text()
    assert "window.__pwned" not in "".join(re.findall(r"<script>(.*?)</script>", html, flags=re.S))
    assert "<img" not in html and 'href="javascript:' not in html
    if page.startswith("schools/"):
        assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html
        assert "javascript:window.__pwned=3" in html  # visible, as text


def test_the_trust_report_reads_each_week_at_once_whatever_the_number_of_schools(store):
    """Two queries per week shown (results, collections), not two per school and week: the dashboard of
    a large trust is a handful of queries (32 per school made 300 schools take seconds, 24,000 minutes)."""
    from sqlalchemy import event

    from socialaudit import reports

    base = load_config(ROOT / "config" / "trust.yaml")

    def queries(n: int) -> int:
        config = base.model_copy(update={"schools": [base.schools[i % 6].model_copy(update={"id": f"s{n}-{i}"})
                                                     for i in range(n)]})
        for week in (WEEK - 1, WEEK):
            for school in config.schools:
                store.save_results(week, school.id, [CheckResult(check="post_frequency", policy="4.3", school=school.id,
                                                                 status=Status.PASS, summary="seeded", metrics={"posts": 3})],
                                   run_id="seed")
        count = [0]

        def counted(*_: Any) -> None:
            count[0] += 1

        event.listen(store.engine, "before_cursor_execute", counted)
        try:
            view = reports.trust_view(config, WEEK, store, missing=[])
        finally:
            event.remove(store.engine, "before_cursor_execute", counted)
        assert len(view["rows"]) == n and {k["id"]: k for k in view["kpis"]}["frequency"]["value"] == f"{n} of {n}"
        return count[0]

    assert queries(3) == queries(30)


def test_this_weeks_trend_point_agrees_with_the_kpi_tile_when_a_school_did_not_finish(store):
    """A school whose audit did not finish but left results is out of the tiles, so out of the trend's
    last point too."""
    from socialaudit import reports

    config = load_config(ROOT / "config" / "trust.yaml")
    _seed_week(store, WEEK, dict.fromkeys(SCHOOLS, Status.PASS), {"st-hildas": 1, "holy-cross": 2}, set())
    view = reports.trust_view(config, WEEK, store, missing=["st-hildas"])
    tile = int({k["id"]: k for k in view["kpis"]}["critical"]["value"])
    [critical] = [t for t in view["trends"] if t["key"] == "critical"]
    assert tile == 2 and int(critical["points"][-1]["value"]) == tile


def test_the_trust_reports_reviewed_list_has_one_row_per_incident(store):
    from dataclasses import replace

    from socialaudit import reports

    config = load_config(ROOT / "config" / "trust.yaml")
    _seed_week(store, WEEK, dict.fromkeys(SCHOOLS, Status.PASS), {}, set())
    reviewed = Suppression(kind="false_positive", reviewer="Mrs Thompson", reason="a saint", expires="2027-07-31")
    copies = [replace(critical_named_child("st-aidans"), post_id=f"p{n}", incident="abc", suppression=reviewed) for n in (1, 2)]
    add_findings(store, WEEK, "st-aidans", copies)
    view = reports.trust_view(config, WEEK, store, missing=[])
    [row] = [r for r in view["rows"] if r["id"] == "st-aidans"]
    assert row["suppressed"] == 1 and len([f for f in view["suppressed"] if f["school_id"] == "st-aidans"]) == 1


def test_a_week_still_running_says_so_in_every_report_and_email(store, tmp_path):
    """``run --allow-incomplete`` audits the week still running: the Trust report, each school report and each
    email say that its posts and figures are incomplete; a week that has ended says nothing of the kind."""
    from datetime import datetime, timedelta, timezone

    from socialaudit import mail, reports
    from socialaudit.weeks import IsoWeek

    config = load_config(ROOT / "config" / "trust.yaml")
    now = datetime.now(timezone.utc)
    running = IsoWeek.last_complete(now, config.trust.timezone) + 1
    assert reports.unfinished(config, running) and not reports.unfinished(config, running - 1)
    assert not reports.unfinished(config, running, now=now + timedelta(days=8))  # once it has ended
    school = config.schools[0]
    for week, expected in ((running, True), (WEEK, False)):
        _seed_week(store, week, dict.fromkeys(SCHOOLS, Status.PASS), {}, set())
        words = f"Week {week} had not ended when this audit ran"
        trust = reports.trust_view(config, week, store, missing=[])
        view = reports.school_view(config, school, week, store)
        pages = [reports.write_trust_report(trust, tmp_path / str(week)).read_text(encoding="utf-8"),
                 reports.write_school_report(view, tmp_path / str(week)).read_text(encoding="utf-8"),
                 *mail.render_bodies(view)]
        assert [words in page for page in pages] == [expected] * 4, week
