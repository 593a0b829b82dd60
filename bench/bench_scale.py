"""Scale benchmark: a full weekly run (``python -m socialaudit run``) of a generated trust of N schools.

Each school has a website feed, a Mastodon account and a Bluesky account, served by the project's
simulator (``simulator.dataset.generated_trust``) in a child process, with added latency (50 ms by
default) and the platforms' documented rate limits (Mastodon 300 requests / 5 min per instance, 40
accounts an instance; Bluesky 3,000 / 5 min). School names come from
``../shared/data/schools-england`` when it is present (only in memory: nothing of it is written into
the project), else (or with ``BENCH_SCALE_NAMES=generated``) from the simulator's fictional generator.

The run is the CLI's: Airflow's ``dag.test`` in one process, automatic batches, a SQLite store and
a SQLite Airflow database (migrated once, before the timings). For each size it prints the wall
time, the CPU seconds of the run's processes (the simulator apart), their peak RSS, the output's
megabytes and files per school (and what takes them), the requests served, and the floor: the
larger of the network floor (each rate-limit bucket's requests x latency / its concurrency limit in
``collectors._pool``) and the rate-limit floor (a window's worth of requests, then a wait per
further window).

Run: ``.venv/bin/python bench/bench_scale.py [N ...]`` (default 60 300; ``BENCH_SCALE_SIZES=60,300,1200``
for ``make bench``; ``BENCH_LATENCY=0.05``; ``SOCIALAUDIT_BATCH_SIZE=24`` for 24 schools per task, as
a trust of 24,000 gets). It prints figures and asserts nothing.
"""

from __future__ import annotations

import csv
import math
import os
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


def _bucket(path: str) -> str:
    """The rate-limit bucket a simulator path belongs to, as the client's pool keys them."""
    parts = path.split("?", 1)[0].split("/")
    if parts[1] == "mastodon":
        return f"mastodon:{parts[2] if parts[2].startswith('i-') else 'default'}"
    return parts[1]  # rss (one simulated host for every feed), bluesky (the one AppView)


def _serve(profiles, now, conn):  # type: ignore[no-untyped-def]
    """The simulator, in a child process (in the bench's it would share the GIL with nothing useful)."""
    import threading

    from socialaudit.simulator import Simulator
    from socialaudit.simulator.social import rate_limited_count

    sim = Simulator(port=0, profiles=profiles, now=now, latency=LATENCY)
    counts: Counter[str] = Counter()
    lock = threading.Lock()

    def count(path: str) -> None:
        with lock:
            counts[_bucket(path)] += 1

    sim.count = count  # type: ignore[method-assign]
    sim.start()
    conn.send(sim.url)
    conn.recv()
    conn.send((dict(counts), {p: rate_limited_count(sim, p) for p in ("mastodon", "bluesky")}))
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
    env = {**os.environ, "PYTHONPATH": str(ROOT / "plugins"), "AIRFLOW_HOME": str(airflow_home),
           "SOCIALAUDIT_OUTPUT": str(output), "SOCIALAUDIT_DB_URL": f"sqlite:///{folder / 'store.db'}",
           "SOCIALAUDIT_ARCHIVE": str(output / "archive")}
    env.pop("SOCIALAUDIT_CONFIG", None)
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
    network, rate = _floor(requests)
    return {"count": count, "wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024,
            "size": size, "files": files, "store": store, "requests": requests, "limited": limited,
            "network_floor": network, "rate_floor": rate, "rc": proc.returncode, "tail": out.decode(errors="replace")[-600:]}


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    wanted = [a for a in argv if a.isdigit()] or os.environ.get("BENCH_SCALE_SIZES", "60,300").split(",")
    sizes = [int(n) for n in wanted if n.strip()]
    names = "England's school names (../shared, in memory only)" if england_names(1) else "fictional generated names"
    print(f"generated trusts of {', '.join(map(str, sizes))} schools ({names}); each: 1 website feed, 1 Mastodon, "
          f"1 Bluesky account; latency {LATENCY * 1000:.0f} ms a request; the platforms' documented rate limits; "
          f"{os.cpu_count()} CPUs, load average before: {os.getloadavg()[0]:.2f}; schools per task: "
          f"{os.environ.get('SOCIALAUDIT_BATCH_SIZE') or 'automatic (1 up to 1,000 schools)'}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        work = Path(tmp)
        airflow_home = work / "airflow"
        migrate = subprocess.run([sys.executable, "-c", "from socialaudit.cli.run import ensure_airflow_db; ensure_airflow_db()"],
                                 env={**os.environ, "PYTHONPATH": str(ROOT / "plugins"), "AIRFLOW_HOME": str(airflow_home),
                                      "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}, capture_output=True, text=True)
        if migrate.returncode != 0:
            print("cannot migrate a fresh Airflow database:\n" + migrate.stderr[-1500:])
            return
        print(f"{'schools':>7} {'wall s':>8} {'s/school':>8} {'CPU s':>7} {'CPU/school':>10} {'peak RSS MB':>11} "
              f"{'MB/school':>9} {'files/school':>12} {'requests':>8} {'floor s':>7} {'x floor':>7}", flush=True)
        for count in sizes:
            r = run_size(count, work, airflow_home)
            total = sum(r["size"].values()) + r["store"]  # type: ignore[union-attr]
            files = sum(r["files"].values()) + 1  # type: ignore[union-attr]
            requests: dict[str, int] = r["requests"]  # type: ignore[assignment]
            floor = max(r["network_floor"], r["rate_floor"])  # type: ignore[type-var]
            print(f"{count:>7} {r['wall']:>8.1f} {r['wall'] / count:>8.2f} {r['cpu']:>7.1f} {r['cpu'] / count:>10.3f} "  # type: ignore[operator]
                  f"{r['rss_mb']:>11.0f} {total / count / 1e6:>9.3f} {files / count:>12.1f} {sum(requests.values()):>8} "
                  f"{floor:>7.1f} {r['wall'] / floor if floor else 0:>7.1f}", flush=True)  # type: ignore[operator]
            parts = ", ".join(f"{part} {r['size'][part] / count / 1e3:.0f} kB/{r['files'][part] / count:.1f} files"  # type: ignore[index]
                              for part in sorted(r["size"], key=lambda p: -r["size"][p]))  # type: ignore[index, union-attr]
            print(f"        per school: {parts}, store {r['store'] / count / 1e3:.0f} kB", flush=True)  # type: ignore[operator]
            buckets = ", ".join(f"{b} {n}" for b, n in sorted(requests.items(), key=lambda kv: -kv[1])[:4])
            print(f"        requests by bucket (largest): {buckets}; network floor {r['network_floor']:.1f} s, "
                  f"rate-limit floor {r['rate_floor']:.1f} s; 429s served: {r['limited']}", flush=True)
            if r["rc"] != 0:
                print(f"        the run exited {r['rc']}: ...{r['tail']}", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
