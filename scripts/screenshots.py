"""Screenshots of the demo's Trust report and one school report for the README (``make screenshots``).

Run ``make demo`` first; this opens ``output/reports/<week>/index.html`` and the report of the
school named on the command line (default: st-hildas, whose report shows a safeguarding finding
with the child's name masked) in Debian's headless Chromium and saves ``docs/screenshots/*.png``.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def main(argv: list[str]) -> int:
    school = argv[1] if len(argv) > 1 else "st-hildas"
    reports = ROOT / "output" / "reports"
    weeks = sorted(p for p in reports.glob("20*-W*") if (p / "index.html").exists())
    if not weeks:
        print("no reports under output/reports: run `make demo` first", file=sys.stderr)
        return 2
    if not CHROMIUM.exists():
        print("Debian's chromium is not installed (make system-deps)", file=sys.stderr)
        return 2
    week = weeks[-1]
    target = ROOT / "docs" / "screenshots"
    target.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        for name, path in (("dashboard", week / "index.html"), ("school-report", week / "schools" / f"{school}.html")):
            page.goto(path.as_uri())
            page.wait_for_load_state("load")
            page.screenshot(path=str(target / f"{name}.png"), full_page=True)
            print(f"{target / f'{name}.png'} ({week.name})")
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
