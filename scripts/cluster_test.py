"""A real Airflow CeleryExecutor cluster on loopback, without Docker: ``make cluster-test``.

What it does and why: the docker-compose stack cannot run on machines without a Docker engine, so
this script starts the same services from Debian packages and the project's venv, each as a plain
process on a free loopback port inside a throwaway directory, and drives a real weekly audit
through the REST API, as an operator would:

  PostgreSQL (metadata DB ``airflow`` + the audit store ``socialaudit``, created by the same init
  SQL the compose file mounts), Redis (Celery broker), an SMTP sink, the platform simulator, then
  ``airflow db migrate``, the admin user, ``airflow pools import config/pools.json``, and the
  api-server, scheduler, dag-processor, triggerer and two Celery workers.

Checks: a token from ``POST /auth/token``; the DAG unpaused and triggered through ``/api/v2``;
the run succeeds; every school's report and the Trust report exist; task instances ran on *both*
workers (each worker reports its own hostname, as two containers would); the audit store in
PostgreSQL recorded the run; then, with one school's account broken (a config variant: an ftp:
feed), the next run still succeeds: the failure stays with that account, which the school's report
names, its checks "not evaluated"; then both runs are archived and ``history verify`` passes.

Every process it starts is stopped by its process id (its process group), in reverse order, even
when a check fails or the script is interrupted; logs are printed on failure. Exit code 0 on
success, 1 on a failed check, 2 when a required program is missing.

``--schools N`` (scale mode, for ``bench/bench_scale.py``) runs a generated trust of N schools instead:
the simulator serves them (``--generate N``, a fixed clock, ``--latency``, 50 ms by default, and the
platforms' documented rate limits), PostgreSQL loads ``pg_stat_statements`` to count queries, and
one run of ``--week`` is timed and checked (success, every task instance on one of both workers,
every school's report, the store's run). It prints, and with ``--json FILE`` writes, the figures:
wall time, CPU seconds of every process started, in all and per service (the simulator apart: the task processes a worker
reaps count in its children's time), the peak of their summed memory (PSS), queries per database,
the output's bytes and files, the requests served per rate-limit bucket and the 429s. The broken-feed
run and the archive checks are the demo's (the default, which CI runs), not repeated here.
``--concurrency`` sets the task slots per worker; ``--batch-size 0`` picks ``scale_batch_size``.

The function ``worker_hostname`` is the ``[core] hostname_callable`` of the workers started here:
both run on one machine, so it gives each the name a container would have.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
DAG_ID = "trust_weekly_audit"
GOOD_WEEK, BROKEN_WEEK = "2026-W47", "2026-W46"
WORKERS = ("cluster-worker-1", "cluster-worker-2")
BROKEN_SCHOOL_INDEX = 1  # the second school of the demo config (holy-cross)


SCALE_SEED = 12  # bench_scale's seed: the same generated trust
BATCHES_PER_SLOT = 4  # scale mode's automatic batches: enough per task slot to keep every slot busy to the end


def scale_batch_size(schools: int, slots: int, per_slot: int = BATCHES_PER_SLOT, max_batches: int = 1000) -> int:
    """Schools per mapped task for ``schools`` on ``slots`` task slots in all: about ``per_slot`` batches
    a slot (fewer, longer tasks cost less of Airflow's per-task time; a few a slot keep the slots busy
    while the last batches finish), never more than ``max_batches`` tasks (Airflow maps at most 1,024)."""
    schools, slots = max(1, schools), max(1, slots)
    size = -(-schools // (slots * max(1, per_slot)))
    return max(size, -(-schools // max(1, max_batches)))


def logical_date(week: str, tz: str = "Europe/London") -> datetime:
    """The scheduled run that audits ISO ``week`` ("2026-W47"): the following Monday at 06:00 local time
    (``socialaudit.cli.run.logical_date_for``); the simulator's fixed clock in scale mode."""
    from zoneinfo import ZoneInfo

    year, number = week.split("-W")
    monday = date.fromisocalendar(int(year), int(number), 7) + timedelta(days=1)
    return datetime(monday.year, monday.month, monday.day, 6, tzinfo=ZoneInfo(tz))


def worker_hostname() -> str:
    """The task instance hostname of a worker started by this script (``[core] hostname_callable``)."""
    return os.environ.get("SOCIALAUDIT_CLUSTER_WORKER") or socket.getfqdn()


class ClusterError(Exception):
    """A check failed or a service did not come up; the message says which."""


