"""Every registered check over 100,000 generated posts, on one core: posts per second per check.

The posts are fictional and varied (photos with and without alt text, links to allowlisted,
shortened, plain-http and lookalike sites, hashtags, children's and staff names, event promotions,
replies, reposts, comments). They are spread over the demo trust's schools, all in one ISO week,
and every check gets the same posts. External links are resolved from a pre-filled cache (the
resolver is told to fetch nothing, and its DNS lookup raises), so the benchmark never touches the
network; events come through ``services["events"]`` as the pipeline passes them.

Figures, not assertions: the target is 10,000 posts per second per check (issue 4, "Performance").
A check that is missing or fails to import is reported and skipped, so the benchmark runs while
checks are still being written. ``python bench/bench_checks.py 20000`` runs a smaller set.
"""

from __future__ import annotations

import gc
import importlib
import os
import pkgutil
import random
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))

POSTS = 100_000
TARGET = 10_000
SEED = 20261116

# Fictional people, places and sites only.
CHILDREN = ["Ava", "Leo", "Mia", "Oscar", "Isla", "Noah", "Lily-Mae", "Freddie", "Amara", "Zain", "Ruby", "Theo"]
SURNAMES = ["Kowalczyk", "Brennan", "Osei", "Lindqvist", "Hartigan", "Mbeki", "Okonjo", "Fairweather"]
STAFF = ["Mrs Thompson", "Mr Okafor", "Miss Rahman", "Dr Mensah", "Fr Brendan"]
ACTIVITIES = [
    "Year 3 built Roman shields from cardboard and tested them in a very orderly testudo.",
    "Reception went on an autumn walk round the field, collecting leaves for their collage.",
    "Year 6 investigated how the length of a pendulum changes its swing. Great predictions!",
    "Our choir has started rehearsing for the Advent service. They sound wonderful.",
    "The eco council counted every light left on at lunchtime and made posters to fix it.",
    "Year 4 programmed floor robots to find their way through a maze of cones.",
    "Library week: every class visited the library and chose a book to take home.",
    "Year 2 retold the story of the Great Fire of London with puppets they made.",
]
HASHTAGS = ["#SchoolLife", "#Year6", "#EcoCouncil", "#WellDone{child}", "#ReadingForPleasure", "#TeamWork"]
EVENTS_TEXT = [
    "Our Open Evening is on Thursday 19th November at 6pm - all families welcome!",
    "Parents' evening bookings close on 18/11; consultations are next Tuesday.",
    "Family Mass with the parish this Sunday at 10am.",
    "Open morning tomorrow at 9:30 for Reception 2027 families.",
]
ALTS = ["Pupils working together at a table", "Children's artwork on display", None,
        "{child} holding a certificate in the hall", "A class outside on the school field"]
COMMENTS = ["Lovely to see!", "Well done everyone", "This is rubbish, sack the teachers", "Great work Year 4!"]


def link_pool(rng: random.Random) -> list[str]:
    """About 400 distinct URLs: allowlisted, the schools' own, shortened, plain http, lookalikes."""
    urls = [f"https://www.gov.uk/guidance/page-{i}" for i in range(60)]
    urls += [f"https://www.bbc.co.uk/bitesize/topics/t{i}" for i in range(60)]
    urls += [f"https://st-aidans.example.sch.uk/news/{i}/" for i in range(80)]
    urls += [f"https://short.demo.example/s/{i}" for i in range(60)]
    urls += [f"http://mathsgames-{i}.demo.example/play" for i in range(60)]
    urls += [f"https://stoswins-trvst.example.org/login/{i}" for i in range(20)]  # a lookalike of the trust's domain
    urls += [f"https://northmoor-scouts.demo.example/camp/{i}" for i in range(60)]
    rng.shuffle(urls)
    return urls


