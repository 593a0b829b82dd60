"""Archive benchmark: does sealing one run cost more when the archive already holds 200 runs?

One demo week (six schools, from the platform simulator on loopback) is audited once with the
pipeline steps; then the same week is archived again and again under new run ids, as weekly runs
and reruns would be, into a fresh local archive (``file://``). It prints the time to archive a run
with 3, 50, 100 and 200 runs already in the archive (best and median wall time and median CPU time
of 5 runs at each point: the machine may be shared, and the best time is the least disturbed), the index
pages, and the time ``verify`` takes for the whole chain. Archiving reads and rewrites only the
last index page (at most 100 entries); past runs are never re-read or re-rendered, so the figure
should stay flat while ``verify``, which by design re-hashes everything, grows with history.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))
sys.path.insert(0, str(ROOT))

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
POINTS = (0, 50, 100, 200)
SAMPLES = 5


def main() -> None:
    import logging

    from socialaudit import archive, pipeline
    from socialaudit.pipeline import Environment
    from socialaudit.simulator import Simulator
    from socialaudit.weeks import IsoWeek
    from tests.conftest import write_demo_config

    logging.getLogger("socialaudit.archive").setLevel(logging.WARNING)
    week = IsoWeek.parse("2026-W47")
    with tempfile.TemporaryDirectory(prefix="bench-archive-") as tmp:
        base = Path(tmp)
        sim = Simulator(port=0, now=NOW, config_path=str(ROOT / "config" / "trust.yaml")).start()
        try:
            config = write_demo_config(sim.url, base / "trust.yaml")
            env = Environment(config=config, output=base / "output", db_url=f"sqlite:///{base / 'output' / 'db.sqlite'}")
            run_id = "bench__audit"
            pipeline.plan(week, run_id, env)
            rendered = []
            for school in env.load().schools:
                pipeline.collect_school(school.id, week, run_id, env)
                pipeline.check_school(school.id, week, run_id, env)
                rendered.append(pipeline.render_school(school.id, week, run_id, env))
            pipeline.trust_report(week, run_id, rendered, env)
        finally:
            sim.stop()
        url = (base / "archive").as_uri()
        raw = base / "output" / "raw" / str(week)
        archived = 0
        first = archive.archive_run(week, run_id, env, url=url)  # warm-up: imports, git, the check registry
        archived += 1
        for n in range(2):
            _archive_copy(archive, env, week, raw, run_id, f"bench__warm_{n}", url)
            archived += 1
        files = sum(1 for p in (base / "archive" / first["folder"]).rglob("*") if p.is_file())
        size = sum(p.stat().st_size for p in (base / "archive" / first["folder"]).rglob("*") if p.is_file())
        print(f"   one run: {first['counts']['schools']} schools, {first['counts']['posts']} posts, {files} files, "
              f"{size / 1024:.0f} KiB")
        results: list[tuple[int, float]] = []
        for point in POINTS:
            while archived < max(point, 1):
                _archive_copy(archive, env, week, raw, run_id, f"bench__fill_{archived:04d}", url)
                archived += 1
            timings = []
            for sample in range(SAMPLES):
                timings.append(_archive_copy(archive, env, week, raw, run_id, f"bench__p{point:03d}_{sample}", url))
                archived += 1
            best = min(t[0] for t in timings)
            median = statistics.median(t[0] for t in timings)
            cpu = statistics.median(t[1] for t in timings)
            results.append((archived - SAMPLES, best))
            pages = sorted((base / "archive" / "index").glob("*.json"))
            last = pages[-1].stat().st_size
            print(f"   archive one run with {archived - SAMPLES:4d} runs already archived: best {best * 1000:6.1f} ms, "
                  f"median {median * 1000:6.1f} ms, CPU {cpu * 1000:6.1f} ms ({SAMPLES} runs; {len(pages)} index page(s), "
                  f"the last {last / 1024:.0f} KiB)")
        ratio = results[-1][1] / results[0][1]
        print(f"   ratio of best times, {results[-1][0]} runs already archived vs {results[0][0]}: {ratio:.2f}x")
        started = time.perf_counter()
        report = archive.open_archive(url=url).verify()
        elapsed = time.perf_counter() - started
        print(f"   verify the whole chain: {report.runs} runs, {report.files} files in {elapsed:.2f} s "
              f"({'ok' if report.ok else f'{len(report.problems)} problems'})")


def _archive_copy(archive, env, week, raw, source_run, run_id, url) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Archive the audited week under a new run id (its raw responses copied to the id's folder
    beforehand, outside the timing); returns the wall and CPU seconds ``archive_run`` took."""
    import shutil

    from socialaudit import pipeline

    src = raw / pipeline.safe_run_id(source_run)
    dst = raw / pipeline.safe_run_id(run_id)
    shutil.copytree(src, dst)
    try:
        started, cpu = time.perf_counter(), time.process_time()
        archive.archive_run(week, run_id, env, url=url)
        return time.perf_counter() - started, time.process_time() - cpu
    finally:
        shutil.rmtree(dst, ignore_errors=True)


if __name__ == "__main__":
    main()
