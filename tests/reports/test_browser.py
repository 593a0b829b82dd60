"""The reports and the email in a real headless browser (Debian's Chromium, driven by Playwright).

The demo weeks are rendered from the simulator, with findings quoting hostile post text and alt text
(``<script>``, ``<img onerror>``, ``javascript:`` links) that point at a loopback probe server. The
test proves nothing ran (no ``window.__pwned``, no script element but the page's own) and nothing
was requested (every request the browser made is a local file; the probe saw none), and that the
dashboard works: no console errors, the matrix sorts and filters, a click reaches the school report.
Screenshots are saved under ``output/screenshots/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.reports.conftest import WEEK, add_findings, critical_named_child, finding, hostile_findings, rerender

pytestmark = pytest.mark.slow
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
SCREENSHOTS = ROOT / "output" / "screenshots"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (make system-deps)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


class Watched:
    """A page whose console errors, uncaught exceptions and requests are recorded."""

    def __init__(self, browser: Any) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.page.on("request", lambda r: self.requests.append(r.url))

    def open(self, path: Path) -> Any:
        self.page.goto(path.as_uri())
        self.page.wait_for_load_state("load")
        return self.page

    def assert_clean(self, probe: Any) -> None:
        assert self.errors == []
        assert self.page.evaluate("typeof window.__pwned") == "undefined"
        outside = [u for u in self.requests if not u.startswith("file://")]
        assert outside == [], outside
        assert probe.requests == []


@pytest.fixture
def site(demo_week: Any, probe: Any) -> Any:
    store = demo_week.store()
    add_findings(store, WEEK, "our-lady", hostile_findings("our-lady", probe.url))
    add_findings(store, WEEK, "st-hildas", [critical_named_child("st-hildas")])
    rerender(demo_week, WEEK)
    return demo_week


def _matrix_rows(page: Any) -> list[str]:
    return page.eval_on_selector_all("#matrix tbody tr:not([hidden])", "rows => rows.map(r => r.dataset.name)")


def test_dashboard_sorts_filters_and_links_to_school_reports(browser, site, probe):
    watched = Watched(browser)
    page = watched.open(site.output / "reports" / str(WEEK) / "index.html")
    assert page.title().startswith("St Oswin")
    assert len(_matrix_rows(page)) == 6
    assert page.locator("#matrix-controls").is_visible()  # shown by the script: proof it ran under the CSP
    # KPIs against last week
    assert "last week" in page.locator("#kpi-frequency").inner_text()
    assert "1 critical" in page.locator("#kpi-critical").inner_text() or "up 1" in page.locator("#kpi-critical").inner_text()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "dashboard.png"), full_page=True)

    # sort by findings: descending first, then ascending
    header = page.locator("#matrix thead th", has_text="Findings").locator("button")
    header.click()
    col = page.locator("#matrix thead th").count() - 1
    values = page.eval_on_selector_all("#matrix tbody tr", f"rows => rows.map(r => Number(r.cells[{col}].dataset.value))")
    assert values == sorted(values, reverse=True) and values[0] > values[-1]
    assert page.locator("#matrix thead th", has_text="Findings").get_attribute("aria-sort") == "descending"
    header.click()
    values = page.eval_on_selector_all("#matrix tbody tr", f"rows => rows.map(r => Number(r.cells[{col}].dataset.value))")
    assert values == sorted(values)
    page.locator("#matrix thead th", has_text="School").locator("button").click()
    names = page.eval_on_selector_all("#matrix tbody tr", "rows => rows.map(r => r.dataset.name)")
    assert names in (sorted(names), sorted(names, reverse=True))

    # filter by status, then by name
    page.select_option("#filter-status", "fail")
    failing = _matrix_rows(page)
    assert "holy cross rc primary school" in failing and "st aidan's catholic primary school" not in failing
    assert page.locator("#filter-count").inner_text() == f"{len(failing)} of 6 schools shown"
    page.select_option("#filter-status", "")
    page.fill("#filter-text", "holy")
    assert _matrix_rows(page) == ["holy cross rc primary school"]
    page.fill("#filter-text", "")
    assert len(_matrix_rows(page)) == 6

    # a cell leads to the school report, at the check
    page.locator("#matrix tbody tr[data-name^='holy cross'] td a.status").first.click()
    page.wait_for_load_state("load")
    assert page.url.split("#")[0].endswith(f"/reports/{WEEK}/schools/holy-cross.html")
    assert "Holy Cross RC Primary School" in page.locator("h1").inner_text()
    # and back up to the earlier week through the navigation
    page.goto((site.output / "reports" / str(WEEK) / "index.html").as_uri())
    page.locator("nav.weeks a", has_text=str(WEEK - 1)).click()
    page.wait_for_load_state("load")
    assert page.url.endswith(f"/reports/{WEEK - 1}/index.html")
    page.locator("nav.weeks a", has_text="All weeks").click()
    assert page.locator("table a", has_text=str(WEEK)).count() == 1
    watched.assert_clean(probe)


def test_hostile_post_text_is_inert_in_the_school_report(browser, site, probe):
    watched = Watched(browser)
    page = watched.open(site.output / "reports" / str(WEEK) / "schools" / "our-lady.html")
    text = page.locator("body").inner_text()
    assert "<script>window.__pwned = 'script'" in text  # visible as words
    assert "<img src=" in text and "onerror" in text
    assert page.locator("script, img, iframe, link, object, embed").count() == 0
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))")
    assert hrefs and not [h for h in hrefs if h.lower().startswith(("javascript:", "data:"))]
    assert [h for h in hrefs if h.startswith(probe.url)]  # the http permalink is a link, percent-encoded
    assert all("<" not in h and '"' not in h for h in hrefs)
    assert "javascript:window.__pwned='permalink'" in text  # shown, not linked
    # clicking every permalink-ish link that is not http(s) is impossible: there are none
    page.screenshot(path=str(SCREENSHOTS / "school-hostile.png"), full_page=True)
    watched.assert_clean(probe)


def test_school_report_screenshot(browser, site, probe):
    watched = Watched(browser)
    page = watched.open(site.output / "reports" / str(WEEK) / "schools" / "st-hildas.html")
    assert "A*** H***" in page.locator("body").inner_text()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "school.png"), full_page=True)
    watched.assert_clean(probe)


def test_hostile_post_text_is_inert_in_the_email(browser, site, probe, tmp_path):
    from socialaudit.delivery import read_eml

    message = read_eml(site.output / "outbox" / str(WEEK) / "our-lady.eml")
    html = message.get_body(("html",)).get_content()
    path = tmp_path / "email.html"
    path.write_text(html, encoding="utf-8")
    watched = Watched(browser)
    page = watched.open(path)  # no CSP here: the email's own markup must be inert
    text = page.locator("body").inner_text()
    assert "<script>window.__pwned = 'script'" in text and "<img src=" in text
    assert page.locator("script, img, iframe, link, style, object, embed").count() == 0
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))")
    assert hrefs and all(h.startswith(("http://", "https://")) for h in hrefs)
    page.screenshot(path=str(SCREENSHOTS / "email.png"), full_page=True)
    watched.assert_clean(probe)


AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"  # package.json; `make test` runs npm ci
WIDTHS = (390, 1280)  # a phone and a laptop


@pytest.fixture
def wide_site(demo_week: Any, probe: Any) -> Any:
    """The demo week with the hostile findings, a critical one, and one whose post address and text
    are long unbroken strings (a 2,000-character link, a 300-letter word, as a feed may send)."""
    store = demo_week.store()
    add_findings(store, WEEK, "our-lady", hostile_findings("our-lady", probe.url))
    add_findings(store, WEEK, "st-hildas", [critical_named_child("st-hildas")])
    add_findings(store, WEEK, "st-aidans", [finding("st-aidans", message="Quoted: " + "x" * 300, evidence="y" * 300,
                                                    post_url="https://st-aidans.example.sch.uk/news/" + "a" * 2000)])
    rerender(demo_week, WEEK)
    return demo_week


def _pages(site: Any, tmp_path: Path) -> dict[str, Path]:
    """Every page a reader opens for the week: the weeks index, the Trust report, each school's report
    and each school's email (its HTML part, as a mail client shows it)."""
    from socialaudit.delivery import read_eml

    reports = site.output / "reports"
    pages = {"weeks": reports / "index.html", "trust": reports / str(WEEK) / "index.html"}
    pages.update({f"school {p.stem}": p for p in sorted((reports / str(WEEK) / "schools").glob("*.html"))})
    for eml in sorted((site.output / "outbox" / str(WEEK)).glob("*.eml")):
        path = tmp_path / f"email-{eml.stem}.html"
        path.write_text(read_eml(eml).get_body(("html",)).get_content(), encoding="utf-8")
        pages[f"email {eml.stem}"] = path
    return pages


