"""Event promotion (policy 4.4).

What it checks: every event of the school that happens this ISO week (open evenings and mornings, parents' evenings, parish events, others; from config and from the school's and the trust's iCalendar feeds, recurring ones expanded) was promoted by a post in the lead time before it (14 days unless the event sets its own); events coming up are listed as promoted or not yet due, and posts that promote an event no calendar knows are counted.
Why it matters: the policy asks schools to use social media to promote opening evenings, parents' evenings and parish events, so that families hear about them in time to come.
Example: "Open evening" on Thursday 8 October and no post between 24 September and 8 October that mentions an open evening and that date -> fail.
How to fix: post about each event at least once in the two weeks before it, naming the event and its date ("our Open Evening is on Thursday 8th October at 6pm"); add events to the school calendar so their promotion is tracked.

A post promotes an event when it uses the vocabulary of the event's kind ("open evening", "open
morning", "parents' evening", "parent consultations", "Mass", "parish", ...; for "other" events the
significant words of the event's title),
and names the event's date; a post that names no date ("don't miss our open evening!") is not
counted, because with weekly Masses and several open mornings it cannot say which one it promotes.
Dates are read relative to the post's day in the trust's timezone:
"Thursday 5th October", "5 Oct", "October 5th", "5/10", "05/10/2026", "today", "tonight",
"tomorrow", "on Thursday", "this Thursday" and "next Tuesday" (read both as the first Tuesday after
the post and as the Tuesday of the following week). Replies do not count; shares of another
account's post do. Events are judged in the week they happen, so each is judged once, and only
posts from before the week's end count, so a rerun gives the same result.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from checks._base import CheckContext, Setting, check
from checks._calendar import CalendarEvent, SchoolEvents
from socialaudit.config import School, TrustConfig
from socialaudit.models import CheckResult, Finding, Post, Severity, Status

# The words a post uses for each kind of event. "Mass" only with a capital M: "the mass of a pendulum".
VOCABULARY: dict[str, re.Pattern[str]] = {
    "open_evening": re.compile(
        r"(?i:\bopen\s+(?:evening|morning|afternoon|day|event|night)s?\b|\btours?\s+of\s+(?:the|our)\s+school\b"
        r"|\bprospective\s+(?:parents|families|pupils)\b|\badmissions?\s+(?:evening|event)s?\b)"),
    "parents_evening": re.compile(
        r"(?i:\bparents?['\u2019]?\s*(?:evening|consultation|meeting)s?\b|\bparent[\s-]+(?:teacher|consultation)s?\b"
        r"|\bprogress\s+meetings?\b)"),
    "parish": re.compile(
        r"\bMass(?:es)?\b|(?i:\bparish\b|\bliturgy\b|\bbenediction\b|\brosary\b|\bholy\s+communion\b|\bconfirmation\b"
        r"|\b(?:harvest|carol|advent|christmas|easter|remembrance|leavers['\u2019]?|christingle|nativity|church)\s+service\b"
        r"|\bservice\s+(?:at|in)\s+(?:st|the)\b)"),
}

_MONTHS = {name: number for number, names in enumerate(
    [("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",), ("jun", "june"),
     ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
     ("dec", "december")], start=1) for name in names}
_WEEKDAYS = {name: number for number, names in enumerate(
    [("mon", "monday"), ("tue", "tues", "tuesday"), ("wed", "weds", "wednesday"), ("thu", "thur", "thurs", "thursday"),
     ("fri", "friday"), ("sat", "saturday"), ("sun", "sunday")]) for name in names}
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_WEEKDAY = "(?:" + "|".join(sorted(_WEEKDAYS, key=len, reverse=True)) + ")"
_DAY_MONTH = re.compile(rf"\b(?P<day>\d{{1,2}})(?:st|nd|rd|th)?(?:\s+of)?\s+{_MONTH}(?:\s*,?\s*(?P<year>\d{{4}}))?\b", re.I)
_MONTH_DAY = re.compile(rf"\b{_MONTH}\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\b(?:\s*,?\s*(?P<year>\d{{4}}))?", re.I)
_NUMERIC = re.compile(r"(?<![\d/.:])(?P<day>\d{1,2})/(?P<month>\d{1,2})(?:/(?P<year>\d{2}|\d{4}))?(?![\d/]|\s*(?:am|pm)\b|\s+of\b)"
                      r"|(?<![\d/.:])(?P<day2>\d{1,2})\.(?P<month2>\d{1,2})\.(?P<year2>\d{2}|\d{4})(?!\d)", re.I)
_WEEKDAY_ORDINAL = re.compile(rf"\b{_WEEKDAY}\s+(?:the\s+)?(?P<day>\d{{1,2}})(?:st|nd|rd|th)\b", re.I)
_RELATIVE = re.compile(r"\b(?P<word>today|tonight|tomorrow|this\s+(?:evening|morning|afternoon))\b", re.I)
_NEXT_WEEKDAY = re.compile(rf"\bnext\s+(?P<weekday>{_WEEKDAY})\b", re.I)
_WEEKDAY_ALONE = re.compile(rf"\b(?:(?:this|on|this\s+coming|coming)\s+)?(?P<weekday>{_WEEKDAY})\b(?!\s*(?:\d|the\s+\d))", re.I)
LEAD_DAYS = 14  # the default lead time: a post in the 14 days before an event promotes it
_STOP = frozenset({"the", "and", "for", "with", "our", "your", "school", "evening", "event", "day", "from", "year"})


def _dated(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _nearest_year(posted: date, month: int, day: int) -> date | None:
    """A day and month without a year: the occurrence from a month before the post onwards."""
    for year in (posted.year, posted.year + 1):
        candidate = _dated(year, month, day)
        if candidate and candidate >= posted - timedelta(days=31):
            return candidate
    return None


def mentioned_dates(text: str, posted: date) -> set[date]:
    """Every date a post's text names, read relative to the day it was posted (local date)."""
    found: set[date] = set()
    spans: list[tuple[int, int]] = []
    lowered = text.lower()
    digits = _DIGIT.search(text) is not None
    for pattern in (_DAY_MONTH, _MONTH_DAY) if digits else ():
        for match in pattern.finditer(text):
            month = _MONTHS[match.group("month").lower().rstrip(".")]
            day = int(match.group("day"))
            year = match.group("year")
            value = _dated(int(year), month, day) if year else _nearest_year(posted, month, day)
            if value:
                found.add(value)
                spans.append(match.span())
    for match in _NUMERIC.finditer(text) if digits else ():
        day = int(match.group("day") or match.group("day2"))
        month = int(match.group("month") or match.group("month2"))
        year_text = match.group("year") or match.group("year2")
        if year_text:
            year = int(year_text) + (2000 if len(year_text) == 2 else 0)
            value = _dated(year, month, day)
        else:
            value = _nearest_year(posted, month, day)
        if value:
            found.add(value)
    weekdays = _WEEKDAY_HINT.search(lowered) is not None
    for match in _WEEKDAY_ORDINAL.finditer(text) if digits and weekdays else ():
        if any(start <= match.start() < end for start, end in spans):
            continue  # "Thursday 5th October" was read above
        day = int(match.group("day"))
        month_start = posted.replace(day=1)
        for offset in (0, 32):  # this month's, else next month's
            first = (month_start + timedelta(days=offset)).replace(day=1)
            value = _dated(first.year, first.month, day)
            if value and value >= posted:
                found.add(value)
                break
    for match in _RELATIVE.finditer(text) if ("to" in lowered or "this" in lowered) else ():
        found.add(posted + timedelta(days=1 if match.group("word").lower() == "tomorrow" else 0))
    for match in _NEXT_WEEKDAY.finditer(text) if weekdays and "next" in lowered else ():
        weekday = _WEEKDAYS[match.group("weekday").lower()]
        ahead = (weekday - posted.weekday()) % 7 or 7
        found.add(posted + timedelta(days=ahead))  # the first one after today
        next_monday = posted + timedelta(days=7 - posted.weekday())
        found.add(next_monday + timedelta(days=weekday))  # the one in next week
    for match in _WEEKDAY_ALONE.finditer(text) if weekdays else ():
        if any(start <= match.start() < end for start, end in spans):
            continue  # "Thursday 5th October": the date says it
        before = text[max(0, match.start() - 5):match.start()].lower()
        if before.endswith("next "):
            continue
        weekday = _WEEKDAYS[match.group("weekday").lower()]
        found.add(posted + timedelta(days=(weekday - posted.weekday()) % 7))
    return found


# Substrings without which a kind's vocabulary cannot match: a cheap test before the regular expression.
_HINTS: dict[str, re.Pattern[str]] = {
    "open_evening": re.compile("open|tour|prospective|admission"),
    "parents_evening": re.compile("parent|progress"),
    "parish": re.compile("mass|parish|liturgy|benediction|rosary|communion|confirmation|service"),
}
_DIGIT = re.compile(r"\d")
_WEEKDAY_HINT = re.compile("mon|tue|wed|thu|fri|sat|sun")


def promotion_kinds(text: str) -> set[str]:
    """The event kinds whose vocabulary a text uses."""
    lowered = text.lower()
    return {kind for kind, pattern in VOCABULARY.items()
            if _HINTS[kind].search(lowered) and pattern.search(text)}


def _title_words(title: str) -> list[str]:
    return [w for w in re.findall(r"[a-z]+", title.lower()) if len(w) >= 4 and w not in _STOP]


def mentions_event(text: str, event: CalendarEvent) -> bool:
    """The post uses the vocabulary of the event's kind; for "other" events, the words of its title.

    A known kind is matched by its vocabulary only: a title word such as "parents" in "thank you to
    the parents" says nothing about a parents' evening.
    """
    pattern = VOCABULARY.get(event.kind)
    if pattern is not None:
        return bool(pattern.search(text))
    words = _title_words(event.title)
    lowered = text.lower()
    if len(words) < 2:
        phrase = " ".join(re.findall(r"[a-z0-9]+", event.title.lower()))
        return bool(phrase) and phrase in " ".join(re.findall(r"[a-z0-9]+", lowered))
    return all(re.search(rf"\b{re.escape(w)}", lowered) for w in words)


@dataclass(frozen=True, slots=True)
class Promotion:
    post: Post


@dataclass(slots=True)
class Read:
    """A post read once for every event: its local day, the event kinds it names, the dates it names."""

    post: Post
    posted: date
    kinds: frozenset[str]
    _dates: set[date] | None = None

    @classmethod
    def of(cls, post: Post, zone: ZoneInfo) -> Read:
        return cls(post, post.created_at.astimezone(zone).date(), frozenset(promotion_kinds(post.text)))

    def dates(self) -> set[date]:
        if self._dates is None:
            self._dates = mentioned_dates(self.post.text, self.posted)
        return self._dates

    def mentions(self, event: CalendarEvent) -> bool:
        if event.kind in VOCABULARY:
            return event.kind in self.kinds
        return mentions_event(self.post.text, event)


def promotions(event: CalendarEvent, lead: int, reads: Sequence[Read]) -> list[Promotion]:
    """Every post in the event's lead time that names it (kind vocabulary or title) and its date, oldest first."""
    first = event.date - timedelta(days=lead)
    return [Promotion(r.post) for r in reads
            if first <= r.posted <= event.date and r.mentions(event) and event.date in r.dates()]


def find_promotion(event: CalendarEvent, lead: int, posts: Sequence[Post], zone: ZoneInfo) -> Promotion | None:
    """The earliest post that promotes the event in its lead time, or None."""
    found = promotions(event, lead, [Read.of(p, zone) for p in sorted(posts, key=lambda p: p.created_at)])
    return found[0] if found else None


def school_events(school: School, services: Mapping[str, object]) -> tuple[list[CalendarEvent], SchoolEvents | None]:
    """Config events plus the calendars' (as loaded by the pipeline), without duplicates."""
    events = [CalendarEvent(title=e.title, kind=e.kind, date=e.date, lead_days=e.lead_days) for e in school.events]
    given = services.get("events")  # school id -> SchoolEvents
    loaded = given.get(school.id) if isinstance(given, Mapping) else None
    if isinstance(loaded, SchoolEvents):
        seen = {(e.date, e.kind, e.title.lower()) for e in events}
        for event in loaded.events:
            if (event.date, event.kind, event.title.lower()) not in seen:
                seen.add((event.date, event.kind, event.title.lower()))
                events.append(event)
    events.sort(key=lambda e: (e.date, e.title))
    return events, loaded


