"""comments check throughput: 100,000 generated posts with 0-3 comments each, on one core.

The comments are fictional and varied: a few hundred words of school-comment vocabulary, made-up
handles and numbers (so that, as in real comments, many tokens are new to the lexicon's token
cache), hard negatives (class, assess, Scunthorpe, Dick Whittington, Penistone), and about 1% abusive
ones (masked, leetspeak, stretched, threats). Two passes over the same posts: the first with an
empty token cache, the second warm. Prints posts and comments per second per pass; no assertions
(timings belong in benchmarks). ``python bench/bench_comments.py 20000`` runs a smaller set.

Before that, the classifier alone: the time to load the shipped model (``checks/data/comments_model.json``)
and what a first flagged comment needs (the lexicon, the name tables) in a fresh process, its size, and
comments per second through ``_comment_model.read`` (lexicon first pass, normalisation, features, model)
over 50,000 *unique* comments, on one core, twice: with 15% of them carrying a never-seen word (a made-up
name or handle, as the check-level bench below), and with every one carrying one (the worst case for the
token caches). Rates are given per second of wall time and per second of the process's CPU time: on a
machine shared with other work the second is the steadier measure of what one core does.
"""

from __future__ import annotations

import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))

POSTS = 100_000
SEED = 20261118

WORDS = ("lovely well done everyone thank you to all the staff for organising this brilliant work so proud of "
         "this class they talked about it all evening at home amazing photos great to see the children enjoying "
         "themselves what a fantastic trip my daughter loved it my son came home smiling can we have the date "
         "for the next one please is there a newsletter this week when does the trip leave and what time do "
         "they get back the car park was chaos again this morning could someone sort the gate out please "
         "assembly assessment classroom passport grass glass bass cocktail Scunthorpe Sussex Essex Arsenal "
         "Dick_Whittington panto Penistone Cockburn Hancock shiitake analysis therapist grape cumulative").split()
ABUSE = ["this school is a f***ing joke", "what a load of sh1t", "fuuuuck this place", "the head is a c*nt",
         "I know where you live", "Mr X is a paedo", "$hit teachers", "total w@nker"]


def generate(count: int, school: str, week: Any, tz: str) -> list[Any]:
    """``count`` facebook/mastodon/bluesky posts of ``school`` inside ``week``, each with 0-3 comments."""
    from socialaudit.models import Comment, Post

    rng = random.Random(SEED)
    start, _ = week.bounds(tz)
    platforms = ["facebook", "mastodon", "bluesky", "x", "instagram"]
    posts = []
    for n in range(count):
        comments = []
        for i in range(rng.randrange(4)):
            words = [rng.choice(WORDS) for _ in range(rng.randint(3, 18))]
            if rng.random() < 0.15:
                words.insert(rng.randrange(len(words) + 1), f"@fict{rng.randrange(10**6)}")  # a new token
            if rng.random() < 0.1:
                words.append(f"{rng.randrange(1, 31)}/{rng.randrange(1, 13)}")
            if rng.random() < 0.01:
                words.insert(rng.randrange(len(words) + 1), rng.choice(ABUSE))
            comments.append(Comment(id=f"c{n}-{i}", post_id=f"p{n}", author=f"parent_fict_{rng.randrange(5000)}",
                                    text=" ".join(words).replace("_", " "), url=f"https://social.example/p{n}/c{i}"))
        platform = platforms[n % len(platforms)]
        posts.append(Post(platform=platform, account=f"{school}-{platform}", school=school, id=f"p{n}",
                          url=f"https://social.example/p{n}", created_at=start + timedelta(seconds=rng.randrange(7 * 86400)),
                          text="Year 3 built Roman shields.", comments=tuple(comments)))
    return posts