def generate(count: int, schools: list[Any], week: Any, tz: str, unique: bool = False) -> dict[str, list[Any]]:
    """``count`` posts, spread over ``schools``, all inside ``week``; grouped by school id. ``unique``:
    every text and alt text differs (a serial number is added), so no cache can help."""
    from socialaudit.models import Comment, Media, Post

    rng = random.Random(SEED)
    links = link_pool(rng)
    start, _ = week.bounds(tz)
    platforms = ["rss", "mastodon", "x", "facebook", "instagram", "bluesky"]
    by_school: dict[str, list[Any]] = {s.id: [] for s in schools}
    for n in range(count):
        school = schools[n % len(schools)]
        child = rng.choice(CHILDREN)
        parts = [rng.choice(ACTIVITIES)]
        roll = rng.random()
        if roll < 0.10:
            parts.append(f"Well done to {child} {rng.choice(SURNAMES)} for a brilliant poem!")
        elif roll < 0.18:
            parts.append(f"Thank you to {rng.choice(STAFF)} for organising it.")
        elif roll < 0.26:
            parts.append(rng.choice(EVENTS_TEXT))
        if rng.random() < 0.4:
            parts.append(" ".join(rng.choice(HASHTAGS).format(child=child.replace("-", "")) for _ in range(rng.randrange(1, 3))))
        post_links = tuple(rng.sample(links, k=rng.choice([0, 0, 1, 1, 2])))
        parts.extend(post_links)
        media: tuple[Any, ...] = ()
        if rng.random() < 0.6:
            media = tuple(Media(type="photo", url=f"https://{school.id}.example.sch.uk/uploads/{n}-{i}.jpg",
                                alt=(alt.format(child=child) if alt else alt))
                          for i, alt in enumerate(rng.choice(ALTS) for _ in range(rng.randrange(1, 4))))
        comments: tuple[Any, ...] = ()
        if rng.random() < 0.2:
            comments = tuple(Comment(id=f"c{n}-{i}", post_id=f"p{n}", author=f"parent{i}", text=rng.choice(COMMENTS))
                             for i in range(rng.randrange(1, 3)))
        platform = platforms[n % len(platforms)]
        if unique:
            parts.append(f"Update {n}.")
            media = tuple(Media(type=m.type, url=m.url, alt=f"{m.alt} ({n})" if m.alt else m.alt) for m in media)
        by_school[school.id].append(Post(
            platform=platform, account=f"{school.id}-{platform}", school=school.id, id=f"p{n}",
            url=f"https://{school.id}.example.sch.uk/news/p{n}/",
            created_at=start + timedelta(seconds=rng.randrange(7 * 86400 - 1)),
            text=" ".join(parts), media=media, links=post_links,
            is_reply=rng.random() < 0.05, is_repost=rng.random() < 0.05, comments=comments))
    return by_school


def discover() -> tuple[dict[str, Any], list[str]]:
    """The registered checks, importing each module on its own so that one broken check is skipped."""
    import checks
    from checks import _base

    skipped: list[str] = []
    for module in pkgutil.iter_modules(checks.__path__):
        if module.name.startswith("_"):
            continue
        try:
            importlib.import_module(f"checks.{module.name}")
        except Exception as exc:  # noqa: BLE001 - a benchmark reports a broken check and goes on
            skipped.append(f"{module.name}: {type(exc).__name__}: {exc}")
    return dict(sorted(_base._REGISTRY.items())), skipped


def _no_dns(*args: Any, **kwargs: Any) -> list[Any]:
    raise OSError("the checks benchmark makes no network lookups")