def lookback_days(config: TrustConfig, school: School) -> int:
    """How many days before the week the posts must reach: the longest lead time of the school's events.

    Read from config directly (not through the registry), so collection never depends on every
    other check module importing cleanly.
    """
    default = int(config.check_settings("event_promotion", school).get("lead_days", LEAD_DAYS))
    return max([default, *[e.lead_days for e in school.events if e.lead_days is not None]])


# Where a stored result keeps its two figures: the first of the keys that holds a value ("events_due" is the
# key of results stored before it was renamed). The Trust report sums them in SQL from these same keys.
PROMOTED_KEYS = ("promoted",)
DUE_KEYS = ("due", "events_due")


def promotion_figures(metrics: Mapping[str, Any]) -> tuple[int, int]:
    """(events promoted, events due) this week, from a stored result's ``metrics``, for the reports."""

    def first(keys: tuple[str, ...]) -> int:
        return int(next((metrics[k] for k in keys if metrics.get(k) is not None), 0) or 0)

    return first(PROMOTED_KEYS), first(DUE_KEYS)


def calendar_errors(metrics: Mapping[str, Any]) -> list[str]:
    """The calendars that could not be read this week (one line each), from a stored result's ``metrics``."""
    return [str(e) for e in metrics.get("errors", []) or []]


def _day(value: date) -> str:
    return f"{value.strftime('%A')} {value.day} {value.strftime('%B')}"


