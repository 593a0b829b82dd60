"""ISO weeks in the trust's timezone: the unit every run, report and archive folder is keyed by."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from socialaudit.errors import WeekError

_WEEK_RE = re.compile(r"^([0-9]{4})-[Ww]([0-9]{2})$")  # one form, YYYY-Www; the W in either case


@dataclass(frozen=True, slots=True, order=True)
class IsoWeek:
    year: int
    week: int

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        """Parse ``2026-W47``; raises WeekError (a ValueError) with the accepted form on anything else."""
        match = _WEEK_RE.match(text.strip())
        if not match:
            raise WeekError(f"week {text!r} is not an ISO week such as 2026-W47")
        year, week = int(match.group(1)), int(match.group(2))
        try:
            date.fromisocalendar(year, week, 1)
        except ValueError:
            raise WeekError(f"week {text!r} does not exist ({year} has no week {week})") from None
        return cls(year, week)

    @classmethod
    def containing(cls, day: date) -> IsoWeek:
        iso = day.isocalendar()
        return cls(iso.year, iso.week)

    @classmethod
    def last_complete(cls, now: datetime, tz: str = "Europe/London") -> IsoWeek:
        """The most recent ISO week that has fully ended at ``now`` in ``tz``."""
        local = now.astimezone(ZoneInfo(tz)).date()
        return cls.containing(local) - 1

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    def __sub__(self, weeks: int) -> IsoWeek:
        return IsoWeek.containing(self.monday - timedelta(weeks=weeks))

    def __add__(self, weeks: int) -> IsoWeek:
        return IsoWeek.containing(self.monday + timedelta(weeks=weeks))

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    def bounds(self, tz: str = "Europe/London") -> tuple[datetime, datetime]:
        """[start, end) of the week in UTC: Monday 00:00 to next Monday 00:00 local time.

        Built from local midnights, so a week containing a daylight-saving change is 167 or 169
        hours long, as the calendar says.
        """
        zone = ZoneInfo(tz)
        start = datetime.combine(self.monday, time(0), zone)
        end = datetime.combine(self.monday + timedelta(days=7), time(0), zone)
        return start.astimezone(timezone.utc), end.astimezone(timezone.utc)

    def previous(self, count: int) -> list[IsoWeek]:
        """This week and the ``count - 1`` before it, oldest first."""
        return [self - offset for offset in range(count - 1, -1, -1)]


def week_of(moment: datetime, tz: str = "Europe/London") -> IsoWeek:
    """The ISO week a timestamp falls in, in the trust's local time."""
    return IsoWeek.containing(moment.astimezone(ZoneInfo(tz)).date())


def week_range(first: IsoWeek, last: IsoWeek) -> list[IsoWeek]:
    if last < first:
        raise WeekError(f"--to {last} is before --from {first}")
    weeks = [first]
    while weeks[-1] < last:
        weeks.append(weeks[-1] + 1)
    return weeks
