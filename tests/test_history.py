"""``python -m socialaudit history``: list, show, export, verify and purge over three archived demo weeks,
through the real CLI entry point (exit codes and one-line errors included)."""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from socialaudit import archive, cli
from socialaudit.models import Finding
from socialaudit.pipeline import Environment
from tests.test_archive import WEEKS, archived_three_weeks, folder, private_copy, run_id_for


@pytest.fixture(scope="module")
def archived(simulator: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return archived_three_weeks(simulator, tmp_path_factory, "history")


@pytest.fixture
def env(archived: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Environment:
    return private_copy(archived, tmp_path, monkeypatch)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(["history", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_list_shows_each_run_with_week_state_and_counts(env: Environment, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "list")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["#", "week", "run", "state"]
    index = archive.open_archive(env.output).runs()
    for line, entry in zip(lines[1:4], index, strict=True):
        fields = line.split()
        assert fields[:4] == [str(entry["seq"]), entry["week"], entry["run_id"], "success"]
        assert fields[4] == "6/6" and fields[5] == str(entry["counts"]["findings"])
    assert len(lines) == 4
    code, out, _ = run(capsys, "list", "--from", "2026-W46", "--to", "2026-W46")
    assert code == 0 and [line.split()[1] for line in out.splitlines()[1:]] == ["2026-W46"]


def test_list_for_one_school_gives_its_status_in_each_run(env: Environment, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "list", "--school", "holy-cross")
    assert code == 0
    rows = [line.split() for line in out.splitlines()[1:]]
    assert [r[1] for r in rows] == [str(w) for w in WEEKS]
    assert all(r[4] == "fail" and int(r[5]) >= 1 for r in rows), rows  # one post a week: below the 3 the policy asks
    code, _, err = run(capsys, "list", "--school", "no-such-school")
    assert code == 2 and err.strip() == "socialaudit history: no archived run includes school 'no-such-school'"


def test_list_names_runs_the_store_has_but_the_archive_does_not(env: Environment, capsys: pytest.CaptureFixture[str]) -> None:
    from socialaudit import pipeline

    pipeline.plan(WEEKS[2], "manual__never_archived", env)
    _, out, _ = run(capsys, "list")
    assert any("manual__never_archived" in line and line.rstrip().endswith("not archived") for line in out.splitlines())


def test_show_prints_what_the_run_found_per_school(env: Environment, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "show", run_id_for(WEEKS[2]))
    assert code == 0, err
    assert out.startswith(f"run {run_id_for(WEEKS[2])} ({folder(WEEKS[2])}), week 2026-W47: success")
    assert "Holy Cross RC Primary School (holy-cross): Fail" in out
    assert "1 original post in 2026-W47; the policy asks for at least 3 a week." in out
    for school in env.load().schools:
        assert f"({school.id}):" in out
    # by folder name and as 'latest' it is the same run
    assert run(capsys, "show", "latest")[1] == out
    assert run(capsys, "show", folder(WEEKS[2]))[1] == out


def test_show_escapes_terminal_control_characters_from_posts() -> None:
    from socialaudit.cli.history import clean

    assert clean("see \x1b]8;;http://evil.example\x07here\x1b[0m") == "see ?]8;;http://evil.example?here?[0m"


def test_show_an_unknown_run_is_one_line_and_exit_2(env: Environment, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "show", "scheduled__1999")
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "no archived run 'scheduled__1999'" in err


def test_bad_weeks_are_one_line_and_exit_2(env: Environment, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "export", "--from", "2026-W47", "--to", "2026-W45", "--format", "csv")
    assert code == 2 and err.strip() == "socialaudit history: --to 2026-W45 is before --from 2026-W47"
    code, _, err = run(capsys, "verify", "--from", "2026-W54")
    assert code == 2 and "2026 has no week 54" in err


def test_export_csv_across_weeks(env: Environment, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "export.csv"
    code, out, err = run(capsys, "export", "--from", "2026-W44", "--to", "2026-W47", "--format", "csv", "-o", str(target))
    assert code == 0 and out == ""
    assert "no archived run for 2026-W44" in err
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    findings = [r for r in rows if r["record"] == "finding"]
    metrics = [r for r in rows if r["record"] == "metric"]
    assert {r["week"] for r in findings} == {str(w) for w in WEEKS}
    sealed = archive.open_archive(env.output)
    for week in WEEKS:
        expected = json.loads((env.output / "archive" / folder(week) / "findings.json").read_bytes())
        got = [r for r in findings if r["week"] == str(week)]
        assert [(r["school"], r["check"], r["message"]) for r in got] == [(f["school"], f["check"], f["message"]) for f in expected]
        # the finding's key, as a suppression names it, in the sealed findings.json and in the export
        assert [r["key"] for r in got] == [f["key"] for f in expected] == [Finding.from_dict(f).key for f in expected]
        sealed_csv = list(csv.DictReader(io.StringIO((env.output / "archive" / folder(week) / "findings.csv").read_text())))
        assert [r["key"] for r in sealed_csv] == [f["key"] for f in expected]
        assert {r["run_id"] for r in got} == {run_id_for(week)}
        results = sealed.read_json(folder(week), "results.json")["schools"]
        holy = next(s for s in results if s["school"] == "holy-cross")
        frequency = next(c for c in holy["checks"] if c["check"] == "post_frequency")
        posts = next(r for r in metrics if r["week"] == str(week) and r["school"] == "holy-cross"
                     and r["check"] == "post_frequency" and r["metric"] == "posts")
        assert int(posts["value"]) == frequency["metrics"]["posts"] and posts["status"] == "fail"


def test_export_json_for_one_school(env: Environment, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "export", "--from", "2026-W45", "--to", "2026-W47", "--school", "holy-cross", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert [r["week"] for r in data["runs"]] == [str(w) for w in WEEKS]
    assert data["findings"] and {f["school"] for f in data["findings"]} == {"holy-cross"}
    assert {m["school"] for m in data["metrics"]} == {"holy-cross"}
    by_week = {m["week"]: m for m in data["metrics"] if m["check"] == "post_frequency"}
    assert set(by_week) == {str(w) for w in WEEKS} and all(m["metrics"]["minimum"] == 3 for m in by_week.values())
    code, _, err = run(capsys, "export", "--from", "2026-W45", "--to", "2026-W47", "--school", "nowhere", "--format", "json")
    assert code == 2 and "includes school 'nowhere'" in err


def test_export_progress_bar_goes_to_stderr_only(env: Environment, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "export", "--from", "2026-W45", "--to", "2026-W47", "--format", "json", "--progress")
    assert code == 0 and "export" in err and "3/3" in err
    json.loads(out)  # stdout stays pure JSON
    _, _, quiet = run(capsys, "export", "--from", "2026-W45", "--to", "2026-W47", "--format", "json", "--no-progress")
    assert "3/3" not in quiet


def test_verify_passes_then_names_a_changed_file_with_exit_1(env: Environment, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "verify")
    assert code == 0 and out.startswith("verified 3 run(s)") and "the chain is intact" in out
    assert out.rstrip().endswith("; 3 run(s) match their seals in the store")
    target = env.output / "archive" / folder(WEEKS[0]) / "reports" / "schools" / "holy-cross.html"
    target.write_bytes(target.read_bytes().replace(b"Fail", b"Pass", 1))
    code, out, _ = run(capsys, "verify")
    assert code == 1
    assert f"MISMATCH: {folder(WEEKS[0])}/reports/schools/holy-cross.html: changed" in out
    assert "verification FAILED: 1 problem(s)" in out
    # limited to later weeks, that run's files are not re-hashed (its manifest still is, for the chain)
    code, out, _ = run(capsys, "verify", "--from", "2026-W46", "--to", "2026-W47")
    assert code == 0 and out.startswith("verified 2 run(s)")


def _set_retention(env: Environment, **days: int) -> None:
    path = Path(env.config)
    raw = yaml.safe_load(path.read_text())
    raw["trust"]["retention"] = days
    path.write_text(yaml.safe_dump(raw, sort_keys=False))


def test_purge_without_retention_keeps_everything(env: Environment, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "purge")
    assert code == 0 and "trust.retention keeps everything: nothing to purge" in out
    assert len(archive.open_archive(env.output).index()) == 3


def test_purge_removes_what_is_past_retention_and_verify_says_so(env: Environment, capsys: pytest.CaptureFixture[str]) -> None:
    # As of Monday 2026-11-30: 14 days after their week ends, W45 (ended 9 Nov) and W46 (16 Nov) are
    # past retention for raw responses and post texts; W47 (ended 23 Nov) is not.
    _set_retention(env, raw_responses=14, post_texts=14)
    root = env.output / "archive"
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    code, out, _ = run(capsys, "purge", "--dry-run", "--as-of", "2026-11-30")
    assert code == 0 and "would remove" in out
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before  # a dry run changes nothing

    code, out, err = run(capsys, "purge", "--as-of", "2026-11-30")
    assert code == 0, err
    assert "recorded in the chain as purges/" in out
    for week in WEEKS[:2]:
        run_dir = root / folder(week)
        assert not (run_dir / "raw").exists() or not any(p.is_file() for p in (run_dir / "raw").rglob("*"))
        assert not (run_dir / "posts.jsonl.gz").exists()
        assert (run_dir / "findings.json").exists() and (run_dir / "reports" / "trust.html").exists()
    kept = root / folder(WEEKS[2])
    assert (kept / "posts.jsonl.gz").exists() and any(p.is_file() for p in (kept / "raw").rglob("*"))
    assert gzip.decompress((kept / "posts.jsonl.gz").read_bytes())
    # the store's old post texts are blanked, recent ones kept
    store = env.store()
    since, until = WEEKS[0].bounds()
    assert all(p.text == "" for p in store.posts_for("st-aidans", since, until))
    since, until = WEEKS[2].bounds()
    assert any(p.text for p in store.posts_for("st-aidans", since, until))
    # the working copies of old raw responses are gone too
    assert not (env.output / "raw" / str(WEEKS[0])).exists() and (env.output / "raw" / str(WEEKS[2])).exists()

    code, out, _ = run(capsys, "verify")
    assert code == 0, out
    assert "3 run(s) match their seals in the store" in out  # purge records are in the chain, not among the seals
    assert re.search(rf"^purged: {re.escape(folder(WEEKS[0]))}: \d+ file\(s\) purged \(post_texts, raw_responses\) on "
                     r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", out, re.M), out
    assert f"purged: {folder(WEEKS[2])}" not in out
    record = archive.open_archive(env.output).index()[-1]
    assert record["kind"] == "purge" and record["seq"] == 4 and record["removed"] > 0
    manifest = json.loads((root / record["folder"] / "manifest.json").read_bytes())
    removed = {(r["folder"], r["path"]): r["sha256"] for r in manifest["removed"]}
    sealed = json.loads((root / folder(WEEKS[0]) / "manifest.json").read_bytes())["files"]
    assert removed[(folder(WEEKS[0]), "posts.jsonl.gz")] == sealed["posts.jsonl.gz"]["sha256"]  # the old hashes

    # purging again finds nothing new and writes no record; a later run chains after the purge record
    code, out, _ = run(capsys, "purge", "--as-of", "2026-11-30")
    assert code == 0 and "no purge record written" in out
    assert len(archive.open_archive(env.output).index()) == 4
    entry = archive.archive_run(WEEKS[2], "manual__after_purge", env)
    assert entry["seq"] == 5
    assert json.loads((root / entry["folder"] / "manifest.json").read_bytes())["previous"]["folder"] == record["folder"]
    assert run(capsys, "verify")[0] == 0


def test_a_file_deleted_outside_a_purge_still_fails_verify(env: Environment, capsys: pytest.CaptureFixture[str]) -> None:
    _set_retention(env, raw_responses=14)
    assert run(capsys, "purge", "--as-of", "2026-11-30")[0] == 0
    # posts.jsonl.gz of W45 was not due (post_texts keeps forever): deleting it is not a purge
    (env.output / "archive" / folder(WEEKS[0]) / "posts.jsonl.gz").unlink()
    code, out, _ = run(capsys, "verify")
    assert code == 1 and f"MISMATCH: {folder(WEEKS[0])}/posts.jsonl.gz: deleted" in out
    # and a purge record that is edited afterwards breaks the chain
    record = archive.open_archive(env.output).index()[-1]
    path = env.output / "archive" / record["folder"] / "manifest.json"
    path.write_bytes(path.read_bytes().replace(b'"raw_responses": 14', b'"raw_responses": 7'))
    code, out, _ = run(capsys, "verify")
    assert code == 1 and f"MISMATCH: {record['folder']}/manifest.json: edited" in out


@pytest.mark.parametrize("audit_env", ["sqlite", "postgresql"], indirect=True)
def test_history_over_a_store_on_sqlite_and_postgresql(audit_env: Environment, capsys: pytest.CaptureFixture[str]) -> None:
    """Archive one week from a store on each backend; list, verify and purge work the same."""
    from socialaudit import pipeline
    from tests.test_archive import audit_week

    week = WEEKS[2]
    audit_week(audit_env, week, run_id_for(week))
    archive.archive_run(week, run_id_for(week), audit_env)
    pipeline.plan(WEEKS[1], "manual__never_archived", audit_env)
    code, out, _ = run(capsys, "list")
    assert code == 0 and run_id_for(week) in out and "manual__never_archived" in out
    assert run(capsys, "verify")[0] == 0
    _set_retention(audit_env, post_texts=1)
    code, out, err = run(capsys, "purge", "--as-of", "2026-12-01")
    assert code == 0, err
    assert "blanked the text of" in out and "recorded in the chain" in out
    since, until = week.bounds()
    assert all(p.text == "" for p in audit_env.store().posts_for("st-aidans", since, until))
    code, out, _ = run(capsys, "verify")
    assert code == 0 and f"purged: {folder(week)}: 1 file(s) purged (post_texts)" in out


def test_csv_cells_that_a_spreadsheet_would_run_are_defused() -> None:
    from socialaudit.archive import csv_cell

    assert csv_cell('=HYPERLINK("http://evil.example","click")') == '\'=HYPERLINK("http://evil.example","click")'
    assert csv_cell("@staidans@mastodon.example") == "'@staidans@mastodon.example"
    assert csv_cell("+44 20") == "'+44 20" and csv_cell("-1") == "'-1"
    assert csv_cell("Year 3 built shields") == "Year 3 built shields" and csv_cell(-1) == -1 and csv_cell(3) == 3


@pytest.mark.parametrize("text", ["Lovely day\r=1+1", "a\r\n=HYPERLINK(\"x\")", "line one\nline two", "\r=cmd|' /C calc'!A0"])
def test_a_cell_with_a_carriage_return_or_new_line_reads_back_as_one_cell(text: str) -> None:
    """A bare CR used to go out unquoted: spreadsheet readers split the row there and ran the next 'row'."""
    import csv
    import io

    from socialaudit.archive import SafeCsvWriter, csv_cell

    buffer = io.StringIO()
    writer = SafeCsvWriter(buffer, ["school", "message", "action"])
    writer.writeheader()
    writer.writerow({"school": "st-aidans", "message": csv_cell(text), "action": "Hide it"})
    writer.writerow({"school": "holy-cross", "message": "plain", "action": "none"})
    rows = list(csv.reader(io.StringIO(buffer.getvalue(), newline="")))
    assert rows == [["school", "message", "action"], ["st-aidans", csv_cell(text), "Hide it"], ["holy-cross", "plain", "none"]]
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row)
    assert buffer.getvalue().endswith("\nholy-cross,plain,none\n")  # rows without a CR keep their bytes


def test_a_folder_that_is_not_an_archive_is_refused(env: Environment, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    for command in (["verify"], ["list"], ["show", "latest"], ["purge", "--dry-run"]):
        code, out, err = run(capsys, *command, "--archive", str(tmp_path / "typo"))
        assert code == 2 and out == "", command
        assert err.strip() == f"socialaudit history: {(tmp_path / 'typo').as_uri()}: no archive there (no index.json); " \
                              "set SOCIALAUDIT_ARCHIVE or --archive"


# --- the chain's anchor in the store ---------------------------------------------------------------

def _drop_latest_run(env: Environment) -> str:
    """Delete the latest run's folder and its index entry: what is left is a shorter, consistent chain."""
    import shutil

    from tests.test_archive import read_index, write_index

    entries = read_index(env)
    latest = entries[-1]["folder"]
    shutil.rmtree(env.output / "archive" / latest)
    write_index(env, entries[:-1])
    return latest


def test_the_latest_run_deleted_with_its_index_entry_is_named(env: Environment, capsys: pytest.CaptureFixture[str]) -> None:
    latest = _drop_latest_run(env)
    assert archive.open_archive(env.output).verify().ok  # the chain alone cannot see it
    code, out, _ = run(capsys, "verify")
    assert code == 1
    [line] = [line for line in out.splitlines() if line.startswith("MISMATCH:")]
    assert re.fullmatch(rf"MISMATCH: run {re.escape(latest)}: sealed in the store at chain position 3 on "
                        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(manifest sha256 [0-9a-f]{16}\.\.\.\) but not in the "
                        r"archive's index: deleted", line), line


def test_a_deleted_archive_whose_runs_the_store_sealed_is_tampering(env: Environment, capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    from tests.test_archive import read_index

    folders = [e["folder"] for e in read_index(env)]
    shutil.rmtree(env.output / "archive")
    code, out, err = run(capsys, "verify")
    assert code == 1, err
    named = [line for line in out.splitlines() if line.startswith("MISMATCH:")]
    assert len(named) == len(folders) and all(f"run {folder}:" in "\n".join(named) for folder in folders)
    assert "verification FAILED" in out and "deleted" in named[0]
    code, out, _ = run(capsys, "verify", "--from", folders[-1].split("/")[0], "--to", folders[-1].split("/")[0])
    assert code == 1 and [line for line in out.splitlines() if line.startswith("MISMATCH:")] == [
        line for line in named if f"run {folders[-1]}:" in line]  # only the range asked for


def test_a_replaced_latest_manifest_is_named(env: Environment, capsys: pytest.CaptureFixture[str]) -> None:
    """The latest manifest and its index entry edited to match each other: no later run's link can show it."""
    from tests.test_archive import read_index, write_index

    entries = read_index(env)
    latest = entries[-1]["folder"]
    path = env.output / "archive" / latest / "manifest.json"
    manifest = json.loads(path.read_bytes())
    manifest["state"] = "failed"
    path.write_bytes(archive.canonical_json(manifest))
    entries[-1].update(state="failed", manifest_sha256=archive.sha256(path.read_bytes()))
    write_index(env, entries)
    assert archive.open_archive(env.output).verify().ok
    code, out, _ = run(capsys, "verify")
    assert code == 1
    assert f"MISMATCH: run {latest}: manifest sha256 {entries[-1]['manifest_sha256'][:16]}... is not the one sealed" in out


def test_a_run_appended_to_the_chain_but_never_sealed_is_named(env: Environment, capsys: pytest.CaptureFixture[str]) -> None:
    """A forged run linked correctly after the head passes the chain; the store never sealed it."""
    import shutil

    from tests.test_archive import read_index, write_index

    entries = read_index(env)
    head = entries[-1]
    forged = f"{WEEKS[2]}/manual__forged"
    root = env.output / "archive"
    shutil.copytree(root / head["folder"], root / forged)
    manifest = json.loads((root / forged / "manifest.json").read_bytes())
    manifest.update(folder=forged, run_id="manual__forged", sequence=4,
                    previous={"folder": head["folder"], "manifest_sha256": head["manifest_sha256"]})
    data = archive.canonical_json(manifest)
    (root / forged / "manifest.json").write_bytes(data)
    write_index(env, [*entries, archive.Archive._entry(manifest, archive.sha256(data))])
    assert archive.open_archive(env.output).verify().ok
    code, out, _ = run(capsys, "verify")
    assert code == 1
    assert f"MISMATCH: run {forged} (chain position 4): in the archive but never sealed in the store (inserted run)" in out


def test_an_archive_whose_store_has_no_seals_verifies_with_a_warning(env: Environment,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """Runs archived before seals were recorded: verify still works, and says the head is not anchored."""
    from sqlalchemy import delete

    from socialaudit.store import archive_seals

    store = env.store()
    with store.engine.begin() as conn:
        conn.execute(delete(archive_seals))
    code, out, err = run(capsys, "verify")
    assert code == 0 and out.rstrip().endswith("; NOT anchored in the store (see the warning)")
    assert err.startswith("socialaudit history verify: warning: the store holds no seals for file://")
    assert "deleting the latest run together with its index entry cannot be detected" in err


def test_runs_archived_before_the_first_seal_are_a_warning_not_a_mismatch(env: Environment,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    from sqlalchemy import delete

    from socialaudit.store import archive_seals

    store = env.store()
    with store.engine.begin() as conn:
        conn.execute(delete(archive_seals).where(archive_seals.c.seq == 1))
    code, out, err = run(capsys, "verify")
    assert code == 0 and "; 2 run(s) match their seals in the store" in out
    assert "warning: 1 run(s) before chain position 2 were archived before seals were recorded" in err


def test_a_copied_archive_names_where_the_store_has_seals(env: Environment, capsys: pytest.CaptureFixture[str],
                                                          tmp_path: Path) -> None:
    import shutil

    moved = tmp_path / "moved"
    shutil.copytree(env.output / "archive", moved)
    code, out, err = run(capsys, "verify", "--archive", str(moved))
    assert code == 0 and "NOT anchored" in out
    assert f"other archive location(s) (a moved or copied archive?): {(env.output / 'archive').resolve().as_uri()}" in err


@pytest.mark.parametrize("audit_env", ["sqlite", "postgresql"], indirect=True)
def test_the_anchor_on_sqlite_and_postgresql(audit_env: Environment, capsys: pytest.CaptureFixture[str]) -> None:
    """Two weeks archived with the store on each backend; deleting the latest with its index entry is named."""
    from tests.test_archive import audit_week

    for week in WEEKS[1:]:
        audit_week(audit_env, week, run_id_for(week))
        archive.archive_run(week, run_id_for(week), audit_env)
    seals = audit_env.store().seals_for(archive.open_archive(audit_env.output).location)
    index = archive.open_archive(audit_env.output).runs()
    assert [(s["folder"], s["seq"], s["manifest_sha256"]) for s in seals] == \
        [(e["folder"], e["seq"], e["manifest_sha256"]) for e in index]
    assert seals[0]["previous_sha256"] is None and seals[1]["previous_sha256"] == index[0]["manifest_sha256"]
    assert seals[1]["sealed_at"].tzinfo is not None
    code, out, _ = run(capsys, "verify")
    assert code == 0 and "2 run(s) match their seals in the store" in out
    latest = _drop_latest_run(audit_env)
    assert latest == folder(WEEKS[2])
    code, out, _ = run(capsys, "verify")
    assert code == 1 and f"MISMATCH: run {latest}: sealed in the store at chain position 2 on " in out


def test_export_xlsx_and_parquet_hold_what_the_csv_holds(env: Environment, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import openpyxl
    import pandas as pd

    weeks = ("--from", "2026-W45", "--to", "2026-W47")
    run(capsys, "export", *weeks, "--format", "csv", "-o", str(tmp_path / "e.csv"))
    rows = list(csv.DictReader(io.StringIO((tmp_path / "e.csv").read_text())))
    code, out, err = run(capsys, "export", *weeks, "--format", "xlsx", "-o", str(tmp_path / "e.xlsx"))
    assert code == 0 and out == "", err
    book = openpyxl.load_workbook(tmp_path / "e.xlsx")
    assert book.sheetnames == ["runs", "findings", "metrics"]
    sheet = {name: [[c.value for c in r] for r in book[name].iter_rows()] for name in book.sheetnames}
    header = sheet["findings"][0]
    findings = [dict(zip(header, r, strict=True)) for r in sheet["findings"][1:]]
    expected = [r for r in rows if r["record"] == "finding"]
    assert [(f["week"], f["school"], f["check"], f["key"]) for f in findings] == \
        [(r["week"], r["school"], r["check"], r["key"]) for r in expected]
    assert [r[0] for r in sheet["runs"][1:]] == [str(w) for w in WEEKS]
    metrics = [dict(zip(sheet["metrics"][0], r, strict=True)) for r in sheet["metrics"][1:]]
    assert len(metrics) == len([r for r in rows if r["record"] == "metric"])
    posts = [m for m in metrics if m["check"] == "post_frequency" and m["metric"] == "posts"]
    assert posts and all(isinstance(m["number"], (int, float)) for m in posts)

    code, out, err = run(capsys, "export", *weeks, "--format", "parquet", "-o", str(tmp_path / "e.parquet"))
    assert code == 0 and out == "", err
    frame = pd.read_parquet(tmp_path / "e.parquet")
    assert list(frame[frame["record"] == "finding"]["key"]) == [r["key"] for r in expected]
    assert str(frame["number"].dtype) == "float64" and frame["number"].notna().any()
    # a workbook or a Parquet file is a file: not to stdout
    code, _, err = run(capsys, "export", *weeks, "--format", "xlsx")
    assert code == 2 and "give it with -o FILE" in err


def test_export_xlsx_defuses_formulas_and_drops_what_a_workbook_cannot_hold(tmp_path: Path) -> None:
    import openpyxl

    from socialaudit.cli.history import _write_xlsx

    hostile = {"week": "2026-W47", "run_id": "r", "school": "s", "check": "comments", "policy": "4.1", "status": "fail",
               "severity": "breach", "message": "=HYPERLINK(\"http://evil.example\",\"click\")", "evidence": "bell\x07 and \x00nul",
               "post_url": "@SUM(1+1)", "action": "-2+3", "key": "k"}
    data = {"runs": [{"week": "2026-W47", "run_id": "r", "folder": "2026-W47/r", "state": "success"}],
            "findings": [hostile], "metrics": [{"week": "2026-W47", "run_id": "r", "school": "s", "check": "c", "policy": "4.1",
                                                "status": "pass", "metrics": {"note": "+cmd|' /C calc'!A0", "n": 3}}]}
    _write_xlsx(data, tmp_path / "h.xlsx")
    book = openpyxl.load_workbook(tmp_path / "h.xlsx")
    cells = [c for sheet in book for row in sheet.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]  # no formula anywhere
    values = [c.value for c in cells if isinstance(c.value, str)]
    assert "'=HYPERLINK(\"http://evil.example\",\"click\")" in values and "'@SUM(1+1)" in values and "'-2+3" in values
    assert "bell\ufffd and \ufffdnul" in values and "'+cmd|' /C calc'!A0" in values


def test_export_copes_with_numbers_beyond_a_float_and_text_beyond_a_cell(tmp_path: Path) -> None:
    import openpyxl
    import pandas as pd

    from socialaudit.cli.history import _write_parquet, _write_xlsx

    data = {"runs": [], "findings": [{"week": "2026-W47", "school": "s", "check": "c", "message": "x" * 40_000, "key": "k"}],
            "metrics": [{"week": "2026-W47", "run_id": "r", "school": "s", "check": "c", "policy": "4.1", "status": "pass",
                         "metrics": {"huge": 10**400, "nan": float("nan"), "flag": True, "nested": {"a": [1, None]}}}]}
    _write_xlsx(data, tmp_path / "x.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "x.xlsx")["findings"]
    header = [c.value for c in sheet[1]]
    cell = sheet.cell(row=2, column=header.index("message") + 1).value
    assert cell.endswith("[cut: longer than a workbook cell holds]") and len(cell) <= 32_767
    _write_parquet(data, tmp_path / "x.parquet")
    frame = pd.read_parquet(tmp_path / "x.parquet")
    metrics = frame[frame["record"] == "metric"].set_index("metric")
    assert metrics.loc["huge", "value"] == str(10**400) and pd.isna(metrics.loc["huge", "number"])
    assert pd.isna(metrics.loc["nan", "number"]) and metrics.loc["flag", "value"] == "true"
    assert frame[frame["record"] == "finding"]["message"].iloc[0] == "x" * 40_000  # whole in Parquet


def test_the_global_output_folder_works_before_or_after_the_command_and_export_writes_with_o_or_file(
        env: Environment, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``--output DIR`` is the output folder of every command (the store and the archive under it), before
    or after the command at any depth; ``history export`` writes its file with ``-o``/``--file``, and an
    ``--output`` naming an export file (the option's former meaning there) is refused, saying so."""
    for name in ("SOCIALAUDIT_DB_URL", "SOCIALAUDIT_ARCHIVE"):
        monkeypatch.delenv(name, raising=False)
    elsewhere = tmp_path / "elsewhere"
    monkeypatch.setenv("SOCIALAUDIT_OUTPUT", str(elsewhere))  # --output stands in for it
    outputs = []
    for argv in (["--output", str(env.output), "history", "list"], ["history", "--output", str(env.output), "list"],
                 ["history", "list", "--output", str(env.output)]):
        code = cli.main(argv)
        out, err = capsys.readouterr()
        assert code == 0, (argv, err)
        outputs.append(out)
    assert outputs[0] == outputs[1] == outputs[2] and len(outputs[0].splitlines()) == 4
    assert cli.main(["history", "list"]) == 2  # without it: $SOCIALAUDIT_OUTPUT, with no archive
    assert "no archive there" in capsys.readouterr().err
    weeks = ("--from", str(WEEKS[0]), "--to", str(WEEKS[-1]))
    for spelling in ("-o", "--file"):
        target = tmp_path / f"export{spelling}.csv"
        code = cli.main(["history", "export", *weeks, "--output", str(env.output), spelling, str(target)])
        out, err = capsys.readouterr()
        assert code == 0 and out == "", err
        assert target.read_text().startswith("record,")
    code = cli.main(["history", "export", *weeks, "--output", str(tmp_path / "old.csv")])
    _, err = capsys.readouterr()
    assert code == 2 and err.strip() == (f"socialaudit history: --output {tmp_path / 'old.csv'}: --output is the output "
                                         "folder, for every command; write the export to a file with -o FILE (or --file FILE)")
    assert not (tmp_path / "old.csv").exists()
    # any --output that is not an existing folder: the former file meaning, refused even when the archive is set
    monkeypatch.setenv("SOCIALAUDIT_ARCHIVE", str(env.output / "archive"))
    for name in ("findings", "-", "old.tsv"):
        code = cli.main(["history", "export", *weeks, "--output", str(tmp_path / name)])
        out, err = capsys.readouterr()
        assert code == 2 and out == "" and "write the export to a file with -o FILE" in err, (name, err)
        assert not (tmp_path / name).exists()
    monkeypatch.delenv("SOCIALAUDIT_ARCHIVE")
    from socialaudit import settings

    assert settings.output_dir() == elsewhere  # the option lasts for its command only