def link_services(by_school: dict[str, list[Any]]) -> tuple[dict[str, Any], str]:
    """A resolver whose cache holds every generated URL, told to fetch nothing; or none if absent."""
    try:
        from socialaudit.links import LinkResolution, LinkResolver, LinkState
    except ImportError as exc:
        return {}, f"no link resolver ({exc}); external_links runs without one"
    resolver = LinkResolver(only_overrides=True, host_overrides={}, dns_canary=None, getaddrinfo=_no_dns, retries=0)
    urls = sorted({u for posts in by_school.values() for p in posts for u in p.links})
    known = []
    for url in urls:
        if url.startswith("https://short.demo.example/"):
            final = "https://www.gov.uk/guidance/expanded"
            known.append(LinkResolution(url=url, state=LinkState.OK, final_url=final, chain=(url, final), http_status=200))
        elif "mathsgames" in url:
            known.append(LinkResolution(url=url, state=LinkState.BROKEN, final_url=url, chain=(url,), http_status=404,
                                        reason="HTTP 404"))
        else:
            known.append(LinkResolution(url=url, state=LinkState.OK, final_url=url, chain=(url,), http_status=200))
    resolver.remember(known)
    return {"links": resolver}, f"link cache pre-filled with {len(known)} resolutions; DNS and HTTP disabled"


def event_services(schools: list[Any], week: Any) -> dict[str, Any]:
    """Calendar events as the pipeline would pass them: a few in the week and coming up."""
    try:
        from checks._calendar import CalendarEvent, SchoolEvents
    except ImportError:
        return {}
    monday = week.monday
    events = (CalendarEvent(title="Open evening", kind="open_evening", date=monday + timedelta(days=3), source="bench.ics"),
              CalendarEvent(title="Parents' evening", kind="parents_evening", date=monday + timedelta(days=8), source="bench.ics"),
              CalendarEvent(title="Family Mass", kind="parish", date=monday + timedelta(days=6), source="bench.ics"),
              CalendarEvent(title="Open morning", kind="open_evening", date=monday + timedelta(days=4), source="bench.ics"))
    return {"events": {s.id: SchoolEvents(events=events, calendars=("bench.ics",)) for s in schools}}


def one_core() -> tuple[str, set[int] | None]:
    """Pin the process to one CPU so the figure is per core (Linux); what was done, and the old set."""
    if hasattr(os, "sched_setaffinity"):
        before = set(os.sched_getaffinity(0))
        cpu = min(before)
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}", before
    return "not pinned (no sched_setaffinity)", None


def main(argv: list[str] | None = None) -> None:
    """Print posts per second for every registered check (``argv[0]``: how many posts)."""
    try:
        count = int(argv[0]) if argv else POSTS
    except ValueError:
        count = 0
    if count < 1:
        print(f"usage: python bench/bench_checks.py [POSTS]  (POSTS: how many posts, a whole number; default {POSTS})")
        return
    pinned, affinity = one_core()
    try:
        _run(count, pinned)
    finally:
        if affinity is not None:
            os.sched_setaffinity(0, affinity)  # bench/run.py runs other benchmarks in this process


def _run(count: int, pinned: str) -> None:
    from checks._base import CheckContext
    from socialaudit.config import DEFAULT_CONFIG, load_config
    from socialaudit.weeks import IsoWeek

    config = load_config(DEFAULT_CONFIG)
    week = IsoWeek.parse("2026-W47")
    schools = list(config.schools)
    started = time.perf_counter()
    by_school = generate(count, schools, week, config.trust.timezone)
    generated = time.perf_counter() - started
    specs, skipped = discover()
    links, link_note = link_services(by_school)
    services = {**links, **event_services(schools, week)}
    with_links = sum(1 for posts in by_school.values() for p in posts if p.links)
    with_photos = sum(1 for posts in by_school.values() for p in posts if p.media)
    print(f"   {count:,} posts over {len(schools)} schools ({with_photos:,} with photos, {with_links:,} with links), "
          f"generated in {generated:.1f} s; {pinned}; {link_note}")
    for line in skipped:
        print(f"   skipped (does not import): {line}")
    print(f"   {'check':<18} {'policy':<7} {'warm-up s':>10} {'seconds':>9} {'posts/s':>11} {'findings':>9}  target {TARGET:,}/s")
    for name, spec in specs.items():
        contexts = {s.id: CheckContext(week=week, config=config, settings=spec.resolve_settings(config, s), services=services)
                    for s in schools}
        first = schools[0]
        warm = time.perf_counter()
        try:
            spec.fn(first, by_school[first.id][:200], contexts[first.id])  # loads lexicons, name lists, blocklists
        except Exception as exc:  # noqa: BLE001 - report the broken check, time the others
            print(f"   {name:<18} {spec.policy:<7} failed: {type(exc).__name__}: {exc}")
            continue
        warm_s = time.perf_counter() - warm
        findings = 0
        t0 = time.perf_counter()
        for school in schools:
            result = spec.fn(school, by_school[school.id], contexts[school.id])
            findings += len(result.findings)
        elapsed = time.perf_counter() - t0
        rate = count / elapsed if elapsed else float("inf")
        verdict = "meets" if rate >= TARGET else "BELOW"
        print(f"   {name:<18} {spec.policy:<7} {warm_s:>10.2f} {elapsed:>9.2f} {rate:>11,.0f} {findings:>9,}  {verdict}")
    if "named_children" in specs:
        named_children_unique(specs["named_children"], count, schools, week, config, services)
        named_children_load()
    resolver = links.get("links")
    if resolver is not None:
        print(f"   link resolver HTTP requests during the run: {resolver.requests} (must be 0)")
        resolver.close()


