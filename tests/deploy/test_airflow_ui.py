"""``make airflow`` for real: Airflow standalone started by ``scripts/airflow_ui.py`` on a free port, a
run triggered from Airflow's UI in headless Chromium (log in, Trigger, week 2026-W47), the run
succeeding through the scheduler and the LocalExecutor, and the reports page opened inside Airflow."""

from __future__ import annotations

import email
import email.policy
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from socialaudit.cli.run import _listening
from tests.conftest import ROOT
from tests.pg import _free_port

pytestmark = pytest.mark.slow
CHROMIUM = Path("/usr/bin/chromium")
WEEK = "2026-W47"
READY = 300.0  # seconds: migrate, start four Airflow processes, parse the DAG (2 slow cores)
RUN = 420.0  # seconds for the triggered run (it may queue behind the latest Monday's scheduled run)
MISSING_POOL_WEEK = "2026-W46"
MISSING_POOL_RUN = 180.0  # seconds: plan, the Trust report and the archive still run (all_done); a waiting run never ends


class Airflow:
    def __init__(self, proc: subprocess.Popen[str], port: int, home: Path, output: Path, banner: str) -> None:
        self.proc, self.port, self.home, self.output, self.banner = proc, port, home, output, banner
        self.url = f"http://localhost:{port}"

    @property
    def password(self) -> str:
        return str(json.loads((self.home / "simple_auth_manager_passwords.json.generated").read_text())["admin"])

    def api(self, path: str, method: str = "GET", body: dict[str, Any] | None = None) -> Any:
        token_request = urllib.request.Request(f"{self.url}/auth/token", method="POST",
                                               data=json.dumps({"username": "admin", "password": self.password}).encode(),
                                               headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(token_request, timeout=10) as response:
            token = json.loads(response.read())["access_token"]
        request = urllib.request.Request(f"{self.url}{path}", method=method,
                                         data=None if body is None else json.dumps(body).encode(),
                                         headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")


@pytest.fixture(scope="module")
def airflow(simulator: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Airflow]:
    """``make airflow``'s script with the demo config pointing at the test simulator."""
    from scripts.airflow_ui import descendants
    from tests.conftest import write_demo_config

    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (make system-deps)")
    base = tmp_path_factory.mktemp("airflow-ui")
    port = _free_port()
    # the heads' emails link the reports page of this Airflow (the demo's own config says port 8080)
    config = write_demo_config(simulator.url, base / "trust.yaml",
                               edit=lambda raw: raw["trust"].update(report_url=f"http://localhost:{port}/socialaudit"))
    env = {**os.environ, "AIRFLOW_HOME": str(base / "home"), "AIRFLOW_PORT": str(port), "SOCIALAUDIT_CONFIG": str(config),
           "SOCIALAUDIT_OUTPUT": str(base / "output"), "SOCIALAUDIT_DB_URL": f"sqlite:///{base / 'store.db'}",
           "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
           # free log-server ports, so a developer's own `make airflow` on 8793/8794 does not clash
           "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(_free_port()),
           "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(_free_port())}
    for key in ("AIRFLOW__CORE__DAGS_FOLDER", "AIRFLOW__CORE__PLUGINS_FOLDER"):
        env.pop(key, None)  # the script sets the project's own
    proc = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "airflow_ui.py")], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout or ()], daemon=True).start()
    seen: list[str] = []
    started: set[int] = set()
    try:
        deadline = time.monotonic() + READY
        while not any(line.startswith("Ctrl-C stops") for line in seen):
            try:
                seen.append(lines.get(timeout=max(0.1, deadline - time.monotonic())))
            except queue.Empty:
                pytest.fail(f"Airflow was not ready in {READY:.0f} s:\n" + "".join(seen[-40:]), pytrace=False)
            if proc.poll() is not None and lines.empty():
                pytest.fail("make airflow exited before Airflow was ready:\n" + "".join(seen[-40:]), pytrace=False)
        yield Airflow(proc, port, base / "home", base / "output", "".join(seen))
    finally:
        started = descendants(proc.pid)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)  # the script stops what it started (the way Ctrl-C does)
            try:
                proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                raise
    time.sleep(1)
    left = sorted(pid for pid in started if Path(f"/proc/{pid}").exists()
                  and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower())
    assert not left, f"processes left after make airflow stopped: {left}"


def test_make_airflow_prints_the_url_the_login_and_the_reports_page(airflow: Airflow) -> None:
    assert f"Airflow is ready: http://localhost:{airflow.port}/" in airflow.banner
    assert f"log in as admin, password {airflow.password}" in airflow.banner
    assert "/socialaudit/" in airflow.banner and "trust_weekly_audit switched on" in airflow.banner
    own = _own_address()
    assert _listening(f"http://127.0.0.1:{airflow.port}/")  # loopback only
    assert own is None or not _listening(f"http://{own}:{airflow.port}/")
    dag = airflow.api("/api/v2/dags/trust_weekly_audit")
    assert dag["is_paused"] is False
    pools = {p["name"]: p["slots"] for p in airflow.api("/api/v2/pools")["pools"]}
    assert pools.get("socialaudit_collect") == 8  # config/pools.json: collect tasks never wait for a missing pool
    assert not airflow.api("/api/v2/dags?dag_id_pattern=example")["dags"]  # example DAGs off