def test_every_page_fits_a_phone_and_a_laptop_without_sideways_scrolling(browser, wide_site, tmp_path):
    """The tables reflow into cards on a phone and long words wrap, so nothing is off-screen."""
    pages = _pages(wide_site, tmp_path)
    assert len([p for p in pages if p.startswith("school ")]) == 6 and len([p for p in pages if p.startswith("email ")]) == 6
    overflowing = {}
    for width in WIDTHS:
        context = browser.new_context(viewport={"width": width, "height": 800})
        page = context.new_page()
        for name, path in pages.items():
            page.goto(path.as_uri())
            scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            if scroll > inner:
                overflowing[f"{name} at {width} px"] = scroll
        if width == 390:
            page.goto(pages["school st-hildas"].as_uri())
            # on a phone the actions table is a stack of cards, each cell labelled
            assert page.eval_on_selector("table.cards td[data-label='What to do']",
                                         "td => getComputedStyle(td).display") == "block"
            page.screenshot(path=str(SCREENSHOTS / "school-390.png"), full_page=True)
        context.close()
    assert overflowing == {}


def test_axe_finds_no_accessibility_violation(browser, wide_site, tmp_path):
    if not AXE.exists():
        pytest.skip("axe-core is not installed (make test runs `npm ci`)")
    script = AXE.read_text(encoding="utf-8")
    found = {}
    for width in WIDTHS:
        # bypass_csp: the reports forbid every script but their own; axe is injected by the test
        context = browser.new_context(viewport={"width": width, "height": 800}, bypass_csp=True)
        page = context.new_page()
        for name, path in _pages(wide_site, tmp_path).items():
            page.goto(path.as_uri())
            page.add_script_tag(content=script)
            violations = page.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']}))
                .violations.map(v => `${v.impact} ${v.id}: ${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ')}`)""")
            if violations:
                found[f"{name} at {width} px"] = violations
        context.close()
    assert found == {}