class Cluster:
    """Processes started for the test, stopped by pid in reverse order whatever happens."""

    INFRA = ("postgres", "redis", "smtp", "simulator")

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.logs = workdir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.procs: list[tuple[str, subprocess.Popen[bytes], int]] = []
        self.t0 = time.monotonic()
        self.timings: dict[str, float] = {}

    def say(self, message: str) -> None:
        print(f"[cluster +{time.monotonic() - self.t0:6.1f}s] {message}", flush=True)

    def start(self, name: str, argv: list[str], env: dict[str, str], *, user: str | None = None,
              stop_signal: int = signal.SIGTERM) -> subprocess.Popen[bytes]:
        """Start ``argv`` in its own process group, output to ``logs/<name>.log``."""
        log = (self.logs / f"{name}.log").open("ab")
        kwargs: dict[str, Any] = {}
        if user:
            kwargs.update(user=user, group=user, extra_groups=[])
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                cwd=self.workdir, start_new_session=True, **kwargs)
        log.close()
        self.procs.append((name, proc, stop_signal))
        self.say(f"started {name} (pid {proc.pid})")
        return proc

    def run(self, name: str, argv: list[str], env: dict[str, str], *, timeout: float, user: str | None = None) -> str:
        """Run a one-shot command; its output goes to ``logs/<name>.log``; raise if it fails."""
        kwargs: dict[str, Any] = {}
        if user:
            kwargs.update(user=user, group=user, extra_groups=[])
        started = time.monotonic()
        try:
            done = subprocess.run(argv, capture_output=True, env=env, cwd=self.workdir, timeout=timeout, **kwargs)
        except subprocess.TimeoutExpired as exc:
            (self.logs / f"{name}.log").write_bytes((exc.stdout or b"") + (exc.stderr or b""))
            raise ClusterError(f"{name}: no result after {timeout:.0f}s (see {self.logs / name}.log)") from exc
        out = done.stdout.decode(errors="replace") + done.stderr.decode(errors="replace")
        (self.logs / f"{name}.log").write_text(out, encoding="utf-8")
        self.timings[name] = time.monotonic() - started
        if done.returncode != 0:
            raise ClusterError(f"{name} exited {done.returncode}:\n{_tail(out, 40)}")
        self.say(f"{name} done in {self.timings[name]:.1f}s")
        return out

    def check_alive(self) -> None:
        for name, proc, _sig in self.procs:
            if proc.poll() is not None:
                raise ClusterError(f"{name} (pid {proc.pid}) exited early with code {proc.returncode}")

    def stop_all(self) -> None:
        """Stop every started process by pid (its process group): Airflow's components together,
        then the services they use (simulator, SMTP, Redis, PostgreSQL), newest first; SIGKILL after 30 s."""
        airflow = [p for p in self.procs if p[0] not in self.INFRA]
        infra = [p for p in reversed(self.procs) if p[0] in self.INFRA]
        for wave in [airflow] + [[p] for p in infra]:
            for _name, proc, sig in wave:
                if proc.poll() is None:
                    try:
                        os.killpg(proc.pid, sig)
                    except ProcessLookupError:
                        pass
            for name, proc, sig in wave:
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    self.say(f"{name} (pid {proc.pid}) ignored signal {sig}; killing its process group")
                    try:
                        os.killpg(proc.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    proc.wait(timeout=10)
        # Children a component left behind in its group (uvicorn or celery pool processes).
        for _name, proc, _sig in self.procs:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.procs.clear()

    def dump_logs(self, lines: int = 60) -> None:
        """Print the end of every service log and of every failed task's log (on failure)."""
        for path in sorted(self.logs.glob("*.log")):
            print(f"\n===== {path.name} (last {lines} lines) =====")
            print(_tail(path.read_text(encoding="utf-8", errors="replace"), lines))
        task_logs = sorted((self.workdir / "airflow" / "logs").rglob("*.log"), key=lambda p: p.stat().st_mtime)
        for path in [p for p in task_logs if "error" in p.read_text(errors="replace").lower()][-4:]:
            print(f"\n===== task log {path.relative_to(self.workdir)} (last {lines} lines) =====")
            print(_tail(path.read_text(encoding="utf-8", errors="replace"), lines))


def _tail(text: str, lines: int) -> str:
    return "\n".join(text.splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(cluster: Cluster, what: str, probe: Callable[[], Any], timeout: float, interval: float = 1.0) -> Any:
    """Call ``probe`` until it returns a truthy value; raise naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    started = time.monotonic()
    while time.monotonic() < deadline:
        cluster.check_alive()
        try:
            value = probe()
            if value:
                cluster.timings[what] = time.monotonic() - started
                return value
        except (OSError, ValueError, urllib.error.URLError) as exc:
            last = exc
        time.sleep(interval)
    raise ClusterError(f"timed out after {timeout:.0f}s waiting for {what}" + (f" (last error: {last})" if last else ""))


def tcp_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def redis_ping(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(16).startswith(b"+PONG")


def find_pg_bin() -> Path:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if not candidates:
        raise FileNotFoundError("PostgreSQL server binaries not found under /usr/lib/postgresql (apt-get install postgresql)")
    return candidates[-1].parent


def session_usage(sessions: Iterable[int], *, memory: bool = False) -> tuple[float, int]:
    """(CPU seconds, memory bytes) of every live process in these sessions (each started process leads
    its own): user + system time, plus the time of the children each has reaped (a Celery worker's
    task processes, PostgreSQL's backends), and with ``memory`` the summed PSS (RSS where PSS is not
    readable). A process that ends between two readings counts in its parent's children's time."""
    wanted = set(sessions)
    tick = os.sysconf("SC_CLK_TCK")
    page = os.sysconf("SC_PAGE_SIZE")
    cpu, mem = 0.0, 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            if int(fields[3]) not in wanted:  # field 6, the session
                continue
            cpu += sum(int(fields[i]) for i in (11, 12, 13, 14)) / tick  # utime, stime, cutime, cstime
            if memory:
                mem += _pss(entry.name, int(fields[21]) * page)
        except (OSError, IndexError, ValueError):
            continue  # it ended while we read it
    return cpu, mem


def _pss(pid: str, rss: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:
            for line in handle:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return rss


def output_sizes(root: Path) -> tuple[dict[str, int], dict[str, int]]:
    """Bytes and files under ``root`` by top-level part (reports, outbox, raw, archive, ...)."""
    size: dict[str, int] = {}
    files: dict[str, int] = {}
    for path in root.rglob("*") if root.is_dir() else []:
        if path.is_file():
            part = path.relative_to(root).parts[0]
            size[part] = size.get(part, 0) + path.stat().st_size
            files[part] = files.get(part, 0) + 1
    return size, files


class Api:
    """The Airflow REST API with a JWT from ``POST /auth/token``."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")
        self.token = ""

    def call(self, method: str, path: str, body: Any = None, *, auth: bool = True) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if auth and self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                raw = response.read()
                if not raw:
                    return response.status, None
                if "json" not in (response.headers.get("Content-Type") or ""):
                    return response.status, raw.decode(errors="replace")  # a plugin's HTML page
                return response.status, json.loads(raw)
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                return exc.code, json.loads(raw)
            except ValueError:
                return exc.code, raw.decode(errors="replace")

    def login(self, username: str, password: str) -> None:
        status, body = self.call("POST", "/auth/token", {"username": username, "password": password}, auth=False)
        if status not in (200, 201) or not isinstance(body, dict) or "access_token" not in body:
            raise ClusterError(f"POST /auth/token answered {status}: {str(body)[:300]}")
        self.token = body["access_token"]

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        status, answer = self.call(method, path, body)
        if status >= 300:
            raise ClusterError(f"{method} {path} answered {status}: {str(answer)[:500]}")
        return answer


def write_config(simulator_port: int, target: Path, *, broken: bool) -> None:
    """The demo trust pointed at this run's simulator; ``broken`` gives one school an unfetchable account."""
    import yaml

    text = (ROOT / "config" / "trust.yaml").read_text(encoding="utf-8")
    raw = yaml.safe_load(text.replace("http://127.0.0.1:8765", f"http://127.0.0.1:{simulator_port}"))
    if broken:
        # No collector may fetch ftp://: the account is refused in one line, the school's other accounts collected.
        raw["schools"][BROKEN_SCHOOL_INDEX]["accounts"][0]["url"] = "ftp://127.0.0.1/feed/"
    tmp = target.with_suffix(".tmp")
    tmp.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    tmp.replace(target)  # atomic: a task never reads half a file


def base_env() -> dict[str, str]:
    """The caller's environment without any Airflow or socialaudit setting (the Makefile exports some)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "SOCIALAUDIT_", "_AIRFLOW"))}


def run_cluster(cluster: Cluster, args: argparse.Namespace) -> dict[str, Any]:
    """Start everything, run the good and the broken audit, check the results; return figures."""
    import yaml

    work = cluster.workdir
    as_user = "postgres" if os.geteuid() == 0 else None  # initdb refuses to run as root
    pg_bin = find_pg_bin()
    for program in ("redis-server", "psql"):
        if not shutil.which(program):
            raise FileNotFoundError(f"{program} not found (apt-get install redis-server postgresql)")

    ports = {name: free_port() for name in ("pg", "redis", "api", "sim", "smtp", "trigger_logs", "w1_logs", "w2_logs")}
    cluster.say(f"work dir {work}, ports {ports}")

    # PostgreSQL: a throwaway cluster owned by the postgres user when we are root.
    pg_dir = work / "pg"
    pg_dir.mkdir()
    os.chmod(work, 0o755)
    if as_user:
        shutil.chown(pg_dir, as_user, as_user)
    env = base_env()
    scale = args.schools > 0
    # scale mode counts every query (calls per database; BEGIN, COMMIT and SET apart); the demo's PostgreSQL is as it was
    scale_pg = ["-c", "shared_preload_libraries=pg_stat_statements", "-c", "pg_stat_statements.max=20000",
                "-c", "pg_stat_statements.track_utility=off"] if scale else []
    cluster.run("initdb", [str(pg_bin / "initdb"), "-D", str(pg_dir / "data"), "-U", "airflow", "-A", "trust",
                           "-E", "UTF8", "--locale=C", "--no-sync"], env, timeout=120, user=as_user)
    cluster.start("postgres", [str(pg_bin / "postgres"), "-D", str(pg_dir / "data"), "-p", str(ports["pg"]),
                               "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={pg_dir}",
                               "-c", "max_connections=300", "-c", "fsync=off", "-c", "synchronous_commit=off",
                               "-c", "full_page_writes=off", *scale_pg], env, user=as_user, stop_signal=signal.SIGINT)
    psql = ["psql", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(ports["pg"]), "-U", "airflow", "-q"]
    wait_for(cluster, "postgres", lambda: subprocess.run(psql + ["-d", "postgres", "-c", "select 1"],
                                                         capture_output=True, env=env).returncode == 0, 60)
    cluster.run("createdb-airflow", psql + ["-d", "postgres", "-c", "CREATE DATABASE airflow"], env, timeout=60)
    # The same init SQL the compose file mounts into postgres' /docker-entrypoint-initdb.d.
    cluster.run("init-sql", psql + ["-d", "airflow", "-f", str(ROOT / "docker" / "postgres-init.sql")], env, timeout=60)
    if scale:
        cluster.run("pg-stat-statements", psql + ["-d", "airflow", "-c", "CREATE EXTENSION pg_stat_statements"], env,
                    timeout=60)

    cluster.start("redis", ["redis-server", "--port", str(ports["redis"]), "--bind", "127.0.0.1", "--save", "",
                            "--appendonly", "no", "--dir", str(work)], env)
    wait_for(cluster, "redis", lambda: redis_ping(ports["redis"]), 30)

    mailbox = work / "mailbox"
    cluster.start("smtp", [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{ports['smtp']}",
                           "-c", "aiosmtpd.handlers.Mailbox", str(mailbox)], env)
    config = work / "trust.yaml"
    sim_env = dict(env, PYTHONPATH=str(ROOT / "plugins"))
    if scale:
        # The generated trust, served as bench_scale serves it; the simulator writes the config pointing at it.
        extra = ["--names", str(Path(args.names).resolve())] if args.names else []
        cluster.start("simulator", [sys.executable, "-m", "socialaudit.simulator", "--port", str(ports["sim"]),
                                    "--generate", str(args.schools), "--seed", str(SCALE_SEED), "--latency",
                                    str(args.latency), "--now", logical_date(args.week).isoformat(),
                                    "--write-config", str(config), *extra], sim_env)
        wait_for(cluster, "simulator", lambda: tcp_open(ports["sim"]) and config.is_file(), 120, 0.3)
    else:
        write_config(ports["sim"], config, broken=False)
        cluster.start("simulator", [sys.executable, "-m", "socialaudit.simulator", "--port", str(ports["sim"]),
                                    "--config", str(config)], sim_env)
        wait_for(cluster, "simulator", lambda: tcp_open(ports["sim"]), 30, 0.3)
    wait_for(cluster, "smtp sink", lambda: tcp_open(ports["smtp"]), 30, 0.3)

    slots = len(WORKERS) * args.concurrency
    batch_size = args.batch_size or (scale_batch_size(args.schools, slots) if scale else 0)
    pg_url = f"airflow@127.0.0.1:{ports['pg']}"
    output = work / "output"
    password = "p" + secrets.token_urlsafe(16)  # never "-...": the CLI would read a leading dash as an option
    from cryptography.fernet import Fernet

    af = dict(
        env,
        PATH=f"{VENV_BIN}:{env.get('PATH', '/usr/bin:/bin')}",
        PYTHONPATH=f"{ROOT / 'plugins'}:{ROOT / 'scripts'}",
        AIRFLOW_HOME=str(work / "airflow"),
        AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(ROOT / "plugins"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__EXECUTOR="CeleryExecutor",
        AIRFLOW__CORE__AUTH_MANAGER="airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager",
        AIRFLOW__CORE__FERNET_KEY=Fernet.generate_key().decode(),
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{ports['api']}/execution/",
        AIRFLOW__API__HOST="127.0.0.1",
        AIRFLOW__API__PORT=str(ports["api"]),
        AIRFLOW__API__BASE_URL=f"http://127.0.0.1:{ports['api']}",
        AIRFLOW__API_AUTH__JWT_SECRET=secrets.token_urlsafe(32),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"postgresql+psycopg2://{pg_url}/airflow",
        AIRFLOW__CELERY__BROKER_URL=f"redis://127.0.0.1:{ports['redis']}/0",
        AIRFLOW__CELERY__RESULT_BACKEND=f"db+postgresql://{pg_url}/airflow",
        AIRFLOW__CELERY__WORKER_CONCURRENCY=str(args.concurrency),
        # Two cores: one parsing process, and a quick first parse of the dags folder.
        AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES="1",
        AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="10",
        AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC="2",
        # Only the runs this script triggers: unpausing would otherwise start the latest scheduled one.
        AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE="False",
        AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=str(ports["trigger_logs"]),
        AIRFLOW__LOGGING__LOGGING_LEVEL="INFO",
        AIRFLOW_CONN_SMTP_DEFAULT=json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": ports["smtp"],
                                              "extra": {"disable_ssl": True, "disable_tls": True,
                                                        "from_email": "audit@stoswins-trust.example.org"}}),
        SOCIALAUDIT_CONFIG=str(config),
        SOCIALAUDIT_OUTPUT=str(output),
        SOCIALAUDIT_DB_URL=f"postgresql+psycopg://{pg_url}/socialaudit",
        SOCIALAUDIT_RETRIES="1",
        SOCIALAUDIT_RETRY_DELAY_SECONDS="1",
        # 0: automatic (one school per task for the demo); --batch-size 4 maps the 6 schools as 4 + 2, so
        # PostgreSQL stores multi-school labels and a batch's schools are collected together
        SOCIALAUDIT_BATCH_SIZE=str(batch_size),
    )
    cluster.run("db-migrate", ["airflow", "db", "migrate"], af, timeout=600)
    cluster.run("users-create", ["airflow", "users", "create", "--username", "admin", "--password", password,
                                 "--role", "Admin", "--email", "admin@stoswins-trust.example.org",
                                 "--firstname", "Trust", "--lastname", "Admin"], af, timeout=300)
    cluster.run("pools-import", ["airflow", "pools", "import", str(ROOT / "config" / "pools.json")], af, timeout=120)
    pool_slots = json.loads((ROOT / "config" / "pools.json").read_text(encoding="utf-8"))["socialaudit_collect"]["slots"]
    if scale and slots > pool_slots:  # the pool bounds collect tasks across runs: as many as the workers' slots
        cluster.run("pools-set", ["airflow", "pools", "set", "socialaudit_collect", str(slots),
                                  "collect tasks: one per task slot of the cluster"], af, timeout=120)

    cluster.start("api-server", ["airflow", "api-server", "-H", "127.0.0.1", "-p", str(ports["api"]), "-w", "1"], af)
    cluster.start("scheduler", ["airflow", "scheduler"], af)
    cluster.start("dag-processor", ["airflow", "dag-processor"], af)
    cluster.start("triggerer", ["airflow", "triggerer"], af)
    for i, name in enumerate(WORKERS, start=1):
        wenv = dict(af, SOCIALAUDIT_CLUSTER_WORKER=name,
                    AIRFLOW__CORE__HOSTNAME_CALLABLE="cluster_test.worker_hostname",
                    AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(ports[f"w{i}_logs"]))
        cluster.start(name, ["airflow", "celery", "worker", "--celery-hostname", f"{name}@%h",
                             "--concurrency", str(args.concurrency)], wenv)

    api = Api(f"http://127.0.0.1:{ports['api']}")
    wait_for(cluster, "api-server health", lambda: api.call("GET", "/api/v2/monitor/health", auth=False)[0] == 200,
             args.start_timeout)
    api.login("admin", password)
    cluster.say("token obtained from POST /auth/token")
    wait_for(cluster, "the DAG to be parsed", lambda: api.call("GET", f"/api/v2/dags/{DAG_ID}")[0] == 200,
             args.start_timeout, 2)
    for name in WORKERS:
        log = cluster.logs / f"{name}.log"
        wait_for(cluster, f"{name} ready", lambda log=log: b" ready." in log.read_bytes(), args.start_timeout)
    cluster.timings["cluster up"] = time.monotonic() - cluster.t0
    cluster.say("cluster up: api-server, scheduler, dag-processor, triggerer, 2 workers")

    api.ok("PATCH", f"/api/v2/dags/{DAG_ID}", {"is_paused": False})
    if scale:
        return run_scale(cluster, api, args, config=config, output=output, psql=psql, env=env, ports=ports,
                         batch_size=batch_size, pool_slots=max(slots, pool_slots))
    schools = [s["id"] for s in yaml.safe_load(config.read_text())["schools"]]

    # 1. A good run: success, every report, tasks on both workers, the store in PostgreSQL.
    good = trigger_and_wait(cluster, api, "cluster-good", GOOD_WEEK, args.run_timeout)
    if good["state"] != "success":
        raise ClusterError(f"run cluster-good ended {good['state']}, expected success")
    tis = api.ok("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/cluster-good/taskInstances?limit=1000")["task_instances"]
    hosts = check_task_instances("cluster-good", tis)
    cluster.say(f"cluster-good: {len(tis)} task instances, per worker {hosts}")
    per_task = task_figures(tis, good["seconds"])
    cluster.say("cluster-good per task: " + ", ".join(f"{k} {v}" for k, v in per_task.items()))
    reports = output / "reports" / GOOD_WEEK
    missing = [s for s in schools if not (reports / "schools" / f"{s}.html").is_file()]
    if missing or not (reports / "index.html").is_file():
        raise ClusterError(f"reports missing under {reports}: {missing or ['index.html']}")
    stored = subprocess.run(psql + ["-d", "socialaudit", "-tAc", "select state from runs where run_id='cluster-good'"],
                            capture_output=True, env=env, text=True)
    if stored.stdout.strip() != "success":
        raise ClusterError(f"audit store (PostgreSQL database socialaudit) has run state {stored.stdout.strip()!r}: "
                           f"{stored.stderr.strip()}")

    # The heads' emails went through the SMTP connection to a real SMTP server (the sink).
    heads = [s["head_email"] for s in yaml.safe_load(config.read_text())["schools"]]
    mails = mailbox_recipients(mailbox)
    if not set(heads) <= mails:
        raise ClusterError(f"heads' emails not received by the SMTP sink: {sorted(set(heads) - mails)}")
    check_plugins(cluster, api)

    # 2. One school's account broken (an ftp: feed): the failure stays with that account. The run
    # succeeds, the school is reported with the account named as not collected and the checks that
    # need it "not evaluated", never "pass". (A fault outside the accounts, which fails a school's task
    # and the run, is covered under dag.test by tests/test_end_to_end.py.)
    write_config(ports["sim"], config, broken=True)
    broken = trigger_and_wait(cluster, api, "cluster-broken", BROKEN_WEEK, args.run_timeout)
    if broken["state"] != "success":
        raise ClusterError(f"run cluster-broken ended {broken['state']}, expected success (one account's failure is its own)")
    tis2 = api.ok("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/cluster-broken/taskInstances?limit=1000")["task_instances"]
    failed = [(t["task_id"], t["map_index"], t["state"]) for t in tis2 if t["state"] not in ("success", "skipped")]
    if failed:
        raise ClusterError(f"task instances not successful in cluster-broken: {failed}")
    broken_id = schools[BROKEN_SCHOOL_INDEX]
    report = output / "reports" / BROKEN_WEEK / "schools" / f"{broken_id}.html"
    text = report.read_text(encoding="utf-8") if report.is_file() else ""
    if "ftp://127.0.0.1/feed/" not in text or "Not evaluated" not in text:
        raise ClusterError(f"the {BROKEN_WEEK} report of {broken_id} does not name the broken feed and 'not evaluated'")
    others = [s for s in schools if not (output / "reports" / BROKEN_WEEK / "schools" / f"{s}.html").is_file()]
    if others:
        raise ClusterError(f"school reports missing in the broken run: {others}")
    cluster.say(f"cluster-broken: success; {broken_id}'s report names the broken feed, its checks not evaluated; "
                "every school reported")

    # 3. The auditors' view: both runs (the failed one too) are archived, and the chain verifies.
    history = subprocess.run([sys.executable, "-m", "socialaudit", "history", "verify"], capture_output=True, text=True,
                             env=af, timeout=300)
    listed = subprocess.run([sys.executable, "-m", "socialaudit", "history", "list"], capture_output=True, text=True,
                            env=af, timeout=300)
    if history.returncode != 0 or "cluster-good" not in listed.stdout or "cluster-broken" not in listed.stdout:
        raise ClusterError(f"history verify exited {history.returncode}: {(history.stdout + history.stderr).strip()[-600:]}; "
                           f"history list: {(listed.stdout + listed.stderr).strip()[-600:]}")
    cluster.say(f"archive: {history.stdout.strip().splitlines()[-1] if history.stdout.strip() else 'verified'}")
    return {"task_instances": len(tis), "per_worker": hosts, "per_task": per_task, "good_run_s": good["seconds"],
            "broken_run_s": broken["seconds"], "mails": len(list((mailbox / "new").glob("*"))) if (mailbox / "new").is_dir() else 0}


def run_scale(cluster: Cluster, api: Api, args: argparse.Namespace, *, config: Path, output: Path, psql: list[str],
              env: dict[str, str], ports: dict[str, int], batch_size: int, pool_slots: int) -> dict[str, Any]:
    """Scale mode: one timed run of the generated trust, checked, with the figures bench_scale prints."""
    import yaml

    raw = yaml.safe_load(config.read_text(encoding="utf-8"))
    schools = [s["id"] for s in raw["schools"]]
    sim = Api(f"http://127.0.0.1:{ports['sim']}")
    sessions = [proc.pid for name, proc, _sig in cluster.procs if name != "simulator"]

    def sql(database: str, query: str) -> str:
        done = subprocess.run(psql + ["-d", database, "-tAc", query], capture_output=True, env=env, text=True, timeout=120)
        if done.returncode != 0:
            raise ClusterError(f"psql on {database}: {done.stderr.strip()[:300]}")
        return done.stdout.strip()

    requests_before = sim.ok("GET", "/_simulator/stats")
    sql("airflow", "select pg_stat_statements_reset()")
    load_before = os.getloadavg()
    cpu_before, _mem = session_usage(sessions)
    named = {name: proc.pid for name, proc, _sig in cluster.procs if name != "simulator"}
    parts_before = {name: session_usage([pid])[0] for name, pid in named.items()}
    run_id = f"scale-{len(schools)}"
    api.ok("POST", f"/api/v2/dags/{DAG_ID}/dagRuns", {"dag_run_id": run_id, "logical_date": None,
                                                      "conf": {"week": args.week}})
    cluster.say(f"triggered {run_id}: {len(schools)} schools, {batch_size} a task, {len(WORKERS)} workers x "
                f"{args.concurrency} slots, collect pool {pool_slots}")
    started = time.monotonic()
    peak = 0
    state = None
    while time.monotonic() - started < args.run_timeout:
        cluster.check_alive()
        state = api.ok("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}")["state"]
        if state in ("success", "failed"):
            break
        peak = max(peak, session_usage(sessions, memory=True)[1])
        time.sleep(2)
    else:
        raise ClusterError(f"run {run_id} not finished after {args.run_timeout:.0f}s (state {state})")
    cpu_after, _mem = session_usage(sessions)
    cpu_parts = {name: round(session_usage([pid])[0] - parts_before[name], 1) for name, pid in named.items()}
    load_after = os.getloadavg()
    requests_after = sim.ok("GET", "/_simulator/stats")
    run = api.ok("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}")

    def ts(value: str) -> datetime:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))

    wall = (ts(run["end_date"]) - ts(run["queued_at"])).total_seconds()
    cluster.timings[run_id] = wall
    cluster.say(f"{run_id} finished {state} in {wall:.1f}s (queued to end)")
    if state != "success":
        raise ClusterError(f"run {run_id} ended {state}, expected success")
    tis = all_task_instances(api, run_id)
    hosts = check_task_instances(run_id, tis)
    reports = output / "reports" / args.week
    missing = [s for s in schools if not (reports / "schools" / f"{s}.html").is_file()]
    if missing or not (reports / "index.html").is_file():
        raise ClusterError(f"reports missing under {reports}: {(missing or ['index.html'])[:20]}")
    if sql("socialaudit", f"select state from runs where run_id='{run_id}'") != "success":
        raise ClusterError(f"the audit store has no successful run {run_id}")
    heads = {s["head_email"].lower() for s in raw["schools"]}
    unmailed = heads - mailbox_recipients(cluster.workdir / "mailbox")
    if unmailed:
        raise ClusterError(f"{len(unmailed)} heads' emails not received by the SMTP sink, e.g. {sorted(unmailed)[:3]}")

    queries = {name: int(calls) for name, calls in (line.split("|") for line in sql(
        "airflow", "select d.datname, sum(s.calls) from pg_stat_statements s join pg_database d on d.oid = s.dbid "
                   "group by 1").splitlines() if "|" in line)}
    evicted = int(sql("airflow", "select dealloc from pg_stat_statements_info") or 0)
    # each account's collection, as the store recorded it: "ok" for all of them, or the bench says how many were not
    accounts = {status: int(n) for status, n in (line.split("|") for line in sql(
        "socialaudit", f"select status, count(*) from collections where run_id='{run_id}' group by 1").splitlines()
        if "|" in line)}
    size, files = output_sizes(output)
    buckets = {b: n - requests_before["buckets"].get(b, 0) for b, n in requests_after["buckets"].items()}
    limited = {p: n - requests_before["rate_limited"].get(p, 0) for p, n in requests_after["rate_limited"].items()}
    figures = {
        "schools": len(schools), "workers": len(WORKERS), "slots_per_worker": args.concurrency,
        "batch_size": batch_size, "batches": -(-len(schools) // batch_size), "collect_pool": pool_slots,
        "latency": args.latency, "wall": wall, "cpu": cpu_after - cpu_before, "cpu_by_process": cpu_parts, "peak_pss": peak,
        "queries": queries, "queries_evicted": evicted, "accounts": accounts, "size": size, "files": files,
        "store_bytes": int(sql("socialaudit", "select pg_database_size('socialaudit')")),
        "task_log_bytes": sum(p.stat().st_size for p in (cluster.workdir / "airflow" / "logs").rglob("*") if p.is_file()),
        "requests": {b: n for b, n in buckets.items() if n}, "rate_limited": limited,
        "task_instances": len(tis), "per_worker": hosts, "per_task": task_figures(tis, wall),
        "load_before": load_before, "load_after": load_after,
    }
    cluster.say(f"{run_id}: {len(tis)} task instances, per worker {hosts}; CPU {figures['cpu']:.1f}s; "
                f"peak PSS {peak / 1e6:.0f} MB; queries {queries}; requests {sum(buckets.values())}, 429s {limited}; "
                f"accounts collected {accounts}")
    return figures


def check_task_instances(run_id: str, tis: list[dict[str, Any]]) -> dict[str, int]:
    """Every task instance of the run in success, and both workers used (ClusterError otherwise, naming the
    first 20 that are not); returns the task instances per worker."""
    bad = [f"{t['task_id']}[{t['map_index']}]={t['state']}" for t in tis if t["state"] != "success"]
    if bad:
        raise ClusterError(f"run {run_id} has task instances not in success: {bad[:20]}")
    hosts: dict[str, int] = {}
    for t in tis:
        hosts[t["hostname"]] = hosts.get(t["hostname"], 0) + 1
    if set(hosts) != set(WORKERS):
        raise ClusterError(f"task instances ran on {hosts}, expected both of {WORKERS}")
    return hosts


def all_task_instances(api: Api, run_id: str) -> list[dict[str, Any]]:
    """Every task instance of a run, page by page."""
    found: list[dict[str, Any]] = []
    while True:
        page = api.ok("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances?limit=500&offset={len(found)}")
        found.extend(page["task_instances"])
        if not page["task_instances"] or len(found) >= page.get("total_entries", 0):
            return found


def mailbox_recipients(mailbox: Path) -> set[str]:
    """Every To/Cc address of the messages the SMTP sink stored (a Maildir)."""
    import email
    import email.utils

    found: set[str] = set()
    for path in (mailbox / "new").glob("*") if (mailbox / "new").is_dir() else []:
        message = email.message_from_bytes(path.read_bytes())
        for _name, address in email.utils.getaddresses(message.get_all("To", []) + message.get_all("Cc", [])):
            found.add(address.lower())
    return found


def check_plugins(cluster: Cluster, api: Api) -> None:
    """Every AirflowPlugin web app answers through the api-server with a token, and refuses without."""
    plugins = api.ok("GET", "/api/v2/plugins")["plugins"]
    apps = [(p["name"], app["url_prefix"]) for p in plugins for app in p.get("fastapi_apps", [])]
    if not apps:
        cluster.say("no AirflowPlugin web app in plugins/ yet: nothing to check in the UI")
        return
    for name, prefix in apps:
        status, _ = api.call("GET", prefix.rstrip("/") + "/")
        anonymous, _ = api.call("GET", prefix.rstrip("/") + "/", auth=False)
        if status != 200 or anonymous not in (401, 403):
            raise ClusterError(f"plugin {name} at {prefix}/: {status} with a token, {anonymous} without")
        cluster.say(f"plugin {name} answers at {prefix}/ (200 with a token, {anonymous} without)")


def task_figures(tis: list[dict[str, Any]], run_seconds: float) -> dict[str, str]:
    """Mean time a task instance ran (start to end) and waited (queued to start), and run wall time per task."""
    from datetime import datetime

    def ts(value: str | None) -> datetime | None:
        return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None

    ran: dict[str, list[float]] = {}
    waited = [(ts(t["start_date"]) - ts(t["queued_when"])).total_seconds()
              for t in tis if t.get("start_date") and t.get("queued_when")]
    for t in tis:
        if t.get("start_date") and t.get("end_date"):
            ran.setdefault(t["task_id"].removeprefix("audit."), []).append((ts(t["end_date"]) - ts(t["start_date"])).total_seconds())
    every = [v for values in ran.values() for v in values]
    figures = {"mean run": f"{sum(every) / max(1, len(every)):.2f}s"}
    figures.update({f"{task} run": f"{sum(v) / len(v):.2f}s" for task, v in ran.items()})
    figures.update({"mean queued->start": f"{sum(waited) / max(1, len(waited)):.2f}s",
                    "wall per task": f"{run_seconds / max(1, len(tis)):.2f}s"})
    return figures


def trigger_and_wait(cluster: Cluster, api: Api, run_id: str, week: str, timeout: float) -> dict[str, Any]:
    """Trigger the DAG for ``week`` through the REST API and wait for a final state."""
    api.ok("POST", f"/api/v2/dags/{DAG_ID}/dagRuns", {"dag_run_id": run_id, "logical_date": None, "conf": {"week": week}})
    cluster.say(f"triggered {run_id} (week {week})")
    started = time.monotonic()

    def final() -> str | None:
        state = api.ok("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}")["state"]
        return state if state in ("success", "failed") else None

    state = wait_for(cluster, f"run {run_id} to finish", final, timeout, 2)
    seconds = time.monotonic() - started
    cluster.timings[run_id] = seconds
    cluster.say(f"{run_id} finished {state} in {seconds:.1f}s")
    return {"state": state, "seconds": seconds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/cluster_test.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, output) afterwards")
    parser.add_argument("--concurrency", type=int, default=1, help="task slots per worker (2 cores: 1)")
    parser.add_argument("--start-timeout", type=float, default=240, help="seconds for each service to come up")
    parser.add_argument("--run-timeout", type=float, default=None,
                        help="seconds for each DAG run to finish (default 360; scale mode: 600 or 3 s a school)")
    parser.add_argument("--batch-size", type=int, default=0,
                        help="schools per mapped task (default 0: automatic; scale mode: scale_batch_size)")
    parser.add_argument("--schools", type=int, default=0, metavar="N",
                        help="scale mode: a generated trust of N schools, one timed run (default 0: the demo's checks)")
    parser.add_argument("--latency", type=float, default=0.05, help="scale mode: the simulator's latency (default 0.05 s)")
    parser.add_argument("--week", default=GOOD_WEEK, help=f"scale mode: the week audited (default {GOOD_WEEK})")
    parser.add_argument("--names", default=None, metavar="FILE", help="scale mode: the schools' names, one a line")
    parser.add_argument("--json", default=None, metavar="FILE", help="scale mode: write the figures here as JSON")
    args = parser.parse_args(argv)
    if args.schools < 0 or args.schools > 100_000 or args.concurrency < 1 or args.batch_size < 0 or args.latency < 0:
        parser.error("--schools takes 0 to 100000, --concurrency 1 or more, --batch-size and --latency 0 or more")
    try:
        logical_date(args.week)
    except ValueError:
        parser.error(f"--week: not an ISO week like {GOOD_WEEK}: {args.week!r}")
    if args.run_timeout is None:
        args.run_timeout = max(600.0, 3.0 * args.schools) if args.schools else 360.0

    workdir = Path(tempfile.mkdtemp(prefix="socialaudit-cluster-"))
    cluster = Cluster(workdir)

    def interrupted(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupted)
    code = 1
    try:
        figures = run_cluster(cluster, args)
        code = 0
    except FileNotFoundError as exc:
        print(f"cluster-test: {exc}", file=sys.stderr)
        code = 2
    except (ClusterError, KeyboardInterrupt, subprocess.SubprocessError, OSError) as exc:
        print(f"\ncluster-test FAILED: {exc}", file=sys.stderr, flush=True)
        cluster.dump_logs()
    finally:
        cluster.say("stopping every process started")
        cluster.stop_all()
        if args.keep or code == 1:
            cluster.say(f"work dir kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if code == 0 and args.schools:
        print(f"cluster-test scale PASSED in {time.monotonic() - cluster.t0:.1f}s: " + json.dumps(figures))
        if args.json:
            Path(args.json).write_text(json.dumps(figures, indent=1), encoding="utf-8")
    elif code == 0:
        total = time.monotonic() - cluster.t0
        print(f"cluster-test PASSED in {total:.1f}s: {figures['task_instances']} task instances in the good run, "
              f"per worker {figures['per_worker']}; good run {figures['good_run_s']:.1f}s, broken run "
              f"{figures['broken_run_s']:.1f}s; emails to the SMTP sink {figures['mails']}")
        print("per task (good run): " + ", ".join(f"{k} {v}" for k, v in figures["per_task"].items()))
        print("timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in cluster.timings.items()))
    return code


if __name__ == "__main__":
    sys.exit(main())