def test_a_run_triggered_from_the_ui_succeeds_and_its_reports_open_inside_airflow(airflow: Airflow) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{airflow.url}/", wait_until="load")
            page.locator("input[name=username]").fill("admin")
            page.locator("input[name=password]").fill(airflow.password)
            page.get_by_role("button", name="Sign in").click()
            page.get_by_role("button", name="Browse").wait_for(timeout=30_000)  # the UI after login
            page.goto(f"{airflow.url}/dags/trust_weekly_audit", wait_until="load")
            page.get_by_role("button", name="Trigger").first.click()
            dialog = page.get_by_role("dialog")
            dialog.locator("input[name=element_week]").fill(WEEK)
            dialog.get_by_role("button", name="Trigger").click()
            run = _wait_for_the_run(airflow)
            assert run["state"] == "success", run
            assert run["conf"]["week"] == WEEK and run["run_type"] == "manual"
            page.goto(f"{airflow.url}/socialaudit/", wait_until="load")
            assert WEEK in page.content()
            page.goto(f"{airflow.url}/socialaudit/{WEEK}/index.html", wait_until="load")
            assert "St Aidan" in page.content() and "Holy Cross" in page.content()
            # the link in St Hilda's email opens her report inside Airflow, behind the same login
            message = email.message_from_bytes((airflow.output / "outbox" / WEEK / "st-hildas.eml").read_bytes(),
                                               policy=email.policy.default)
            text = message.get_body(preferencelist=("plain",)).get_content()
            [link] = [line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("The full report: ")]
            assert link == f"{airflow.url}/socialaudit/{WEEK}/schools/st-hildas.html"
            page.goto(link, wait_until="load")
            assert "St Hilda" in page.content() and "Critical" in page.content()
        finally:
            browser.close()
    assert (airflow.output / "reports" / WEEK / "schools" / "st-hildas.html").exists()


def test_a_run_whose_pool_is_missing_fails_at_once_saying_so(airflow: Airflow) -> None:
    """The scheduler never queues a task whose pool does not exist: without the cluster policy
    (plugins/airflow_local_settings.py) this run would wait for ever with "No Status"."""
    from airflow_local_settings import missing_pool_note

    pool = airflow.api("/api/v2/pools/socialaudit_collect")
    airflow.api("/api/v2/pools/socialaudit_collect", method="DELETE")
    try:
        started = time.monotonic()
        airflow.api("/api/v2/dags/trust_weekly_audit/dagRuns", method="POST",
                    body={"logical_date": None, "conf": {"week": MISSING_POOL_WEEK}})
        run = _wait_for_the_run(airflow, MISSING_POOL_WEEK, timeout=MISSING_POOL_RUN)
        took = time.monotonic() - started
    finally:
        airflow.api("/api/v2/pools", method="POST", body={k: pool[k] for k in ("name", "slots", "description", "include_deferred")})
    assert run["state"] == "failed", run
    note = missing_pool_note("socialaudit_collect")
    assert run["note"] == note
    tis = airflow.api(f"/api/v2/dags/trust_weekly_audit/dagRuns/{run['dag_run_id']}/taskInstances")["task_instances"]
    collect = [ti for ti in tis if ti["task_id"] == "audit.collect"]
    assert collect and all(ti["state"] == "failed" and ti["note"] == note for ti in collect), collect
    assert {ti["state"] for ti in tis if ti["task_id"] in ("audit.check", "audit.render", "audit.deliver")} == {"upstream_failed"}
    print(f"the run without its pool failed {took:.0f} s after it was triggered; "
          f"it ran from {run['start_date']} to {run['end_date']}")


def _own_address() -> str | None:
    """This machine's address on its default route (not loopback); None without one."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: nothing is sent for a UDP connect
            address = str(s.getsockname()[0])
    except OSError:
        return None
    return None if address.startswith("127.") else address


def _wait_for_the_run(airflow: Airflow, week: str = WEEK, timeout: float = RUN) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        runs = [r for r in airflow.api("/api/v2/dags/trust_weekly_audit/dagRuns")["dag_runs"]
                if (r.get("conf") or {}).get("week") == week]
        if runs and runs[0]["state"] in ("success", "failed"):
            return dict(runs[0])
        assert time.monotonic() < deadline, f"the triggered run did not finish in {timeout:.0f} s: {runs}"
        time.sleep(3)
