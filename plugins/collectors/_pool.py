"""Bounded-concurrency collection: a thread pool over accounts with a limit per platform bucket.

Collection is waiting on the network, so threads overlap it well; the limits keep a trust's calls
inside each platform's published rate limits (the table below; docs/operations.md, "Sizing", for the pools and batches around it):

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

The pool as a whole is capped by ``max_workers`` (default 16). A free worker takes the next job
round-robin from the buckets that have a free slot, so one busy platform never holds workers idle
while the others wait.

The limits hold for the whole process: jobs in flight are counted per bucket across every
``run_bounded`` call at once (a batch's schools collected together, two tasks in one worker
process), so collecting more schools concurrently never sends more requests at once to a host.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

PLATFORM_CONCURRENCY: dict[str, int] = {"mastodon": 4, "bluesky": 6, "youtube": 4, "rss": 4, "x": 2,
                                        "facebook": 4, "instagram": 4}
DEFAULT_CONCURRENCY = 2
MAX_WORKERS = 16

# Jobs in flight per bucket in this process, across every run_bounded call, and the condition their
# workers wait on for a free slot.
_RUNNING: dict[str, int] = {}
_READY = threading.Condition()


def in_flight(bucket: str) -> int:
    """Jobs of ``bucket`` running now in this process (tests and benchmarks read it)."""
    with _READY:
        return _RUNNING.get(bucket, 0)


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

    A worker only takes a job whose bucket has a free slot (round-robin across buckets), so a
    worker never sits blocked behind a busy platform while another platform's jobs wait: with a
    semaphore per bucket inside the workers, the 200-account benchmark ran at 3x its ideal time
    because most workers were parked on two full buckets.
    """
    if not jobs:
        return []
    outcomes = [Outcome(job=job) for job in jobs]
    queues: dict[str, deque[int]] = {}
    for index, job in enumerate(jobs):
        queues.setdefault(job.bucket, deque()).append(index)
    capacity = {bucket: limit_for(jobs[queue[0]].platform, limits) for bucket, queue in queues.items()}
    workers = max(1, min(max_workers, len(jobs), sum(capacity.values())))
    buckets = list(queues)
    running = _RUNNING  # shared by every call in the process: the limits are per host, not per call
    state = {"next": 0, "undispatched": len(jobs)}
    ready = _READY

    def take() -> int | None:
        """The next job whose bucket has room (called with ``ready`` held), round-robin."""
        for step in range(len(buckets)):
            bucket = buckets[(state["next"] + step) % len(buckets)]
            if queues[bucket] and running.get(bucket, 0) < capacity[bucket]:
                state["next"] = (state["next"] + step + 1) % len(buckets)
                running[bucket] = running.get(bucket, 0) + 1
                state["undispatched"] -= 1
                return queues[bucket].popleft()
        return None

    def worker() -> None:
        while True:
            with ready:
                index = take()
                while index is None:
                    if state["undispatched"] == 0:
                        return
                    ready.wait()
                    index = take()
            outcome = outcomes[index]
            try:
                outcome.value = outcome.job.run()
            except BaseException as exc:  # noqa: BLE001 - handed back to the caller, never swallowed
                outcome.error = exc
            finally:
                with ready:
                    running[outcome.job.bucket] -= 1
                    if not running[outcome.job.bucket]:
                        del running[outcome.job.bucket]
                    ready.notify_all()

    if workers == 1:
        worker()
        return outcomes
    threads = [threading.Thread(target=worker, name=f"collect-{n}", daemon=True) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes
