"""Trust report benchmark: build the Trust report of N generated schools from a synthetic store, on SQLite and on
PostgreSQL, then open its dashboard in headless Chromium.

The store is ``scripts/synthetic_store.py``'s: N schools x 10 weeks of results, findings and collections written in
bulk (a week with no data, schools not evaluated, reviewed findings and a school no longer in the config among them).
PostgreSQL is a throwaway server on loopback (``tests/pg.py``, the test suite's), or ``SOCIALAUDIT_TEST_PG_URL``.

For each backend and size it prints: the seconds to fill the store (not part of the build), then the build
(``reports.trust_view`` and ``reports.write_trust_report``, as the DAG's ``trust_report`` task runs them): seconds,
SQL queries (SQLAlchemy's ``before_cursor_execute``), the Trust report's bytes and the bytes and files of the
matrix's further pages. In Chromium (Debian's, driven by Playwright, on the SQLite build's page): the first
contentful paint and the load event; a filter keystroke, a status filter, a sort and a page turn, each timed from
the event to the next frame (``requestAnimationFrame``, then a task), median of 5; and, with JavaScript off, the
rows and page links the first page shows.

Run: ``.venv/bin/python bench/bench_trust_report.py [N ...]`` (default 600; ``BENCH_TRUST_SIZES=24000`` for
``make bench``; ``BENCH_TRUST_BACKENDS=sqlite`` for one backend). It prints figures and asserts nothing.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))
sys.path.insert(0, str(ROOT))
CHROMIUM = Path("/usr/bin/chromium")
WEEK = "2026-W47"


def _synthetic() -> Any:
    spec = importlib.util.spec_from_file_location("synthetic_store", ROOT / "scripts" / "synthetic_store.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build(url: str, raw: dict[str, Any], output: Path) -> dict[str, Any]:
    """Fill a store at ``url`` and build the Trust report from it into ``output``; return the figures."""
    from sqlalchemy import event

    from socialaudit import reports
    from socialaudit.config import parse_config
    from socialaudit.store import Store
    from socialaudit.weeks import IsoWeek

    synthetic = _synthetic()
    week = IsoWeek.parse(WEEK)
    filled = synthetic.fill(url, raw, week, weeks=10)
    config = parse_config(raw, "synthetic")
    missing = [s.id for s in config.schools[:: max(1, len(config.schools) // 5)]][:5]  # a few did not finish
    store = Store(url)
    queries = [0]

    def counted(*_: Any) -> None:
        queries[0] += 1

    event.listen(store.engine, "before_cursor_execute", counted)
    started = time.perf_counter()
    view = reports.trust_view(config, week, store, missing=missing)
    viewed = time.perf_counter()
    page = reports.write_trust_report(view, output)
    done = time.perf_counter()
    event.remove(store.engine, "before_cursor_execute", counted)
    further = sorted(page.parent.glob("schools-*.html"))
    return {"fill_s": filled["seconds"], "rows": filled["check_results"] + filled["findings"] + filled["collections"],
            "build_s": done - started, "view_s": viewed - started, "write_s": done - viewed, "queries": queries[0],
            "page": page, "page_bytes": page.stat().st_size, "pages": len(further),
            "pages_bytes": sum(p.stat().st_size for p in further)}


def _after_frame(page: Any, action: str) -> float:
    """Milliseconds from doing ``action`` (JavaScript) to the next frame after it."""
    return float(page.evaluate("async () => { const start = performance.now(); " + action +
                               " await new Promise(done => requestAnimationFrame(() => setTimeout(done, 0)));"
                               " return performance.now() - start; }"))


def browse(page_path: Path) -> dict[str, Any]:
    """First paint, load and interaction latencies of the dashboard in headless Chromium."""
    from playwright.sync_api import sync_playwright

    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
    out: dict[str, Any] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        started = time.perf_counter()
        page.goto(page_path.as_uri(), wait_until="load")
        out["goto_load_s"] = time.perf_counter() - started
        out["first_paint_ms"] = page.evaluate("""() => new Promise(done => {
            new PerformanceObserver(list => {
                const fcp = list.getEntries().find(e => e.name === 'first-contentful-paint');
                if (fcp) { done(fcp.startTime); }
            }).observe({type: 'paint', buffered: true});
            setTimeout(() => done(-1), 10000);  // -1: no paint recorded within 10 s
        })""")
        out["load_ms"] = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
        out["rows_drawn"] = page.locator("#matrix tbody tr").count()
        typed = []
        for text in ("s", "st", "st ", "xq", ""):
            typed.append(_after_frame(page, f"const i = document.getElementById('filter-text'); i.value = {text!r}; "
                                            "i.dispatchEvent(new Event('input'));"))
        out["filter_ms"] = statistics.median(typed)
        out["filter_max_ms"] = max(typed)
        status = [_after_frame(page, f"const s = document.getElementById('filter-status'); s.value = {v!r}; "
                                     "s.dispatchEvent(new Event('change'));") for v in ("fail", "warn", "error", "pass", "")]
        out["status_ms"] = statistics.median(status)
        sorts = [_after_frame(page, f"document.querySelectorAll('#matrix thead th button')[{c}].click();") for c in (0, 1, 0, 9, 9)]
        out["sort_ms"] = statistics.median(sorts)
        out["sort_max_ms"] = max(sorts)
        turns = [_after_frame(page, "document.getElementById('page-next').click();") for _ in range(5)]
        out["page_ms"] = statistics.median(turns)
        out["count_text"] = page.locator("#filter-count").inner_text()
        context.close()
        plain = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
        page = plain.new_page()
        page.goto(page_path.as_uri(), wait_until="load")
        out["nojs_rows"] = page.locator("#matrix tbody tr").count()
        out["nojs_kpis"] = page.locator(".kpi").count()
        out["nojs_page_links"] = page.locator("#matrix-pages a").count()
        plain.close()
        browser.close()
    return out


def main(argv: list[str] | None = None) -> None:
    sizes = [int(a) for a in (argv if argv is not None else sys.argv[1:])] or \
        [int(n) for n in os.environ.get("BENCH_TRUST_SIZES", "600").split(",") if n.strip()]
    backends = [b for b in os.environ.get("BENCH_TRUST_BACKENDS", "sqlite,postgresql").split(",") if b]
    synthetic = _synthetic()
    print(f"   load average at start: {os.getloadavg()[0]:.1f} (2 cores)", flush=True)
    work = Path(tempfile.mkdtemp(prefix="bench-trust-"))
    os.chmod(work, 0o755)  # the PostgreSQL server runs as the postgres user when we are root: it must reach its folder
    server = None
    try:
        for n in sizes:
            raw = synthetic.trust_config(n)
            built: dict[str, dict[str, Any]] = {}
            for backend in backends:
                if backend == "sqlite":
                    url = f"sqlite:///{work / f'store-{n}.db'}"
                else:
                    from tests import pg

                    if server is None:
                        given = os.environ.get("SOCIALAUDIT_TEST_PG_URL")
                        try:
                            server = pg.PgServer(url=given) if given else pg.start_server(work / "pg")
                        except pg.PgUnavailable as exc:
                            print(f"   postgresql: skipped ({exc})")
                            continue
                    url = pg.create_database(server)
                figures = build(url, raw, work / f"out-{backend}-{n}")
                built[backend] = figures
                print(f"   {n:>6} schools, {backend:<10}: store filled in {figures['fill_s']:.1f} s ({figures['rows']:,} rows); "
                      f"Trust report built in {figures['build_s']:.2f} s (data {figures['view_s']:.2f} s, pages "
                      f"{figures['write_s']:.2f} s), {figures['queries']} queries; report {figures['page_bytes'] / 1e6:.2f} MB, "
                      f"{figures['pages']} further pages {figures['pages_bytes'] / 1e6:.1f} MB", flush=True)
            first = next(iter(built.values()), None)
            if first is None:
                continue
            if not CHROMIUM.exists():
                print("   browser: skipped (no /usr/bin/chromium; make system-deps)")
                continue
            b = browse(first["page"])
            print(f"   {n:>6} schools, chromium  : first paint {b['first_paint_ms']:.0f} ms, load {b['load_ms']:.0f} ms; "
                  f"{b['rows_drawn']} rows drawn; filter keystroke {b['filter_ms']:.1f} ms median ({b['filter_max_ms']:.1f} max), "
                  f"status filter {b['status_ms']:.1f} ms, sort {b['sort_ms']:.1f} ms ({b['sort_max_ms']:.1f} max), "
                  f"page turn {b['page_ms']:.1f} ms; without JavaScript: {b['nojs_rows']} rows, {b['nojs_kpis']} KPIs, "
                  f"{b['nojs_page_links']} page links", flush=True)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"   load average at end: {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
