"""Comments (policy 4.1).

What it checks: the public comments on the school's posts (Facebook, Instagram, X, Mastodon, Bluesky) for inappropriate ones, read by a lexicon first pass and a trained classifier: swearing, also disguised (sh1t, f***ing, f u c k), threats, insults at staff or pupils, bullying of pupils, sexual comments, slurs and identity hate, doxxing (a home address, a phone number) and encouraging self-harm; and, on later runs, whether each flagged comment has been removed.
Why it matters: the policy says inappropriate comments on or abuse of the school's accounts must be removed at once and reported to a member of SLT; threats, sexual comments about pupils, doxxing and encouraging self-harm are safeguarding matters for the DSL; families and pupils read them too.
Example: a comment "this school is a f***ing joke" still visible -> breach; still visible a week later -> critical; gone the next week -> removed (first seen missing in that week); "someone ought to teach that teacher a lesson after school" -> critical at once, the DSL copied.
How to fix: hide the comment now (a critical one: keep a screenshot and report it to the DSL; otherwise report it to SLT); block or report the account if it keeps happening.

Removal tracking: each flagged comment is recorded per week (``comment_observations`` in the store).
The next runs collect its post again (for ``track_weeks`` weeks). A comment gone from a post that
was collected again is "removed (first seen missing in week W)"; one still there is "still visible
since week V", and critical after ``escalate_after_days``. If the post was not collected again, or
the platform did not return the post's comments this time (X only searches replies of the last 7
days; Mastodon and Bluesky cap the threads fetched per run), the state is unknown, never removed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from checks._base import CheckContext, Setting, check, registry
from checks._comment_model import LABELS, Reading, read
from checks._lexicon import DEFAULT_ALLOW, DEFAULT_ATTACKS, DEFAULT_THREATS, lexicon, mask_spans
from socialaudit.config import School, TrustConfig
from socialaudit.models import (
    CheckResult,
    Comment,
    CommentObservation,
    CommentTracking,
    Finding,
    Post,
    Severity,
    Status,
    iso_utc,
    parse_utc,
)
from socialaudit.weeks import IsoWeek

NAME = "comments"
POLICY = "4.1"
# Platforms whose collectors return public comments (RSS and YouTube do not).
COMMENT_PLATFORMS = frozenset({"facebook", "instagram", "x", "mastodon", "bluesky"})
# Platforms whose collectors fetch a post's comments whenever the platform counts any, so a post
# collected again with no comments has none visible. Elsewhere no comments may mean "not fetched".
COMPLETE_WHEN_EMPTY = frozenset({"facebook", "instagram"})
# Platforms where Comment.author is a public handle, not a display name (Facebook gives a real name).
HANDLE_PLATFORMS = frozenset({"instagram", "x", "mastodon", "bluesky"})
ACTION = "Hide or delete the comment, then report it to SLT."
CRITICAL_ACTION = "Hide the comment now, keep a screenshot, report it to the DSL."
EXCERPT = 120

SETTINGS = {
    "escalate_after_days": Setting(7, "Days a flagged comment may stay visible after the week it was first "
                                      "reported before the finding becomes critical (threats are critical at once)."),
    "track_weeks": Setting(4, "Weeks a flagged comment is followed up: its post is collected again each week "
                              "until the comment is gone or this many weeks have passed."),
    "threat_terms": Setting(list(DEFAULT_THREATS), "Phrases that make a comment a threat (critical at once); "
                                                   "a list in config replaces the default list."),
    "abuse_terms": Setting(list(DEFAULT_ATTACKS), "Personal attacks and slurs added to the lexicon's swear words "
                                                  "(breach); a list in config replaces the default list."),
    "allow_terms": Setting([], "Phrases never taken for abuse here, such as a local place or family name, on top "
                               "of the built-in ones (Penistone, Twatt, Shitterton)."),
}


Key = tuple[str, str, str]  # (platform, account, post id)


@dataclass(frozen=True, slots=True)
class TrackedComment:
    """A comment flagged in an earlier week that has not been seen removed yet."""

    platform: str
    account: str
    post_id: str
    comment_id: str
    first_week: str  # the week it was first seen visible
    last_seen_week: str  # the latest week it was seen visible
    post_url: str = ""
    comment_url: str = ""
    evidence: str = ""  # masked, as shown when it was flagged
    post_created_at: datetime | None = None

    @property
    def post_key(self) -> Key:
        return (self.platform, self.account, self.post_id)


@dataclass(frozen=True, slots=True)
class CommentHistory:
    """What the check knows besides this week's posts, from the pipeline (``ctx.services["comment_history"]``).

    ``tracked``: flagged comments still open (seen visible, not yet seen removed) from earlier weeks.
    ``recollected``: posts outside the week's window collected again in this run because they carry one.
    ``collected``: (platform, account, post id) of every post this run collected; None means every
    post given is current (``scan``, tests), so only failed accounts are left out.
    """

    tracked: tuple[TrackedComment, ...] = ()
    recollected: tuple[Post, ...] = ()
    collected: frozenset[Key] | None = None


def history_from_rows(rows: Iterable[Mapping[str, Any]], week: IsoWeek, track_weeks: int) -> tuple[TrackedComment, ...]:
    """Open flagged comments from stored observations of weeks before ``week``.

    A comment is open if its latest observation is "visible" and it was first seen visible at most
    ``track_weeks`` weeks ago; once seen removed it is closed (reported once, in that week).
    """
    oldest = str(week - max(1, int(track_weeks)))
    by_comment: dict[tuple[str, str, str], list[Mapping[str, Any]]] = {}
    for row in rows:
        if str(row["week"]) < str(week):
            by_comment.setdefault((row["platform"], row["account"], row["comment_id"]), []).append(row)
    out = []
    for (platform, account, comment_id), items in sorted(by_comment.items()):
        items = sorted(items, key=lambda r: str(r["week"]))
        if items[-1]["state"] != "visible":
            continue
        visible = [r for r in items if r["state"] == "visible"]
        first = str(visible[0]["week"])
        if first < oldest:
            continue
        data = dict(items[-1].get("data") or {})
        created = data.get("post_created_at")
        out.append(TrackedComment(platform=platform, account=account, post_id=str(items[-1]["post_id"]),
                                  comment_id=comment_id, first_week=first, last_seen_week=str(visible[-1]["week"]),
                                  post_url=str(data.get("post_url") or ""), comment_url=str(data.get("comment_url") or ""),
                                  evidence=str(data.get("evidence") or ""),
                                  post_created_at=parse_utc(created) if created else None))
    return tuple(out)


def tracking_reach(tracked: Iterable[TrackedComment]) -> dict[tuple[str, str], datetime]:
    """How far back each account must be collected so the posts of its open flagged comments come again."""
    reach: dict[tuple[str, str], datetime] = {}
    for item in tracked:
        if item.post_created_at is None:
            continue
        moment = item.post_created_at - timedelta(days=1)  # a margin: some APIs filter by day, or by edit time
        key = (item.platform, item.account)
        reach[key] = min(reach.get(key, moment), moment)
    return reach


def track_weeks(config: TrustConfig, school: School) -> int:
    """The school's ``track_weeks`` setting (for the pipeline, which reads the history before the check)."""
    return int(registry()[NAME].resolve_settings(config, school)["track_weeks"])


