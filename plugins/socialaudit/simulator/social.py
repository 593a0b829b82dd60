"""What the simulated social APIs share (Mastodon, Bluesky, YouTube).

Finding an account by its handle, stable ids derived from names (so every run and machine sees the
same ids), each platform's rate-limit window and headers, the faults an account is configured with
(answered in the platform's own error shapes), the boosts and comments the data set does not carry,
and a gzip bomb. Not a ``platform_`` module, so the server does not load it as routes.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from typing import Any

from socialaudit.simulator.dataset import Profile, SimPost, posts_between
from socialaudit.simulator.faults import XML_BOMB, generic_fault
from socialaudit.simulator.server import SimResponse, Simulator, json_response
from socialaudit.weeks import IsoWeek

HISTORY = timedelta(weeks=60)  # how far back a simulated account's timeline reaches
# Requests per window, as the platforms document them (platforms.md): Mastodon 300 per 5 minutes
# per IP, Bluesky's AppView 3,000 per 5 minutes per IP. A Simulator may override with
# ``sim.rate_limits = {"mastodon": (limit, seconds)}``.
DEFAULT_RATE_LIMITS: dict[str, tuple[int, float]] = {"mastodon": (300, 300.0), "bluesky": (3000, 300.0)}
_lock = threading.Lock()


def find(sim: Simulator, handle: str) -> tuple[str, Profile] | None:
    """The (slug, profile) whose handle or slug is ``handle`` (case-insensitive, '@' and domain tolerated)."""
    wanted = handle.strip().lstrip("@").lower()
    names = sim.index("names", _names)
    hits = [hit for hit in (names.get(wanted), names.get(wanted.split("@", 1)[0])) if hit is not None]
    if not hits:
        return None
    slug = min(hits)[1]  # the first profile in the data set's order, as a scan would find it
    return slug, sim.profiles[slug]


def _names(slug: str, profile: Profile) -> set[str]:
    names = {slug.lower()}
    if profile.handle:
        names.add(profile.handle.lstrip("@").lower())
    return names


def by_key(sim: Simulator, index: str, keys: Callable[[str, Profile], Iterable[str]], wanted: str) -> tuple[str, Profile] | None:
    """The (slug, profile) whose derived key (an account id, a DID, a channel id) is ``wanted``."""
    hit = sim.index(index, keys).get(wanted)
    return None if hit is None else (hit[1], sim.profiles[hit[1]])


def stable_int(*parts: str, bits: int = 48) -> int:
    digest = hashlib.sha256(":".join(parts).encode()).digest()
    return int.from_bytes(digest, "big") >> (256 - bits)


def timeline(sim: Simulator, slug: str) -> list[SimPost]:
    """The account's posts over the simulated history, newest first, boosts included when configured."""
    now = sim.now
    posts = posts_between(slug, sim.profiles, now - HISTORY, now)
    profile = sim.profiles[slug]
    if profile.reposts:
        posts = sorted(posts + _reposts(slug, now - HISTORY, now), key=lambda p: p.created_at, reverse=True)
    return posts


def _reposts(slug: str, since: datetime, until: datetime) -> list[SimPost]:
    out: list[SimPost] = []
    week = IsoWeek.containing(since.date())
    while week.monday <= until.date():
        moment = datetime.combine(week.monday + timedelta(days=1), datetime.min.time(), timezone.utc) + timedelta(hours=12)
        if since <= moment < until:
            out.append(SimPost(id=f"{slug}-{week}-share", created_at=moment, title="",
                               text="Advent resources for families are now online from the diocese.",
                               links=("https://diocese-of-northmoor.example.org/advent",), is_repost=True))
        week = week + 1
    return out


def comments_for(post: SimPost) -> list[tuple[str, str, str, datetime]]:
    """Public replies to a post: (id, author handle, text, time). Photo posts draw a parent or two."""
    if post.comments:
        return [(cid, author, text, post.created_at + timedelta(hours=1)) for cid, author, text in post.comments]
    if not post.media or post.is_reply or post.is_repost:
        return []
    n = stable_int(post.id, bits=8) % 3
    texts = ["Lovely to see! \U0001F44F", "Well done everyone, brilliant work.", "Thank you for sharing this."]
    return [(f"{post.id}-c{i}", f"parent{stable_int(post.id, str(i), bits=12)}", texts[(n + i) % 3],
             post.created_at + timedelta(hours=1 + i)) for i in range(1 + n % 2)]


