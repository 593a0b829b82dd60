"""post_frequency (policy 4.3): original posts per ISO week in Europe/London, across accounts."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from checks._base import run_checks
from socialaudit.config import DEFAULT_CONFIG, load_config
from socialaudit.models import AccountCollection, CollectionStatus, Status
from socialaudit.weeks import IsoWeek

CONFIG = load_config(DEFAULT_CONFIG)
SCHOOL = CONFIG.school("st-aidans")
W47 = IsoWeek.parse("2026-W47")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


def run(posts, *, week=W47, collections=(), config=CONFIG, school=SCHOOL):
    [result] = run_checks(school, posts, week=week, config=config, collections=collections, names=["post_frequency"])
    return result


def texts(n):
    return [f"Post number {i}: our pupils did something quite different today, number {i}." for i in range(n)]


@pytest.mark.parametrize(("count", "status"), [(0, Status.FAIL), (2, Status.FAIL), (3, Status.PASS), (7, Status.PASS)])
def test_threshold(make_post, count, status):
    posts = [make_post(id=f"p{i}", text=t, created_at=utc(2026, 11, 17, 9 + i)) for i, t in enumerate(texts(count))]
    result = run(posts)
    assert result.status is status
    assert result.metrics["posts"] == count
    if status is Status.FAIL:
        [finding] = result.findings
        assert finding.policy == "4.3"
        assert f"{count} original post" in finding.message
    else:
        assert result.findings == ()


def test_replies_and_reposts_do_not_count(make_post):
    posts = [make_post(id="a", text=texts(1)[0]),
             make_post(id="b", text=texts(2)[1], is_reply=True),
             make_post(id="c", text=texts(3)[2], is_repost=True)]
    assert run(posts).metrics["posts"] == 1


def test_crossposts_of_the_same_text_count_once(make_post):
    text = "Year 6 investigated pendulums today. Great predictions from everyone! https://t.example/abc"
    posts = [make_post(platform="rss", account="site", id="1", text=text),
             make_post(platform="mastodon", account="@s@m.example", id="2", text=text.replace("https://t.example/abc", "https://t.example/xyz").upper()),
             make_post(platform="x", account="S", id="3", text="Thanks!")]
    result = run(posts)
    assert result.metrics["posts"] == 2
    assert result.metrics["crossposts_merged"] == 1
    assert result.metrics["per_account"] == {"mastodon:@s@m.example": 1, "rss:site": 1, "x:S": 1}


@pytest.mark.parametrize(
    ("created", "counted"),
    [
        (utc(2026, 11, 16, 0, 0), True),  # Monday 00:00 GMT: first instant of W47
        (utc(2026, 11, 15, 23, 59), False),  # Sunday 23:59 GMT: W46
        (utc(2026, 11, 22, 23, 59), True),  # Sunday 23:59 GMT: last minute of W47
        (utc(2026, 11, 23, 0, 0), False),  # Monday 00:00: W48
    ],
)
def test_week_boundaries_in_winter(make_post, created, counted):
    result = run([make_post(created_at=created, text=texts(1)[0])])
    assert result.metrics["posts"] == (1 if counted else 0)


@pytest.mark.parametrize(
    ("created", "counted"),
    [
        (utc(2026, 6, 21, 23, 30), True),  # 00:30 BST Monday 22 June: inside W26
        (utc(2026, 6, 21, 22, 30), False),  # 23:30 BST Sunday: W25, although it is the 21st in UTC either way
        (utc(2026, 6, 28, 22, 59), True),  # 23:59 BST Sunday 28 June: still W26
    ],
)
def test_week_boundaries_in_summer_time(make_post, created, counted):
    result = run([make_post(created_at=created, text=texts(1)[0])], week=IsoWeek.parse("2026-W26"))
    assert result.metrics["posts"] == (1 if counted else 0)


def test_week_with_the_clocks_going_back(make_post):
    # W43 2026 ends on Sunday 25 October, when BST ends at 02:00; the week is 169 hours long
    posts = [make_post(id=str(i), text=t, created_at=c) for i, (t, c) in enumerate(zip(texts(3), [
        utc(2026, 10, 18, 23, 5),  # Monday 00:05 BST
        utc(2026, 10, 25, 1, 30),  # Sunday 01:30 GMT (after the change)
        utc(2026, 10, 25, 23, 59),  # Sunday 23:59 GMT: last minute
    ], strict=False))]
    assert run(posts, week=IsoWeek.parse("2026-W43")).status is Status.PASS


def test_failed_collection_makes_a_short_count_not_evaluated(make_post):
    failed = AccountCollection(school="st-aidans", platform="rss", account="feed", status=CollectionStatus.UNAVAILABLE,
                               message="feed answered HTTP 404")
    result = run([make_post(text=texts(1)[0])], collections=[failed])
    assert result.status is Status.NOT_EVALUATED
    assert result.findings == ()
    assert "could not be collected" in result.summary


def test_failed_collection_does_not_hide_a_pass(make_post):
    failed = AccountCollection(school="st-aidans", platform="x", account="S", status=CollectionStatus.ERROR)
    posts = [make_post(id=str(i), text=t) for i, t in enumerate(texts(3))]
    assert run(posts, collections=[failed]).status is Status.PASS


def test_holiday_week_is_not_applicable(make_post):
    # 2026-W44 (26-30 October) is October half term in the demo trust's calendar
    result = run([], week=IsoWeek.parse("2026-W44"))
    assert result.status is Status.NOT_APPLICABLE
    assert "half term" in result.summary


def test_school_override_of_the_threshold(make_post):
    raw = CONFIG.model_dump(by_alias=True)
    raw["schools"][0]["checks"] = {"post_frequency": {"min_posts_per_week": 5}}
    from socialaudit.config import parse_config

    config = parse_config(raw, "test")
    posts = [make_post(id=str(i), text=t) for i, t in enumerate(texts(4))]
    assert run(posts, config=config, school=config.school("st-aidans")).status is Status.FAIL


def test_unknown_setting_is_an_error_result_naming_it(make_post):
    raw = CONFIG.model_dump(by_alias=True)
    raw["trust"]["checks"] = {"post_frequency": {"min_post_per_week": 5}}
    from socialaudit.config import parse_config

    with pytest.raises(ValueError, match="unknown setting 'min_post_per_week'"):
        run([], config=parse_config(raw, "test"))


# --- the term calendar: whole, part and shared holiday weeks --------------------------------------

def _with_holidays(*holidays):
    raw = CONFIG.model_dump(by_alias=True)
    raw["trust"]["holidays"] = [{"name": n, "from": a, "to": b} for n, a, b in holidays]
    from socialaudit.config import parse_config

    return parse_config(raw, "test")


SUMMER = ("Summer holiday", "2026-07-22", "2026-09-02")  # from a Wednesday to a Wednesday


@pytest.mark.parametrize(
    ("week", "holidays", "posts", "status", "target", "days"),
    [
        ("2026-W30", [SUMMER], 2, Status.PASS, 2, 2),  # Mon 20 and Tue 21 July are school days
        ("2026-W30", [SUMMER], 1, Status.FAIL, 2, 2),
        ("2026-W31", [SUMMER], 0, Status.NOT_APPLICABLE, 0, 0),  # wholly in the holiday
        ("2026-W36", [SUMMER], 1, Status.FAIL, 2, 2),  # back on Thursday 3 September
        ("2026-W36", [SUMMER], 2, Status.PASS, 2, 2),
        ("2026-W37", [SUMMER], 2, Status.FAIL, 3, 5),  # the first full week back
        # a holiday ending on the Monday leaves 4 school days: 3 x 4 / 5 rounded up is still 3
        ("2026-W44", [("Half term", "2026-10-19", "2026-10-26")], 2, Status.FAIL, 3, 4),
        # a holiday over the weekend only changes nothing
        ("2026-W44", [("Long weekend", "2026-10-31", "2026-11-01")], 3, Status.PASS, 3, 5),
        # two holidays sharing a week (half term, then INSET days) make it a holiday week
        ("2026-W44", [("Half term", "2026-10-21", "2026-10-28"), ("INSET days", "2026-10-29", "2026-10-30")],
         0, Status.NOT_APPLICABLE, 0, 0),
        ("2026-W44", [("Half term", "2026-10-26", "2026-10-28")], 1, Status.FAIL, 2, 2),  # 3 x 2 / 5 = 1.2, rounded up
    ],
)
def test_term_calendar(make_post, week, holidays, posts, status, target, days):
    iso = IsoWeek.parse(week)
    config = _with_holidays(*holidays)
    start, _ = iso.bounds("Europe/London")
    made = [make_post(id=str(i), text=t, created_at=start.replace(hour=9) + timedelta(days=3, hours=i))
            for i, t in enumerate(texts(posts))]
    result = run(made, week=iso, config=config, school=config.school("st-aidans"))
    assert result.status is status, result.summary
    assert result.metrics["school_days"] == days
    assert result.metrics["minimum"] == target
    if 0 < days < 5:
        assert f"{days} school days" in result.summary
    if status is Status.NOT_APPLICABLE:
        assert all(name in result.summary for name, _, _ in holidays)


def test_the_demo_trusts_holidays():
    # Christmas 21 December to 1 January: W52 and W53 of 2026 are both holiday weeks
    for week in ("2026-W52", "2026-W53"):
        assert run([], week=IsoWeek.parse(week)).status is Status.NOT_APPLICABLE
    assert run([], week=IsoWeek.parse("2027-W01")).status is Status.FAIL  # back on Monday 4 January


# --- what the school report and email show: the 8-week trend and the count per account ------------

def test_school_report_shows_the_trend_and_per_account_counts(make_post, store):
    from socialaudit import mail, reports
    from socialaudit.models import AccountCollection, CollectionStatus

    config = _with_holidays(("October half term", "2026-10-26", "2026-10-30"))
    school = config.school("st-aidans")
    week = IsoWeek.parse("2026-W47")
    for n, w in enumerate(week.previous(8)):
        start, _ = w.bounds("Europe/London")
        posts = [make_post(platform="rss", account="https://st-aidans.example.sch.uk/feed/", id=f"{w}-{i}",
                           text=t, created_at=start + timedelta(days=1, hours=9 + i)) for i, t in enumerate(texts(n % 5))]
        if w == week:
            posts.append(make_post(platform="x", account="StAidansFict", id="x1", text="A different post on X today, about Year 5.",
                                   created_at=start + timedelta(days=2, hours=10)))
        results = run_checks(school, posts, week=w, config=config, names=["post_frequency"])
        store.save_results(w, school.id, results, run_id="test")
    store.record_collections(week, school.id, [
        AccountCollection(school=school.id, platform="rss", account="https://st-aidans.example.sch.uk/feed/",
                          status=CollectionStatus.OK, posts=30),
        AccountCollection(school=school.id, platform="x", account="StAidansFict", status=CollectionStatus.OK, posts=9),
        AccountCollection(school=school.id, platform="mastodon", account="@staidans@mastodon.example",
                          status=CollectionStatus.UNAVAILABLE, message="gone")], run_id="test")
    view = reports.school_view(config, school, week, store)
    assert [t["week"] for t in view["trend"]] == [str(w) for w in week.previous(8)]
    assert [t["posts"] for t in view["trend"]] == [0, 1, 2, 3, 4, 0, 1, 3]  # W47: 2 on the website + 1 on X
    half_term = next(t for t in view["trend"] if t["week"] == "2026-W44")
    assert half_term["holiday"] and half_term["status"] == "not_applicable"
    assert sorted((c["account"], c["week_posts"], c["posts"]) for c in view["collections"]) == [
        ("@staidans@mastodon.example", 0, 0), ("StAidansFict", 1, 9), ("https://st-aidans.example.sch.uk/feed/", 2, 30)]
    html = reports.render("school.html", **view)
    assert "Original posts this week" in html and "holiday" in html
    message = mail.build_school_email(view, config)
    text = next(part.get_content() for part in message.walk() if part.get_content_type() == "text/plain")
    assert "StAidansFict: Collected (1 original post this week)" in text
    assert "2026-W44" in text and "holiday" in text