def comment_key(platform: str, account: str, comment: Comment) -> tuple[str, str, str]:
    return (platform, account, comment.id)


def _weeks_apart(first: str, week: IsoWeek) -> int:
    try:
        return (week.monday - IsoWeek.parse(first).monday).days
    except ValueError:
        return 0


def _evidence(post: Post, comment: Comment, reading: Reading, tz: ZoneInfo) -> str:
    """The comment's text with the abuse masked, cut to a short excerpt, and where to find it."""
    masked = mask_spans(comment.text, reading.spans)
    text = " ".join(masked.split())
    if len(text) > EXCERPT:
        first = len(" ".join(masked[:reading.spans[0][0]].split())) if reading.spans else 0
        lead = max(0, min(first - 20, len(text) - EXCERPT))
        text = ("..." if lead else "") + text[lead:lead + EXCERPT].strip() + "..."
    where = f"{post.platform.capitalize()} comment"
    if comment.created_at is not None:
        where += f", {comment.created_at.astimezone(tz):%Y-%m-%d %H:%M}"
    # The handle only where the comment has no link of its own (Instagram): it is public next to the
    # comment and needed to find it among the others. Never a display name (Facebook's is a real name).
    if (not comment.url or comment.url == post.url) and post.platform in HANDLE_PLATFORMS and comment.author:
        where += f", by @{comment.author.lstrip('@')}"
    return f"\u201c{text}\u201d ({where})"


