"""The Mastodon collector against real responses of a Mastodon server, recorded by Mastodon.py's test
suite on its own test instance (``localhost:3000``; see recorded/SOURCES.md), served from a loopback
server through the real session. The recorded ``Link`` headers name ``localhost:3000``: the replay
session pins that host to the replay server, so the recorded next-page URL is followed as it is."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timezone

import pytest

from collectors import mastodon
from collectors._base import AccountUnavailable, CollectionResult
from socialaudit.models import CollectionStatus
from tests.collectors.social_sim import Account
from tests.replay.server import Interaction, Recorded, ReplayServer, load_cassette, one, replay_session

CASSETTES = "mastodon/mastodonpy"
ACCOUNT_ID = "117020565966271181"  # mastodonpy_test on the recording instance
STATUSES = f"/api/v1/accounts/{ACCOUNT_ID}/statuses"
DAY = (datetime(2026, 8, 1, tzinfo=timezone.utc), datetime(2026, 8, 2, tzinfo=timezone.utc))


def cassette(name: str) -> list[Interaction]:
    return load_cassette(f"{CASSETTES}/{name}.yaml")


def lookup() -> Interaction:
    return one(cassette("test_account_lookup"), "GET", "/api/v1/accounts/lookup", acct="mastodonpy_test")


def as_timeline(status: Interaction) -> Recorded:
    """A recorded single Status (a POST's or GET's answer) as a one-status timeline page: ``[`` + the
    recorded body, unchanged + ``]`` (the timeline returns the same Status entity in a list)."""
    return replace(status.response, body=b"[" + status.response.body + b"]", source=f"[{status.response.source}]")


@contextmanager
def serving(*routes: tuple[str, Recorded | Interaction, dict[str, str]]) -> Iterator[ReplayServer]:
    with ReplayServer() as server:
        server.add_interaction(lookup())
        for path, response, query in routes:
            if isinstance(response, Interaction):
                server.add_interaction(response, path)
            else:
                server.add(path, response, **query)
        yield server


def collect(server: ReplayServer, handle: str = "mastodonpy_test", window: tuple[datetime, datetime] = DAY) -> CollectionResult:
    return mastodon.collect(Account(handle), school="st-fict", session=replay_session(server, pinned=("localhost",)),
                            since=window[0], until=window[1], base_url=server.url)


@pytest.fixture(scope="module")
def paged():
    page1, page2 = cassette("test_fetch_next_previous")
    with serving((STATUSES, page1, {}), (STATUSES, page2, {})) as server:
        yield server


def test_two_recorded_pages_are_read_field_for_field_through_the_recorded_link_header(paged):
    # the window starts between the two pages' toots, so paging stops after page 2 on its own
    result = collect(paged, window=(datetime(2026, 8, 1, 13, 52, 33, 300000, tzinfo=timezone.utc), DAY[1]))

    assert paged.requests[2] == f"{STATUSES}?limit=5&max_id=117020580489281910"  # the recorded next link
    assert result.pages == 2 and result.skipped == 0 and not result.stopped
    assert [p.text for p in result.posts] == [f"Toot number {n}!" for n in range(2, 10)]
    first = result.posts[0]
    assert first.id == "117020580467310235"
    assert first.created_at == datetime(2026, 8, 1, 13, 52, 33, 322000, tzinfo=timezone.utc)
    assert first.url == "http://localhost:3000/@mastodonpy_test/117020580467310235"
    assert (first.media, first.links, first.is_reply, first.is_repost) == ((), (), False, False)
    assert result.summary("st-fict", "mastodon", "mastodonpy_test").status is CollectionStatus.OK


def test_a_next_page_the_recording_does_not_hold_keeps_the_pages_before_it(paged):
    """Page 2's Link header points to a third page that was never recorded (the replay's own 404):
    the ten toots of pages 1 and 2 are kept and the account is partial, saying why."""
    result = collect(paged)

    assert result.pages == 2 and len(result.posts) == 10
    summary = result.summary("st-fict", "mastodon", "mastodonpy_test")
    assert summary.status is CollectionStatus.PARTIAL
    assert summary.message.startswith("partly collected (2 page(s) kept): page 3 failed: mastodon mastodonpy_test: HTTP 404")


def test_a_boost_has_the_boosted_statuses_own_permalink():
    """The recorded boost wrapper's url is the ActivityPub ``.../activity`` address; the permalink is
    the boosted status's ``url``."""
    boost = one(cassette("test_status_reblog_unreblog"), "POST", "/reblog")
    assert boost.response.json()["url"].endswith("/statuses/117020586027094262/activity")
    with serving((STATUSES, as_timeline(boost), {})) as server:
        (post,) = collect(server).posts

    assert post.id == "117020586027094262" and post.is_repost
    assert post.url == "http://localhost:3000/@mastodonpy_test/117020586019094258"
    assert post.text == "Toot!"
    assert post.created_at == datetime(2026, 8, 1, 13, 53, 58, 160000, tzinfo=timezone.utc)