@check(
    "event_promotion",
    policy="4.4",
    needs=("events",),
    settings={"lead_days": Setting(LEAD_DAYS, "Days before an event in which a post must promote it, unless the event sets "
                                       "lead_days (policy 4.4)."),
              "max_unmatched_notes": Setting(5, "At most this many info notes a week about posts promoting an event "
                                                "that no calendar knows (all are counted).")},
)
def event_promotion(school: School, posts: Sequence[Post], ctx: CheckContext) -> CheckResult:
    """Judge the week's events as promoted or not, and list the coming ones; see the module docstring."""
    default_lead = int(ctx.setting("lead_days"))
    zone = ZoneInfo(ctx.tz)
    monday, sunday = ctx.week.monday, ctx.week.sunday
    events, loaded = school_events(school, ctx.services)
    week_end = ctx.week.bounds(ctx.tz)[1]
    # posts after the week are the next run's business: a rerun of this week must give the same result
    candidates = sorted((p for p in posts if not p.is_reply and p.created_at < week_end),
                        key=lambda p: (p.created_at, p.platform, p.id))
    reads = [Read.of(p, zone) for p in candidates]
    findings: list[Finding] = []
    rows: list[dict[str, Any]] = []
    matched_posts: set[tuple[str, str]] = set()
    failed = ctx.failed_accounts

    def lead_of(event: CalendarEvent) -> int:
        return event.lead_days if event.lead_days is not None else default_lead

    # every event a post may be promoting, so that a promotion of a later event is not "unmatched"
    for event in events:
        found = promotions(event, lead_of(event), reads)
        matched_posts.update((p.post.platform, p.post.id) for p in found)
        promotion = found[0] if found else None
        this_week = monday <= event.date <= sunday
        upcoming = sunday < event.date and event.date - timedelta(days=lead_of(event)) <= sunday
        if not this_week and not upcoming:
            continue
        if promotion is not None:
            state = "promoted"
        elif upcoming:
            state = "not_yet_due"
        elif failed:
            state = "not_evaluated"
        else:
            state = "not_promoted"
        rows.append({"title": event.title, "kind": event.kind, "date": event.date.isoformat(), "lead_days": lead_of(event),
                     "source": event.source, "state": state, "in_week": this_week,
                     "post_url": promotion.post.url if promotion else "",
                     "promoted_on": promotion.post.created_at.astimezone(zone).date().isoformat() if promotion else ""})
        evidence = f"{event.title}, {event.date.isoformat()}"
        if state == "not_promoted":
            findings.append(Finding(
                check="event_promotion", severity=Severity.BREACH, status=Status.FAIL, school=school.id, policy="4.4",
                message=f"{event.title} on {_day(event.date)} was not promoted in the {lead_of(event)} days before it.",
                evidence=evidence,
                action=f"Promote each event in the {lead_of(event)} days before it, naming the event and its date; "
                       "for events still to come, post now."))
        elif state == "promoted":
            on = _day(promotion.post.created_at.astimezone(zone).date()) if promotion else ""
            findings.append(Finding(
                check="event_promotion", severity=Severity.INFO, status=Status.PASS, school=school.id, policy="4.4",
                message=f"{event.title} on {_day(event.date)} was promoted on {on}.", evidence=evidence,
                account=promotion.post.account if promotion else "", post_id=promotion.post.id if promotion else "",
                post_url=promotion.post.url if promotion else ""))
        elif state == "not_yet_due":
            findings.append(Finding(
                check="event_promotion", severity=Severity.INFO, status=Status.PASS, school=school.id, policy="4.4",
                message=f"{event.title} on {_day(event.date)} is coming up and has not been promoted yet.",
                evidence=evidence, action=f"Post about it by {_day(event.date - timedelta(days=1))}."))

    start, _ = ctx.week.bounds(ctx.tz)
    unmatched = _unmatched([r for r in reads if r.post.created_at >= start], matched_posts, events)
    for post, kinds in unmatched[: int(ctx.setting("max_unmatched_notes"))]:
        findings.append(Finding(
            check="event_promotion", severity=Severity.INFO, status=Status.PASS, school=school.id, policy="4.4",
            message="A post promotes an event that is in neither the school's calendar nor its config.",
            account=post.account, post_id=post.id, post_url=post.url, evidence=", ".join(sorted(kinds)).replace("_", " "),
            action="Add the event to the school's calendar so that its promotion is tracked."))
    judged = [r for r in rows if r["in_week"]]
    metrics: dict[str, Any] = {
        "events": rows,
        "due": len(judged),
        "promoted": sum(1 for r in judged if r["state"] == "promoted"),
        "not_promoted": sum(1 for r in judged if r["state"] == "not_promoted"),
        "upcoming": sum(1 for r in rows if not r["in_week"]),
        "unmatched_promotions": len(unmatched),
        "calendars": list(loaded.calendars) if loaded else [],
    }

    def result(status: Status, summary: str) -> CheckResult:
        return CheckResult(check="event_promotion", policy="4.4", school=school.id, status=status, summary=summary,
                           findings=tuple(findings), metrics=metrics)

    configured = bool(school.calendars or ctx.config.trust.calendars)
    if configured and loaded is None:
        return result(Status.NOT_EVALUATED, "The school's calendars were not loaded for this run, so its events are unknown.")
    if loaded is not None and loaded.errors:
        metrics["errors"] = list(loaded.errors)
        return result(Status.NOT_EVALUATED, "Events not evaluated: " + "; ".join(loaded.errors) + ".")
    upcoming_text = _upcoming_text(rows)
    if not judged:
        return result(Status.NOT_APPLICABLE, "No event this week." + upcoming_text)
    missing = [r for r in judged if r["state"] == "not_promoted"]
    unknown = [r for r in judged if r["state"] == "not_evaluated"]
    if missing:
        return result(Status.FAIL, f"{len(missing)} of {len(judged)} event{'s' if len(judged) != 1 else ''} this week "
                                   "not promoted: " + ", ".join(r["title"] for r in missing) + "." + upcoming_text)
    if unknown:
        names = ", ".join(f"{c.platform} {c.account}" for c in failed)
        return result(Status.NOT_EVALUATED, f"{len(unknown)} event{'s' if len(unknown) != 1 else ''} this week with no "
                                            f"promotion found, but {names} could not be collected." + upcoming_text)
    return result(Status.PASS, f"{len(judged)} event{'s' if len(judged) != 1 else ''} this week, all promoted." + upcoming_text)


def _upcoming_text(rows: Iterable[dict[str, Any]]) -> str:
    coming = [r for r in rows if not r["in_week"]]
    if not coming:
        return ""
    promoted = sum(1 for r in coming if r["state"] == "promoted")
    return f" Coming up: {len(coming)} ({promoted} promoted already)."


def _unmatched(reads: Sequence[Read], matched: set[tuple[str, str]], events: Sequence[CalendarEvent]) -> list[tuple[Post, set[str]]]:
    """The week's posts that use event vocabulary and name a date, but no known event of that date."""
    out: list[tuple[Post, set[str]]] = []
    for read in reads:
        if not read.kinds or (read.post.platform, read.post.id) in matched:
            continue
        dates = read.dates()
        if dates and not any(e.date in dates and read.mentions(e) for e in events):
            out.append((read.post, set(read.kinds)))
    return out
