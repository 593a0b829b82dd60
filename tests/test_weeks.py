"""ISO weeks in Europe/London: boundaries at local midnight, daylight-saving weeks, parsing errors."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from socialaudit.weeks import IsoWeek, week_of, week_range


def test_parse_and_format_round_trip():
    assert str(IsoWeek.parse("2026-W47")) == "2026-W47"
    assert IsoWeek.parse("2026-w07") == IsoWeek(2026, 7)  # one form, the W in either case
    assert IsoWeek.parse(" 2026-W07\n") == IsoWeek(2026, 7)


@pytest.mark.parametrize("text", ["2026-47", "W47", "2026-W54", "2025-W53", "next week", "", "2026W07", "2026-W7",
                                  "2026/W07", "26-W07", "2026-W007",
                                  "\u0662\u0660\u0662\u0666-W\u0664\u0667"])  # Arabic-Indic digits
def test_parse_rejects_non_weeks_with_the_form_expected(text):
    with pytest.raises(ValueError, match="week"):
        IsoWeek.parse(text)


def test_2026_has_53_weeks_and_2027_w01_follows():
    assert IsoWeek.parse("2026-W53") + 1 == IsoWeek(2027, 1)


@pytest.mark.parametrize(
    ("week", "hours", "start_utc"),
    [
        ("2026-W47", 168, datetime(2026, 11, 16, 0, 0, tzinfo=timezone.utc)),  # GMT: midnight is 00:00 UTC
        ("2026-W26", 168, datetime(2026, 6, 21, 23, 0, tzinfo=timezone.utc)),  # BST: midnight is 23:00 UTC the day before
        ("2026-W13", 167, datetime(2026, 3, 23, 0, 0, tzinfo=timezone.utc)),  # clocks go forward on Sunday 29 March
        ("2026-W43", 169, datetime(2026, 10, 18, 23, 0, tzinfo=timezone.utc)),  # clocks go back on Sunday 25 October
    ],
)
def test_bounds_follow_local_midnights_across_daylight_saving(week, hours, start_utc):
    start, end = IsoWeek.parse(week).bounds("Europe/London")
    assert start == start_utc
    assert (end - start).total_seconds() == hours * 3600


def test_week_of_uses_local_time():
    # 23:30 UTC on Sunday 21 June 2026 is 00:30 BST on Monday 22 June: the next ISO week
    assert week_of(datetime(2026, 6, 21, 23, 30, tzinfo=timezone.utc)) == IsoWeek(2026, 26)
    assert week_of(datetime(2026, 6, 21, 22, 59, tzinfo=timezone.utc)) == IsoWeek(2026, 25)


def test_last_complete_week():
    monday_morning = datetime(2026, 11, 23, 6, 0, tzinfo=timezone.utc)
    assert IsoWeek.last_complete(monday_morning) == IsoWeek(2026, 47)
    sunday_night = datetime(2026, 11, 22, 23, 59, tzinfo=timezone.utc)
    assert IsoWeek.last_complete(sunday_night) == IsoWeek(2026, 46)


def test_week_range_and_previous():
    assert [str(w) for w in week_range(IsoWeek(2026, 52), IsoWeek(2027, 2))] == ["2026-W52", "2026-W53", "2027-W01", "2027-W02"]
    assert [str(w) for w in IsoWeek(2027, 1).previous(3)] == ["2026-W52", "2026-W53", "2027-W01"]
    with pytest.raises(ValueError, match="before"):
        week_range(IsoWeek(2026, 5), IsoWeek(2026, 4))