def test_media_with_alt_text_are_photos_with_their_descriptions():
    status = one(cassette("test_media_post_multiple"), "POST", "/api/v1/statuses")
    with serving((STATUSES, as_timeline(status), {})) as server:
        (post,) = collect(server).posts

    assert post.text == "LOL check this out"
    assert [(m.type, m.alt) for m in post.media] == [("photo", "John Lennon doing a funny walk"),
                                                      ("photo", "hololives #1 detective, watson ameliachan")]
    assert post.media[0].url.startswith("http://localhost:3000/system/media_attachments/files/117/020/576/646/493/592/")
    assert post.links == ()  # the attachments' own files are media, not links


def test_a_link_card_and_the_link_in_the_content_are_one_link():
    status = one(cassette("test_status_card"), "GET", "/api/v1/statuses/117020609135389699")
    with serving((STATUSES, as_timeline(status), {})) as server:
        (post,) = collect(server).posts

    assert post.text == "http://example.org/"  # the invisible spans joined, not split
    assert post.links == ("http://example.org/",)
    assert post.url == "http://localhost:3000/@mastodonpy_test/117020609135389699"


def test_an_unknown_account_is_the_recorded_404_in_one_line():
    missing = one(cassette("test_account_lookup"), "GET", "/api/v1/accounts/lookup", acct="kljadklajsdkljlkjlkjlkjasdasd")
    with serving() as server:
        server.add_interaction(missing)
        with pytest.raises(AccountUnavailable) as caught:
            collect(server, handle="kljadklajsdkljlkjlkjlkjasdasd")
    assert str(caught.value) == "mastodon kljadklajsdkljlkjlkjlkjasdasd: HTTP 404 (Record not found)"


@pytest.mark.parametrize("status", [404, 410])
def test_a_status_whose_replies_cannot_be_read_stands_and_the_account_is_partial_naming_it(status):
    """The recorded card status, said to have a reply (``replies_count`` 1, the only change), whose
    context answers the recorded 404 "Record not found" (or a 410 with the same body): the status
    stands without comments, the account is partial, and the reason names the status in one line,
    as Facebook's and Instagram's do (before, it was dropped silently and the account looked complete)."""
    recorded = one(cassette("test_status_card"), "GET", "/api/v1/statuses/117020609135389699")
    body = recorded.response.json() | {"replies_count": 1}
    timeline = replace(recorded.response, body=json.dumps([body]).encode(), source=f"[{recorded.response.source}] replies_count 1")
    gone = one(cassette("test_account_lookup"), "GET", "/api/v1/accounts/lookup", acct="kljadklajsdkljlkjlkjlkjasdasd")
    context = "/api/v1/statuses/117020609135389699/context"
    with serving((STATUSES, timeline, {}), (context, replace(gone.response, status=status), {})) as server:
        result = collect(server)
        assert any(r.startswith(context) for r in server.requests)

    (post,) = result.posts
    assert post.id == "117020609135389699" and post.comments == ()
    assert result.problems == [f"comments of status 117020609135389699 not read: HTTP {status} (Record not found)"]
    summary = result.summary("st-fict", "mastodon", "mastodonpy_test")
    assert summary.status is CollectionStatus.PARTIAL and summary.posts == 1
    assert "comments of status 117020609135389699 not read" in summary.message and "\n" not in summary.message