def _phrases(ctx: CheckContext, name: str) -> tuple[str, ...]:
    """A list-of-phrases setting, or a one-line error naming the config file and the setting."""
    value = ctx.setting(name)
    if isinstance(value, str) or not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{ctx.config.source}: checks.{NAME}.{name} must be a list of phrases, not {value!r}")
    return tuple(value)


@check(NAME, policy=POLICY, settings=SETTINGS, needs=("comment_history",))
def comments(school: School, posts: Sequence[Post], ctx: CheckContext) -> CheckResult:
    history = ctx.need("comment_history", CommentHistory) or CommentHistory()
    escalate = int(ctx.setting("escalate_after_days"))
    lex = lexicon(_phrases(ctx, "threat_terms"), _phrases(ctx, "abuse_terms"), _phrases(ctx, "allow_terms") + DEFAULT_ALLOW)
    # the school's own name and its staff's are never abuse ("Biddick Academy", "Mr Cockburn")
    own_names = tuple(n.lower() for n in (school.name, *school.staff) if n)
    # allowed phrases (a local place or family name) are never read, by the lexicon or by the model
    never_read = own_names + tuple(a.lower() for a in _phrases(ctx, "allow_terms") + DEFAULT_ALLOW if a.strip())
    tz = ZoneInfo(ctx.tz)
    week = str(ctx.week)
    failed = {(c.platform, c.account) for c in ctx.failed_accounts}
    current: dict[Key, Post] = {}
    for post in (*posts, *history.recollected):
        current.setdefault((post.platform, post.account, post.id), post)

    def fresh(post: Post) -> bool:
        """Collected in this run, so its comments are as they are now."""
        key = (post.platform, post.account, post.id)
        return (post.platform, post.account) not in failed and (history.collected is None or key in history.collected)

    tracked = {(t.platform, t.account, t.comment_id): t for t in history.tracked}
    findings: list[Finding] = []
    observations: list[CommentObservation] = []
    visible: set[tuple[str, str, str]] = set()
    checked = 0
    evaluated_accounts: set[tuple[str, str]] = set()
    for _key, post in sorted(current.items(), key=lambda item: (item[1].created_at, item[0])):
        if post.platform not in COMMENT_PLATFORMS or post.is_repost or not fresh(post):
            continue  # a repost's comments are on someone else's post, which the school cannot moderate
        evaluated_accounts.add((post.platform, post.account))
        for comment in post.comments:
            checked += 1
            reading = read(comment.text, lex, exclude=never_read)
            if not reading.category:
                continue
            ckey = comment_key(post.platform, post.account, comment)
            visible.add(ckey)
            prior = tracked.get(ckey)
            first = prior.first_week if prior else week
            days = _weeks_apart(first, ctx.week)
            critical = reading.critical
            severity = Severity.CRITICAL if critical or (prior is not None and days >= escalate) else Severity.BREACH
            kind = LABELS[reading.category] + (" about a pupil" if reading.category == "sexual" and critical else "")
            if prior is None:
                message = f"{kind} is visible on this post (first seen in {week}): {reading.why}."
            else:
                message = (f"{kind} is still visible since {first} ({days} days after it was first reported): "
                           f"{reading.why}.")
            evidence = _evidence(post, comment, reading, tz)
            findings.append(Finding(check=NAME, severity=severity, status=Status.FAIL, school=school.id, policy=POLICY,
                                    message=message, account=post.account, post_id=post.id,
                                    post_url=comment.url or post.url, evidence=evidence,
                                    action=CRITICAL_ACTION if critical else ACTION))
            observations.append(CommentObservation(
                platform=post.platform, account=post.account, post_id=post.id, comment_id=comment.id, state="visible",
                post_url=post.url, comment_url=comment.url, evidence=evidence, first_week=first,
                category=reading.category, post_created_at=iso_utc(post.created_at)))
    removed = unknown = 0
    for ckey, item in sorted(tracked.items()):
        if ckey in visible:
            continue
        again = current.get(item.post_key)
        recheckable = again is not None and fresh(again) and (bool(again.comments) or again.platform in COMPLETE_WHEN_EMPTY)
        if recheckable:
            removed += 1
            findings.append(Finding(
                check=NAME, severity=Severity.INFO, status=Status.PASS, school=school.id, policy=POLICY,
                message=f"Removed: the comment flagged in {item.first_week} was gone when its post was collected again "
                        f"(first seen missing in {week}).",
                account=item.account, post_id=item.post_id, post_url=item.comment_url or item.post_url,
                evidence=item.evidence, action="No action needed if it was reported to SLT."))
            observations.append(CommentObservation(
                platform=item.platform, account=item.account, post_id=item.post_id, comment_id=item.comment_id,
                state="removed", post_url=item.post_url, comment_url=item.comment_url, evidence=item.evidence,
                first_week=item.first_week,
                post_created_at=iso_utc(item.post_created_at) if item.post_created_at else None))
        else:
            unknown += 1
            why = ("its post was not collected again this week" if again is None or not fresh(again)
                   else "the platform did not return the post's comments this time")
            findings.append(Finding(
                check=NAME, severity=Severity.WARNING, status=Status.WARN, school=school.id, policy=POLICY,
                message=f"Not confirmed removed: the comment flagged in {item.first_week} could not be re-checked, "
                        f"because {why}.",
                account=item.account, post_id=item.post_id, post_url=item.comment_url or item.post_url,
                evidence=item.evidence, action="Open the post and make sure the comment is gone, then report it to SLT."))
    flagged = len(visible)
    comment_accounts = [a for a in school.accounts if a.platform in COMMENT_PLATFORMS]
    failed_comment_accounts = [f"{p} {a}" for p, a in sorted(failed) if p in COMMENT_PLATFORMS]
    metrics = {"comments": checked, "flagged": flagged, "removed": removed, "unknown": unknown,
               "posts": sum(1 for k, p in current.items() if p.comments and (p.platform, p.account) in evaluated_accounts)}
    tracking = CommentTracking(observations=tuple(observations), evaluated=tuple(sorted(evaluated_accounts)))

    def result(status: Status, summary: str) -> CheckResult:
        order = {Severity.CRITICAL: 0, Severity.BREACH: 1, Severity.WARNING: 2, Severity.INFO: 3}
        ordered = tuple(sorted(findings, key=lambda f: order[f.severity]))
        return CheckResult(check=NAME, policy=POLICY, school=school.id, status=status, summary=summary,
                           findings=ordered, metrics=metrics, comment_tracking=tracking)

    if flagged:
        worst = "critical" if any(f.severity is Severity.CRITICAL for f in findings) else "breach"
        return result(Status.FAIL, f"{flagged} abusive comment{'s' if flagged != 1 else ''} visible ({worst}); "
                                   f"{checked} comments checked.")
    if not comment_accounts:
        return result(Status.NOT_EVALUATED, "None of the school's accounts is on a platform whose comments are "
                                            "collected (Facebook, Instagram, X, Mastodon, Bluesky).")
    if failed_comment_accounts:
        return result(Status.NOT_EVALUATED, f"No abusive comment found, but {', '.join(failed_comment_accounts)} "
                                            "could not be collected, so its comments were not checked.")
    if unknown:
        return result(Status.WARN, f"No abusive comment visible in the {checked} checked, but {unknown} flagged "
                                   "earlier could not be re-checked.")
    tail = f"; {removed} flagged earlier now removed" if removed else ""
    return result(Status.PASS, f"{checked} comment{'s' if checked != 1 else ''} checked, none abusive{tail}.")