def unique_comments(count: int, new_words: float) -> list[str]:
    """``count`` distinct fictional comments: school-comment words, 1% abusive; a share ``new_words`` of
    them carries a made-up word never seen before (a name, a handle), which no cache knows."""
    rng = random.Random(SEED + 1)
    out: list[str] = []
    seen: set[str] = set()
    n = 0
    while len(out) < count:
        n += 1
        words = [rng.choice(WORDS) for _ in range(rng.randint(3, 18))]
        if rng.random() < new_words:
            words.insert(rng.randrange(len(words) + 1), f"{rng.choice(('Mia', 'Fict', 'tok', 'Olu'))}{n:x}")
        if rng.random() < 0.01:
            words.insert(rng.randrange(len(words) + 1), rng.choice(ABUSE))
        text = " ".join(words).replace("_", " ")
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out


def bench_reader(count: int = 50_000) -> None:
    """Load time and size of the shipped model, then unique comments per second through read()."""
    import subprocess

    from checks import _comment_model
    from checks._lexicon import DEFAULT_ALLOW, DEFAULT_ATTACKS, DEFAULT_THREATS, lexicon

    probe = ("import sys, time; sys.path.insert(0, 'plugins'); t = time.perf_counter(); "
             "from checks import _comment_model as m; m.load(); m.read('you absolute t w a t, Mr Smith'); "
             "print(time.perf_counter() - t)")
    loaded = float(subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True,
                                  check=True).stdout)
    size = _comment_model.MODEL_PATH.stat().st_size
    model = _comment_model.load()
    _comment_model.read("you absolute t w a t, Mr Smith")  # loads what a flagged comment needs (the name tables)
    print(f"   model: {size:,} bytes, {sum(len(w) for w in model.weights.values()):,} weights; "
          f"import, load and a first flagged comment in a fresh process {loaded * 1000:.0f} ms")
    read = _comment_model.read
    for share in (0.15, 1.0):
        texts = unique_comments(count, share)
        lexicon.cache_clear()
        lex = lexicon(DEFAULT_THREATS, DEFAULT_ATTACKS, DEFAULT_ALLOW)
        started, cpu = time.perf_counter(), time.process_time()
        flagged = sum(1 for t in texts if read(t, lex).category)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        print(f"   reader: {count:,} unique comments, {share:.0%} with a never-seen word, in {elapsed:.2f} s: "
              f"{count / elapsed:,.0f} comments/s ({count / cpu:,.0f} per CPU second); {flagged} flagged")


def main(argv: list[str] | None = None) -> None:
    """Print posts and comments per second through the comments check, cold and warm token cache."""
    from checks import _lexicon
    from checks._base import CheckContext, registry
    from checks.comments import CommentHistory
    from socialaudit.config import DEFAULT_CONFIG, load_config
    from socialaudit.weeks import IsoWeek

    count = int(argv[0]) if argv else POSTS
    affinity = None
    if hasattr(os, "sched_setaffinity"):
        affinity = set(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {min(affinity)})
    try:
        bench_reader()
        config = load_config(DEFAULT_CONFIG)
        week = IsoWeek.parse("2026-W47")
        school = config.school("our-lady")
        spec = registry()["comments"]
        posts = generate(count, school.id, week, config.trust.timezone)
        comments = sum(len(p.comments) for p in posts)
        ctx = CheckContext(week=week, config=config, settings=spec.resolve_settings(config, school),
                           services={"comment_history": CommentHistory()})
        _lexicon.lexicon.cache_clear()
        for label in ("cold token cache", "warm token cache"):
            started, cpu = time.perf_counter(), time.process_time()
            result = spec.fn(school, posts, ctx)
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
            print(f"   {label}: {count:,} posts, {comments:,} comments in {elapsed:.2f} s: "
                  f"{count / elapsed:,.0f} posts/s, {comments / elapsed:,.0f} comments/s "
                  f"({comments / cpu:,.0f} per CPU second); "
                  f"{result.metrics['flagged']} flagged, status {result.status.value}")
    finally:
        if affinity is not None:
            os.sched_setaffinity(0, affinity)


if __name__ == "__main__":
    main(sys.argv[1:])
