"""Schools' events from iCalendar feeds, for the event promotion check (policy 4.4).

This module is pure: the calendar model and the iCalendar parser. Reading a calendar is I/O, so
it is done by the service :mod:`socialaudit.calendars` before the checks run; the pure check
receives the result through ``ctx.services["events"]``, a mapping of school id to
:class:`SchoolEvents`. A calendar that cannot be read (HTTP error, missing file, not iCalendar) is
recorded in ``SchoolEvents.errors`` with a one-line message naming the school and the calendar;
that school's event check is then "not evaluated" while every other check still runs.

Recurring events (RRULE, RDATE, EXDATE, moved occurrences) are expanded with
``recurring-ical-events``; cancelled events are skipped. An event's kind comes from its
``CATEGORIES`` or, failing that, its summary ("Open morning" -> open_evening); a non-standard
``X-LEAD-DAYS`` property overrides the check's lead time for that event.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

__all__ = ["CalendarError", "CalendarEvent", "SchoolEvents", "kind_of", "parse_ics", "window_for"]

# Words that say what kind of event a calendar entry is, most specific first.
_KIND_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("parents_evening", re.compile(r"parents?['\u2019]?\s*(?:evening|consultation|meeting)|parent[\s-]+(?:teacher|consultation)",
                                   re.I)),
    ("open_evening", re.compile(r"open\s+(?:evening|morning|afternoon|day|event|night)|admissions?\s+(?:evening|event)"
                                r"|tours?\s+of\s+(?:the|our)\s+school", re.I)),
    ("parish", re.compile(r"\bmass\b|parish|liturgy|benediction|service|church|holy\s+communion|confirmation", re.I)),
)
_CATEGORY_KINDS = {"open_evening": "open_evening", "open evening": "open_evening", "open day": "open_evening",
                   "parents_evening": "parents_evening", "parents' evening": "parents_evening",
                   "parents evening": "parents_evening", "parish": "parish", "mass": "parish", "worship": "parish"}


MAX_OCCURRENCES = 10_000  # event occurrences read from one calendar for one window


class CalendarError(ValueError):
    """A calendar could not be read; the message names the school and the calendar."""


@dataclass(frozen=True, slots=True)
class CalendarEvent:
    """One occurrence of an event: a recurring calendar entry gives one per date."""

    title: str
    kind: str  # open_evening | parents_evening | parish | other
    date: date  # the day it happens, in the trust's timezone
    lead_days: int | None = None  # overrides the check's default lead time
    source: str = "config"  # "config" or the calendar it came from


@dataclass(frozen=True, slots=True)
class SchoolEvents:
    """A school's events from its calendars (and the trust's) over a window, with any read errors."""

    events: tuple[CalendarEvent, ...] = ()
    errors: tuple[str, ...] = ()
    calendars: tuple[str, ...] = ()


def kind_of(title: str, categories: Sequence[str] = ()) -> str:
    """The event kind from its categories, else from the words of its title; "other" if neither says."""
    for category in categories:
        kind = _CATEGORY_KINDS.get(category.strip().lower())
        if kind:
            return kind
    for kind, pattern in _KIND_WORDS:
        if pattern.search(title):
            return kind
    return "other"


def _categories(component: Any) -> list[str]:
    raw = component.get("CATEGORIES")
    if raw is None:
        return []
    values = raw if isinstance(raw, list) else [raw]
    out: list[str] = []
    for value in values:
        cats = getattr(value, "cats", None)
        if cats is not None:
            out.extend(str(c) for c in cats)
        else:
            out.extend(part.strip() for part in str(value).split(","))
    return out


def parse_ics(data: bytes, *, source: str, start: date, end: date, tz: str) -> list[CalendarEvent]:
    """Every event occurrence in [start, end) of an iCalendar document; ValueError if it is not one."""
    import icalendar
    import recurring_ical_events

    if not data.lstrip()[:15].upper().startswith(b"BEGIN:VCALENDAR"):
        raise ValueError("not an iCalendar file (it does not start with BEGIN:VCALENDAR)")
    calendar = icalendar.Calendar.from_ical(data)
    zone = ZoneInfo(tz)
    out: list[CalendarEvent] = []
    # after() is lazy and chronological, so a runaway rule (FREQ=SECONDLY) is cut off, not expanded
    for seen, component in enumerate(recurring_ical_events.of(calendar).after(start)):
        if seen >= MAX_OCCURRENCES:
            raise ValueError(f"more than {MAX_OCCURRENCES:,} event occurrences between {start} and {end}")
        start_value = component.decoded("DTSTART")
        if isinstance(start_value, datetime):
            day = start_value.astimezone(zone).date() if start_value.tzinfo else start_value.date()
        else:
            day = start_value
        if day >= end + timedelta(days=1):
            break
        if not start <= day < end or str(component.get("STATUS", "")).upper() == "CANCELLED":
            continue
        title = str(component.get("SUMMARY", "")).strip() or "Untitled event"
        lead: int | None = None
        raw_lead = component.get("X-LEAD-DAYS")
        if raw_lead is not None:
            try:
                lead = max(0, int(str(raw_lead)))
            except ValueError:
                raise ValueError(f"event {title!r}: X-LEAD-DAYS {str(raw_lead)!r} is not a whole number of days") from None
        out.append(CalendarEvent(title=title, kind=kind_of(title, _categories(component)), date=day, lead_days=lead,
                                 source=source))
    out.sort(key=lambda e: (e.date, e.title))
    return out


def window_for(monday: date, sunday: date) -> tuple[date, date]:
    """The dates whose events a week's check may need: the week, and far enough ahead that a post
    promoting an event months away is matched rather than counted as unmatched."""
    return monday - timedelta(days=1), sunday + timedelta(days=120)
