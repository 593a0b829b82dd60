"""Screenshots of the demo's Trust report and one school report for the README (``make screenshots``).

Run ``make demo`` first; this opens ``output/reports/<week>/index.html`` and the report of the
school named on the command line (default: st-hildas, whose report shows a safeguarding finding
with the child's name masked) in Debian's headless Chromium, at 1,280 px, and that report and the school's
email at 390 px (a phone), and saves ``docs/screenshots/*.png``.
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

    from socialaudit.delivery import read_eml

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        email = target / f".{school}-email.html"  # the email's HTML part, as a mail client shows it
        email.write_text(read_eml(ROOT / "output" / "outbox" / week.name / f"{school}.eml").get_body(("html",)).get_content(),
                         encoding="utf-8")
        shots = (("dashboard", 1280, week / "index.html"), ("school-report", 1280, week / "schools" / f"{school}.html"),
                 ("school-report-phone", 390, week / "schools" / f"{school}.html"), ("email-phone", 390, email))
        try:
            for name, width, path in shots:
                page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
                page.goto(path.as_uri())
                page.wait_for_load_state("load")
                page.screenshot(path=str(target / f"{name}.png"), full_page=True)
                print(f"{target / f'{name}.png'} ({week.name}, {width} px wide)")
        finally:
            email.unlink()
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
