"""Posting frequency (policy 4.3).

What it checks: the school published at least 3 original posts in the ISO week (Monday to Sunday in the trust's timezone), across all its official accounts; replies and reposts do not count, and the same text cross-posted to several platforms counts once.
Why it matters: the policy asks every school to post at least 3 times a week, showcasing the work going on in school, so that families and the community stay up to date.
Example: 1 original post this week (a Facebook post also shared on X) -> fail: 1 of 3.
How to fix: plan three posts a week (class work, events, news); schedule them in advance for busy weeks.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from zoneinfo import ZoneInfo

from checks._base import CheckContext, Setting, check
from socialaudit.config import School
from socialaudit.models import CheckResult, Finding, Post, Severity, Status

_URL = re.compile(r"https?://\S+|www\.\S+")
_NON_WORD = re.compile(r"[^a-z0-9]+")


def crosspost_key(post: Post) -> str:
    """Posts with the same normalised text (links and punctuation dropped) are one cross-post."""
    text = _NON_WORD.sub(" ", _URL.sub(" ", post.text.lower())).strip()
    if len(text) < 20:  # too short to call two posts the same one
        return f"{post.platform}:{post.account}:{post.id}"
    return text[:120]


def original_posts(posts: Sequence[Post], ctx: CheckContext) -> list[Post]:
    """Original posts (not replies, not reposts) inside the run's week, in the trust's timezone."""
    start, end = ctx.week.bounds(ctx.tz)
    return [p for p in posts if not p.is_reply and not p.is_repost and start <= p.created_at < end]


def is_holiday_week(ctx: CheckContext) -> str:
    """The name of the school holiday covering the whole working week, or ''."""
    monday = ctx.week.monday
    friday = monday + timedelta(days=4)
    for holiday in ctx.config.trust.holidays:
        if holiday.start <= monday and friday <= holiday.end:
            return holiday.name
    return ""


@check(
    "post_frequency",
    policy="4.3",
    settings={"min_posts_per_week": Setting(3, "Original posts a school must publish each ISO week (policy 4.3).")},
)
def post_frequency(school: School, posts: Sequence[Post], ctx: CheckContext) -> CheckResult:
    minimum = int(ctx.setting("min_posts_per_week"))
    originals = original_posts(posts, ctx)
    distinct: dict[str, Post] = {}
    for post in sorted(originals, key=lambda p: (p.created_at, p.platform, p.id)):
        distinct.setdefault(crosspost_key(post), post)
    count = len(distinct)
    per_account = Counter(f"{p.platform}:{p.account}" for p in originals)
    zone = ZoneInfo(ctx.tz)
    per_day = Counter(p.created_at.astimezone(zone).strftime("%a") for p in distinct.values())
    metrics = {
        "posts": count,
        "minimum": minimum,
        "originals_all_accounts": len(originals),
        "crossposts_merged": len(originals) - count,
        "per_account": dict(sorted(per_account.items())),
        "per_day": dict(per_day),
    }

    def result(status: Status, summary: str, findings: tuple[Finding, ...] = ()) -> CheckResult:
        return CheckResult(check="post_frequency", policy="4.3", school=school.id, status=status, summary=summary,
                           findings=findings, metrics=metrics)

    holiday = is_holiday_week(ctx)
    if holiday:
        metrics["holiday"] = holiday
        return result(Status.NOT_APPLICABLE, f"{holiday}: the 3-a-week target does not apply ({count} posts).")
    if not school.accounts:
        return result(Status.NOT_EVALUATED, "No official accounts are configured for this school, so nothing could be counted.")
    if count >= minimum:
        return result(Status.PASS, f"{count} original posts this week (target {minimum}).")
    failed = ctx.failed_accounts
    if failed:
        names = ", ".join(f"{c.platform} {c.account}" for c in failed)
        return result(Status.NOT_EVALUATED, f"Only {count} posts found, but {names} could not be collected, so the count is incomplete.")
    finding = Finding(
        check="post_frequency", severity=Severity.BREACH, status=Status.FAIL, school=school.id, policy="4.3",
        message=f"{count} original post{'s' if count != 1 else ''} in {ctx.week}; the policy asks for at least {minimum} a week.",
        evidence=f"{count} of {minimum}",
        action=f"Publish at least {minimum} posts a week showcasing school life; schedule posts ahead for busy weeks.",
    )
    return result(Status.FAIL, f"{count} of {minimum} original posts this week.", (finding,))
