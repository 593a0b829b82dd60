"""Posting frequency (policy 4.3).

What it checks: the school published at least 3 original posts in the ISO week (Monday to Sunday in the trust's timezone), across all its official accounts; replies and reposts do not count, and the same text cross-posted to several platforms counts once. A week wholly in a school holiday (the trust's term calendar) is not applicable; a week partly in one needs 3 x its school days / 5, rounded up (2 for a week with two school days).
Why it matters: the policy asks every school to post at least 3 times a week, showcasing the work going on in school, so that families and the community stay up to date.
Example: 1 original post this week (a Facebook post also shared on X) -> fail: 1 of 3.
How to fix: plan three posts a week (class work, events, news); schedule them in advance for busy weeks.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from checks._base import CheckContext, Setting, check, plural
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


def school_days(ctx: CheckContext) -> tuple[int, list[str]]:
    """The week's weekdays outside every school holiday, and the names of the holidays it touches.

    Holidays are inclusive date ranges from ``trust.holidays``; two holidays may share a week (the
    end of one and an INSET break), so days are counted, not holidays.
    """
    names: list[str] = []
    days = 0
    for offset in range(5):
        day = ctx.week.monday + timedelta(days=offset)
        covering = [h.name for h in ctx.config.trust.holidays if h.start <= day <= h.end]
        if covering:
            names.extend(n for n in covering if n not in names)
        else:
            days += 1
    return days, names


def is_holiday_week(ctx: CheckContext) -> str:
    """The name of the school holiday covering the whole working week, or ''."""
    days, names = school_days(ctx)
    return " and ".join(names) if days == 0 else ""


def weekly_target(minimum: int, days: int) -> int:
    """The target for a week with ``days`` school days: pro rata, rounded up (3 a week, 2 with two days)."""
    return -(-minimum * days // 5)


# --- the figures the reports show (they never read this check's metric keys themselves) ------------

@dataclass(frozen=True, slots=True)
class WeekFigures:
    """One week of this check's result, as the reports show it."""

    posts: int  # original posts this week
    target: int  # this week's target: smaller in a week partly in a holiday
    per_account: dict[str, int]  # "platform:account" -> original posts


POSTS_KEY = "posts"  # where a stored result keeps the week's count (the Trust report reads it in SQL)


def week_figures(metrics: Mapping[str, Any], minimum: int) -> WeekFigures:
    """The figures of a stored result's ``metrics``; ``minimum`` is the target when it recorded none."""
    return WeekFigures(posts=int(metrics.get(POSTS_KEY, 0) or 0), target=int(metrics.get("minimum", minimum)),
                       per_account=dict(metrics.get("per_account") or {}))


def target_words(minimum: int) -> str:
    """The policy's target in words, from the configured minimum: "3 posts a week"."""
    return f"{minimum} post{'s' if minimum != 1 else ''} a week"


@check(
    "post_frequency",
    policy="4.3",
    settings={"min_posts_per_week": Setting(3, "Original posts a school must publish each ISO week (policy 4.3).")},
)
def post_frequency(school: School, posts: Sequence[Post], ctx: CheckContext) -> CheckResult:
    full_minimum = int(ctx.setting("min_posts_per_week"))
    days, holidays = school_days(ctx)
    minimum = weekly_target(full_minimum, days)
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
        "school_days": days,
    }
    if minimum != full_minimum:
        metrics["minimum_full_week"] = full_minimum

    def result(status: Status, summary: str, findings: tuple[Finding, ...] = ()) -> CheckResult:
        return CheckResult(check="post_frequency", policy="4.3", school=school.id, status=status, summary=summary,
                           findings=findings, metrics=metrics)

    if holidays:
        metrics["holiday"] = " and ".join(holidays)
    if days == 0:
        return result(Status.NOT_APPLICABLE, f"{metrics['holiday']}: the {full_minimum}-a-week target does not apply "
                                             f"({count} posts).")
    part = f" ({days} school days: {metrics['holiday']})" if holidays else ""
    if not school.accounts:
        return result(Status.NOT_EVALUATED, "No official accounts are configured for this school, so nothing could be counted.")
    if count >= minimum:
        return result(Status.PASS, f"{plural(count, 'original post')} this week (target {minimum}{part}).")
    failed = ctx.failed_accounts
    if failed:
        names = ", ".join(f"{c.platform} {c.account}" for c in failed)
        found = "No posts found" if not count else f"Only {plural(count, 'post')} found"
        return result(Status.NOT_EVALUATED, f"{found}, but {names} could not be collected, so the count is incomplete.")
    finding = Finding(
        check="post_frequency", severity=Severity.BREACH, status=Status.FAIL, school=school.id, policy="4.3",
        message=(f"{count} original post{'s' if count != 1 else ''} in {ctx.week}; the policy asks for at least {full_minimum} a week"
                 + (f", {minimum} for this week's {days} school days." if holidays else ".")),
        evidence=f"{count} of {minimum}",
        action=f"Publish at least {full_minimum} posts a week showcasing school life; schedule posts ahead for busy weeks.",
    )
    return result(Status.FAIL, f"{count} of {minimum} original posts this week{part}.", (finding,))
