"""``python -m socialaudit history ...``: the auditors' commands over the archive.

- ``list [--school S] [--from W] [--to W]``: archived runs with their week, state and counts (and
  runs the store knows that were never archived);
- ``show RUN``: what that run found, per school;
- ``export --from W --to W [--school S] --format csv|json|xlsx|parquet [-o FILE]``: findings and weekly metrics
  across weeks, from the latest archived run of each week;
- ``verify [--from W] [--to W]``: recompute every hash and walk the chain;
- ``purge [--dry-run]``: remove what is past ``trust.retention`` and record the purge in the chain;
- ``replay RUN [--school S]``: recompute every check of a sealed run from its archive folder alone
  (no network, no store) and print ``identical`` or each difference (exit 1 on any).

Everything is read from the archive (``SOCIALAUDIT_ARCHIVE``, default ``<output>/archive``), the
record auditors rely on, not from the store, which holds only the latest run of a week. Bad input
(an unknown run or school, a malformed week) is one line on stderr and exit 2; a verification that
finds a mismatch exits 1 and names every file or run that does not match.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import re
import sys
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from socialaudit.archive.bundle import SUPPRESSION_COLUMNS, SafeCsvWriter, csv_cell, finding_key, suppression_cells
from socialaudit.archive.chain import MANIFEST, Archive, ArchiveError, open_archive
from socialaudit.archive.retention import purge
from socialaudit.cli._common import EXIT_FAILED
from socialaudit.environment import Environment
from socialaudit.errors import UsageError
from socialaudit.models import Severity, Status
from socialaudit.replay import UnknownSchool, replay
from socialaudit.weeks import IsoWeek, week_range

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
EXPORT_COLUMNS = ("record", "week", "run_id", "school", "check", "policy", "status", "severity", "account", "post_id",
                  "post_url", "message", "evidence", "action", "metric", "value", *SUPPRESSION_COLUMNS, "key", "incident")


def clean(text: Any) -> str:
    """Untrusted text (post permalinks, messages) made safe for a terminal: no escape sequences."""
    return _CONTROL.sub("?", str(text)).replace("\n", " ")


def _week(value: str | None, name: str) -> IsoWeek | None:
    if not value:
        return None
    try:
        return IsoWeek.parse(value)
    except ValueError as exc:
        raise UsageError(f"{name}: {exc}") from None


def _range(args: argparse.Namespace) -> tuple[IsoWeek | None, IsoWeek | None]:
    first, last = _week(args.from_week, "--from"), _week(args.to_week, "--to")
    if first and last and last < first:
        raise UsageError(f"--to {last} is before --from {first}")
    return first, last


def _in(week: str, first: IsoWeek | None, last: IsoWeek | None) -> bool:
    value = IsoWeek.parse(week)
    return (first is None or value >= first) and (last is None or value <= last)


def _sealed_in(seal: Mapping[str, Any], first: IsoWeek | None, last: IsoWeek | None) -> bool:
    """Whether a seal's run (folder "2026-W47/<run>") is in the range; a seal whose week cannot be read counts."""
    try:
        return _in(str(seal.get("folder", "")).split("/", 1)[0], first, last)
    except ValueError:
        return True


def _archive(args: argparse.Namespace, must_exist: bool = True) -> Archive:
    found = open_archive(url=args.archive or None)
    if must_exist and not (found.root / "index.json").exists():
        raise UsageError(_NO_ARCHIVE.format(root=found.root))
    return found


# A mistyped --archive must not "verify" an empty folder as intact.
_NO_ARCHIVE = "{root}: no archive there (no index.json); set SOCIALAUDIT_ARCHIVE or --archive"


def _school_status(entry: Mapping[str, Any]) -> str:
    """A school's overall status in one run: the worst of its checks; not evaluated if it did not finish."""
    if not entry.get("finished"):
        return "not_evaluated"
    statuses = [Status(c["status"]) for c in entry.get("checks", [])]
    return max(statuses, key=lambda s: s.rank).value if statuses else "not_evaluated"


def _results(archive: Archive, entry: Mapping[str, Any]) -> list[dict[str, Any]]:
    return list(archive.read_json(entry["folder"], "results.json")["schools"])


