"""Bounded-concurrency collection: a thread pool over accounts with a limit per platform bucket.

Collection is waiting on the network, so threads overlap it well; the limits keep a trust's calls
inside each platform's published rate limits (see the README's "Concurrency and rate limits"):

============ ===== ==================================================================================
bucket       limit why
============ ===== ==================================================================================
mastodon     4     300 requests / 5 min per IP *per instance*: 4 in flight at ~0.2 s each would reach
                   the window in about 15 s of sustained paging, so the HTTP layer's pre-emptive wait
                   on ``X-RateLimit-Remaining: 0`` does the rest; keyed per instance (base URL)
bluesky      6     about 3,000 requests / 5 min per IP on the public AppView (10/s sustained)
youtube      4     the feed has no published limit (be polite); the Data API is bounded by its daily
                   quota (10,000 units, 1 per page), not by concurrency
rss          4     school websites are small servers: never more than a few requests at once per site
x            2     per-endpoint 15-minute windows and paid reads: no reason to hurry
facebook     4     Graph API app-level usage (X-App-Usage) grows with call volume, not concurrency
instagram    4     as Facebook
(other)      2
============ ===== ==================================================================================

The pool as a whole is capped by ``max_workers`` (default 16). Jobs are interleaved across buckets
before submission so that one busy platform does not hold every worker while the others wait.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

PLATFORM_CONCURRENCY: dict[str, int] = {"mastodon": 4, "bluesky": 6, "youtube": 4, "rss": 4, "x": 2,
                                        "facebook": 4, "instagram": 4}
DEFAULT_CONCURRENCY = 2
MAX_WORKERS = 16


@dataclass(frozen=True, slots=True)
class Job(Generic[T]):
    """One account's collection: ``run()`` does it; ``bucket`` names the rate-limit bucket it shares."""

    platform: str
    bucket: str
    run: Callable[[], T]


@dataclass(slots=True)
class Outcome(Generic[T]):
    """What a job gave: its value, or the exception it raised (never both)."""

    job: Job[T]
    value: T | None = None
    error: BaseException | None = None


def limit_for(platform: str, limits: dict[str, int] | None = None) -> int:
    """The number of jobs of a platform's bucket that may run at once."""
    table = limits if limits is not None else PLATFORM_CONCURRENCY
    return max(1, int(table.get(platform, DEFAULT_CONCURRENCY)))


def run_bounded(jobs: Sequence[Job[T]], *, max_workers: int = MAX_WORKERS,
                limits: dict[str, int] | None = None) -> list[Outcome[T]]:
    """Run every job, at most ``max_workers`` at once and ``limit_for(platform)`` per bucket.

    Returns one outcome per job, in the jobs' order. A job's exception is captured in its outcome
    (the caller decides what is transient and what is recorded), so one failing account never
    loses what the others collected.
    """
    if not jobs:
        return []
    semaphores: dict[str, threading.Semaphore] = {}
    for job in jobs:
        semaphores.setdefault(job.bucket, threading.BoundedSemaphore(limit_for(job.platform, limits)))
    outcomes = [Outcome(job=job) for job in jobs]

    def work(index: int) -> None:
        outcome = outcomes[index]
        with semaphores[outcome.job.bucket]:
            try:
                outcome.value = outcome.job.run()
            except BaseException as exc:  # noqa: BLE001 - handed back to the caller, never swallowed
                outcome.error = exc

    order = _interleave(jobs)
    workers = max(1, min(max_workers, len(jobs), sum(limit_for(jobs[i].platform, limits) for i in _firsts(jobs))))
    if workers == 1:
        for index in order:
            work(index)
        return outcomes
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="collect") as pool:
        for future in [pool.submit(work, index) for index in order]:
            future.result()
    return outcomes


def _firsts(jobs: Sequence[Job[T]]) -> list[int]:
    """The index of the first job of each bucket."""
    seen: dict[str, int] = {}
    for index, job in enumerate(jobs):
        seen.setdefault(job.bucket, index)
    return list(seen.values())


def _interleave(jobs: Sequence[Job[T]]) -> list[int]:
    """Job indexes taken round-robin across buckets, so every bucket starts early."""
    queues: dict[str, list[int]] = {}
    for index, job in enumerate(jobs):
        queues.setdefault(job.bucket, []).append(index)
    order: list[int] = []
    lanes = list(queues.values())
    while any(lanes):
        for lane in lanes:
            if lane:
                order.append(lane.pop(0))
    return order
