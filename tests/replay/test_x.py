"""The X collector against real X API v2 responses recorded by tweepy and python-twitter (see
recorded/SOURCES.md), served from a loopback server through the real session."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from collectors import x
from collectors._base import AccountUnavailable, CollectionResult
from socialaudit.models import CollectionStatus
from tests.collectors.social_sim import Account
from tests.replay.server import ReplayServer, file_response, load_cassette, one, replay_session

TOKEN = {"token": "replay-token"}
JSON = "application/json; charset=utf-8"
# well after the recordings: no post is young enough for recent search, so no reply search is made
LATER = datetime(2024, 1, 1, tzinfo=timezone.utc).timestamp()


def collect(server: ReplayServer, handle: str, since: datetime, until: datetime) -> CollectionResult:
    return x.collect(Account(handle), school="st-fict", session=replay_session(server, now=LATER), since=since,
                     until=until, base_url=server.url, credentials=TOKEN)


@pytest.fixture(scope="module")
def tweepy_server():
    """tweepy's cassettes: the user lookup and one timeline page, both recorded gzip-compressed."""
    user = one(load_cassette("x/tweepy/test_client_get_user.yaml"), "GET", "/2/users/by/username/Twitter")
    tweets = one(load_cassette("x/tweepy/test_client_get_users_tweets.yaml"), "GET", "/2/users/783214/tweets")
    with ReplayServer() as server:
        server.add_interaction(user).add_interaction(tweets)
        yield server


@pytest.fixture(scope="module")
def twitterdev_server():
    """python-twitter's recordings: @TwitterDev's user object and a page of its timeline (with created_at)."""
    with ReplayServer() as server:
        server.add("/2/users/by/username/TwitterDev", file_response("x/python-twitter/user_resp.json", JSON))
        server.add("/2/users/2244994945/tweets", file_response("x/python-twitter/timeline_tweets.json", JSON))
        yield server


def test_a_recorded_timeline_is_read_field_for_field(twitterdev_server):
    recorded = file_response("x/python-twitter/timeline_tweets.json", JSON).json()["data"]
    result = collect(twitterdev_server, "TwitterDev", datetime(2021, 2, 1, tzinfo=timezone.utc),
                     datetime(2021, 3, 1, tzinfo=timezone.utc))

    assert len(result.posts) == len(recorded) == 5
    by_id = {post.id: post for post in result.posts}
    for item in recorded:
        post = by_id[item["id"]]
        assert post.created_at == datetime.fromisoformat(item["created_at"].replace("Z", "+00:00"))
        assert post.url == f"https://x.com/TwitterDev/status/{item['id']}"
        assert post.text == " ".join(item["text"].split())  # whitespace folded, nothing else changed
        assert (post.media, post.is_reply, post.is_repost) == ((), False, False)
    first = by_id["1364275610764201984"]
    assert first.created_at == datetime(2021, 2, 23, 18, 7, 7, tzinfo=timezone.utc)
    assert first.text.startswith("If you're newly approved for the Academic Research product track")
    # the recording did not ask for entities, so its t.co link stays in the text and is not a link
    assert first.links == () and first.text.endswith("https://t.co/SQziibOD9P")


def test_the_next_page_a_recording_points_to_but_does_not_hold_keeps_the_first(twitterdev_server):
    """meta.next_token is followed; the replay has no second page (its own 404): page 1 is kept and the
    account says why it is partial."""
    result = collect(twitterdev_server, "TwitterDev", datetime(2021, 2, 1, tzinfo=timezone.utc),
                     datetime(2021, 3, 1, tzinfo=timezone.utc))

    assert any("pagination_token=7140dibdnow9c7btw3w3itbygz8uu5pbs45oy6erjc2ls" in r for r in twitterdev_server.requests)
    assert result.pages == 1 and len(result.posts) == 5
    summary = result.summary("st-fict", "x", "TwitterDev")
    assert summary.status is CollectionStatus.PARTIAL
    assert summary.message.startswith("partly collected (1 page(s) kept): page 2 failed:")
    assert "\n" not in summary.message


def test_a_window_with_nothing_in_it_still_reads_the_recording(twitterdev_server):
    result = collect(twitterdev_server, "TwitterDev", datetime(2021, 3, 1, tzinfo=timezone.utc),
                     datetime(2021, 3, 8, tzinfo=timezone.utc))
    assert result.posts == [] and result.skipped == 0


def test_tweepy_gzip_recordings_are_inflated_and_a_missing_created_at_is_a_skip_with_its_reason(tweepy_server):
    """tweepy recorded its timeline without tweet.fields, so no post has created_at: each one is skipped
    with a reason (it cannot be placed in a week), never guessed, and nothing raises."""
    result = collect(tweepy_server, "Twitter", datetime(2022, 1, 1, tzinfo=timezone.utc),
                     datetime(2023, 1, 1, tzinfo=timezone.utc))

    assert tweepy_server.requests[0].startswith("/2/users/by/username/Twitter?")
    assert tweepy_server.requests[1].startswith("/2/users/783214/tweets?")  # the id from the gzip body
    assert result.posts == []
    assert result.skipped == 2
    assert result.problems[:2] == ["page 1 item 1: no created_at", "page 1 item 2: no created_at"]
    summary = result.summary("st-fict", "x", "Twitter")
    assert summary.status is CollectionStatus.PARTIAL
    assert "2 malformed item(s) skipped" in summary.message


def test_an_unrecorded_account_fails_alone_with_one_line(tweepy_server):
    """A user the recording does not hold: the replay's 404, which the collector reads as unavailable."""
    with pytest.raises(AccountUnavailable) as caught:
        collect(tweepy_server, "NoSuchFict", datetime(2022, 1, 1, tzinfo=timezone.utc),
                datetime(2023, 1, 1, tzinfo=timezone.utc))
    assert "\n" not in str(caught.value) and "404" in str(caught.value)
