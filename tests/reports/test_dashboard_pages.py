"""The Trust report of a trust larger than one page, in real headless Chromium: search, sort and pages work on
every school (only one page of rows is in the document), the first page, the figures and links to every
further page show without JavaScript, and hostile school names and groupings stay text. Timings live in
bench/bench_trust_report.py, not here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from socialaudit import reports
from socialaudit.config import parse_config
from socialaudit.store import Store
from tests.reports.conftest import WEEK
from tests.reports.test_browser import Watched, browser  # noqa: F401 - the module's Chromium fixture
from tests.reports.test_trust_kpis import synthetic_store

pytestmark = pytest.mark.slow
SCHOOLS = 130  # three pages of 50
HOSTILE = '<img src="{probe}/x.png" onerror="window.__pwned=1"> St "Quote" & Co </script><script>window.__pwned=2</script>'


@pytest.fixture
def large(tmp_path: Path, probe: Any) -> dict[str, Any]:
    synthetic = synthetic_store()
    raw = synthetic.trust_config(SCHOOLS, seed=3)
    raw["schools"][70]["name"] = HOSTILE.format(probe=probe.url)  # on page 2: drawn by the script only
    raw["schools"][1]["name"] = HOSTILE.format(probe=probe.url) + " (two)"  # on page 1: in the HTML too
    raw["schools"][2]["local_authority"] = '<b onmouseover="window.__pwned=3">Hostile LA</b>'
    config = parse_config(raw, "generated")
    url = f"sqlite:///{tmp_path / 'store.db'}"
    synthetic.fill(url, raw, WEEK, weeks=2, seed=3)
    view = reports.trust_view(config, WEEK, Store(url), missing=[config.schools[4].id])
    page = reports.write_trust_report(view, tmp_path / "output")
    return {"view": view, "page": page}


def _names(page: Any) -> list[str]:
    return page.eval_on_selector_all("#matrix tbody tr", "rows => rows.map(r => r.dataset.name)")


def test_search_sort_and_pages_reach_every_school(browser, large, probe):  # noqa: F811 - the fixture
    view, rows = large["view"], large["view"]["rows"]
    watched = Watched(browser)
    page = watched.open(large["page"])
    assert _names(page) == [r["name"].lower() for r in rows[:50]]
    assert page.locator("#filter-count").inner_text() == f"{SCHOOLS} of {SCHOOLS} schools shown"
    assert page.locator("#matrix-pager").is_visible() and not page.locator("#matrix-pages").is_visible()
    assert page.locator("#page-info").inner_text() == f"Schools 1 to 50 of {SCHOOLS}, page 1 of 3"
    page.click("#page-next")
    page.click("#page-next")
    assert _names(page) == [r["name"].lower() for r in rows[100:]]
    assert page.locator("#page-next").is_disabled()
    # the script draws a row as the page's HTML does: the first page, compared cell by cell
    page.click("#page-prev")
    page.click("#page-prev")
    drawn = page.eval_on_selector("#matrix tbody", "b => b.innerHTML")
    html = large["page"].read_text(encoding="utf-8")
    table = html[html.index('<table id="matrix"'):]
    served = table[table.index("<tbody>") + len("<tbody>"):table.index("</tbody>")]
    # the browser serialises both the same way (an inert template parses the served rows)
    served = page.evaluate("html => { const t = document.createElement('template'); t.innerHTML = html; return t.innerHTML; }",
                           served)
    assert drawn.replace("\n", "") == served.replace("\n", "")

    # search finds a school on any page; the count says how many match
    target = rows[120]
    page.fill("#filter-text", target["name"].upper())
    assert target["name"].lower() in _names(page)
    assert page.locator("#filter-count").inner_text().endswith(f"of {SCHOOLS} schools shown")
    page.fill("#filter-text", "")
    # a status filter across every school, not only the page shown
    page.select_option("#filter-status", "error")
    erring = [r for r in rows if "error" in {r["overall"], *(c["status"] for c in r["cells"])}]
    assert page.locator("#filter-count").inner_text() == f"{len(erring)} of {SCHOOLS} schools shown"
    assert len(_names(page)) == min(50, len(erring))
    page.select_option("#filter-status", "")
    # sort by findings, most first: the first page holds the schools with the most findings of all
    header = page.locator("#matrix thead th", has_text="Findings").locator("button")
    header.click()
    col = page.locator("#matrix thead th").count() - 1
    values = page.eval_on_selector_all("#matrix tbody tr", f"rows => rows.map(r => Number(r.cells[{col}].dataset.value))")
    assert values == sorted(values, reverse=True) and values[0] == max(r["findings"] for r in rows)
    header.click()
    values = page.eval_on_selector_all("#matrix tbody tr", f"rows => rows.map(r => Number(r.cells[{col}].dataset.value))")
    assert values == sorted(values) and values[0] == min(r["findings"] for r in rows)
    # the hostile names stay text wherever they are drawn
    page.fill("#filter-text", "quote")
    assert len(_names(page)) == 2
    assert page.locator("#matrix tbody td a", has_text='St "Quote" & Co').count() == 2
    assert page.locator("#matrix img, #matrix b, script:not(#matrix-data)").count() == 1  # the page's own script
    assert view["groupings"] and page.locator("table.groups td", has_text="<b onmouseover").count() == 1
    watched.assert_clean(probe)


def test_without_javascript_the_first_page_the_figures_and_links_to_every_page_show(browser, large, probe):  # noqa: F811
    rows = large["view"]["rows"]
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(large["page"].as_uri())
    assert page.locator(".kpi").count() == 4 and page.locator("#by-local_authority").is_visible()
    assert _names(page) == [r["name"].lower() for r in rows[:50]]
    pages = page.locator("#matrix-pages")
    assert pages.is_visible() and f"Schools 1 to 50 of {SCHOOLS}, page 1 of 3" in pages.inner_text()
    pages.locator("a", has_text="next page").click()
    page.wait_for_load_state("load")
    assert page.url.endswith("/schools-2.html")
    assert _names(page) == [r["name"].lower() for r in rows[50:100]]
    page.locator("#matrix-pages a", has_text="3").click()
    assert _names(page) == [r["name"].lower() for r in rows[100:]]
    first = next(r for r in rows[100:] if not r["missing"])  # a further page links each school's report
    assert page.locator("#matrix tbody td a").first.get_attribute("href") == f"schools/{first['id']}.html"
    assert page.locator("#matrix-pages a", has_text="previous page").get_attribute("href") == "schools-2.html"
    page.locator("#matrix-pages a", has_text="1").first.click()
    page.wait_for_load_state("load")
    assert page.url.endswith("/index.html#schools") and page.locator(".kpi").count() == 4
    context.close()
    assert probe.requests == []


def test_axe_finds_no_accessibility_violation_in_a_large_trusts_pages(browser, large):  # noqa: F811
    from tests.reports.test_browser import AXE

    if not AXE.exists():
        pytest.skip("axe-core is not installed (make test runs `npm ci`)")
    script = AXE.read_text(encoding="utf-8")
    found = {}
    for width in (390, 1280):
        context = browser.new_context(viewport={"width": width, "height": 800}, bypass_csp=True)
        page = context.new_page()
        for path in (large["page"], large["page"].parent / "schools-2.html"):
            page.goto(path.as_uri())
            page.add_script_tag(content=script)
            violations = page.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']}))
                .violations.map(v => `${v.impact} ${v.id}: ${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ')}`)""")
            if violations:
                found[f"{path.name} at {width} px"] = violations
        context.close()
    assert found == {}
