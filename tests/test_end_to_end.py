"""The weekly DAG, run through Airflow itself (dag.test) against the simulator: reports, emails, reruns."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest

from socialaudit.weeks import IsoWeek
from tests.conftest import write_demo_config

pytestmark = pytest.mark.slow
WEEK = IsoWeek.parse("2026-W47")


def _run(week: IsoWeek = WEEK):
    from socialaudit.cli.run import run_week

    return run_week(week)


def _files(output: Path) -> dict[str, bytes]:
    """Reports and emails (the archive holds copies of each run's: it grows by design, see the rerun test)."""
    return {str(p.relative_to(output)): p.read_bytes() for p in sorted(output.rglob("*"))
            if p.is_file() and p.suffix in (".html", ".eml") and p.relative_to(output).parts[0] != "archive"}


def _archive(output: Path):
    from socialaudit.archive import open_archive

    return open_archive(output)


def test_weekly_run_writes_reports_and_emails(audit_env):
    from datetime import datetime, timezone

    before = datetime.now(timezone.utc)
    run = _run()
    assert run.state == "success"
    # Airflow's UI shows the real duration of a CLI run, not days since the logical date
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        stored = session.execute(select(DagRun.start_date, DagRun.end_date).where(
            DagRun.dag_id == "trust_weekly_audit", DagRun.run_id == run.run_id)).one()
    assert before <= stored.start_date <= stored.end_date <= datetime.now(timezone.utc)
    out = audit_env.output
    trust = (out / "reports" / "2026-W47" / "index.html").read_text()
    assert "St Aidan" in trust and "Holy Cross" in trust
    for school in ("st-aidans", "holy-cross", "st-hildas", "our-lady", "st-josephs", "sacred-heart"):
        report = out / "reports" / "2026-W47" / "schools" / f"{school}.html"
        assert report.exists(), school
        message = email.message_from_bytes((out / "outbox" / "2026-W47" / f"{school}.eml").read_bytes(),
                                           policy=email.policy.default)
        assert message["To"].endswith(".example.sch.uk")
        assert message.get_content_type() == "multipart/alternative"
        assert {p.get_content_type() for p in message.iter_parts()} == {"text/plain", "text/html"}
    holy = (out / "reports" / "2026-W47" / "schools" / "holy-cross.html").read_text()
    assert "1 original post in 2026-W47" in holy  # too little posting is a finding with the count
    joseph = (out / "reports" / "2026-W47" / "schools" / "st-josephs.html").read_text()
    assert "Not evaluated" in joseph and "account unavailable" in joseph.lower()
    assert "Pass" not in joseph.split("Checks")[1].split("Posts per week")[0]
    # named_children: St Hilda's named child is critical, and no other demo school gets a false alarm
    named = [f for f in audit_env.store().findings_between(WEEK, WEEK) if f["check"] == "named_children"]
    assert {(f["school"], f["severity"]) for f in named} == {("st-hildas", "critical")}


def test_second_run_is_byte_identical_and_store_not_duplicated(audit_env):
    assert _run().state == "success"
    first = _files(audit_env.output)
    posts_before = audit_env.store().count_posts()
    assert _run().state == "success"
    assert _files(audit_env.output) == first
    assert audit_env.store().count_posts() == posts_before
    # both runs are archived in their own folders (dag.test reuses the run id for the same date, so the
    # second is archived as attempt 2 beside the first), chained and verified
    runs = _archive(audit_env.output).runs()
    assert len(runs) == 2 and runs[0]["folder"] != runs[1]["folder"] and {r["week"] for r in runs} == {"2026-W47"}
    first_run = audit_env.output / "archive" / runs[0]["folder"] / "reports" / "trust.html"
    second_run = audit_env.output / "archive" / runs[1]["folder"] / "reports" / "trust.html"
    assert first_run.read_bytes() == second_run.read_bytes() == first["reports/2026-W47/index.html"]
    assert _archive(audit_env.output).verify().ok


def _run_with(simulator, tmp_path, monkeypatch, edit):
    """The demo week, run through the DAG with a config changed by ``edit``, outputs under tmp_path/out, no retries."""
    config = write_demo_config(simulator.url, tmp_path / "trust.yaml", edit=edit)
    monkeypatch.setenv("SOCIALAUDIT_CONFIG", str(config))
    monkeypatch.setenv("SOCIALAUDIT_OUTPUT", str(tmp_path / "out"))
    monkeypatch.setenv("SOCIALAUDIT_DB_URL", f"sqlite:///{tmp_path / 'out' / 'db.sqlite'}")
    monkeypatch.setenv("SOCIALAUDIT_RETRIES", "0")
    return _run()


def _fail_collect_task(monkeypatch, schools):
    """The collect task of ``schools`` fails on a fault outside any account (the disk is full).

    An account's own failure (a refused URL, a parser's RecursionError) is that account's error and
    the school finishes (tests/test_hostile_school.py); this is what is left that fails a school's task.
    """
    from socialaudit import pipeline

    real = pipeline.collect_school

    def collect_school(school_id, *args, **kwargs):
        if schools is None or school_id in schools:
            raise OSError(28, "No space left on device")
        return real(school_id, *args, **kwargs)

    monkeypatch.setattr(pipeline, "collect_school", collect_school)


def test_a_broken_school_fails_the_run_but_the_trust_report_still_renders(simulator, tmp_path, monkeypatch):
    _fail_collect_task(monkeypatch, {"holy-cross"})
    run = _run_with(simulator, tmp_path, monkeypatch, None)
    assert run.state == "failed"
    trust = (tmp_path / "out" / "reports" / "2026-W47" / "index.html").read_text()
    assert "did not finish" in trust and "holy-cross" in trust
    # the failed run is archived too, without the school that did not finish
    [entry] = _archive(tmp_path / "out").runs()
    assert entry["state"] == "failed" and entry["missing"] == ["holy-cross"]
    assert not (tmp_path / "out" / "archive" / entry["folder"] / "reports" / "schools" / "holy-cross.html").exists()
    assert (tmp_path / "out" / "reports" / "2026-W47" / "schools" / "st-aidans.html").exists()


def test_a_run_where_no_school_finishes_still_renders_a_trust_report_naming_them_all(simulator, tmp_path, monkeypatch):
    _fail_collect_task(monkeypatch, None)
    run = _run_with(simulator, tmp_path, monkeypatch, None)
    assert run.state == "failed"
    trust = (tmp_path / "out" / "reports" / "2026-W47" / "index.html").read_text()
    assert "did not finish" in trust
    [entry] = _archive(tmp_path / "out").runs()
    assert entry["state"] == "failed" and len(entry["missing"]) == 6


def test_run_with_output_writes_everything_under_that_folder(audit_env, tmp_path, monkeypatch, capsys):
    """``run --output DIR``: the reports, the emails, the default store and the archive go under DIR, not
    under $SOCIALAUDIT_OUTPUT (the DAG's tasks run in this process, where the option stands in for it)."""
    from socialaudit import cli

    monkeypatch.delenv("SOCIALAUDIT_DB_URL")
    chosen = tmp_path / "chosen"
    assert cli.main(["run", "--week", str(WEEK), "--output", str(chosen)]) == 0
    out = capsys.readouterr().out
    assert f"Trust report:   {chosen.resolve() / 'reports' / str(WEEK) / 'index.html'}" in out
    assert (chosen / "reports" / str(WEEK) / "schools" / "st-hildas.html").exists()
    assert (chosen / "outbox" / str(WEEK) / "st-hildas.eml").exists()
    assert (chosen / "socialaudit.db").exists() and (chosen / "archive" / "index.json").exists()
    assert not audit_env.output.exists() or not any(audit_env.output.rglob("*.html"))


def test_run_config_reaches_the_tasks_without_the_environment(audit_env, demo_config, tmp_path, monkeypatch):
    """``run --config FILE``: dag.test runs the tasks in this process, and they read FILE although
    $SOCIALAUDIT_CONFIG names a file that does not exist; the environment is left as it was."""
    import os

    from socialaudit.cli.run import run_week

    missing = str(tmp_path / "no-such-trust.yaml")
    monkeypatch.setenv("SOCIALAUDIT_RETRIES", "0")  # a task that read the missing file fails at once
    monkeypatch.setenv("SOCIALAUDIT_CONFIG", missing)
    assert run_week(WEEK, config_file=str(demo_config)).state == "success"
    assert os.environ["SOCIALAUDIT_CONFIG"] == missing
    assert (audit_env.output / "reports" / "2026-W47" / "schools" / "st-aidans.html").exists()


def test_the_week_still_running_is_refused_unless_allowed_and_then_every_report_says_so(audit_env, capsys):
    """A week that has not ended is refused; with ``--allow-incomplete`` a real run audits it, and its Trust
    report, school reports and emails say it is incomplete. A week not yet started is refused either way."""
    from datetime import datetime, timezone

    from socialaudit import cli

    config = audit_env.load()
    running = IsoWeek.last_complete(datetime.now(timezone.utc), config.trust.timezone) + 1
    assert cli.main(["run", "--week", str(running)]) == 2
    assert "--allow-incomplete audits it anyway" in capsys.readouterr().err
    assert cli.main(["run", "--week", str(running + 1), "--allow-incomplete"]) == 2
    assert f"week {running + 1} has not started yet" in capsys.readouterr().err
    assert cli.main(["run", "--week", str(running), "--allow-incomplete"]) == 0
    words = f"Week {running} had not ended when this audit ran"
    files = {name: body.decode("utf-8", "replace") for name, body in _files(audit_env.output).items()}
    reports = [name for name in files if name.startswith(f"reports/{running}/")]
    emails = [name for name in files if name.startswith(f"outbox/{running}/")]
    assert len(reports) == 1 + len(config.schools) and len(emails) == len(config.schools)
    for name in reports:
        assert words in files[name], name
    for name in emails:  # the email's parts are encoded: read them as a mail client does
        message = email.message_from_string(files[name], policy=email.policy.default)
        assert all(words in part.get_content() for part in message.walk() if part.get_content_type().startswith("text/"))
