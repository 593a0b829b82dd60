"""``make airflow``: Airflow's own UI on one machine, with the project's settings.

Starts ``airflow standalone`` (scheduler, dag-processor, api-server and triggerer, LocalExecutor on
the project's SQLite database in ``.airflow/``) after migrating the database and creating the
project's pools, with the example DAGs off and the project's DAGs and plugins folders (so the reports
page is under Browse, "Social media audit"). For the demo config it also starts the platform
simulator, unless one is already listening. For the demo config, once the DAG is parsed, it switches
it on (a run triggered from the UI of a paused DAG stays queued for ever; ``SOCIALAUDIT_KEEP_PAUSED=1``
leaves it as it is); for a real trust's config it leaves that to you. The api-server listens on
127.0.0.1 only (``AIRFLOW__API__HOST`` to change it): the login is a generated password kept in plain
text. It prints the URL and how to log in, and Ctrl-C (or SIGTERM, SIGHUP) stops every process it
started, and the processes those started.

Settings (environment): ``AIRFLOW_PORT`` (default 8080), ``AIRFLOW_HOME`` (default ``.airflow``),
``SOCIALAUDIT_CONFIG`` (default ``config/trust.yaml``), ``SOCIALAUDIT_OUTPUT`` (default ``output``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))

READY_TIMEOUT = 180.0  # seconds for the api-server to answer its health check
DAG_ID = "trust_weekly_audit"


def environment(port: int) -> dict[str, str]:
    """The project's Airflow settings, on top of the caller's environment."""
    from socialaudit.cli.run import airflow_environment

    env = {**os.environ, **airflow_environment(os.environ.get("SOCIALAUDIT_CONFIG") or str(ROOT / "config" / "trust.yaml"))}
    venv_bin = str(Path(sys.executable).parent)
    env.update({
        "PATH": venv_bin + os.pathsep + env.get("PATH", ""),  # standalone spawns its children as plain `airflow`
        "PYTHONPATH": str(ROOT / "plugins"),
        "AIRFLOW__API__PORT": str(port),
        # this machine only: the login is a generated password kept in plain text
        "AIRFLOW__API__HOST": os.environ.get("AIRFLOW__API__HOST", "127.0.0.1"),
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": os.environ.get("AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT", "8793"),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": os.environ.get("AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT", "8794"),
        # workers reach the api-server here (its default is port 8080 whatever [api] port says)
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "SOCIALAUDIT_OUTPUT": os.environ.get("SOCIALAUDIT_OUTPUT") or str(ROOT / "output"),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": os.environ.get("AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO"),
    })
    return env


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/monitor/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def password(home: Path, wait: float = 30.0) -> str | None:
    """The admin password standalone generated (stored in plain text in AIRFLOW_HOME: development only);
    None when it cannot be read."""
    path = home / "simple_auth_manager_passwords.json.generated"
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            return str(json.loads(path.read_text(encoding="utf-8"))["admin"])
        except (OSError, ValueError, KeyError, TypeError):
            time.sleep(0.5)
    return None


def api(port: int, method: str, path: str, token: str = "", body: dict[str, Any] | None = None) -> Any:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json",
                                              **({"Authorization": f"Bearer {token}"} if token else {})})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


def switch_on(port: int, secret: str, dag_id: str = DAG_ID, wait: float = 120.0) -> str:
    """Unpause the DAG once the dag-processor has stored it: a run triggered from the UI of a paused DAG
    stays queued for ever. Returns what happened, in words."""
    try:
        token = api(port, "POST", "/auth/token", body={"username": "admin", "password": secret})["access_token"]
        deadline = time.monotonic() + wait
        while True:
            try:
                dag = api(port, "GET", f"/api/v2/dags/{dag_id}", token)
                break
            except urllib.error.HTTPError as exc:
                if exc.code != 404 or time.monotonic() > deadline:  # 404 until the dag-processor has parsed it
                    raise
                time.sleep(2)
        if not dag.get("is_paused"):
            return f"{dag_id} is switched on"
        api(port, "PATCH", f"/api/v2/dags/{dag_id}", token, {"is_paused": False})
    except (OSError, ValueError, KeyError) as exc:
        return f"still paused ({type(exc).__name__}: {exc}); switch it on in the UI before triggering it"
    return (f"{dag_id} switched on: it runs every Monday at 06:00 (the latest Monday's run may start now), "
            f"and 'Trigger' runs it at once")


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (Linux /proc), whatever process group it moved to: Airflow's task
    supervisors start their own sessions, so a signal to standalone's group does not reach them."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _signal(pids: set[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def stop(processes: list[subprocess.Popen[Any]], grace: float = 20.0) -> None:
    """Stop every process started, and everything they started: SIGTERM, then SIGKILL after ``grace``
    seconds. Signals that arrive meanwhile are ignored, so a second Ctrl-C cannot cut the clean-up short."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    tree = {proc.pid for proc in processes} | {d for proc in processes for d in descendants(proc.pid)}
    for proc in processes:
        try:
            os.killpg(proc.pid, signal.SIGTERM)  # the group, even when its leader has already exited
        except (ProcessLookupError, PermissionError):
            pass
    _signal(tree, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for proc in processes:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in tree):
        time.sleep(0.2)
    _signal({pid for pid in tree if Path(f"/proc/{pid}").exists()}, signal.SIGKILL)