# --- list --------------------------------------------------------------------------------------

def cmd_list(args: argparse.Namespace) -> int:
    """Print the archived runs (oldest first), optionally one school's line of each."""
    first, last = _range(args)
    archive = _archive(args)
    runs = [e for e in archive.runs() if _in(e["week"], first, last)]
    out = sys.stdout
    if args.school:
        out.write(f"{'#':>4}  {'week':8}  {'run':40}  {'run state':10}  {'school status':14}  findings\n")
        seen = False
        for entry in runs:
            try:
                schools = {s["school"]: s for s in _results(archive, entry)}
            except ArchiveError:
                out.write(f"{entry['seq']:>4}  {entry['week']:8}  {clean(entry['run_id'])[:40]:40}  {entry['state']:10}  "
                          f"{'(purged)':14}  -\n")
                continue
            school = schools.get(args.school)
            if school is None:
                continue
            seen = True
            count = sum(c.get("findings", 0) for c in school.get("checks", []))
            out.write(f"{entry['seq']:>4}  {entry['week']:8}  {clean(entry['run_id'])[:40]:40}  {entry['state']:10}  "
                      f"{_school_status(school):14}  {count}\n")
        if not seen and runs:
            raise UsageError(f"no archived run {_between(first, last)}includes school {args.school!r}")
        return 0
    out.write(f"{'#':>4}  {'week':8}  {'run':40}  {'state':10}  {'schools':>7}  {'findings':>8}  {'breach+':>7}  archived\n")
    for entry in runs:
        counts = entry.get("counts") or {}
        severe = sum(n for s, n in (counts.get("by_severity") or {}).items() if s in ("breach", "critical"))
        finished = f"{counts.get('schools_finished', '?')}/{counts.get('schools', '?')}"
        out.write(f"{entry['seq']:>4}  {entry['week']:8}  {clean(entry['run_id'])[:40]:40}  {entry['state']:10}  "
                  f"{finished:>7}  {counts.get('findings', '?'):>8}  {severe:>7}  {entry['archived_at']}\n")
    for row in _unarchived(archive, first, last):
        out.write(f"{'-':>4}  {row['week']:8}  {clean(row['run_id'])[:40]:40}  {row['state']:10}  not archived\n")
    purges = [e for e in archive.index() if e.get("kind") == "purge"]
    if purges:
        out.write(f"{len(purges)} purge record(s) in the chain, the last on {purges[-1]['purged_at']} ('history verify' lists them)\n")
    return 0


def _between(first: IsoWeek | None, last: IsoWeek | None) -> str:
    if first and last:
        return f"between {first} and {last} "
    if first:
        return f"from {first} "
    return f"up to {last} " if last else ""


def _unarchived(archive: Archive, first: IsoWeek | None, last: IsoWeek | None) -> list[dict[str, Any]]:
    """Runs the store recorded that are not in the archive (still running, or the archive step failed)."""
    from sqlalchemy.exc import SQLAlchemyError

    archived = {e["run_id"] for e in archive.runs()}
    try:
        rows = Environment.from_env().store().list_runs()
    except (SQLAlchemyError, OSError) as exc:  # the store is a cross-check here; the archive is the record
        print(f"socialaudit history: the store could not be read for unarchived runs: {type(exc).__name__}", file=sys.stderr)
        return []
    return [r for r in rows if r["run_id"] not in archived and _in(r["week"], first, last)]


# --- show --------------------------------------------------------------------------------------

