"""Scale benchmark: a weekly run of a generated trust of N schools, in one process and on the Celery cluster.

Each school has a website feed, a Mastodon account and a Bluesky account, served by the project's
simulator (``simulator.dataset.generated_trust``) in a child process, with added latency (50 ms by
default) and the platforms' documented rate limits (Mastodon 300 requests / 5 min per instance, 40
accounts an instance; Bluesky 3,000 / 5 min). School names come from
``../shared/data/schools-england`` when it is present (in memory, and for the cluster's simulator in
a temporary file outside the project: nothing of it is written into the project), else (or with
``BENCH_SCALE_NAMES=generated``) from the simulator's fictional generator.

Two stages for each size (``BENCH_SCALE_STAGES=run,cluster``, the default; ``--stages run``):

- ``run``: the CLI's ``python -m socialaudit run``, Airflow's ``dag.test`` in one process, automatic
  batches (or ``SOCIALAUDIT_BATCH_SIZE``), a SQLite store and a SQLite Airflow database (migrated
  once, before the timings). CPU and peak RSS come from ``os.wait4`` (the run's processes); queries
  are counted by a ``sitecustomize`` the bench puts on the run's ``PYTHONPATH`` (a SQLAlchemy event
  listener: every statement sent to the store's database and to Airflow's).
- ``cluster``: ``scripts/cluster_test.py --schools N`` (PostgreSQL, Redis, the scheduler, api-server,
  dag-processor, triggerer and 2 Celery workers, each ``--slots K`` task slots, 4 by default or
  ``BENCH_CLUSTER_SLOTS``; schools per task from N and the slots, ``cluster_test.scale_batch_size``,
  or ``SOCIALAUDIT_BATCH_SIZE``). The wall time is the DAG run's, queued to end; CPU is every process
  the cluster started, the simulator apart, over the run; memory is the peak of their summed PSS;
  queries are PostgreSQL's ``pg_stat_statements`` calls per database.

For each stage it prints the wall time, CPU seconds per school, queries per school (the audit store
and Airflow's metadata database), peak memory, the output's bytes and files per school (and what
takes them), the requests served per rate-limit bucket, 429s, the load average, and the floor: the
larger of the network floor (each rate-limit bucket's requests x latency / its concurrency limit in
``collectors._pool``) and the rate-limit floor (a window's worth of requests, then a wait per further
window), with the ratio to it.

Run: ``.venv/bin/python bench/bench_scale.py [N ...] [--stages run,cluster] [--slots K]`` (default
60 300; ``BENCH_SCALE_SIZES=60,300,1200`` for ``make bench``; ``BENCH_LATENCY=0.05``). It prints
figures and asserts nothing. ``BENCH_PROFILE=<folder>`` profiles the ``run`` stage: cProfile, timed by each
thread's own CPU clock, over every thread of every process of the run (the simulator apart), one
``<pid>.<thread name>.prof`` a process and kind of thread (read them with ``pstats``; the profiler about
triples the run's CPU, most where Python calls are many and short).
"""

from __future__ import annotations

import csv
import json
import math
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))

LATENCY = float(os.environ.get("BENCH_LATENCY", "0.05"))
ENGLAND = ROOT.parent / "shared" / "data" / "schools-england" / "schools_2015.tsv"
SEED = 12


