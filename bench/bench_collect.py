"""Collection benchmark: 200 accounts, at least 3 pages each, 50 ms of added latency per request.

The accounts are spread as a trust's would be: 100 school websites (RSS, 10 items a page) on 5
simulated web servers (127.0.0.1 to 127.0.0.5, one simulator each: every school site is a separate
host in real life, and the pool keys website feeds by host), 60 Mastodon accounts on 6 instances,
and 40 Bluesky accounts on the one public AppView. Each account posts 6 times a week and the window
is 5 weeks, so every account needs 3 or more pages. Collection goes through the same path as the
DAG's collect task: ``collectors._pool.run_bounded`` with the per-platform limits, the shared HTTP
session (``collectors._http.make_session``) and the real collectors over real sockets.

It prints the wall time next to the ideal: the larger of (all requests x latency / the pool's
workers) and, for each rate-limit bucket, (its requests x latency / its concurrency limit), since
a bucket can never go faster than its limit allows. Target: within 2x of the ideal, with every
bucket's concurrency limit respected (the peak in-flight requests per host are measured at the
simulator and printed).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))

LATENCY = float(os.environ.get("BENCH_LATENCY", "0.05"))
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
WEEKS = 5


def main() -> None:
    import collectors.bluesky
    import collectors.mastodon
    from collectors._base import get_collector
    from collectors._http import make_session
    from collectors._pool import MAX_WORKERS, Job, limit_for, run_bounded
    from socialaudit.config import Account
    from socialaudit.pipeline import rate_bucket
    from socialaudit.simulator.dataset import Profile

    # Page sizes of 10 (the APIs' defaults are 40 and 100) so that 30 posts take 3 pages, as RSS does.
    collectors.mastodon.PAGE_SIZE = collectors.bluesky.PAGE_SIZE = 10
    accounts: list[tuple[str, Account]] = []  # (host key for the simulator, account)
    profiles: dict[str, Profile] = {}
    for n in range(200):
        slug = f"bench-{n:03d}"
        school = f"bench-school-{n:03d}"
        if n < 100:
            handle = ""
        elif n < 160:
            handle = f"bench{n:03d}"
        else:
            handle = f"{slug}.bsky.social"
        profiles[slug] = Profile(school=school, school_name=f"Bench School {n:03d} (fictional)",
                                 domain=f"{school}.example.sch.uk", per_week=6, promotes_events=False, handle=handle)

    # The simulators run in a child process: in this one they would share the GIL with the
    # collectors' parsing, and the figure would measure the simulator, not the collection.
    urls, stop = _start_simulators(profiles, 5)
    api_url = urls[0]
    for n in range(200):
        slug = f"bench-{n:03d}"
        if n < 100:
            site = urls[n % 5]
            accounts.append((site, Account(platform="rss", url=f"{site}/rss/{slug}/feed/")))
        elif n < 160:
            instance = f"i-bench-{(n - 100) % 6}"
            accounts.append((api_url, Account(platform="mastodon", handle=f"@bench{n:03d}@{instance}.example",
                                              base_url=f"{api_url}/mastodon/{instance}")))
        else:
            accounts.append((api_url, Account(platform="bluesky", handle=f"{slug}.bsky.social",
                                              base_url=f"{api_url}/bluesky")))

    # Measure requests in flight per bucket at the client, where the limits are meant to hold.
    in_flight: Counter[str] = Counter()
    peak: Counter[str] = Counter()
    requests_per_bucket: Counter[str] = Counter()
    lock = threading.Lock()
    until = NOW
    since = NOW - timedelta(weeks=WEEKS)
    jobs = []
    pages: dict[str, int] = {}
    for _host, account in accounts:
        bucket = rate_bucket(account)
        session = _Counted(make_session(allow=urls), bucket, lock, in_flight, peak, requests_per_bucket)
        collector = get_collector(account.platform)

        def run(account=account, session=session, collector=collector):  # type: ignore[no-untyped-def]
            return collector(account, school="bench", session=session, since=since, until=until,
                             base_url=account.base_url or None, credentials=None, archive=None)

        jobs.append(Job(platform=account.platform, bucket=bucket, run=run))

    only = os.environ.get("BENCH_PLATFORMS")  # e.g. "rss,bluesky" to look at one platform's figures
    if only:
        keep = [i for i, (_h, a) in enumerate(accounts) if a.platform in only.split(",")]
        accounts, jobs = [accounts[i] for i in keep], [jobs[i] for i in keep]
    started = time.perf_counter()
    outcomes = run_bounded(jobs)
    wall = time.perf_counter() - started
    stop()

    errors = [(a.key, o.error) for (_h, a), o in zip(accounts, outcomes, strict=True) if o.error is not None]
    posts = 0
    for (_h, account), outcome in zip(accounts, outcomes, strict=True):
        if outcome.value is not None:
            posts += len(outcome.value.posts)
            pages[account.key] = outcome.value.pages
    total = sum(requests_per_bucket.values())
    by_platform: dict[str, list[str]] = defaultdict(list)
    for bucket in requests_per_bucket:
        by_platform[bucket.split(":", 1)[0]].append(bucket)
    bucket_bound = max(requests_per_bucket[b] * LATENCY / limit_for(b.split(":", 1)[0]) for b in requests_per_bucket)
    pool_bound = total * LATENCY / MAX_WORKERS
    ideal = max(bucket_bound, pool_bound)
    min_pages = min(pages.values()) if pages else 0
    over = [b for b in peak if peak[b] > limit_for(b.split(":", 1)[0])]
    print(f"accounts: {len(accounts)} ({', '.join(f'{p} {sum(1 for _h, a in accounts if a.platform == p)}' for p in ('rss', 'mastodon', 'bluesky'))}); "
          f"errors: {len(errors)}")
    for key, exc in errors[:5]:
        print(f"   error {key}: {type(exc).__name__}: {exc}")
    print(f"requests: {total}; pages per account: min {min_pages}, "
          f"mean {sum(pages.values()) / max(1, len(pages)):.1f}; posts: {posts}")
    for platform, buckets in sorted(by_platform.items()):
        limit = limit_for(platform)
        print(f"   {platform:9s} {len(buckets):2d} bucket(s), limit {limit} each, peak in flight "
              f"{max(peak[b] for b in buckets)}, requests {sum(requests_per_bucket[b] for b in buckets)}")
    print(f"latency per request: {LATENCY * 1000:.0f} ms; pool workers: {MAX_WORKERS}")
    print(f"ideal: {ideal:.2f} s (pool bound {pool_bound:.2f} s, slowest bucket bound {bucket_bound:.2f} s)")
    print(f"wall:  {wall:.2f} s = {wall / ideal:.2f}x ideal (target <= 2x); "
          f"limits respected: {'yes' if not over else 'NO: ' + ', '.join(over)}")


def _serve(profiles, count, conn):  # type: ignore[no-untyped-def]
    from socialaudit.simulator import Simulator

    sims = [Simulator(host=f"127.0.0.{i + 1}", port=0, profiles=profiles, now=NOW, latency=LATENCY).start()
            for i in range(count)]
    conn.send([sim.url for sim in sims])
    conn.recv()  # until the parent says stop
    for sim in sims:
        sim.stop()


def _start_simulators(profiles, count):  # type: ignore[no-untyped-def]
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe()
    process = ctx.Process(target=_serve, args=(profiles, count, child), daemon=True)
    process.start()
    urls = parent.recv()

    def stop() -> None:
        parent.send("stop")
        process.join(10)

    return urls, stop


class _Counted:
    """The collector's session, counting requests in flight per bucket (the session class uses slots)."""

    def __init__(self, inner, bucket, lock, in_flight, peak, total):  # type: ignore[no-untyped-def]
        self._inner, self._bucket, self._lock = inner, bucket, lock
        self._in_flight, self._peak, self._total = in_flight, peak, total

    def get(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        with self._lock:
            self._in_flight[self._bucket] += 1
            self._peak[self._bucket] = max(self._peak[self._bucket], self._in_flight[self._bucket])
            self._total[self._bucket] += 1
        try:
            return self._inner.get(*args, **kwargs)
        finally:
            with self._lock:
                self._in_flight[self._bucket] -= 1

    def __getattr__(self, name):  # type: ignore[no-untyped-def]
        return getattr(self._inner, name)


if __name__ == "__main__":
    main()