def cmd_show(args: argparse.Namespace) -> int:
    """Print what one archived run found, school by school."""
    archive = _archive(args)
    try:
        entry = archive.find(args.run)
    except ArchiveError as exc:
        raise UsageError(str(exc)) from None
    manifest = archive.read_json(entry["folder"], MANIFEST)
    out = sys.stdout
    out.write(f"run {clean(entry['run_id'])} ({entry['folder']}), week {entry['week']}: {entry['state']}\n")
    out.write(f"  archived {entry['archived_at']}, chain position {entry['seq']}, manifest sha256 {entry['manifest_sha256']}\n")
    out.write(f"  rules {manifest.get('rules_version', 'unknown')[:16]}..., code {manifest.get('code_version', 'unknown')}\n")
    if entry.get("missing"):
        out.write(f"  did not finish: {', '.join(entry['missing'])}\n")
    try:
        schools = _results(archive, entry)
        findings = archive.read_json(entry["folder"], "findings.json")
    except ArchiveError as exc:
        out.write(f"  results not available: {exc}\n")
        return 0
    by_school: dict[str, list[dict[str, Any]]] = {}
    for f in findings:
        by_school.setdefault(f["school"], []).append(f)
    if args.school and args.school not in {s["school"] for s in schools}:
        raise UsageError(f"run {entry['run_id']!r} has no school {args.school!r}")
    for school in schools:
        if args.school and school["school"] != args.school:
            continue
        status = _school_status(school)
        out.write(f"\n{clean(school['name'])} ({school['school']}): {Status(status).label}\n")
        if not school.get("finished"):
            out.write(f"  {school.get('note', 'not evaluated')}\n")
            continue
        for account in school.get("not_collected", []):
            out.write(f"  not collected: {clean(account)}\n")
        for result in school.get("checks", []):
            out.write(f"  [{Status(result['status']).label}] {result['policy']} {result['check']}: {clean(result['summary'])}\n")
        for f in sorted(by_school.get(school["school"], []), key=lambda f: (-Severity(f["severity"]).rank, f["check"])):
            suppressed = f.get("suppression") or {}
            if not isinstance(suppressed, dict):  # an archive edited by hand: say so, never a traceback
                suppressed = {"kind": "unreadable"}
            mark = f" [suppressed: {clean(suppressed.get('kind') or 'yes')} by {clean(suppressed.get('reviewer') or '?')}]" \
                if suppressed else ""
            out.write(f"    - {f['severity']}{mark}: {clean(f['message'])}\n")
            if f.get("post_url"):
                out.write(f"      {clean(f['post_url'])}\n")
            out.write(f"      key {clean(finding_key(f))}\n")
    return 0


# --- export ------------------------------------------------------------------------------------

def _flatten(prefix: str, value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for key in sorted(value):
            yield from _flatten(f"{prefix}.{key}" if prefix else str(key), value[key])
    elif isinstance(value, (list, tuple)):
        yield prefix, json.dumps(value, sort_keys=True)
    else:
        yield prefix, value


def export_rows(archive: Archive, first: IsoWeek, last: IsoWeek, school: str | None = None, *,
                progress: bool = False) -> dict[str, Any]:
    """Findings and weekly check metrics for every week in the range, from the latest run of each week."""
    from tqdm import tqdm

    latest: dict[str, dict[str, Any]] = {}
    for entry in archive.runs():
        latest[entry["week"]] = entry  # later entries (reruns) supersede earlier ones
    weeks = [str(w) for w in week_range(first, last)]
    out: dict[str, Any] = {"from": str(first), "to": str(last), "school": school, "runs": [], "weeks_without_run": [],
                           "unavailable": [], "findings": [], "metrics": []}
    seen_school = False
    for week in tqdm(weeks, desc="export", unit="week", file=sys.stderr, disable=not progress):
        found = latest.get(week)
        if found is None:
            out["weeks_without_run"].append(week)
            continue
        entry = found
        out["runs"].append({"week": week, "run_id": entry["run_id"], "folder": entry["folder"], "state": entry["state"]})
        try:
            schools = _results(archive, entry)
            findings = archive.read_json(entry["folder"], "findings.json")
        except ArchiveError as exc:
            out["unavailable"].append(f"{entry['folder']}: {exc}")
            continue
        for s in schools:
            if school and s["school"] != school:
                continue
            seen_school = True
            if not s.get("finished"):
                out["metrics"].append({"week": week, "run_id": entry["run_id"], "school": s["school"], "check": "",
                                       "policy": "", "status": "not_evaluated", "metrics": {}})
            for result in s.get("checks", []):
                out["metrics"].append({"week": week, "run_id": entry["run_id"], "school": s["school"],
                                       "check": result["check"], "policy": result["policy"], "status": result["status"],
                                       "metrics": result.get("metrics", {})})
        for f in findings:
            if school and f["school"] != school:
                continue
            out["findings"].append({"run_id": entry["run_id"], **f, "key": finding_key(f)})
    if school and not seen_school and out["runs"]:
        raise UsageError(f"no archived run between {first} and {last} includes school {school!r}")
    return out


def _csv(data: Mapping[str, Any]) -> str:
    buffer = io.StringIO()
    writer = SafeCsvWriter(buffer, EXPORT_COLUMNS)
    writer.writeheader()
    for f in data["findings"]:
        row = {**f, **suppression_cells(f)}
        writer.writerow({"record": "finding", **{k: csv_cell(row.get(k, "")) for k in EXPORT_COLUMNS if k != "record"}})
    for m in data["metrics"]:
        base = {"record": "metric", "week": m["week"], "run_id": m["run_id"], "school": m["school"], "check": m["check"],
                "policy": m["policy"], "status": m["status"]}
        pairs = list(_flatten("", m["metrics"])) or [("", "")]
        for name, value in pairs:
            writer.writerow({**base, "metric": csv_cell(name), "value": csv_cell(value)})
    return buffer.getvalue()


FINDING_COLUMNS = tuple(c for c in EXPORT_COLUMNS if c not in ("record", "metric", "value"))
METRIC_COLUMNS = ("week", "run_id", "school", "check", "policy", "status", "metric", "value", "number")
RUN_COLUMNS = ("week", "run_id", "folder", "state")


def _number(value: Any) -> float | None:
    """A metric as a float where it is a finite number that fits one; None otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer beyond a float's range: the text column keeps it
        return None
    return number if math.isfinite(number) else None


XLSX_CELL_MAX = 32_767  # characters a workbook cell holds
_CUT = " [cut: longer than a workbook cell holds]"


def export_tables(data: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The export as three tables (runs, findings, metrics), one metric per row: what a spreadsheet or a
    data frame wants. ``value`` is the metric as text; ``number`` the same when it is a number."""
    findings = [{c: {**f, **suppression_cells(f)}.get(c, "") for c in FINDING_COLUMNS} for f in data["findings"]]
    metrics = []
    for m in data["metrics"]:
        for name, value in list(_flatten("", m["metrics"])) or [("", "")]:
            number = _number(value)
            metrics.append({"week": m["week"], "run_id": m["run_id"], "school": m["school"], "check": m["check"],
                            "policy": m["policy"], "status": m["status"], "metric": name,
                            "value": value if isinstance(value, str) else json.dumps(value), "number": number})
    runs = [{c: r.get(c, "") for c in RUN_COLUMNS} for r in data["runs"]]
    return {"runs": runs, "findings": findings, "metrics": metrics}


_COLUMNS = {"runs": RUN_COLUMNS, "findings": FINDING_COLUMNS, "metrics": METRIC_COLUMNS}


def _write_xlsx(data: Mapping[str, Any], target: Path) -> None:
    """One workbook, a sheet each for runs, findings and metrics. Text from posts is defused as in the
    CSV (a leading = + - @ gets an apostrophe: openpyxl would store it as a formula), and characters a
    workbook cannot hold (control characters) become U+FFFD."""
    import pandas as pd
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    def cell(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        value = csv_cell(ILLEGAL_CHARACTERS_RE.sub("\ufffd", value))
        if len(value) > XLSX_CELL_MAX:  # said in the cell, not cut silently: the CSV and JSON keep it whole
            value = value[:XLSX_CELL_MAX - len(_CUT)] + _CUT
        return value

    with pd.ExcelWriter(target, engine="openpyxl") as writer:
        for name, rows in export_tables(data).items():
            frame = pd.DataFrame([{k: cell(v) for k, v in row.items()} for row in rows], columns=list(_COLUMNS[name]))
            frame.to_excel(writer, sheet_name=name, index=False)


def _write_parquet(data: Mapping[str, Any], target: Path) -> None:
    """One Parquet file for analysts: the findings and the metrics in one long table, as in the CSV
    (``record`` says which), with typed columns (``number`` is a float, the rest text); no defusing:
    a data frame runs no formulas."""
    import pandas as pd

    tables = export_tables(data)
    rows = [{"record": "finding", **f} for f in tables["findings"]] + [{"record": "metric", **m} for m in tables["metrics"]]
    columns = ["record", *dict.fromkeys((*FINDING_COLUMNS, *METRIC_COLUMNS))]
    frame = pd.DataFrame(rows, columns=columns)
    for column in columns:
        if column != "number":
            frame[column] = frame[column].fillna("").astype(str)
    frame["number"] = frame["number"].astype("float64")
    frame.to_parquet(target, index=False, engine="pyarrow")


def _text(data: Mapping[str, Any], format: str) -> str:  # noqa: A002 - the CLI's option name
    return _csv(data) if format == "csv" else json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


# An --output naming a file like these is the export's file given the way it was before -o/--file
EXPORT_SUFFIXES = (".csv", ".json", ".jsonl", ".xlsx", ".parquet", ".txt")


def cmd_export(args: argparse.Namespace) -> int:
    """Write the export as CSV (one row per finding or metric) or JSON, to a file or stdout; or as an
    Excel workbook or a Parquet file, to a file."""
    first, last = _range(args)
    if first is None or last is None:
        raise UsageError("export needs --from and --to (ISO weeks such as 2026-W30)")
    folder = getattr(args, "output_dir", None)
    if folder and (Path(folder).suffix.lower() in EXPORT_SUFFIXES or not Path(folder).is_dir()):
        # the option's former meaning here was the export's file: any --output that is not an existing folder
        # ("findings", "-", "f.tsv") is refused, never taken as a folder with no archive (or $SOCIALAUDIT_ARCHIVE's)
        raise UsageError(f"--output {folder}: --output is the output folder, for every command; "
                         "write the export to a file with -o FILE (or --file FILE)")
    binary = args.format in ("xlsx", "parquet")
    if binary and (not args.file or args.file == "-"):
        raise UsageError(f"--format {args.format} writes a file: give it with -o FILE")
    archive = _archive(args)
    progress = args.progress if args.progress is not None else sys.stderr.isatty()
    data = export_rows(archive, first, last, args.school, progress=progress)
    if args.file and args.file != "-":
        target = Path(args.file)
        tmp = target.with_name(target.name + ".tmp")
        try:
            if args.format == "xlsx":
                _write_xlsx(data, tmp)
            elif args.format == "parquet":
                _write_parquet(data, tmp)
            else:
                tmp.write_text(_text(data, args.format), encoding="utf-8")
            tmp.replace(target)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise UsageError(f"{args.file}: cannot write the export: {exc.strerror}") from None
        except Exception as exc:  # a writer's fault on odd data: one line, no half-written file left
            tmp.unlink(missing_ok=True)
            raise UsageError(f"{args.file}: cannot write the export as {args.format}: {type(exc).__name__}: {exc}") from None
    else:
        sys.stdout.write(_text(data, args.format))
    for week in data["weeks_without_run"]:
        print(f"socialaudit history export: no archived run for {week}", file=sys.stderr)
    for problem in data["unavailable"]:
        print(f"socialaudit history export: {problem}", file=sys.stderr)
    return 0


# --- verify ------------------------------------------------------------------------------------

def _seals(archive: Archive) -> tuple[list[dict[str, Any]] | None, str]:
    """The store's seals for ``archive``, and a warning to print: which other archives the store has seals
    for when it has none for this one; why not, with None, when the store cannot be read (the chain
    is then checked without its anchor)."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        store = Environment.from_env().store()
        seals = store.seals_for(archive.location)
        others = [a for a in store.sealed_archives() if a != archive.location] if not seals else []
    except (SQLAlchemyError, OSError) as exc:
        return None, (f"the store could not be read ({type(exc).__name__}): the chain is not anchored, so deleting "
                      "the latest run together with its index entry cannot be detected")
    hint = (f"the store holds seals for {len(others)} other archive location(s) (a moved or copied archive?): "
            f"{', '.join(others)}") if others else ""
    return seals, hint


def cmd_verify(args: argparse.Namespace) -> int:
    """Recompute every hash, walk the chain and compare it with the store's seals; exit 1 naming every mismatch."""
    first, last = _range(args)
    archive = _archive(args, must_exist=False)
    out = sys.stdout
    if not (archive.root / "index.json").exists():
        seals, why = _seals(archive)
        if why and seals is None:
            print(f"socialaudit history verify: warning: {why}", file=sys.stderr)
        seals = [s for s in seals or () if _sealed_in(s, first, last)]
        if not seals:
            raise UsageError(_NO_ARCHIVE.format(root=archive.root))
        # The store sealed runs here: an archive that has disappeared was deleted, not mistyped.
        for seal in seals:
            out.write(f"MISMATCH: run {seal.get('folder', '?')}: sealed in the store but the archive at {archive} "
                      f"is gone (no index.json): deleted\n")
        out.write(f"verification FAILED: the store holds {len(seals)} seal(s) for {archive}, which has no archive\n")
        return EXIT_FAILED
    seals, why = _seals(archive)
    report = archive.verify(first, last, seals=seals)
    for warning in ([why] if why else []) + report.warnings:
        print(f"socialaudit history verify: warning: {warning}", file=sys.stderr)
    for note in report.notes:
        out.write(f"purged: {note}\n")
    for problem in report.problems:
        out.write(f"MISMATCH: {problem}\n")
    if report.problems:
        out.write(f"verification FAILED: {len(report.problems)} problem(s) in {archive}\n")
        return EXIT_FAILED
    anchor = (f"; {report.anchored} run(s) match their seals in the store" if report.anchored
              else "; NOT anchored in the store (see the warning)")
    out.write(f"verified {report.runs} run(s), {report.files} file(s); the chain is intact; head manifest sha256 "
              f"{report.head or '(empty archive)'}{anchor}\n")
    return 0


# --- purge -------------------------------------------------------------------------------------

def cmd_purge(args: argparse.Namespace) -> int:
    """Remove what is past retention (or, with --dry-run, say what would be)."""
    archive = _archive(args)
    env = Environment.from_env(config=args.config)
    now = datetime.now(timezone.utc)
    if args.as_of:
        try:
            now = datetime.fromisoformat(args.as_of).replace(tzinfo=timezone.utc) if len(args.as_of) == 10 else \
                datetime.fromisoformat(args.as_of.replace("Z", "+00:00")).astimezone(timezone.utc)
        except ValueError:
            raise UsageError(f"--as-of {args.as_of!r} is not an ISO date such as 2026-12-01") from None
    summary = purge(archive, env, now=now, dry_run=args.dry_run)
    kept = [k for k, v in summary["retention_days"].items() if v is None]
    verb = "would remove" if args.dry_run else "removed"
    out = sys.stdout
    settings = ", ".join(f"{k} {v} days" if v is not None else f"{k} forever" for k, v in summary["retention_days"].items())
    out.write(f"retention: {settings}\n")
    if len(kept) == len(summary["retention_days"]):
        out.write("trust.retention keeps everything: nothing to purge\n")
        return 0
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(summary["by_kind"].items())) or "none"
    out.write(f"{verb} {summary['files']} archived file(s) ({kinds})\n")
    blanked = "would blank up to" if args.dry_run else "blanked"
    out.write(f"{blanked} the text of {summary['posts_blanked']} stored post(s)\n")
    if summary["output_removed"]:
        out.write(f"{verb} working copies: {', '.join(summary['output_removed'])}\n")
    if summary["entry"]:
        entry = summary["entry"]
        out.write(f"recorded in the chain as {entry['folder']} (position {entry['seq']}, manifest sha256 {entry['manifest_sha256']})\n")
    elif not args.dry_run:
        out.write("nothing past retention: no purge record written\n")
    return 0


# --- parser ------------------------------------------------------------------------------------

# --- replay ------------------------------------------------------------------------------------

def cmd_replay(args: argparse.Namespace) -> int:
    """Recompute a sealed run's checks from its archive folder; ``identical``, or each difference and exit 1."""
    archive = _archive(args)
    try:
        archive.find(args.run)
    except ArchiveError as exc:
        raise UsageError(str(exc)) from None
    try:
        found = replay(archive, args.run, school=args.school)
    except UnknownSchool as exc:
        raise UsageError(str(exc)) from None
    out = sys.stdout
    scope = f"school {args.school}" if args.school else f"{len(found.schools)} school(s)"
    out.write(f"replayed run {clean(found.run_id)} ({found.folder}), week {found.week}: {scope} in {found.seconds:.2f} s\n")
    for note in found.notes:
        out.write(f"  note: {clean(note)}\n")
    for school in found.skipped:
        out.write(f"  {school}: did not finish in that run, nothing to replay\n")
    if found.identical:
        out.write("identical\n")
        return 0
    for difference in found.differences:
        out.write(f"DIFFERS: {clean(difference)}\n")
    out.write(f"{len(found.differences)} difference(s)\n")
    return EXIT_FAILED


def _dispatch(args: argparse.Namespace) -> int:
    commands = {"list": cmd_list, "show": cmd_show, "export": cmd_export, "verify": cmd_verify, "purge": cmd_purge,
                "replay": cmd_replay}
    try:
        return commands[args.history_command](args)
    except ArchiveError as exc:
        print(f"socialaudit history {args.history_command}: {exc}", file=sys.stderr)
        return EXIT_FAILED


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--archive", help="archive URL or folder (default: $SOCIALAUDIT_ARCHIVE, else <output>/archive)")
    parser.add_argument("--config", help="trust config (default: $SOCIALAUDIT_CONFIG or config/trust.yaml)")


def _weeks(parser: argparse.ArgumentParser, required: bool = False) -> None:
    parser.add_argument("--from", dest="from_week", required=required, help="first ISO week, e.g. 2026-W30")
    parser.add_argument("--to", dest="to_week", required=required, help="last ISO week, e.g. 2026-W47")


def add_parser(sub: Any) -> None:
    """Add ``history`` and its sub-commands to the CLI (see socialaudit.cli.COMMANDS)."""
    history = sub.add_parser("history", help="the auditors' commands: list, show, export, verify, purge, replay archived runs")
    commands = history.add_subparsers(dest="history_command", required=True)

    listing = commands.add_parser("list", help="archived runs with their week, state and counts")
    listing.add_argument("--school", help="one school's status and findings in each run")
    _weeks(listing)
    _common(listing)

    show = commands.add_parser("show", help="what one run found, per school")
    show.add_argument("run", help="run id, archive folder (<week>/<run>) or 'latest'")
    show.add_argument("--school", help="only this school")
    _common(show)

    export = commands.add_parser("export", help="findings and weekly metrics across weeks, as CSV or JSON")
    _weeks(export, required=True)
    export.add_argument("--school", help="only this school")
    export.add_argument("--format", choices=("csv", "json", "xlsx", "parquet"), default="csv",
                        help="csv (default) or json to stdout or a file; xlsx (a workbook: runs, findings, metrics) "
                             "or parquet (one typed table) to the file given with -o")
    # -o/--file: --output is every command's output folder (it used to be this file; cmd_export refuses an
    # --output that names an export file, saying so)
    export.add_argument("-o", "--file", dest="file", metavar="FILE", help="file to write (default: stdout)")
    export.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="progress bar on stderr (default: when stderr is a terminal)")
    _common(export)

    verify = commands.add_parser("verify", help="recompute every hash and walk the chain; exit 1 on any mismatch")
    _weeks(verify)
    _common(verify)

    purge_cmd = commands.add_parser("purge", help="remove what is past trust.retention and record it in the chain")
    purge_cmd.add_argument("--dry-run", action="store_true", help="say what would be removed; change nothing")
    purge_cmd.add_argument("--as-of", help="apply retention as of this UTC date or time instead of now (rehearsals)")
    _common(purge_cmd)

    replay_cmd = commands.add_parser("replay", help="recompute a sealed run's checks from its archive alone; "
                                                    "exit 1 on any difference")
    replay_cmd.add_argument("run", help="run id, archive folder (<week>/<run>) or 'latest'")
    replay_cmd.add_argument("--school", help="only this school")
    _common(replay_cmd)
    history.set_defaults(func=_dispatch)
