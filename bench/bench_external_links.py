"""external_links check throughput: 100,000 generated posts, links answered from the resolver's cache.

100 schools x 1,000 posts, about half with one or two links drawn from 5,000 distinct URLs (the
allowlist, blocklisted and lookalike domains, plain http, broken and shortened links). The link
resolutions are written to a store table first (``StoreCache``, SQLite), so the first pass reads
them from the store, as a check task's retry does; the second pass is the in-memory cache. Nothing
is fetched. The blocklist is the UT1 sample in ``../shared/data`` when present (strings only), else
the tests' fictional fixture. Prints posts per second; one core (no threads are started when every
link is cached).
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))

POSTS = 100_000
SCHOOLS = 100
URLS = 5_000


def main() -> None:
    """Run the benchmark and print its figures."""
    import yaml

    from checks._base import run_checks
    from checks.external_links import lookalike
    from socialaudit.config import DEFAULT_CONFIG, parse_config
    from socialaudit.links import LinkResolution, LinkResolver, LinkState, StoreCache
    from socialaudit.models import Post
    from socialaudit.store import Store
    from socialaudit.weeks import IsoWeek

    sample = ROOT.parent / "shared" / "data" / "ut1-blacklists-sample"
    blocklists = [str(sample)] if sample.is_dir() else [str(ROOT / "tests" / "data" / "blocklist")]
    raw = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    raw["trust"]["checks"] = {"external_links": {"blocklists": blocklists}}
    config = parse_config(raw, str(DEFAULT_CONFIG))
    school = config.school("st-aidans")
    week = IsoWeek.parse("2026-W47")
    monday = datetime(2026, 11, 16, 9, tzinfo=timezone.utc)

    rng = random.Random(47)
    listed = []
    if sample.is_dir():
        listed = [line.strip() for line in (sample / "gambling_domains.txt").read_text().splitlines()[:200] if line.strip()]
    listed = listed or ["lucky-spins.test", "casino-fict.test"]
    urls: list[str] = []
    resolutions: list[LinkResolution] = []
    for n in range(URLS):
        kind = n % 10
        if kind < 3:
            urls.append(f"https://www.gov.uk/guidance/page-{n}")  # allowlisted
            continue
        if kind == 3:
            urls.append(f"https://{rng.choice(listed)}/p{n}")  # blocklisted: never resolved
            continue
        if kind == 4:
            urls.append(f"https://st0swins-trust{n}.example.org/")  # lookalikes
            continue
        scheme = "http" if kind == 5 else "https"
        url = f"{scheme}://site-{n}.test/page"
        urls.append(url)
        if kind == 6:
            resolutions.append(LinkResolution(url=url, state=LinkState.BROKEN, final_url=url, chain=(url,),
                                              http_status=404, reason="HTTP 404"))
        elif kind == 7:
            target = f"https://dest-{n}.test/article"
            resolutions.append(LinkResolution(url=url, state=LinkState.OK, final_url=target, chain=(url, target),
                                              http_status=200, reason="HTTP 200"))
        else:
            resolutions.append(LinkResolution(url=url, state=LinkState.OK, final_url=url, chain=(url,),
                                              http_status=200, reason="HTTP 200"))

    posts_by_school: list[list[Post]] = []
    with_links = 0
    for s in range(SCHOOLS):
        posts = []
        for i in range(POSTS // SCHOOLS):
            k = rng.choice((0, 0, 1, 1, 2))
            links = tuple(rng.choice(urls) for _ in range(k))
            with_links += bool(links)
            posts.append(Post(platform="rss", account=f"feed-{s}", school=school.id, id=f"{s}-{i}",
                              url=f"https://st-aidans.example.sch.uk/news/{s}-{i}/",
                              created_at=monday + timedelta(minutes=i % 6000), text="Our week in school.",
                              links=links))
        posts_by_school.append(posts)

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        started = time.perf_counter()
        StoreCache(store.engine).save(resolutions)
        saved = time.perf_counter() - started
        resolver = LinkResolver(cache=StoreCache(store.engine), only_overrides=True, dns_canary=None)

        def one_pass() -> tuple[float, int]:
            findings = 0
            started = time.perf_counter()
            for posts in posts_by_school:
                [result] = run_checks(school, posts, week=week, config=config, names=["external_links"],
                                      services={"links": resolver})
                findings += len(result.findings)
            return time.perf_counter() - started, findings

        lookalike.cache_clear()
        cold, findings = one_pass()
        warm, _ = one_pass()
    print(f"   {POSTS:,} posts ({with_links:,} with links), {SCHOOLS} schools, {URLS:,} distinct URLs, "
          f"{len(resolutions):,} resolutions in the store (written in {saved:.2f} s); blocklist: "
          f"{'UT1 sample' if sample.is_dir() else 'test fixture'}")
    print(f"   first pass (resolutions read from the store, lookalike cache cold): {POSTS / cold:,.0f} posts/s "
          f"({cold:.2f} s, {findings:,} findings)")
    print(f"   second pass (in-memory cache): {POSTS / warm:,.0f} posts/s ({warm:.2f} s)")
    print(f"   HTTP requests sent: {resolver.requests}")


if __name__ == "__main__":
    main()