def england_names(count: int) -> list[str]:
    """``count`` school names from the shared England data set, spread over it; [] when it is absent."""
    if not ENGLAND.exists() or os.environ.get("BENCH_SCALE_NAMES") == "generated":
        return []
    with ENGLAND.open(encoding="utf-8", newline="") as handle:
        names = [row["name"] for row in csv.DictReader(handle, delimiter="\t") if row.get("name")]
    step = max(1, len(names) // max(1, count))
    return names[::step][:count]


# Put on the run's PYTHONPATH as sitecustomize: counts every SQL statement per database file, written at exit.
_COUNTER = """
import atexit, json, os
from sqlalchemy import event
from sqlalchemy.engine import Engine
_counts = {}
@event.listens_for(Engine, "before_cursor_execute")
def _count(conn, cursor, statement, parameters, context, executemany):
    name = os.path.basename(str(conn.engine.url.database or conn.engine.url))
    _counts[name] = _counts.get(name, 0) + 1
@atexit.register
def _dump():
    if _counts:
        with open(os.path.join(os.environ["BENCH_QUERY_COUNTS"], f"{os.getpid()}.json"), "w") as handle:
            json.dump(_counts, handle)
"""

# Added to that sitecustomize with BENCH_PROFILE=<folder>: cProfile (CPU time) over every thread of every process of the run
# (the simulator apart, which the bench forks itself), one <pid>.<thread name>.prof a process and kind of thread, at exit.
_PROFILER = """
import cProfile, functools, pstats, re, sys, threading, time
_profiles = []
def _profiler():
    # the thread's own CPU clock, read from whichever thread asks: a thread still waiting at exit adds nothing
    clock = functools.partial(time.clock_gettime, time.pthread_getcpuclockid(threading.get_ident()))
    profile = cProfile.Profile(clock)
    _profiles.append((re.sub(r"[^A-Za-z]+", "-", threading.current_thread().name).strip("-") or "thread", profile))
    profile.enable()
def _profile_thread(*_args):
    sys.setprofile(None)
    _profiler()
threading.setprofile(_profile_thread)
_profiler()
@atexit.register
def _dump_profile():
    threading.setprofile(None)
    merged = {}
    for name, profile in list(_profiles):
        profile.disable()
        if name in merged:
            merged[name].add(profile)
        else:
            merged[name] = pstats.Stats(profile)
    for name, stats in merged.items():
        stats.dump_stats(os.path.join(os.environ["BENCH_PROFILE"], f"{os.getpid()}.{name}.prof"))
"""


def _serve(profiles, now, conn):  # type: ignore[no-untyped-def]
    """The simulator, in a child process (in the bench's it would share the GIL with nothing useful)."""
    from socialaudit.simulator import Simulator

    sim = Simulator(port=0, profiles=profiles, now=now, latency=LATENCY)
    sim.start()
    conn.send(sim.url)
    conn.recv()
    stats = sim.stats()
    conn.send((stats["buckets"], stats["rate_limited"]))
    sim.stop()


def _floor(requests: dict[str, int]) -> tuple[float, float]:
    """(network floor, rate-limit floor) in seconds for these requests per bucket."""
    from collectors._pool import limit_for
    from socialaudit.simulator.social import DEFAULT_RATE_LIMITS

    network = max((n * LATENCY / limit_for(b.split(":", 1)[0]) for b, n in requests.items()), default=0.0)
    rate = 0.0
    for bucket, n in requests.items():
        platform = bucket.split(":", 1)[0]
        if platform in DEFAULT_RATE_LIMITS:
            limit, window = DEFAULT_RATE_LIMITS[platform]
            rate = max(rate, (math.ceil(n / limit) - 1) * window)
    return network, rate


def _sizes(root: Path) -> tuple[Counter[str], Counter[str]]:
    """Bytes and files under ``root`` by top-level part (reports, outbox, raw, archive, the store)."""
    size: Counter[str] = Counter()
    files: Counter[str] = Counter()
    for path in root.rglob("*"):
        if path.is_file():
            part = path.relative_to(root).parts[0]
            size[part] += path.stat().st_size
            files[part] += 1
    return size, files


def _queries(folder: Path) -> dict[str, int]:
    """Statements per database the run's processes sent (the sitecustomize's files), by store/airflow."""
    total: Counter[str] = Counter()
    for path in folder.glob("*.json"):
        for name, n in json.loads(path.read_text()).items():
            total["store" if name == "store.db" else "airflow" if name.startswith("airflow") else name] += n
    return dict(total)


def run_size(count: int, work: Path, airflow_home: Path) -> dict[str, object]:
    import multiprocessing

    import yaml

    from socialaudit.cli.run import logical_date_for
    from socialaudit.simulator.dataset import generated_config, generated_trust
    from socialaudit.weeks import IsoWeek

    week = IsoWeek.parse(os.environ.get("BENCH_WEEK", "2026-W47"))
    now = logical_date_for(week, "Europe/London")
    schools, profiles = generated_trust(count, seed=SEED, names=england_names(count))
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe()
    simulator = ctx.Process(target=_serve, args=(profiles, now, child), daemon=True)
    simulator.start()
    url = parent.recv()
    folder = work / str(count)
    folder.mkdir()
    config = folder / "trust.yaml"
    config.write_text(yaml.safe_dump(generated_config(schools, url), sort_keys=False), encoding="utf-8")
    output = folder / "out"
    counter = folder / "sitecustomize"
    counts = folder / "queries"
    counter.mkdir()
    counts.mkdir()
    profile = os.environ.get("BENCH_PROFILE")
    if profile:
        Path(profile).mkdir(parents=True, exist_ok=True)
    (counter / "sitecustomize.py").write_text(_COUNTER + (_PROFILER if profile else ""), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'plugins'}:{counter}", "AIRFLOW_HOME": str(airflow_home),
           "SOCIALAUDIT_OUTPUT": str(output), "SOCIALAUDIT_DB_URL": f"sqlite:///{folder / 'store.db'}",
           "SOCIALAUDIT_ARCHIVE": str(output / "archive"), "BENCH_QUERY_COUNTS": str(counts)}
    env.pop("SOCIALAUDIT_CONFIG", None)
    load_before = os.getloadavg()
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "socialaudit", "run", "--config", str(config), "--week", str(week)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT)
    out = proc.stdout.read() if proc.stdout else b""
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    parent.send("stop")
    requests, limited = parent.recv()
    simulator.join(10)
    size, files = _sizes(output)
    store = (folder / "store.db").stat().st_size if (folder / "store.db").exists() else 0
    accounts: dict[str, int] = {}
    if store:
        with sqlite3.connect(folder / "store.db") as db:
            accounts = dict(db.execute("select status, count(*) from collections group by 1").fetchall())
    return {"stage": "run", "count": count, "wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
            "mem_mb": usage.ru_maxrss / 1024, "size": size, "files": files, "store": store, "requests": requests,
            "limited": limited, "queries": _queries(counts), "load": (load_before[0], os.getloadavg()[0]),
            "rc": proc.returncode, "tail": out.decode(errors="replace")[-600:], "detail": f"accounts by status {accounts}"}


def cluster_size(count: int, work: Path, slots: int) -> dict[str, object]:
    """The same trust on the real Celery cluster (scripts/cluster_test.py in scale mode)."""
    folder = work / f"cluster-{count}"
    folder.mkdir()
    figures = folder / "figures.json"
    argv = [sys.executable, str(ROOT / "scripts" / "cluster_test.py"), "--schools", str(count), "--concurrency",
            str(slots), "--latency", str(LATENCY), "--week", os.environ.get("BENCH_WEEK", "2026-W47"),
            "--json", str(figures)]
    names = england_names(count)
    if names:
        (folder / "names.txt").write_text("\n".join(names) + "\n", encoding="utf-8")  # outside the project, deleted
        argv += ["--names", str(folder / "names.txt")]
    if os.environ.get("SOCIALAUDIT_BATCH_SIZE"):
        argv += ["--batch-size", os.environ["SOCIALAUDIT_BATCH_SIZE"]]
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0 or not figures.is_file():
        return {"stage": "cluster", "count": count, "rc": done.returncode or 1,
                "tail": (done.stdout + done.stderr)[-1500:]}
    f = json.loads(figures.read_text())
    queries = f["queries"]
    return {"stage": "cluster", "count": count, "wall": f["wall"], "cpu": f["cpu"], "mem_mb": f["peak_pss"] / 2**20,
            "size": Counter(f["size"]), "files": Counter(f["files"]), "store": f["store_bytes"],
            "requests": f["requests"], "limited": f["rate_limited"],
            "queries": {"store": queries.get("socialaudit", 0), "airflow": queries.get("airflow", 0)},
            "load": (f["load_before"][0], f["load_after"][0]), "rc": 0, "tail": "",
            "detail": (f"accounts by status {f['accounts']}; CPU s by process {f['cpu_by_process']}; "
                       f"{f['workers']} workers x {f['slots_per_worker']} slots, {f['batch_size']} schools a task "
                       f"({f['batches']} batches), {f['task_instances']} task instances, per worker {f['per_worker']}; "
                       + ", ".join(f"{k} {v}" for k, v in f["per_task"].items()))}