def main() -> int:
    from socialaudit.cli.run import _listening, ensure_airflow_db
    from socialaudit.config import ConfigError, load_config

    port = int(os.environ.get("AIRFLOW_PORT", "8080"))
    env = environment(port)
    os.environ.update(env)
    try:
        config = load_config(env["SOCIALAUDIT_CONFIG"])
    except ConfigError as exc:
        print(f"make airflow: {exc}", file=sys.stderr)
        return 2
    if _listening(f"http://127.0.0.1:{port}/"):
        print(f"make airflow: port {port} is already in use (another Airflow?); stop it or set AIRFLOW_PORT",
              file=sys.stderr)
        return 2
    ensure_airflow_db()  # migrate, and create the pools the DAG's tasks run in
    processes: list[subprocess.Popen[Any]] = []

    def on_signal(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    try:
        if config.demo and not _listening(config.demo.simulator):
            sim_port = config.demo.simulator.rsplit(":", 1)[-1].rstrip("/")
            processes.append(subprocess.Popen([sys.executable, "-m", "socialaudit.simulator", "--port", sim_port,
                                               "--config", config.source], env=env, start_new_session=True))
            print(f"started the platform simulator on {config.demo.simulator}", flush=True)
        log = Path(env["AIRFLOW_HOME"]) / "standalone.log"
        with log.open("ab") as out:
            standalone = subprocess.Popen([sys.executable, "-m", "airflow", "standalone"], env=env, stdout=out,
                                          stderr=subprocess.STDOUT, start_new_session=True)
        processes.append(standalone)
        deadline = time.monotonic() + READY_TIMEOUT
        while not healthy(port):
            if standalone.poll() is not None or time.monotonic() > deadline:
                print(f"make airflow: Airflow did not start; see {log}", file=sys.stderr)
                return 1
            time.sleep(1)
        home = Path(env["AIRFLOW_HOME"])
        secret = password(home)
        if secret is None:
            state = "left as it was (the admin password could not be read)"
        elif os.environ.get("SOCIALAUDIT_KEEP_PAUSED"):
            state = "left as it was (SOCIALAUDIT_KEEP_PAUSED is set)"
        elif not config.demo:  # a real trust: switching on may start a real collection and real emails at once
            state = "left as it was (a real trust's config: switch it on in the UI when you want the weekly runs)"
        else:
            state = switch_on(port, secret)
        print(f"Airflow is ready: http://localhost:{port}/\n"
              f"  log in as admin, password {secret or '(not readable yet; see the file below)'}\n"
              f"  (generated once; kept in {home / 'simple_auth_manager_passwords.json.generated'})\n"
              f"  DAG {DAG_ID}: {state}\n"
              f"  reports: Browse > Social media audit, or http://localhost:{port}/socialaudit/\n"
              f"  logs: {log}\n"
              f"Ctrl-C stops Airflow{' and the simulator' if len(processes) > 1 else ''}.", flush=True)
        while standalone.poll() is None:
            time.sleep(1)
        print(f"make airflow: Airflow stopped (exit {standalone.returncode}); see {log}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("stopping Airflow...", flush=True)
        return 0
    finally:
        stop(processes)


if __name__ == "__main__":
    raise SystemExit(main())
