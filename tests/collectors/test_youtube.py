"""The YouTube collector against the simulator over real sockets: the channel feed (hardened XML) and
the Data API v3 (pageToken paging, quota, bad key), with the key kept out of every message."""

from __future__ import annotations

from datetime import timedelta

import pytest

from collectors import youtube
from collectors._base import AccountUnavailable, AuthError, MalformedResponse, TransientError, UnsafeResponse
from socialaudit.config import Account
from socialaudit.simulator.platform_youtube import channel_id
from tests.collectors.conftest import SINCE
from tests.conftest import SIM_NOW

KEY = "AIzaFictionalKey-0123456789"


def account(slug: str, **kwargs) -> Account:
    return Account(platform="youtube", url=f"https://www.youtube.com/channel/{channel_id(slug)}", **kwargs)


def collect(sim, acct, session, **kwargs):
    return youtube.collect(acct, school="good", session=session, since=kwargs.pop("since", SINCE), until=SIM_NOW,
                           base_url=f"{sim.url}/youtube", **kwargs)


def test_the_channel_is_found_in_urls_and_handles():
    assert youtube.channel_of(account("good-yt")) == (channel_id("good-yt"), "")
    assert youtube.channel_of(Account(platform="youtube", url="https://www.youtube.com/feeds/videos.xml?channel_id=UCabc")) == ("UCabc", "")
    assert youtube.channel_of(Account(platform="youtube", handle="@stmarys")) == ("", "@stmarys")
    assert youtube.channel_of(Account(platform="youtube", url="https://www.youtube.com/@stmarys/videos")) == ("", "@stmarys")


def test_the_feed_gives_the_newest_videos_with_descriptions_and_links(sim, session, archive):
    result = collect(sim, account("good-yt"), session, archive=archive, since=SIM_NOW - timedelta(weeks=60))
    assert result.pages == 1 and result.skipped == 0
    assert 1 <= len(result.posts) <= 15  # the feed has the 15 newest uploads and no paging
    post = result.posts[-1]
    assert post.platform == "youtube" and post.url == f"https://www.youtube.com/watch?v={post.id}"
    assert post.media[0].type == "video" and post.media[0].url.endswith("/hqdefault.jpg") and post.media[0].alt is None
    with_links = [p for p in result.posts if p.links]
    assert all(p.url not in p.links for p in result.posts)
    assert all(link.startswith("https://") and link in p.text for p in with_links for link in p.links)
    assert archive.saved[0]["url"].startswith(f"{sim.url}/youtube/feeds/videos.xml")


def test_a_malformed_entry_is_skipped(sim, session):
    result = collect(sim, account("yt-bad-item"), session, since=SIM_NOW - timedelta(weeks=60))
    assert result.skipped == 1 and "not a date" in result.problems[0] and len(result.posts) == 14


def test_the_api_pages_with_page_tokens_and_keeps_the_key_out_of_the_archive_meta(sim, session, archive):
    since = SIM_NOW - timedelta(weeks=40)
    result = collect(sim, account("good-yt"), session, archive=archive, since=since, credentials={"token": KEY})
    assert result.pages >= 2  # 50 a page: forty weeks of two or three videos a week
    assert all(since <= p.created_at < SIM_NOW for p in result.posts) and len(result.posts) > 50
    feed = collect(sim, account("good-yt"), session, since=since)
    assert {p.id for p in feed.posts} <= {p.id for p in result.posts}  # same videos, more of them
    assert all("/youtube/v3/playlistItems" in a["url"] for a in archive.saved)


def test_the_api_resolves_a_handle(sim, session):
    result = collect(sim, Account(platform="youtube", handle="@goodschool"), session, credentials={"token": KEY})
    assert result.posts
    with pytest.raises(AccountUnavailable, match="no channel has the handle"):
        collect(sim, Account(platform="youtube", handle="@nobodyhere"), session, credentials={"token": KEY})


def test_a_handle_without_a_key_asks_for_one(sim, session):
    with pytest.raises(AuthError, match="socialaudit_youtube"):
        collect(sim, Account(platform="youtube", handle="@goodschool"), session)


def test_quota_exceeded_is_transient_and_a_bad_key_is_an_auth_error(sim, session):
    with pytest.raises(TransientError, match="quota exceeded") as caught:
        collect(sim, account("yt-quota"), session, credentials={"token": KEY})
    assert isinstance(caught.value, youtube.QuotaExceeded)
    with pytest.raises(AuthError, match="API key not valid") as refused:
        collect(sim, account("good-yt"), session, credentials={"token": "bad-key-123"})
    assert "bad-key-123" not in str(refused.value)


def test_the_key_never_appears_in_a_transient_error(sim, sleeps):
    from collectors._http import HttpPolicy, make_session

    session = make_session(policy=HttpPolicy(retries=1), sleep=sleeps, secrets=(KEY,), allow=(sim.url,))
    with pytest.raises(TransientError) as caught:
        collect(sim, account("yt-500"), session, credentials={"token": KEY})
    assert KEY not in str(caught.value) and "key=" not in str(caught.value)


@pytest.mark.parametrize("fault, error, message", [
    ("unknown", AccountUnavailable, "twice"),
    ("500", TransientError, "HTTP 500"),
    ("429", TransientError, "rate limited"),
    ("slow", TransientError, "Timeout"),
    ("truncated", TransientError, "cut short"),
    ("malformed", MalformedResponse, "not an Atom feed"),
    ("bomb", UnsafeResponse, "XML bomb"),
    ("gzip-bomb", UnsafeResponse, "compressed bomb"),
])
def test_feed_faults_become_the_right_error(sim, session, fault, error, message):
    with pytest.raises(error, match=message):
        collect(sim, account(f"yt-{fault}"), session)


def test_a_rerun_upserts_without_duplicates(sim, session, store):
    first = collect(sim, account("good-yt"), session, since=SIM_NOW - timedelta(weeks=60))
    store.upsert_posts(first.posts, run_id="run-1")
    store.upsert_posts(collect(sim, account("good-yt"), session, since=SIM_NOW - timedelta(weeks=60)).posts, run_id="run-2")
    assert store.count_posts() == len(first.posts)