def named_children_unique(spec: Any, count: int, schools: list[Any], week: Any, config: Any, services: dict[str, Any]) -> None:
    """named_children again, with every text unique: no cross-post cache hit (the issue's figure), per
    wall second and per second of the process's CPU time (the machine may be shared: the load is printed),
    and whether its modules run compiled (``make native``) or as plain Python."""
    import checks._childnames
    from checks._base import CheckContext
    from checks._native import compiled

    by_school = generate(count, schools, week, config.trust.timezone, unique=True)

    def timed() -> tuple[float, float, int]:
        findings = 0
        t0, c0 = time.perf_counter(), time.process_time()
        for school in schools:
            ctx = CheckContext(week=week, config=config, settings=spec.resolve_settings(config, school), services=services)
            findings += len(spec.fn(school, by_school[school.id], ctx).findings)
        return time.perf_counter() - t0, time.process_time() - c0, findings

    elapsed, cpu, findings = timed()
    rate = count / elapsed if elapsed else float("inf")
    per_cpu = count / cpu if cpu else float("inf")
    load = f"; load average {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    build = "compiled" if compiled(checks._childnames) else "plain Python"
    print(f"   {'named_children':<18} {'4.1':<7} {'unique':>10} {elapsed:>9.2f} {rate:>11,.0f} {findings:>9,}  "
          f"{'meets' if rate >= TARGET else 'BELOW'} (every text unique, {build}; {per_cpu:,.0f} per CPU second{load})")
    # The bench holds 200,000 generated posts (a task holds one school's week): every full pass of the
    # garbage collector walks them. Again with them frozen out of its passes (the check's own objects are not).
    gc.collect()
    gc.freeze()
    try:
        elapsed, cpu, findings = timed()
    finally:
        gc.unfreeze()
    rate, per_cpu = count / elapsed if elapsed else float("inf"), count / cpu if cpu else float("inf")
    load = f"; load average {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    print(f"   {'named_children':<18} {'4.1':<7} {'unique':>10} {elapsed:>9.2f} {rate:>11,.0f} {findings:>9,}  "
          f"{'meets' if rate >= TARGET else 'BELOW'} (the same, the generated posts frozen out of the garbage "
          f"collector; {per_cpu:,.0f} per CPU second{load})")


def named_children_load() -> None:
    """Seconds to load the named_children model and tables in a fresh process (target < 1 s)."""
    code = ("import time; t = time.perf_counter(); from checks._childnames import load_model; load_model(); "
            "print(f'{time.perf_counter() - t:.3f}')")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "plugins")}
    runs = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout)
            for _ in range(3)]
    print(f"   named_children model and tables load in a fresh process: {min(runs):.2f}-{max(runs):.2f} s over 3 runs "
          f"(target < 1 s)")


if __name__ == "__main__":
    main(sys.argv[1:])
