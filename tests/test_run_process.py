"""``python -m socialaudit run`` runs Airflow in a child process (issue 10: nothing of ours writes os.environ).

A real run leaves the caller's environment as it was, and a parent that is stopped (Ctrl-C, SIGTERM) or killed
(SIGKILL) takes its Airflow process with it, even while a task runs: no orphan dag.test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from socialaudit.weeks import IsoWeek
from tests.conftest import ROOT

pytestmark = pytest.mark.slow
WEEK = IsoWeek.parse("2026-W47")


def test_a_real_run_leaves_the_callers_environment_as_it_was(audit_env, monkeypatch, capfd):
    """Airflow's variables other than AIRFLOW_HOME are taken away first: ``run`` gives them to its Airflow process
    through ``env=`` (the run succeeds, so the child had them), and this process never gets them."""
    from socialaudit import cli

    for key in [key for key in os.environ if key.startswith("AIRFLOW__")]:
        monkeypatch.delenv(key)
    before = dict(os.environ)
    assert cli.main(["run", "--week", str(WEEK)]) == 0
    assert dict(os.environ) == before
    assert not [key for key in os.environ if key.startswith("AIRFLOW__")]
    out = capfd.readouterr().out  # the child wrote straight to this process's stdout
    assert f"{WEEK}: run success" in out and f"Trust report:   {audit_env.output / 'reports' / str(WEEK) / 'index.html'}" in out
    assert (audit_env.output / "reports" / str(WEEK) / "schools" / "st-hildas.html").exists()


def _start_parent(demo_config: Path, output: Path) -> subprocess.Popen[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("SOCIALAUDIT_")}
    env.update(PYTHONPATH=str(ROOT / "plugins"), SOCIALAUDIT_RETRIES="0")
    return subprocess.Popen([sys.executable, "-m", "socialaudit", "run", "--config", str(demo_config),
                             "--week", str(WEEK), "--output", str(output)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE  # reaped by whoever adopted it, or about to be
    except psutil.NoSuchProcess:
        return True


def _wait_until(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds:.0f} s: {what}"
        time.sleep(0.1)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=lambda s: s.name)
def test_stopping_the_parent_stops_its_airflow_process_even_in_a_task(simulator, demo_config, tmp_path, stop):
    """Signalled once a task has opened the store, inside dag.test. SIGINT and SIGTERM are sent on and, as
    Airflow's in-process task runner keeps SIGTERM for the task's on_kill, the child is killed after the grace
    period; the parent says so in one line and exits 128 + N. A killed parent cannot pass anything on: the child's
    lifeline pipe reads end-of-file and the child kills its own process group."""
    from socialaudit.cli._child import STOP_GRACE_SECONDS

    # every response 1 s late: the run cannot finish inside the grace period after the signal (the demo's run
    # once did, on a quiet machine, and said "run success")
    simulator.latency = 1.0
    output = tmp_path / "out"
    parent = _start_parent(demo_config, output)
    try:
        _wait_until(lambda: (output / "socialaudit.db").exists() or parent.poll() is not None, 120,
                    "a task opened the store")
        assert parent.poll() is None, parent.communicate()
        [child] = psutil.Process(parent.pid).children()
        assert "socialaudit.cli.run_in_airflow" in child.cmdline() and os.getpgid(child.pid) == child.pid
        family = [child.pid, *(p.pid for p in child.children(recursive=True))]
        parent.send_signal(stop)
        out, err = parent.communicate(timeout=STOP_GRACE_SECONDS + 30)
        if stop == signal.SIGKILL:
            assert parent.returncode == -signal.SIGKILL
        else:
            assert parent.returncode == 128 + stop, err[-2000:]
            assert err.strip().splitlines()[-1] == f"socialaudit run: stopped by {stop.name} before it finished"
            assert "Traceback" not in err
        _wait_until(lambda: all(_gone(pid) for pid in family), 15, f"the Airflow process {family} is gone")
        assert f"{WEEK}: run success" not in out
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.communicate()


def test_a_stopped_airflow_process_exits_without_the_exit_handlers_that_print_tracebacks():
    """Ctrl-C can land inside a database commit; Airflow's exit handler (``dispose_orm``) then failed to close that
    session and printed a traceback (test above, [SIGINT], on a fresh clone of 7a3bd5f). A stopped child exits 130 at
    once, its output flushed, without the exit handlers."""
    code = ("import atexit, sys\n"
            "from socialaudit.cli import run_in_airflow\n"
            "atexit.register(lambda: print('Traceback from an exit handler', file=sys.stderr))\n"
            "print('collected so far', end='')\n"
            "run_in_airflow.exit_stopped()\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT / "plugins")})
    assert done.returncode == 130
    assert done.stdout == "collected so far"
    assert "Traceback" not in done.stderr
