"""The DAG folder imports cleanly, fast, and the weekly DAG has the shape the design promises."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert "trust_weekly_audit" in dagbag.dags


def test_weekly_dag_shape(dagbag):
    dag = dagbag.dags["trust_weekly_audit"]
    assert {"socialaudit", "policy-audit"} <= set(dag.tags)
    assert dag.timetable.expression == "0 6 * * 1"  # Mondays 06:00
    assert str(dag.timetable.timezone) == "Europe/London"
    ids = set(dag.task_ids)
    assert {"plan", "audit.collect", "audit.check", "audit.render", "audit.deliver", "trust_report", "archive",
            "fail_if_missing"} <= ids
    for task in dag.tasks:
        assert task.retries >= 1, task.task_id
        # every attempt is bounded in time (a hung read can never hold a worker slot for ever)
        assert task.execution_timeout is not None and task.execution_timeout.total_seconds() > 0, task.task_id
    assert dag.get_task("trust_report").trigger_rule == "all_done"
    # each head's email is sent after the school's report is rendered, before the Trust report
    assert dag.get_task("audit.deliver").upstream_task_ids == {"audit.render"}
    assert "audit.deliver" in dag.get_task("trust_report").upstream_task_ids
    # every run is archived, a partial one too; an archive that fails, fails the run through the leaf; the Trust
    # report and the archive read the config plan sealed (plan's items)
    assert dag.get_task("archive").upstream_task_ids == {"trust_report", "plan"}
    assert "plan" in dag.get_task("trust_report").upstream_task_ids
    assert dag.get_task("archive").trigger_rule == "all_done"
    assert dag.get_task("fail_if_missing").upstream_task_ids == {"trust_report", "archive"}
    assert dag.get_task("fail_if_missing").trigger_rule == "all_success"
    # the leaf decides the run's state, so it must be the failing check, not the all_done report
    leaves = {t.task_id for t in dag.tasks if not t.downstream_list}
    assert leaves == {"fail_if_missing"}


def test_parse_time_well_under_a_second():
    """Parsing the DAG file in a fresh interpreter costs little beyond importing airflow.sdk itself."""
    code = (
        "import time, runpy; import airflow.sdk; t=time.perf_counter(); "
        f"runpy.run_path({str(ROOT / 'dags' / 'trust_weekly_audit.py')!r}); print(time.perf_counter()-t)"
    )
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**__import__("os").environ, "PYTHONPATH": str(ROOT / "plugins")})
    elapsed = float(out.stdout.strip().splitlines()[-1])
    assert elapsed < 1.0, f"parsing took {elapsed:.2f} s"
    assert time.perf_counter() - start < 60


def test_dag_file_does_no_heavy_imports():
    code = (
        "import sys, runpy; import airflow.sdk; before=set(sys.modules); "
        f"runpy.run_path({str(ROOT / 'dags' / 'trust_weekly_audit.py')!r}); "
        "new=set(sys.modules)-before; print(','.join(sorted(m for m in new if m.split('.')[0] in "
        "('pandas','requests','bs4','socialaudit','collectors','checks','sqlalchemy','jinja2'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**__import__("os").environ, "PYTHONPATH": str(ROOT / "plugins")})
    # socialaudit.settings (standard library only) is the one module of ours it loads: the DAG's knobs
    loaded = set(filter(None, (out.stdout.strip().splitlines() or [""])[-1].split(",")))
    assert loaded <= {"socialaudit", "socialaudit.settings"}, out.stdout


def test_collect_param_defaults_to_collecting(dagbag):
    """``{"collect": false}`` audits from the store (backfill); by default a run collects."""
    dag = dagbag.dags["trust_weekly_audit"]
    assert dag.params["collect"] is True
    assert dag.params.get_param("collect").schema["type"] == "boolean"
    assert dag.params["week"] is None
