"""event_promotion (policy 4.4): events from config and iCalendar feeds, matched to the posts that promote them."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from checks._base import run_checks
from checks._calendar import CalendarEvent, SchoolEvents, kind_of, parse_ics
from checks.event_promotion import mentioned_dates, promotion_kinds
from socialaudit.calendars import load_school_events
from socialaudit.config import DEFAULT_CONFIG, Event, School, load_config, parse_config
from socialaudit.models import AccountCollection, CollectionStatus, Severity, Status
from socialaudit.weeks import IsoWeek

DATA = Path(__file__).resolve().parents[1] / "data"
CONFIG = load_config(DEFAULT_CONFIG)
W41 = IsoWeek.parse("2026-W41")  # Monday 5 to Sunday 11 October 2026 (BST)
OPEN_EVENING = Event(title="Open evening", kind="open_evening", date=date(2026, 10, 8))  # Thursday of W41


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


def school(*events: Event, calendars: tuple[str, ...] = ()) -> School:
    return School(id="fict-primary", name="Fictional Primary School", head_email="head@fict.example.sch.uk",
                  events=list(events), calendars=list(calendars))


def run(target: School, posts, *, week=W41, collections=(), services=None, config=CONFIG):
    [result] = run_checks(target, posts, week=week, config=config, collections=collections, services=services,
                          names=["event_promotion"])
    return result


# --- dates a post names, relative to the day it was posted -------------------------------------

MONDAY = date(2026, 9, 28)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Our open evening is on Thursday 8th October at 6pm", {date(2026, 10, 8)}),
        ("Open evening: 8 Oct, 6pm", {date(2026, 10, 8)}),
        ("Open evening: Oct. 8th", {date(2026, 10, 8)}),
        ("Open evening on the 8th of October 2026", {date(2026, 10, 8)}),
        ("Open evening 8/10", {date(2026, 10, 8)}),
        ("Open evening 08/10/2026", {date(2026, 10, 8)}),
        ("Open evening 8.10.26", {date(2026, 10, 8)}),
        ("Open evening Thursday 8th", {date(2026, 10, 8)}),  # weekday and ordinal, month implied
        ("Open evening tomorrow", {date(2026, 9, 29)}),
        ("Open evening tonight!", {MONDAY}),
        ("Open evening on Thursday", {date(2026, 10, 1)}),
        ("Open evening this Thursday", {date(2026, 10, 1)}),
        # "next Thursday" said on a Monday: this week's (British usage varies) or next week's
        ("Open evening next Thursday", {date(2026, 10, 1), date(2026, 10, 8)}),
        ("Open evening on 5 January", {date(2027, 1, 5)}),  # no year: the next one, not last January's
        ("Starts at 6.30pm", set()),  # a time, not a date
        ("Meet at 6/7pm", set()),
        ("3/4 of the class came", set()),  # a fraction
        ("Open evening on 31/02", set()),  # no such day
        ("Thank you for coming", set()),
    ],
)
def test_mentioned_dates(text, expected):
    assert mentioned_dates(text, MONDAY) == expected


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("Join us for our Open Evening", {"open_evening"}),
        ("open mornings every Thursday", {"open_evening"}),
        ("Tours of the school for prospective parents", {"open_evening"}),
        ("Parents' evening bookings are open", {"parents_evening"}),
        ("Parents\u2019 evening", {"parents_evening"}),
        ("parents evening", {"parents_evening"}),
        ("Parent consultations for Year 6", {"parents_evening"}),
        ("Family Mass on Sunday", {"parish"}),
        ("Our Harvest service at St Hilda's Church", {"parish"}),
        ("with the parish", {"parish"}),
        ("Year 6 measured the mass of each pendulum", set()),  # lowercase mass is physics
        ("Thank you to the parents and carers who helped", set()),
        ("Please open the evening gate", set()),
    ],
)
def test_promotion_vocabulary(text, kinds):
    assert promotion_kinds(text) == kinds


@pytest.mark.parametrize(
    ("title", "categories", "kind"),
    [
        ("Open morning for Reception 2027", (), "open_evening"),
        ("Parents' consultation evening", (), "parents_evening"),
        ("Advent Mass", (), "parish"),
        ("Whole-school celebration with Father Brendan", ("Parish",), "parish"),
        ("PTA Christmas disco", (), "other"),
    ],
)
def test_kind_of_a_calendar_event(title, categories, kind):
    assert kind_of(title, categories) == kind


# --- the check ----------------------------------------------------------------------------------

PROMOTING = "Our Open Evening is on Thursday 8th October at 6pm. All families welcome!"


@pytest.mark.parametrize(
    ("created", "text", "is_reply", "status"),
    [
        (utc(2026, 9, 30, 16), PROMOTING, False, Status.PASS),  # 8 days before
        (utc(2026, 9, 24, 16), PROMOTING, False, Status.PASS),  # exactly 14 days before
        (utc(2026, 9, 23, 16), PROMOTING, False, Status.FAIL),  # 15 days before: outside the lead time
        (utc(2026, 10, 8, 7), "Open evening tonight at 6pm!", False, Status.PASS),  # on the day
        (utc(2026, 10, 9, 9), "Thank you to everyone who came to open evening on Thursday 8th October", False,
         Status.FAIL),  # after it
        (utc(2026, 10, 1, 9), "Open evening next Thursday!", False, Status.PASS),
        (utc(2026, 10, 1, 9), "Our open evening is on Thursday 15th October", False, Status.FAIL),  # another date
        (utc(2026, 10, 1, 9), "Don't miss our open evening!", False, Status.FAIL),  # no date: cannot say which
        (utc(2026, 10, 1, 9), "Year 3 made Roman shields on Thursday 8th October", False, Status.FAIL),  # no vocabulary
        (utc(2026, 10, 1, 9), PROMOTING, True, Status.FAIL),  # a reply to a parent is not a promotion
    ],
)
def test_an_event_of_the_week(make_post, created, text, is_reply, status):
    post = make_post(id="p1", url="https://fict.example.sch.uk/news/p1/", created_at=created, text=text, is_reply=is_reply)
    result = run(school(OPEN_EVENING), [post])
    assert result.status is status
    assert result.metrics["due"] == 1
    if status is Status.PASS:
        [note] = result.findings
        assert note.severity is Severity.INFO and note.post_url == "https://fict.example.sch.uk/news/p1/"
        assert result.metrics["events"][0]["state"] == "promoted"
    else:
        [finding] = [f for f in result.findings if f.severity is Severity.BREACH]
        assert finding.policy == "4.4"
        assert finding.message == "Open evening on Thursday 8 October was not promoted in the 14 days before it."
        assert finding.post_url == ""


def test_local_dates_decide_tomorrow(make_post):
    # 23:30 UTC on Wednesday 7 October is 00:30 BST on Thursday 8th: "tonight" is the 8th, "tomorrow" the 9th
    tonight = make_post(created_at=utc(2026, 10, 7, 23, 30), text="Open evening tonight!")
    tomorrow = make_post(created_at=utc(2026, 10, 7, 23, 30), text="Open evening tomorrow!")
    assert run(school(OPEN_EVENING), [tonight]).status is Status.PASS
    assert run(school(OPEN_EVENING), [tomorrow]).status is Status.FAIL


def test_an_events_own_lead_time(make_post):
    post = make_post(created_at=utc(2026, 9, 10, 9), text=PROMOTING)  # 28 days before
    early = Event(title="Open evening", kind="open_evening", date=date(2026, 10, 8), lead_days=30)
    assert run(school(OPEN_EVENING), [post]).status is Status.FAIL
    assert run(school(early), [post]).status is Status.PASS


def test_the_trusts_lead_time_setting(make_post):
    raw = CONFIG.model_dump(by_alias=True)
    raw["trust"]["checks"] = {"event_promotion": {"lead_days": 7}}
    config = parse_config(raw, "test")
    post = make_post(created_at=utc(2026, 9, 28, 9), text=PROMOTING)  # 10 days before
    assert run(school(OPEN_EVENING), [post], config=config).status is Status.FAIL
    assert run(school(OPEN_EVENING), [post]).status is Status.PASS


def test_posts_after_the_week_do_not_count(make_post):
    # a rerun of W41 after W42's posts arrived must give the same result
    later = make_post(created_at=utc(2026, 10, 12, 9), text="Open evening on Thursday 15th October")
    upcoming = Event(title="Open evening", kind="open_evening", date=date(2026, 10, 15))
    result = run(school(upcoming), [later])
    assert result.metrics["events"][0]["state"] == "not_yet_due"


def test_coming_events_are_listed_not_failed(make_post):
    upcoming = Event(title="Parents' evening", kind="parents_evening", date=date(2026, 10, 14))
    promoted = make_post(id="p2", created_at=utc(2026, 10, 6, 9), text="Parents' evening is on Wednesday 14th October")
    result = run(school(upcoming), [])
    assert result.status is Status.NOT_APPLICABLE
    assert result.metrics["events"] == [{"title": "Parents' evening", "kind": "parents_evening", "date": "2026-10-14",
                                         "lead_days": 14, "source": "config", "state": "not_yet_due", "in_week": False,
                                         "post_url": "", "promoted_on": ""}]
    [note] = result.findings
    assert note.severity is Severity.INFO and "has not been promoted yet" in note.message
    assert run(school(upcoming), [promoted]).metrics["events"][0]["state"] == "promoted"


def test_one_of_two_events_not_promoted(make_post):
    mass = Event(title="Harvest Mass", kind="parish", date=date(2026, 10, 9))
    post = make_post(created_at=utc(2026, 10, 2, 9), text=PROMOTING)
    result = run(school(OPEN_EVENING, mass), [post])
    assert result.status is Status.FAIL
    assert result.metrics["due"] == 2 and result.metrics["promoted"] == 1 and result.metrics["not_promoted"] == 1
    assert "Harvest Mass" in result.summary


def test_a_failed_account_makes_an_unpromoted_event_not_evaluated(make_post):
    failed = AccountCollection(school="fict-primary", platform="x", account="FictPrimary",
                               status=CollectionStatus.AUTH_FAILED, message="bad token")
    result = run(school(OPEN_EVENING), [], collections=[failed])
    assert result.status is Status.NOT_EVALUATED
    assert "x FictPrimary could not be collected" in result.summary
    assert not [f for f in result.findings if f.severity is Severity.BREACH]


def test_promotions_of_unknown_events_are_counted(make_post):
    posts = [make_post(id="a", created_at=utc(2026, 10, 6, 9), text="Open morning on Tuesday 20th October: book now"),
             make_post(id="b", created_at=utc(2026, 10, 6, 10), text=PROMOTING),
             make_post(id="c", created_at=utc(2026, 10, 7, 9), text="Parents' evening bookings open soon")]  # no date
    result = run(school(OPEN_EVENING), posts)
    assert result.status is Status.PASS
    assert result.metrics["unmatched_promotions"] == 1
    [note] = [f for f in result.findings if f.post_id == "a"]
    assert note.severity is Severity.INFO and "neither the school's calendar nor its config" in note.message


def test_a_cross_posted_promotion_is_not_unmatched(make_post):
    posts = [make_post(platform=p, id=p, created_at=utc(2026, 10, 6, 9 + i), text=PROMOTING)
             for i, p in enumerate(("rss", "mastodon", "x"))]
    result = run(school(OPEN_EVENING), posts)
    assert result.status is Status.PASS and result.metrics["unmatched_promotions"] == 0


def test_calendar_events_come_through_services(make_post):
    event = CalendarEvent(title="Open morning", kind="open_evening", date=date(2026, 10, 8), source="cal.ics")
    services = {"events": {"fict-primary": SchoolEvents(events=(event,), calendars=("cal.ics",))}}
    target = school(calendars=("cal.ics",))
    assert run(target, [], services=services).status is Status.FAIL
    post = make_post(created_at=utc(2026, 10, 1, 9), text="Open morning next Thursday, 9:30")
    result = run(target, [post], services=services)
    assert result.status is Status.PASS and result.metrics["events"][0]["source"] == "cal.ics"


def test_the_same_event_in_config_and_calendar_is_judged_once():
    event = CalendarEvent(title="Open evening", kind="open_evening", date=date(2026, 10, 8), source="cal.ics")
    services = {"events": {"fict-primary": SchoolEvents(events=(event,), calendars=("cal.ics",))}}
    assert run(school(OPEN_EVENING, calendars=("cal.ics",)), [], services=services).metrics["due"] == 1


def test_an_unreadable_calendar_makes_the_check_not_evaluated():
    services = {"events": {"fict-primary": SchoolEvents(
        errors=("school 'fict-primary': calendar https://cal.example/x.ics: HTTP 404",), calendars=("https://cal.example/x.ics",))}}
    result = run(school(OPEN_EVENING, calendars=("https://cal.example/x.ics",)), [], services=services)
    assert result.status is Status.NOT_EVALUATED
    assert "calendar https://cal.example/x.ics: HTTP 404" in result.summary


def test_calendars_not_loaded_are_not_evaluated_never_pass():
    result = run(school(calendars=("https://cal.example/x.ics",)), [])
    assert result.status is Status.NOT_EVALUATED


def test_no_events_is_not_applicable():
    assert run(school(), []).status is Status.NOT_APPLICABLE


# --- reading calendars --------------------------------------------------------------------------

def _events(path: Path, start=date(2026, 9, 1), end=date(2027, 1, 31)):
    return parse_ics(path.read_bytes(), source=path.name, start=start, end=end, tz="Europe/London")


def test_recurring_events_are_expanded():
    events = _events(DATA / "calendar-recurring.ics")
    mornings = [e.date for e in events if e.title.startswith("Open morning")]
    # weekly on Thursdays, 8 times from 1 October; 29 October excluded (EXDATE); 15 October moved to the 16th
    assert mornings == [date(2026, 10, d) for d in (1, 8, 16, 22)] + [date(2026, 11, d) for d in (5, 12, 19)]
    masses = [e for e in events if e.kind == "parish"]
    assert [e.date for e in masses] == [date(2026, 11, 4), date(2026, 12, 2), date(2026, 12, 8)]  # 1st Wednesday + RDATE
    assert {e.lead_days for e in masses} == {21}  # X-LEAD-DAYS
    [consultations] = [e for e in events if e.kind == "parents_evening"]
    assert consultations.date == date(2026, 10, 1)  # 23:30 UTC on 30 September is 00:30 BST on 1 October
    assert not [e for e in events if "cancelled" in e.title]
    assert [e.kind for e in events if "disco" in e.title] == ["other"]


def test_the_window_limits_the_occurrences():
    events = _events(DATA / "calendar-recurring.ics", start=date(2026, 10, 5), end=date(2026, 10, 12))
    assert [(e.title, e.date) for e in events] == [("Open morning for Reception 2027", date(2026, 10, 8))]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("calendar-bad-rrule.ics", "invalid iCalendar"),
        ("calendar-runaway.ics", "more than 10,000 event occurrences"),  # FREQ=MINUTELY, cut off, not expanded
        ("missing.ics", "cannot read"),
        ("named_children_posts.jsonl", "not an iCalendar file"),
        ("ftp://files.example/cal.ics", "only http(s) URLs and files"),
    ],
)
def test_calendar_errors_name_the_school_and_the_calendar(tmp_path, source, message):
    raw = CONFIG.model_dump(by_alias=True)
    raw["schools"] = [{"id": "fict-primary", "name": "Fictional Primary", "head_email": "head@fict.example.sch.uk",
                       "calendars": [source if "://" in source else str(DATA / source)]}]
    config = parse_config(raw, str(tmp_path / "trust.yaml"))
    loaded = load_school_events(config, config.school("fict-primary"), date(2026, 9, 1), date(2026, 12, 1))
    [error] = loaded.errors
    assert error.startswith("school 'fict-primary': calendar ")
    assert message in error


def test_relative_calendar_paths_are_relative_to_the_config_file(tmp_path):
    (tmp_path / "cals").mkdir()
    (tmp_path / "cals" / "school.ics").write_bytes((DATA / "calendar-recurring.ics").read_bytes())
    raw = CONFIG.model_dump(by_alias=True)
    raw["schools"] = [{"id": "fict-primary", "name": "Fictional Primary", "head_email": "head@fict.example.sch.uk",
                       "calendars": ["cals/school.ics"]}]
    raw["trust"]["calendars"] = [f"file://{tmp_path / 'cals' / 'school.ics'}"]
    config = parse_config(raw, str(tmp_path / "trust.yaml"))
    loaded = load_school_events(config, config.school("fict-primary"), date(2026, 10, 5), date(2026, 10, 12))
    assert loaded.errors == ()
    assert len(loaded.events) == 2  # the same file once as the school's and once as the trust's calendar


def test_the_simulators_calendar_over_http_matches_its_posts(simulator):
    """The demo's .ics (fetched over a real socket) expands to the days the simulator's posts promote."""
    from socialaudit.simulator.dataset import DEMO_CALENDARS

    raw = CONFIG.model_dump(by_alias=True)
    raw["schools"] = [{"id": "st-aidans", "name": "St Aidan's", "head_email": "head@st-aidans.example.sch.uk",
                       "calendars": [f"{simulator.url}/calendar/st-aidans.ics", f"{simulator.url}/calendar/nowhere.ics"]}]
    raw["demo"] = {**(raw.get("demo") or {}), "simulator": simulator.url}  # the one internal origin calendars may open
    config = parse_config(raw, "test")
    start, end = date(2026, 9, 1), date(2026, 12, 31)
    loaded = load_school_events(config, config.school("st-aidans"), start, end)
    assert loaded.errors == (f"school 'st-aidans': calendar {simulator.url}/calendar/nowhere.ics: HTTP 404",)
    [entry] = DEMO_CALENDARS["st-aidans"]
    assert [e.date for e in loaded.events] == entry.occurrences(start, end)
    assert {e.kind for e in loaded.events} == {"open_evening"}


# --- through the pipeline, against the simulator ------------------------------------------------

def test_the_demo_shows_promotion_in_its_weeks(audit_env):
    """Collection reaches back over the lead time, calendars load in the pipeline, and the demo's
    schools come out as designed: St Aidan's promotes its open mornings, Holy Cross never promotes
    its weekly Mass, St Joseph's calendar address is gone."""
    from socialaudit import pipeline

    store = audit_env.store()
    for week in (IsoWeek.parse("2026-W47"), IsoWeek.parse("2026-W44")):
        run_id = f"test-events-{week}"
        pipeline.plan(week, run_id, audit_env)
        results = {}
        for school_id in ("st-aidans", "holy-cross", "st-josephs"):
            pipeline.collect_school(school_id, week, run_id, audit_env)
            pipeline.check_school(school_id, week, run_id, audit_env)
            results[school_id] = {r.check: r for r in store.results_for(week, school_id)}["event_promotion"]
        aidans = results["st-aidans"]
        assert aidans.status is Status.PASS, aidans.summary
        [morning] = [e for e in aidans.metrics["events"] if e["in_week"] and e["title"].startswith("Open morning")]
        assert morning["state"] == "promoted" and morning["post_url"]
        monday = week.monday
        assert monday - timedelta(days=14) <= date.fromisoformat(morning["promoted_on"]) < monday  # from the week before
        holy = results["holy-cross"]
        assert holy.status is Status.FAIL
        assert any(f.severity is Severity.BREACH and "Parish Mass with Year 5" in f.message for f in holy.findings)
        joseph = results["st-josephs"]
        assert joseph.status is Status.NOT_EVALUATED
        assert "school 'st-josephs': calendar http://127.0.0.1:" in joseph.summary and "HTTP 404" in joseph.summary
        # the other checks still ran for St Joseph's
        assert "post_frequency" in {r.check for r in store.results_for(week, "st-josephs")}


def test_calendars_differing_only_in_their_query_are_kept_apart_without_their_token():
    """Review finding: two calendars whose addresses differ only in the query string shared one raw
    folder, so one body overwrote the other in the sealed run and a replay fed both the same body."""
    from socialaudit.calendars import kept_as
    from socialaudit.raw import folder_name

    parish = "https://calendar.example.org/feed.ics?cat=parish&token=s3cr3t-parish"
    sport = "https://calendar.example.org/feed.ics?cat=sport&token=s3cr3t-sport"
    names = {folder_name(kept_as(parish)), folder_name(kept_as(sport))}
    assert len(names) == 2
    assert not any("s3cr3t" in n or "token" in n for n in names)  # the query's token never names a folder
    assert kept_as("https://school.example.sch.uk/events.ics") == "https://school.example.sch.uk/events.ics"
    long = "https://calendar.example.org/" + "x" * 300 + ".ics"
    assert folder_name(kept_as(long + "?a=1")) != folder_name(kept_as(long + "?a=2"))  # the hash survives the cut
