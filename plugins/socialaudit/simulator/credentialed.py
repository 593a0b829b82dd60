"""What the simulated credentialed APIs (X, Facebook, Instagram) share: demo tokens, lookup, ids, comments.

Accounts on these platforms are :class:`~socialaudit.simulator.dataset.Profile` entries whose
``extra["platform"]`` names the platform and ``handle`` is the handle as the platform shows it
(mixed case allowed); the profile's key is the lowercased handle. ``extra["page_size"]`` caps the
page size, so tests can exercise pagination with a handful of posts. (``simulator/social.py`` is
the same idea for the open APIs: Mastodon, Bluesky, YouTube.)

The demo tokens are fictional, published on purpose, and accepted only by this simulator. They are
data: the ``demo.credentials`` of the bundled demo trust (``config/trust.yaml``), the same block the
pipeline reads when no real credentials are configured, so ``make demo`` needs no setup.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from socialaudit.simulator.dataset import DEMO, Profile, SimPost

DEMO_TOKENS: dict[str, str] = dict(DEMO.credentials)  # platform -> the token this simulator accepts

COMMENTERS = ["parent_fict_amy", "grandad_fict_joe", "pta_fict_chair", "oldpupil_fict_sam"]
COMMENT_TEXTS = [
    "Lovely to see! Well done everyone.",
    "They talked about this all evening at home.",
    "Thank you to all the staff for organising this.",
    "Brilliant work, so proud of this class!",
]


def demo_credentials(platform: str) -> dict[str, Any] | None:
    """The simulator's demo token for a platform, as collector credentials; None if it needs none."""
    return DEMO.credentials_for(platform)


def bearer(headers: dict[str, str], query: dict[str, str]) -> str:
    """The token a request carries: ``Authorization: Bearer`` header, else ``access_token`` query."""
    value = headers.get("authorization", "")
    if value.lower().startswith("bearer "):
        return value[7:].strip()
    return query.get("access_token", "")


def find_profile(profiles: dict[str, Profile], platform: str, handle: str) -> tuple[str, Profile] | None:
    """The (slug, profile) of a platform account by handle, case-insensitively."""
    wanted = handle.lower()
    for slug, profile in profiles.items():
        if profile.extra.get("platform") != platform:
            continue
        if slug == wanted or handle_of(slug, profile).lower() == wanted:
            return slug, profile
    return None


def find_by_id(profiles: dict[str, Profile], platform: str, account_id: str, digits: int, prefix: str = "") -> tuple[str, Profile] | None:
    for slug, profile in profiles.items():
        if profile.extra.get("platform") == platform and number(platform, slug, digits=digits, prefix=prefix) == account_id:
            return slug, profile
    return None


def handle_of(slug: str, profile: Profile) -> str:
    return profile.handle or profile.extra.get("handle") or slug


def number(*parts: str, digits: int, prefix: str = "") -> str:
    """A deterministic numeric id of ``digits`` digits (a fictional but realistic-looking id)."""
    value = int.from_bytes(hashlib.sha256(":".join(parts).encode()).digest()[:12], "big")
    body = str(value)[: digits - len(prefix)].rjust(digits - len(prefix), "7")
    return prefix + body


def page_size(profile: Profile, requested: str | None, default: int, maximum: int) -> int:
    try:
        size = int(requested) if requested else default
    except ValueError:
        size = default
    size = max(1, min(size, maximum))
    cap = profile.extra.get("page_size")
    return min(size, int(cap)) if cap and cap.isdigit() else size


def comments_for(post: SimPost, now: datetime | None = None) -> list[tuple[str, str, str, datetime]]:
    """The public comments on a post: its own, or 0-2 deterministic friendly ones. (id, author, text, time).

    Moderated comments (``SimPost.moderated``) come after those, posted three hours after the post,
    unless ``now`` is at or past the moment they were removed.
    """
    if post.is_reply or post.is_repost:
        return []
    moderated = [(number("comment", cid, digits=17), author, text, post.created_at + timedelta(hours=3))
                 for cid, author, text, removed_at in post.moderated if now is None or now < removed_at]
    if post.comments:
        return [(cid, author, text, post.created_at + timedelta(hours=1 + n))
                for n, (cid, author, text) in enumerate(post.comments)] + moderated
    seed = int.from_bytes(hashlib.sha256(post.id.encode()).digest()[:4], "big")
    out = []
    for n in range(seed % 3):
        out.append((number("comment", post.id, str(n), digits=17), COMMENTERS[(seed + n) % len(COMMENTERS)],
                    COMMENT_TEXTS[(seed // 3 + n) % len(COMMENT_TEXTS)], post.created_at + timedelta(hours=2 + n)))
    return out + moderated


def hashed(value: str, modulo: int) -> int:
    return int.from_bytes(hashlib.sha256(value.encode()).digest()[:4], "big") % modulo