def _option(argv: list[str], name: str, default: str) -> str:
    return argv[argv.index(name) + 1] if name in argv[:-1] else default


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    wanted = [a for a in argv if a.isdigit() and a not in (_option(argv, "--slots", ""),)] or \
        os.environ.get("BENCH_SCALE_SIZES", "60,300").split(",")
    sizes = [int(n) for n in wanted if n.strip()]
    stages = [s for s in _option(argv, "--stages", os.environ.get("BENCH_SCALE_STAGES", "run,cluster")).split(",") if s]
    slots = int(_option(argv, "--slots", os.environ.get("BENCH_CLUSTER_SLOTS", "4")))
    names = "England's school names (../shared, in memory only)" if england_names(1) else "fictional generated names"
    print(f"generated trusts of {', '.join(map(str, sizes))} schools ({names}); each: 1 website feed, 1 Mastodon, "
          f"1 Bluesky account; latency {LATENCY * 1000:.0f} ms a request; the platforms' documented rate limits; "
          f"{os.cpu_count()} CPUs, load average before: {os.getloadavg()[0]:.2f}; stages {', '.join(stages)}; "
          f"run: schools per task {os.environ.get('SOCIALAUDIT_BATCH_SIZE') or 'automatic (1 up to 1,000 schools)'}; "
          f"cluster: 2 workers x {slots} slots", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        work = Path(tmp)
        airflow_home = work / "airflow"
        if "run" in stages:
            migrate = subprocess.run([sys.executable, "-c", "from socialaudit.cli.run import ensure_airflow_db; ensure_airflow_db()"],
                                     env={**os.environ, "PYTHONPATH": str(ROOT / "plugins"), "AIRFLOW_HOME": str(airflow_home),
                                          "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}, capture_output=True, text=True)
            if migrate.returncode != 0:
                print("cannot migrate a fresh Airflow database:\n" + migrate.stderr[-1500:])
                return
        print(f"{'stage':>7} {'schools':>7} {'wall s':>7} {'s/school':>8} {'CPU/school':>10} {'store q/school':>14} "
              f"{'airflow q/school':>16} {'peak MB':>7} {'MB/school':>9} {'files/school':>12} {'requests':>8} "
              f"{'floor s':>7} {'x floor':>7} {'load':>9}", flush=True)
        for count in sizes:
            for stage in stages:
                r = run_size(count, work, airflow_home) if stage == "run" else cluster_size(count, work, slots)
                _print(r)
    print(f"load average after: {os.getloadavg()[0]:.2f}", flush=True)


def _print(r: dict) -> None:  # type: ignore[type-arg]
    count = r["count"]
    if "wall" not in r:
        print(f"{r['stage']:>7} {count:>7} failed (exit {r['rc']}): ...{r['tail']}", flush=True)
        return
    total = sum(r["size"].values()) + r["store"]
    files = sum(r["files"].values()) + (1 if r["stage"] == "run" else 0)  # the SQLite store is a file
    requests: dict[str, int] = r["requests"]
    network, rate = _floor(requests)
    floor = max(network, rate)
    queries = r["queries"]
    print(f"{r['stage']:>7} {count:>7} {r['wall']:>7.1f} {r['wall'] / count:>8.2f} {r['cpu'] / count:>10.3f} "
          f"{queries.get('store', 0) / count:>14.1f} {queries.get('airflow', 0) / count:>16.1f} {r['mem_mb']:>7.0f} "
          f"{total / count / 1e6:>9.3f} {files / count:>12.1f} {sum(requests.values()):>8} {floor:>7.1f} "
          f"{r['wall'] / floor if floor else 0:>7.2f} {r['load'][0]:>4.1f}-{r['load'][1]:<4.1f}", flush=True)
    parts = ", ".join(f"{part} {r['size'][part] / count / 1e3:.0f} kB/{r['files'][part] / count:.1f} files"
                      for part in sorted(r["size"], key=lambda p: -r["size"][p]))
    print(f"        per school: {parts}, store {r['store'] / count / 1e3:.0f} kB", flush=True)
    buckets = ", ".join(f"{b} {n}" for b, n in sorted(requests.items(), key=lambda kv: -kv[1])[:4])
    cores = os.cpu_count() or 1
    print(f"        requests by bucket (largest): {buckets}; network floor {network:.1f} s, "
          f"rate-limit floor {rate:.1f} s; 429s served: {r['limited']}; the machine's own floor, CPU / {cores} cores: "
          f"{r['cpu'] / cores:.1f} s", flush=True)
    if r["detail"]:
        print(f"        {r['detail']}", flush=True)
    if r["rc"] != 0:
        print(f"        the run exited {r['rc']}: ...{r['tail']}", flush=True)


if __name__ == "__main__":
    main()