# --- rate limits ---------------------------------------------------------------------------------

def window(sim: Simulator, bucket: str, platform: str) -> tuple[int, int, float, bool]:
    """Count a request in ``bucket``'s window: (limit, remaining, reset epoch seconds, exceeded)."""
    limits = getattr(sim, "rate_limits", None) or DEFAULT_RATE_LIMITS
    limit, seconds = limits.get(platform, DEFAULT_RATE_LIMITS.get(platform, (10**9, 300.0)))
    now = time.time()
    with _lock:
        windows: dict[str, list[float]] = sim.__dict__.setdefault("_rate_windows", {})
        start, used = windows.get(bucket, [now, 0.0])
        if now - start >= seconds:
            start, used = now, 0.0
        used += 1
        windows[bucket] = [start, used]
        served = sim.__dict__.setdefault("_rate_limited", {})
        exceeded = used > limit
        if exceeded:
            served[platform] = served.get(platform, 0) + 1
    return limit, max(0, limit - int(used)), start + seconds, exceeded


def rate_limited_count(sim: Simulator, platform: str) -> int:
    """How many 429s the simulator's own windows have served for a platform (benchmarks check 0)."""
    return int(sim.__dict__.get("_rate_limited", {}).get(platform, 0))


def limit_headers(platform: str, limit: int, remaining: int, reset: float, seconds: float = 300.0) -> dict[str, str]:
    """Each platform's rate-limit headers, in its own format."""
    if platform == "mastodon":
        iso = datetime.fromtimestamp(reset, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(remaining), "X-RateLimit-Reset": iso}
    if platform == "bluesky":
        return {"RateLimit-Limit": str(limit), "RateLimit-Remaining": str(remaining),
                "RateLimit-Reset": str(int(reset)), "RateLimit-Policy": f"{limit};w={int(seconds)}"}
    return {}


def too_many(platform: str, reset_in: float, limit: int = 300) -> SimResponse:
    """A 429 as the platform sends it."""
    reset = time.time() + reset_in
    headers = limit_headers(platform, limit, 0, reset)
    if platform == "mastodon":
        return json_response({"error": "Too many requests"}, status=429, headers=headers)
    if platform == "bluesky":
        headers["Retry-After"] = str(max(1, int(reset_in + 0.999)))
        return json_response({"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}, status=429, headers=headers)
    return SimResponse(status=429, body=b"Too Many Requests", content_type="text/plain",
                       headers={"Retry-After": str(max(1, int(reset_in + 0.999)))})


# --- faults --------------------------------------------------------------------------------------

_counters: dict[str, int] = {}
_bomb: bytes | None = None


def gzip_bomb() -> bytes:
    """About 200 KB of gzip that inflates to 200 MiB of zeros (built once, then cached)."""
    global _bomb
    if _bomb is None:
        compressor = gzip.compress(b"\0" * (1024 * 1024), compresslevel=9, mtime=0)
        # Concatenated gzip members are one valid stream (RFC 1952) and inflate one after another.
        _bomb = compressor * 200
    return _bomb


def fault(profile: Profile, platform: str, key: str, *, unauthorized: dict[str, Any] | None = None,
          not_found: SimResponse | None = None) -> SimResponse | None:
    """The response a faulty account gets instead of its data, in the platform's shapes; None if it behaves."""
    kind = profile.fault
    if not kind or kind in ("bad-item", "quota"):
        return None
    if kind == "unknown" and not_found is not None:
        return not_found
    if kind == "401":
        return json_response(unauthorized or {"error": "This API requires an authenticated user"}, status=401)
    if kind == "429":
        return too_many(platform, 3600.0)
    if kind == "429-once":
        with _lock:
            _counters[key] = _counters.get(key, 0) + 1
            first = _counters[key] == 1
        return too_many(platform, 2.0) if first else None
    if kind == "bomb":
        return SimResponse(status=200, body=XML_BOMB, content_type="application/xml")
    if kind == "gzip-bomb":
        return SimResponse(status=200, body=gzip_bomb(), content_type="application/json",
                           headers={"Content-Encoding": "gzip"})
    if kind == "truncated":
        return SimResponse(status=200, body=b'{"feed": [' + b'{"post": {"uri": "at://x"}},' * 200 + b'{}]}', truncate=True)
    return generic_fault(kind, stateful_key=key, counters=_counters)


def reset_counters() -> None:
    """Forget which once-only faults have fired (tests that reuse a simulator call this)."""
    with _lock:
        _counters.clear()
