"""Plain-words actions for the accounts and calendars the audit could not read."""

from __future__ import annotations

import pytest

from socialaudit import advice
from socialaudit.models import AccountCollection, CheckResult, CollectionStatus, Status


@pytest.mark.parametrize(("platform", "account", "status", "raw", "said", "todo"), [
    ("rss", "https://school.example/feed/", CollectionStatus.UNAVAILABLE, "feed https://school.example/feed/ answered HTTP 404",
     "Your website feed https://school.example/feed/ answers 'not found' (404)", "web provider"),
    ("rss", "https://school.example/feed/", CollectionStatus.ERROR, "feed answered HTTP 410",
     "answers 'not found' (410)", "web provider"),
    ("bluesky", "old.bsky.social", CollectionStatus.UNAVAILABLE, "InvalidRequest: Profile not found",
     "Your Bluesky account @old.bsky.social says the account does not exist", "still exists"),
    ("x", "SchoolFict", CollectionStatus.AUTH_FAILED, "HTTP 401 Unauthorized",
     "refuses to be read (401)", "renews the platform connection"),
    ("facebook", "schoolfict", CollectionStatus.AUTH_FAILED, "OAuthException: token expired",
     "did not accept the trust's credentials", "renews the platform connection"),
    ("youtube", "@school", CollectionStatus.ERROR, "ReadTimeout: timed out after 5 attempts",
     "Your YouTube channel @school did not answer in time", "if this repeats"),
    ("mastodon", "@s@m.example", CollectionStatus.ERROR, "HTTP 503 after 5 attempts",
     "answered with an error (503)", "if this repeats"),
    ("instagram", "school", CollectionStatus.NOT_COLLECTED, "", "was not collected this week", "if this repeats"),
])
def test_each_account_failure_is_said_in_plain_words_with_its_own_action(platform, account, status, raw, said, todo):
    got = advice.for_account(platform, account, status, raw)
    assert said in got.what and todo in got.action
    assert got.details == raw  # the raw reason is kept for the details
    assert "config" not in got.action and "yaml" not in got.action  # a head never edits the trust's files


def test_unread_lists_accounts_then_calendars_and_nothing_for_what_was_collected():
    collections = [
        AccountCollection(school="s", platform="x", account="A", status=CollectionStatus.UNAVAILABLE, message="not found"),
        AccountCollection(school="s", platform="rss", account="https://s.example/feed/", status=CollectionStatus.OK),
        AccountCollection(school="s", platform="bluesky", account="b.bsky.social", status=CollectionStatus.PARTIAL),
    ]
    events = CheckResult(check="event_promotion", policy="4.4", school="s", status=Status.NOT_EVALUATED, summary="",
                         metrics={"errors": ["school 's': calendar https://s.example/cal.ics: HTTP 404"]})
    got = advice.unread(collections, [events])
    assert [a.policy for a in got] == ["4.1-4.4", "4.4"]
    assert got[0].what.startswith("Your X account @A says the account does not exist")
    assert got[1].what == ("Your events calendar https://s.example/cal.ics answers 'not found' (404), so this week's "
                           "events (policy 4.4) could not be checked.")


def test_a_trust_calendar_is_the_trusts_to_fix_and_ids_are_not_shown_as_handles():
    error = "school 's': calendar https://trust.example/all.ics: HTTP 404"
    trust = advice.for_calendar(error, ["https://trust.example/all.ics?token=secret"])
    assert trust.what.startswith("The trust's events calendar https://trust.example/all.ics answers 'not found' (404)")
    assert "Nothing for the school to do" in trust.action and "secret" not in trust.what + trust.action
    mine = advice.for_calendar(error, [])
    assert mine.what.startswith("Your events calendar") and "whoever publishes it" in mine.action
    channel = advice.for_account("youtube", "UC0123456789abcdefghijkl", CollectionStatus.UNAVAILABLE, "channel not found")
    page = advice.for_account("facebook", "103570949120812", CollectionStatus.UNAVAILABLE, "page not found")
    assert "@UC0123" not in channel.what and "@1035" not in page.what
    assert "@stjosephs" in advice.for_account("x", "stjosephs", CollectionStatus.UNAVAILABLE, "not found").what
