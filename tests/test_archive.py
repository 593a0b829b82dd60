"""The audit archive: three demo weeks sealed into a hash chain that ``verify`` accepts, and every kind of
tampering (a changed byte in any file, a deleted or extra file, a deleted, inserted or edited run)
named by ``verify``. Runs are built with the pipeline steps against the simulator, not dag.test()."""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from socialaudit import archive, pipeline
from socialaudit.archive.bundle import package_digest
from socialaudit.pipeline import Environment
from socialaudit.weeks import IsoWeek
from tests.conftest import write_demo_config

WEEKS = [IsoWeek.parse(w) for w in ("2026-W45", "2026-W46", "2026-W47")]


def run_id_for(week: IsoWeek) -> str:
    return f"scheduled__{week.monday + timedelta(days=7)}T06:00:00+00:00"


def audit_week(env: Environment, week: IsoWeek, run_id: str, *, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """One run as the DAG does it (plan, per school collect/check/render, Trust report), minus ``skip``ped schools."""
    pipeline.plan(week, run_id, env)
    rendered = []
    for school in env.load().schools:
        if school.id in skip:
            continue
        pipeline.collect_school(school.id, week, run_id, env)
        pipeline.check_school(school.id, week, run_id, env)
        rendered.append(pipeline.render_school(school.id, week, run_id, env))
    return pipeline.trust_report(week, run_id, rendered, env)


def build_three_weeks(env: Environment, url: str | None = None) -> list[dict[str, Any]]:
    entries = []
    for week in WEEKS:
        audit_week(env, week, run_id_for(week))
        entries.append(archive.archive_run(week, run_id_for(week), env, url=url))
    return entries


def archived_three_weeks(simulator: Any, tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """Three consecutive demo weeks audited and archived in a new folder (output, store and archive)."""
    base = tmp_path_factory.mktemp(name)
    config = write_demo_config(simulator.url, base / "trust.yaml")
    env = Environment(config=config, output=base / "output", db_url=f"sqlite:///{base / 'output' / 'socialaudit.db'}")
    build_three_weeks(env)
    return base


def private_copy(source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Environment:
    """A private copy of archived weeks that a test may tamper with, as the environment of the run.

    The copy's store keeps the seals of the archive it was copied from; they are moved to the copy's
    location (as an operator moving an archive would), so ``history verify`` checks its anchor.
    """
    from sqlalchemy import create_engine

    from socialaudit.store import archive_seals

    base = tmp_path / "copy"
    shutil.copytree(source, base)
    engine = create_engine(f"sqlite:///{base / 'output' / 'socialaudit.db'}")
    with engine.begin() as conn:
        conn.execute(archive_seals.update().where(archive_seals.c.archive == (source / "output" / "archive").resolve().as_uri())
                     .values(archive=(base / "output" / "archive").resolve().as_uri()))
    engine.dispose()
    monkeypatch.setenv("SOCIALAUDIT_CONFIG", str(base / "trust.yaml"))
    monkeypatch.setenv("SOCIALAUDIT_OUTPUT", str(base / "output"))
    monkeypatch.setenv("SOCIALAUDIT_DB_URL", f"sqlite:///{base / 'output' / 'socialaudit.db'}")
    monkeypatch.delenv("SOCIALAUDIT_ARCHIVE", raising=False)
    return Environment.from_env()


@pytest.fixture(scope="module")
def three_weeks(simulator: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three consecutive demo weeks audited and archived once per module."""
    return archived_three_weeks(simulator, tmp_path_factory, "three-weeks")


@pytest.fixture
def copy(three_weeks: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Environment:
    """A private copy of the three archived weeks that a test may tamper with."""
    return private_copy(three_weeks, tmp_path, monkeypatch)


def root(env: Environment) -> Path:
    return env.output / "archive"


def folder(week: IsoWeek) -> str:
    return f"{week}/{pipeline.safe_run_id(run_id_for(week))}"


def verify(env: Environment) -> archive.Verification:
    return archive.open_archive(env.output).verify()


def first_page(env: Environment) -> Path:
    """The index page holding the chain's first 100 entries (all of them, in these tests)."""
    return root(env) / "index" / "000001.json"


def read_index(env: Environment) -> list[dict[str, Any]]:
    return json.loads(first_page(env).read_bytes())["entries"]


def write_index(env: Environment, entries: list[dict[str, Any]]) -> None:
    first_page(env).write_bytes(archive.canonical_json({"entries": entries}))


def test_three_weeks_form_a_chain_that_verifies(copy: Environment) -> None:
    report = verify(copy)
    assert report.ok, report.problems
    assert report.runs == 3 and report.files > 100
    index = archive.open_archive(copy.output).index()
    assert index == read_index(copy)
    assert json.loads((root(copy) / "index.json").read_bytes()) == {"format": 1, "page_size": 100,
                                                                      "pages": ["index/000001.json"]}
    assert [e["week"] for e in index] == [str(w) for w in WEEKS]
    assert [e["seq"] for e in index] == [1, 2, 3]
    manifests = [json.loads((root(copy) / e["folder"] / "manifest.json").read_bytes()) for e in index]
    assert manifests[0]["previous"] is None
    for before, entry, manifest in zip(index[:-1], index[1:], manifests[1:], strict=True):
        assert manifest["previous"] == {"folder": before["folder"], "manifest_sha256": before["manifest_sha256"]}
        assert entry["manifest_sha256"] == archive.sha256((root(copy) / entry["folder"] / "manifest.json").read_bytes())
    assert report.head == index[-1]["manifest_sha256"]


def test_a_run_folder_holds_what_auditors_need(copy: Environment) -> None:
    run = root(copy) / folder(WEEKS[2])
    manifest = json.loads((run / "manifest.json").read_bytes())
    files = manifest["files"]
    schools = [s.id for s in copy.load().schools]
    expected = {"reports/trust.html", "reports/summary.json", "results.json", "findings.json", "findings.csv",
                "posts.jsonl.gz", "config.yaml", "rules.json", "code.json"}
    expected |= {f"reports/schools/{s}.html" for s in schools} | {f"emails/{s}.eml" for s in schools}
    assert expected <= set(files)
    assert any(name.startswith("raw/st-aidans/rss/") and name.endswith("/pages.jsonl.gz") for name in files)
    # every file on disk is in the manifest with its SHA-256 and size
    on_disk = {p.relative_to(run).as_posix(): p.read_bytes() for p in run.rglob("*") if p.is_file()}
    assert set(on_disk) - {"manifest.json"} == set(files)
    for name, data in on_disk.items():
        if name != "manifest.json":
            assert files[name] == {"sha256": archive.sha256(data), "bytes": len(data)}, name
    # the raw responses are the ones collected for this run
    raw_src = copy.output / "raw" / str(WEEKS[2]) / pipeline.safe_run_id(run_id_for(WEEKS[2]))
    some = next(p for p in raw_src.rglob("pages.jsonl.gz"))
    assert (run / "raw" / some.relative_to(raw_src)).read_bytes() == some.read_bytes()
    # the report, config and posts are the very bytes the run used and produced
    assert (run / "reports" / "trust.html").read_bytes() == (copy.output / "reports" / "2026-W47" / "index.html").read_bytes()
    assert (run / "config.yaml").read_bytes() == Path(copy.load().source).read_bytes()
    posts = [json.loads(line) for line in gzip.decompress((run / "posts.jsonl.gz").read_bytes()).splitlines()]
    assert posts and {p["school"] for p in posts} <= set(schools)
    assert manifest["counts"]["posts"] == len(posts)
    findings = json.loads((run / "findings.json").read_bytes())
    assert any(f["check"] == "post_frequency" and f["school"] == "holy-cross" for f in findings)
    assert (run / "findings.csv").read_text().count("\n") == len(findings) + 1
    rules = json.loads((run / "rules.json").read_bytes())
    frequency = next(c for c in rules["checks"] if c["name"] == "post_frequency")
    assert frequency["policy"] == "4.3" and frequency["trust_settings"] == {"min_posts_per_week": 3}
    assert len(frequency["source_sha256"]) == 64
    # every check's source is hashed, the compiled named_children too (mypyc's functions have no source file)
    import hashlib

    from checks import _native

    for check in rules["checks"]:
        assert check["source_sha256"] == hashlib.sha256(_native.source_of(check["module"]).read_bytes()).hexdigest(), check
    assert rules["checks_package_sha256"] == package_digest(_native.PLUGINS / "checks")
    assert manifest["rules_version"] == rules["version"]
    assert manifest["code_version"] == json.loads((run / "code.json").read_bytes())["commit"]
    assert manifest["state"] == "success" and manifest["run_id"] == run_id_for(WEEKS[2])


def test_changing_one_byte_of_any_archived_file_is_named(copy: Environment) -> None:
    run = root(copy) / folder(WEEKS[1])
    names = sorted(json.loads((run / "manifest.json").read_bytes())["files"])
    assert len(names) > 50
    for name in names:
        path = run / name
        original = path.read_bytes()
        changed = bytearray(original)
        changed[len(changed) // 2] ^= 0x01
        path.write_bytes(bytes(changed))
        report = archive.open_archive(copy.output).verify(WEEKS[1], WEEKS[1])  # the whole chain, this run's files
        assert report.problems == [f"{folder(WEEKS[1])}/{name}: changed (sha256 {archive.sha256(bytes(changed))[:16]}..., "
                                   f"sealed as {archive.sha256(original)[:16]}...)"], name
        path.write_bytes(original)
    assert verify(copy).ok


def test_a_deleted_file_and_an_extra_file_are_named(copy: Environment) -> None:
    run = root(copy) / folder(WEEKS[0])
    (run / "emails" / "holy-cross.eml").unlink()
    (run / "reports" / "schools" / "forged.html").write_text("<p>all fine</p>")
    problems = verify(copy).problems
    assert f"{folder(WEEKS[0])}/emails/holy-cross.eml: deleted" in problems
    assert f"{folder(WEEKS[0])}/reports/schools/forged.html: extra file, not in the manifest" in problems
    assert len(problems) == 2


def test_a_deleted_run_is_named(copy: Environment) -> None:
    shutil.rmtree(root(copy) / folder(WEEKS[1]))
    problems = verify(copy).problems
    assert any(p.startswith(f"run {folder(WEEKS[1])} (chain position 2): deleted") for p in problems), problems


def test_a_run_deleted_with_its_index_entry_breaks_the_chain_at_the_next_run(copy: Environment) -> None:
    shutil.rmtree(root(copy) / folder(WEEKS[1]))
    entries = [e for e in read_index(copy) if e["week"] != str(WEEKS[1])]
    for position, entry in enumerate(entries, start=1):
        entry["seq"] = position
    write_index(copy, entries)
    problems = verify(copy).problems
    assert any(p.startswith(f"run {folder(WEEKS[2])}: chain broken: it was archived after {folder(WEEKS[1])}") for p in problems), problems
    assert any(f"run {folder(WEEKS[2])}: sealed at chain position 3 but found at 2" in p for p in problems), problems


def test_an_edited_manifest_is_named_even_when_it_matches_the_edited_file(copy: Environment) -> None:
    run = root(copy) / folder(WEEKS[0])
    report_path = run / "reports" / "schools" / "holy-cross.html"
    forged = report_path.read_bytes().replace(b"Fail", b"Pass")
    report_path.write_bytes(forged)
    manifest = json.loads((run / "manifest.json").read_bytes())
    manifest["files"]["reports/schools/holy-cross.html"] = {"sha256": archive.sha256(forged), "bytes": len(forged)}
    (run / "manifest.json").write_bytes(archive.canonical_json(manifest))
    problems = verify(copy).problems
    assert any(p.startswith(f"{folder(WEEKS[0])}/manifest.json: edited") for p in problems), problems
    assert any(p.startswith(f"run {folder(WEEKS[1])}: chain broken: the manifest of {folder(WEEKS[0])}") for p in problems)
    # rewriting the index to match as well still leaves the next run's link broken
    entries = read_index(copy)
    entries[0]["manifest_sha256"] = archive.sha256((run / "manifest.json").read_bytes())
    write_index(copy, entries)
    problems = verify(copy).problems
    assert problems == [f"run {folder(WEEKS[1])}: chain broken: the manifest of {folder(WEEKS[0])} is not the one it was "
                        "chained to (that manifest was edited)"]


def test_an_inserted_run_is_named(copy: Environment) -> None:
    # a forged run for W46, copied from the real one and slipped into the index between W45 and W46
    forged = f"{WEEKS[1]}/manual__forged"
    shutil.copytree(root(copy) / folder(WEEKS[1]), root(copy) / forged)
    problems = verify(copy).problems
    assert f"run {forged}: not in the chain (inserted, or archived outside the index)" in problems
    entries = read_index(copy)
    entries.insert(1, dict(entries[1], folder=forged, run_id="manual__forged"))
    for position, entry in enumerate(entries, start=1):
        entry["seq"] = position
    write_index(copy, entries)
    problems = verify(copy).problems
    assert any(p.startswith(f"run {folder(WEEKS[1])}: sealed at chain position 2 but found at 3") for p in problems), problems
    assert any(p.startswith(f"run {folder(WEEKS[1])}: chain broken") for p in problems), problems


def test_an_archived_run_is_never_overwritten(copy: Environment) -> None:
    sealed = root(copy) / folder(WEEKS[2])
    before = {p: p.read_bytes() for p in sealed.rglob("*") if p.is_file()}
    with pytest.raises(archive.AlreadyArchived, match=r"already archived .*rerun the week for a new run id"):
        archive.archive_run(WEEKS[2], run_id_for(WEEKS[2]), copy, again=False)
    # by default the same run id (an Airflow run cleared and run again) is a new attempt beside it
    entry = archive.archive_run(WEEKS[2], run_id_for(WEEKS[2]), copy)
    assert entry["folder"] == folder(WEEKS[2]) + ".2" and entry["attempt"] == 2 and entry["seq"] == 4
    assert archive.archive_run(WEEKS[2], run_id_for(WEEKS[2]), copy)["folder"] == folder(WEEKS[2]) + ".3"
    assert {p: p.read_bytes() for p in sealed.rglob("*") if p.is_file()} == before
    assert verify(copy).ok


def test_a_rerun_of_a_week_is_a_new_folder_chained_after_the_last_run(copy: Environment) -> None:
    rerun = "manual__2026-12-01T09:00:00+00:00"
    pipeline.plan(WEEKS[0], rerun, copy)
    rendered = [pipeline.render_school(s.id, WEEKS[0], rerun, copy) for s in copy.load().schools]
    pipeline.trust_report(WEEKS[0], rerun, rendered, copy)
    entry = archive.archive_run(WEEKS[0], rerun, copy)
    assert entry["folder"] == f"{WEEKS[0]}/{pipeline.safe_run_id(rerun)}" and entry["seq"] == 4
    manifest = json.loads((root(copy) / entry["folder"] / "manifest.json").read_bytes())
    assert manifest["previous"]["folder"] == folder(WEEKS[2])  # in order of archiving, across weeks
    assert verify(copy).ok


def test_an_unfinished_write_is_replaced_on_retry(copy: Environment) -> None:
    run_id = "manual__retry"
    pipeline.plan(WEEKS[2], run_id, copy)
    rendered = [pipeline.render_school(s.id, WEEKS[2], run_id, copy) for s in copy.load().schools]
    pipeline.trust_report(WEEKS[2], run_id, rendered, copy)
    half = root(copy) / str(WEEKS[2]) / run_id
    half.mkdir(parents=True)
    (half / "findings.json").write_text("half-written")
    entry = archive.archive_run(WEEKS[2], run_id, copy)
    assert (half / "findings.json").read_text() != "half-written"
    assert entry["seq"] == 4 and verify(copy).ok


@pytest.mark.parametrize("rendered", [None, [], [None, None], [[None], []]])
def test_a_run_where_no_school_finished_still_gets_its_trust_report_naming_them_all(copy: Environment, rendered: Any) -> None:
    run_id = "manual__nothing"
    pipeline.plan(WEEKS[2], run_id, copy)
    summary = pipeline.trust_report(WEEKS[2], run_id, rendered, copy)
    assert summary["missing"] == [s.id for s in copy.load().schools] and summary["schools"] == []
    report = Path(summary["report"]).read_text(encoding="utf-8")
    assert all(s.name.replace("'", "&#39;") in report or s.name in report for s in copy.load().schools)


def test_a_partial_run_is_archived_and_leaves_out_the_missing_school(copy: Environment) -> None:
    run_id = "manual__partial"
    pipeline.plan(WEEKS[2], run_id, copy)
    rendered = [pipeline.render_school(s.id, WEEKS[2], run_id, copy) for s in copy.load().schools if s.id != "holy-cross"]
    summary = pipeline.trust_report(WEEKS[2], run_id, rendered, copy)
    assert summary["missing"] == ["holy-cross"]
    entry = archive.archive_run(WEEKS[2], run_id, copy)
    assert entry["state"] == "failed" and entry["missing"] == ["holy-cross"]
    run = root(copy) / entry["folder"]
    # the output folder still holds holy-cross's report from the earlier run: it is not this run's
    assert (copy.output / "reports" / "2026-W47" / "schools" / "holy-cross.html").exists()
    assert not (run / "reports" / "schools" / "holy-cross.html").exists()
    assert not (run / "emails" / "holy-cross.eml").exists()
    results = {s["school"]: s for s in json.loads((run / "results.json").read_bytes())["schools"]}
    assert results["holy-cross"]["finished"] is False and "not evaluated" in results["holy-cross"]["note"]
    assert results["st-aidans"]["finished"] is True
    assert not any(f["school"] == "holy-cross" for f in json.loads((run / "findings.json").read_bytes()))
    assert entry["counts"]["schools_finished"] == 5
    assert verify(copy).ok


def test_same_inputs_give_the_same_bytes(copy: Environment, tmp_path: Path) -> None:
    from datetime import datetime, timezone

    moment = datetime(2026, 11, 30, 7, 0, tzinfo=timezone.utc)
    urls = [(tmp_path / name).as_uri() for name in ("one", "two")]
    entries = [archive.archive_run(WEEKS[1], run_id_for(WEEKS[1]), copy, url=url, now=moment) for url in urls]
    assert entries[0] == entries[1]
    trees = [{p.relative_to(tmp_path / n).as_posix(): p.read_bytes() for p in (tmp_path / n).rglob("*") if p.is_file()}
             for n in ("one", "two")]
    assert trees[0] == trees[1] and len(trees[0]) > 50
    # the content files equal those sealed when the run was first archived (only the manifest's time differs);
    # rules.json and code.json are left out: in a working checkout a check's source may change in between.
    sealed = root(copy) / folder(WEEKS[1])
    for name, data in trees[0].items():
        rel = name.split("/", 2)[-1]
        if name.startswith(folder(WEEKS[1])) and rel not in ("manifest.json", "rules.json", "code.json"):
            assert (sealed / rel).read_bytes() == data, rel


def test_the_archive_works_on_a_non_local_object_store(copy: Environment) -> None:
    """``memory://`` is an fsspec object store like s3://: nothing in the archive assumes a local disk."""
    import fsspec

    url = "memory://socialaudit-test/archive"
    for week in WEEKS:
        archive.archive_run(week, run_id_for(week), copy, url=url)
    store = archive.open_archive(url=url)
    report = store.verify()
    assert report.ok and report.runs == 3, report.problems
    target = store.root / folder(WEEKS[0]) / "findings.csv"
    target.write_bytes(target.read_bytes() + b"x")
    assert store.verify().problems[0].startswith(f"{folder(WEEKS[0])}/findings.csv: changed")
    fsspec.filesystem("memory").rm("/socialaudit-test", recursive=True)


def test_the_archive_setting_selects_another_place(copy: Environment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCIALAUDIT_ARCHIVE", str(tmp_path / "elsewhere"))
    assert archive.archive_url() == (tmp_path / "elsewhere").as_uri()
    archive.archive_run(WEEKS[0], "manual__elsewhere", copy)
    assert (tmp_path / "elsewhere" / str(WEEKS[0]) / "manual__elsewhere" / "manifest.json").is_file()


def test_code_version_is_unknown_outside_a_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOCIALAUDIT_CODE_VERSION", raising=False)
    assert archive.code_version(tmp_path)["commit"] == "unknown"
    monkeypatch.setenv("PATH", str(tmp_path))  # no git at all
    assert archive.code_version()["commit"] == "unknown"
    monkeypatch.setenv("SOCIALAUDIT_CODE_VERSION", "registry.example/socialaudit:1.4.2")
    assert archive.code_version()["commit"] == "registry.example/socialaudit:1.4.2"


def test_a_run_sealed_but_not_indexed_is_linked_on_retry_and_a_forged_one_is_refused(copy: Environment) -> None:
    # the first attempt stopped between writing the manifest and the index: the retry links it
    full = first_page(copy).read_bytes()
    write_index(copy, read_index(copy)[:2])
    entry = archive.archive_run(WEEKS[2], run_id_for(WEEKS[2]), copy)
    assert entry["folder"] == folder(WEEKS[2]) and entry["seq"] == 3
    assert first_page(copy).read_bytes() == full and verify(copy).ok
    # a sealed folder that does not follow the chain's head is not linked
    forged = root(copy) / str(WEEKS[2]) / "manual__forged"
    shutil.copytree(root(copy) / folder(WEEKS[2]), forged)
    with pytest.raises(archive.ArchiveError, match="not as the next link of the chain"):
        archive.archive_run(WEEKS[2], "manual__forged", copy)


def test_the_index_is_paged_and_an_append_rewrites_only_the_last_page(copy: Environment, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive.chain, "PAGE_SIZE", 2)
    url = (tmp_path / "paged").as_uri()
    base = tmp_path / "paged"
    archive.archive_run(WEEKS[0], run_id_for(WEEKS[0]), copy, url=url)
    archive.archive_run(WEEKS[1], run_id_for(WEEKS[1]), copy, url=url)
    page_one = (base / "index" / "000001.json").read_bytes()
    archive.archive_run(WEEKS[2], run_id_for(WEEKS[2]), copy, url=url)
    listing = (base / "index.json").read_bytes()
    archive.archive_run(WEEKS[2], "manual__fourth", copy, url=url)
    assert (base / "index" / "000001.json").read_bytes() == page_one  # full pages are never rewritten
    assert (base / "index.json").read_bytes() == listing  # nor the page list, until a page is added
    assert json.loads(listing)["pages"] == ["index/000001.json", "index/000002.json"]
    opened = archive.open_archive(url=url)
    assert [e["seq"] for e in opened.index()] == [1, 2, 3, 4]
    assert opened.head()[0] == 4 and opened.entry_at(3)["folder"] == folder(WEEKS[2])
    assert opened.verify().ok
    (base / "index" / "000002.json").unlink()
    assert any("index page missing" in p for p in opened.verify().problems)


def test_an_index_entry_that_disagrees_with_its_manifest_is_named(copy: Environment) -> None:
    entries = read_index(copy)
    entries[0]["state"] = "success" if entries[0]["state"] != "success" else "failed"
    entries[0]["counts"] = dict(entries[0]["counts"], findings=0)
    write_index(copy, entries)
    assert verify(copy).problems == [f"index entry 1 ({folder(WEEKS[0])}): counts, state differ from its manifest"]


def test_a_run_whose_trust_report_did_not_finish_is_archived_as_incomplete(copy: Environment) -> None:
    week = WEEKS[0]  # the output folder holds the first run's Trust report and all six school reports
    assert (copy.output / "reports" / str(week) / "index.html").exists()
    run_id = "manual__no_trust_report"
    pipeline.plan(week, run_id, copy)
    for school in ("st-aidans", "holy-cross"):  # the other schools' tasks never ran; nor did trust_report
        pipeline.collect_school(school, week, run_id, copy)
        pipeline.check_school(school, week, run_id, copy)
        pipeline.render_school(school, week, run_id, copy)
    entry = archive.archive_run(week, run_id, copy)
    assert entry["state"] == "incomplete"
    assert entry["missing"] == [s.id for s in copy.load().schools if s.id not in ("st-aidans", "holy-cross")]
    run = root(copy) / entry["folder"]
    assert not (run / "reports" / "trust.html").exists()
    assert sorted(p.name for p in (run / "reports" / "schools").iterdir()) == ["holy-cross.html", "st-aidans.html"]
    assert verify(copy).ok


def test_the_rules_version_covers_the_checks_helpers_and_model(tmp_path: Path) -> None:
    """Review finding: only each check's own module was hashed, so a new named_children model or a change to
    ``_childnames.py`` left the rules' version as it was."""
    from checks import _native

    folder = tmp_path / "checks"
    shutil.copytree(_native.PLUGINS / "checks", folder, ignore=shutil.ignore_patterns("__pycache__"))
    before = package_digest(folder)
    assert before == package_digest(_native.PLUGINS / "checks")
    for changed in ("_childnames.py", "data/name_model.json"):
        path = folder / changed
        original = path.read_bytes()
        path.write_bytes(original + b" ")
        assert package_digest(folder) != before, changed
        path.write_bytes(original)
    assert package_digest(folder) == before

