"""Benchmark: planning a weekly run for trusts of 10 to 30,000 schools (config parse + batching).

Prints, per trust size, the batch size chosen automatically, the number of mapped tasks (Airflow
refuses more than 1,024), the time to parse and validate the config, and the time ``plan`` takes
(config from the per-process cache, plus recording the run in a SQLite store). Run:
``.venv/bin/python bench/plan_scale.py``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "plugins"), str(ROOT)]


def main() -> int:
    from socialaudit.config import load_config
    from socialaudit.pipeline import Environment, plan
    from socialaudit.weeks import IsoWeek
    from tests.deploy.test_scaling import write_large_config

    print(f"{'schools':>8} {'batch':>6} {'tasks':>6} {'config parse s':>15} {'plan s':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for count in (10, 100, 1_000, 10_000, 30_000):
            folder = Path(tmp) / str(count)
            folder.mkdir()
            config = write_large_config(count, folder / "trust.yaml")
            started = time.perf_counter()
            load_config(config)
            parse = time.perf_counter() - started
            env = Environment(config=config, output=folder / "out", db_url=f"sqlite:///{folder / 'store.db'}")
            env.load()  # as in a worker after its first school: the cache is warm
            started = time.perf_counter()
            items = plan(IsoWeek.parse("2026-W47"), f"bench-{count}", env)
            elapsed = time.perf_counter() - started
            print(f"{count:>8} {len(items[0]['schools']):>6} {len(items):>6} {parse:>15.2f} {elapsed:>8.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
