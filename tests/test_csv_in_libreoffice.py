"""The CSV files a reviewer opens in a spreadsheet, read back by a real one (issue 13, item 5).

``history export --format csv`` and the archive's ``findings.csv`` carry text from posts. Both are
written with hostile findings (a carriage return, a new line, a leading ``=``, ``+``, ``-``, ``@``,
tab or carriage return) and converted by LibreOffice Calc, headless, with its default CSV import
(which evaluates formulas), to a flat OpenDocument spreadsheet: no cell may be a formula, and every
finding must stay one row, its text whole. A control file written with Python's csv module alone
shows that the same reading does turn ``=1+1`` into a live formula.

Needs ``soffice`` (Debian ``libreoffice-calc-nogui``, installed by ``make system-deps``); skipped
with a message without it.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

SOFFICE = shutil.which("soffice")
pytestmark = pytest.mark.skipif(SOFFICE is None, reason="LibreOffice is not installed (soffice not found): "
                                                       "apt-get install libreoffice-calc-nogui, or make system-deps")

NS = {"table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
      "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0"}
FORMULA = f"{{{NS['table']}}}formula"
HOSTILE = [
    "Lovely day\r=1+1",  # a bare CR, then a formula: the row used to split there
    "a\r\n=HYPERLINK(\"http://evil.example\",\"click\")",
    "line one\nline two",
    "\r=cmd|' /C calc'!A0",  # a leading CR
    "=1+1",
    "+1+1",
    "-2+3",
    "@SUM(1,1)",
    "\t=1+1",  # a leading tab
    "x\r+1+1\r-1",
    "ends with a CR\r",
]


def _text(cell: ET.Element) -> str:
    """A cell's text as Calc holds it: its paragraphs joined by new lines, spaces and tabs expanded."""
    def inline(node: ET.Element) -> str:
        out = node.text or ""
        for child in node:
            tag = child.tag.split("}")[1]
            if tag == "s":
                out += " " * int(child.get(f"{{{NS['text']}}}c", "1"))
            elif tag == "tab":
                out += "\t"
            elif tag == "line-break":
                out += "\n"
            else:
                out += inline(child)
            out += child.tail or ""
        return out

    return "\n".join(inline(p) for p in cell.findall("text:p", NS))


@pytest.fixture(scope="module")
def profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One LibreOffice user profile for the module (its first start builds it: the slow part)."""
    return tmp_path_factory.mktemp("libreoffice-profile")


def read_in_calc(path: Path, profile: Path) -> list[list[tuple[str, bool]]]:
    """The file converted by LibreOffice Calc (default CSV import: UTF-8, comma, double quote, formulas
    evaluated): each row as (text, is a formula) per cell."""
    out = path.parent / "calc"
    subprocess.run([str(SOFFICE), "--headless", "--norestore", f"-env:UserInstallation={profile.as_uri()}",
                    "--convert-to", "fods", "--infilter=CSV:44,34,76,1", "--outdir", str(out), str(path)],
                   check=True, capture_output=True, timeout=180)
    root = ET.parse(out / f"{path.stem}.fods").getroot()
    rows = []
    for row in root.findall(".//table:table-row", NS):
        cells: list[tuple[str, bool]] = []
        for cell in row.findall("table:table-cell", NS):
            repeat = int(cell.get(f"{{{NS['table']}}}number-columns-repeated", "1"))
            cells += [(_text(cell), FORMULA in cell.attrib)] * min(repeat, 100)
        while cells and cells[-1] == ("", False):
            cells.pop()
        rows.append(cells)
    return rows


def as_calc_shows(value: str) -> str:
    """Calc keeps a CR inside a cell as a new line."""
    return value.replace("\r\n", "\n").replace("\r", "\n")


def hostile_findings() -> list[dict[str, Any]]:
    return [{"week": "2026-W47", "run_id": "manual__2026-11-23", "school": "st-aidans", "check": "external_links",
             "policy": "4.1", "severity": "breach", "status": "fail", "message": text, "evidence": text,
             "account": "@staidans@mastodon.example", "post_id": str(number), "post_url": "", "action": text,
             "key": f"external_links:st-aidans:{number}"} for number, text in enumerate(HOSTILE)]


def test_the_reading_finds_a_live_formula_when_there_is_one(tmp_path: Path, profile: Path) -> None:
    """The control: Python's csv module alone writes "=1+1" as it is, and Calc runs it."""
    plain = tmp_path / "plain.csv"
    with plain.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([["school", "message"], ["st-aidans", "=1+1"]])
    rows = read_in_calc(plain, profile)
    assert rows[1][1] == ("2", True)


def test_history_export_csv_has_no_live_formula_and_no_split_row_in_libreoffice(tmp_path: Path, profile: Path) -> None:
    from socialaudit.archive import csv_cell
    from socialaudit.cli.history import EXPORT_COLUMNS, _csv

    findings = hostile_findings()
    metrics = [{"week": "2026-W47", "run_id": "manual__2026-11-23", "school": "st-aidans", "check": "external_links",
                "policy": "4.1", "status": "fail", "metrics": {"hosts": {text: text for text in HOSTILE}}}]
    target = tmp_path / "export.csv"
    target.write_text(_csv({"findings": findings, "metrics": metrics, "runs": []}), encoding="utf-8", newline="")
    rows = read_in_calc(target, profile)
    assert [text for text, formula in rows[0]] == list(EXPORT_COLUMNS)
    assert len(rows) == 1 + len(findings) + len(HOSTILE)  # no row split at a CR or a new line
    assert [(r, c, text) for r, row in enumerate(rows) for c, (text, formula) in enumerate(row) if formula] == []
    column = {name: number for number, name in enumerate(EXPORT_COLUMNS)}
    for finding, row in zip(findings, rows[1:1 + len(findings)], strict=True):
        texts = [text for text, _ in row]
        assert texts[column["record"]] == "finding" and texts[column["school"]] == "st-aidans"
        for name in ("message", "evidence", "action"):
            assert texts[column[name]] == as_calc_shows(csv_cell(finding[name]))
    shown = {as_calc_shows(csv_cell(f"hosts.{text}")) for text in HOSTILE}
    assert {row[column["metric"]][0] for row in rows[1 + len(findings):]} == shown


def test_the_archived_findings_csv_has_no_live_formula_and_no_split_row_in_libreoffice(tmp_path: Path, profile: Path) -> None:
    from socialaudit.archive import bundle, csv_cell

    findings = hostile_findings()
    columns = list(bundle.FINDING_COLUMNS)
    target = tmp_path / "findings.csv"
    target.write_bytes(bundle._csv_bytes(findings, columns))  # as archive_run writes it
    rows = read_in_calc(target, profile)
    assert len(rows) == 1 + len(findings)
    assert [(r, c, text) for r, row in enumerate(rows) for c, (text, formula) in enumerate(row) if formula] == []
    where = columns.index("message")
    assert [row[where][0] for row in rows[1:]] == [as_calc_shows(csv_cell(text)) for text in HOSTILE]
