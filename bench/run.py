"""``make bench``: run every ``bench/bench_*.py`` module's ``main()`` and print its figures.

Benchmarks print figures; they never assert timings (timings do not belong in tests).
``python bench/run.py collect`` runs only the benchmarks whose name contains "collect".
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    wanted = argv[1:]
    modules = sorted(HERE.glob("bench_*.py"))
    if wanted:
        modules = [m for m in modules if any(w in m.stem for w in wanted)]
    for path in modules:
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        print(f"== {path.stem} ==", flush=True)
        started = time.perf_counter()
        module.main()
        print(f"   ({time.perf_counter() - started:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
