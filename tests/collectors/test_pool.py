"""Bounded-concurrency collection: per-platform limits hold, outcomes keep their order, errors are
handed back (never swallowed), and the pool really overlaps waiting."""

from __future__ import annotations

import threading
import time

from collectors._pool import Job, in_flight, limit_for, run_bounded


def test_each_bucket_stays_within_its_limit_and_outcomes_keep_their_order():
    running: dict[str, int] = {}
    peak: dict[str, int] = {}
    lock = threading.Lock()

    def job(bucket: str, n: int):
        def run() -> int:
            with lock:
                running[bucket] = running.get(bucket, 0) + 1
                peak[bucket] = max(peak.get(bucket, 0), running[bucket])
            time.sleep(0.02)
            with lock:
                running[bucket] -= 1
            return n
        return run

    jobs = [Job(platform=p, bucket=p, run=job(p, n)) for n, p in enumerate(["x"] * 8 + ["bluesky"] * 12 + ["rss"] * 8)]
    started = time.perf_counter()
    outcomes = run_bounded(jobs, limits={"x": 2, "bluesky": 5, "rss": 3})
    elapsed = time.perf_counter() - started
    assert [o.value for o in outcomes] == list(range(28))
    assert peak == {"x": 2, "bluesky": 5, "rss": 3}
    assert elapsed < 28 * 0.02 / 2  # overlapped, not serial


def test_an_exception_is_handed_back_with_its_job_and_the_others_still_run():
    def boom() -> int:
        raise RuntimeError("collector bug")

    outcomes = run_bounded([Job("rss", "rss", lambda: 1), Job("rss", "rss", boom), Job("rss", "rss", lambda: 3)])
    assert [o.value for o in outcomes] == [1, None, 3]
    assert isinstance(outcomes[1].error, RuntimeError) and outcomes[0].error is None


def test_unknown_platforms_get_the_default_limit():
    assert limit_for("myspace") == 2 and limit_for("mastodon") == 4
    assert run_bounded([]) == []


def test_the_limits_hold_across_calls_in_one_process():
    """Two batches collected at once in one process (two threads, two calls) share each bucket's
    limit: collecting more schools concurrently never sends more requests at once to one host."""
    running = 0
    peak = 0
    lock = threading.Lock()

    def run() -> int:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.02)
        with lock:
            running -= 1
        return 1

    results: list[list[int | None]] = []

    def batch() -> None:
        results.append([o.value for o in run_bounded([Job("mastodon", "mastodon:shared", run) for _ in range(12)])])

    threads = [threading.Thread(target=batch) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [[1] * 12] * 3
    assert peak == limit_for("mastodon") == 4  # 3 calls x 4 would have been 12
    assert in_flight("mastodon:shared") == 0
