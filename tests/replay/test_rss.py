"""The RSS/Atom collector against real feeds kept by rss-parser's test suite (see recorded/SOURCES.md):
a Medium feed, a Blogger feed served through FeedBurner, heise's Atom feed, a podcast feed with
RSS paging links and a Brazilian news feed with Portuguese dates, each served byte for byte from a
loopback server through the real session."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from collectors import rss
from collectors._base import CollectionResult
from socialaudit.models import CollectionStatus
from tests.collectors.social_sim import Account
from tests.replay.server import ReplayServer, file_response, replay_session

SOURCE = "rss/rss-parser"
EVER = (datetime(2000, 1, 1, tzinfo=timezone.utc), datetime(2030, 1, 1, tzinfo=timezone.utc))
FEEDS = {"content-encoded.rss": "application/rss+xml", "feedburner.atom": "application/atom+xml",
         "heise.atom": "application/atom+xml", "pagination-links.rss": "application/rss+xml",
         "uolNoticias.rss": "application/rss+xml"}


@pytest.fixture(scope="module")
def feeds():
    with ReplayServer() as server:
        for name, content_type in FEEDS.items():
            server.add(f"/{name}", file_response(f"{SOURCE}/{name}", content_type))
        yield server


def collect(server: ReplayServer, name: str, window: tuple[datetime, datetime] = EVER) -> CollectionResult:
    """The feed at its replay address; the hosts its recorded next links name are pinned to the replay."""
    url = f"{server.url}/{name}"
    account = Account(url)
    account.url = url
    return rss.collect(account, school="st-fict", session=replay_session(server, pinned=("www.blogger.com", "example.org")),
                       since=window[0], until=window[1])


def test_a_medium_feed_gives_its_photos_and_not_its_tracking_pixels(feeds):
    result = collect(feeds, "content-encoded.rss")

    assert len(result.posts) == 7 and result.skipped == 0
    newest = result.posts[-1]
    assert newest.id == "https://medium.com/p/125af37d838f"
    assert newest.url == "https://medium.com/invironment/the-creative-forager-125af37d838f?source=rss----d12c403d4976--food"
    assert newest.created_at == datetime(2018, 4, 9, 18, 55, 38, tzinfo=timezone.utc)
    assert newest.text.startswith("THE CREATIVE FORAGER Using Wild Ingredients in the Kitchen")
    assert "https://www.amazon.com/dp/0692095446/" in newest.links
    # each item ends with <img src="https://medium.com/_/stat?event=post.clientViewed..." width="1" height="1">
    assert body_of("content-encoded.rss").count(b'https://medium.com/_/stat?event=post.clientViewed') == 7
    media = [m for post in result.posts for m in post.media]
    assert len(media) == 13 and all(m.type == "photo" for m in media)
    assert not any("medium.com/_/stat" in m.url for m in media)
    assert newest.media[0].url == "https://cdn-images-1.medium.com/max/938/1*C_nVpehD-NKBgtVEULabmQ.jpeg"
    assert newest.media[0].alt == ""  # Medium writes alt="": kept as the feed says it


def test_a_feedburner_blogger_page_keeps_its_posts_when_its_next_page_fails(feeds):
    """The feed's rel="next" names www.blogger.com (pinned to the replay, which does not hold page 2 and
    answers its own 404): the 25 posts of page 1 are kept and the account is partial, saying why
    (before, a 404 there was taken for the end of a WordPress feed and the account looked complete)."""
    result = collect(feeds, "feedburner.atom")

    assert feeds.requests[-1] == ("/feeds/7815614485808579332/posts/default/-/adwords_api/-/adwords_api"
                                  "?start-index=26&max-results=25")
    assert result.pages == 1 and len(result.posts) == 25
    summary = result.summary("st-fict", "rss", "blog")
    assert summary.status is CollectionStatus.PARTIAL
    assert summary.message.startswith("partly collected (1 page(s) kept): page 2 failed: ")
    assert "HTTP 404" in summary.message and "\n" not in summary.message
    newest = result.posts[-1]
    assert newest.id == "tag:blogger.com,1999:blog-7815614485808579332.post-8394866751819460570"
    assert newest.url == ("http://feedproxy.google.com/~r/blogspot/lQlzL/~3/Zjf41PDVLAc/"
                          "adwords-and-dfp-java-client-library.html")
    assert newest.created_at == datetime(2016, 6, 3, 14, 38, tzinfo=timezone.utc)  # recorded with -07:00
    assert newest.text.startswith("AdWords and DFP Java client library will soon require Java 7+")
    assert newest.links[0] == "https://github.com/googleads/googleads-java-lib"
    # every entry ends with FeedBurner's 1x1 counter (feeds.feedburner.com/~r/.../~4/...): none is a photo
    media = [m for post in result.posts for m in post.media]
    assert len(media) == 19 and not any("feeds.feedburner.com" in m.url for m in media)
    assert all(m.url.startswith("https://lh") and m.alt is None for m in media)  # Blogger's images, no alt written


def test_atom_images_keep_their_alt_text(feeds):
    result = collect(feeds, "heise.atom")

    assert len(result.posts) == 15 and result.skipped == 0 and not result.stopped
    newest = result.posts[-1]
    assert newest.id == "http://heise.de/-3088438"
    assert newest.created_at == datetime(2016, 2, 1, 16, 22, tzinfo=timezone.utc)
    assert newest.text.startswith("Java-Anwendungsserver: Red Hat gibt WildFly 10 frei Die nun verfügbare Version 10")
    assert [(m.type, m.alt) for m in newest.media] == [("photo", "WildFly 10")]
    assert sum(1 for post in result.posts for m in post.media if m.alt) == 12


def test_an_rss_next_link_that_fails_keeps_the_page_and_a_time_zone_is_honoured(feeds):
    result = collect(feeds, "pagination-links.rss")

    assert feeds.requests[-1] == "/index.atom?page=4"  # the channel's atom:link rel="next" on example.org
    (post,) = result.posts
    assert post.id == "a6f22abe-be5c-4a37-8f4b-8be3d69b0235"  # guid isPermaLink="false"
    assert post.url == "https://example.test/episode?id=283843"
    assert post.created_at == datetime(2021, 1, 21, 7, 58, tzinfo=timezone.utc)  # 18:58 +1100
    assert post.media == ()  # an audio enclosure is not a photo or a video
    assert result.summary("st-fict", "rss", "podcast").status is CollectionStatus.PARTIAL


def test_dates_in_portuguese_are_skipped_with_their_reason_not_guessed(feeds):
    result = collect(feeds, "uolNoticias.rss")

    assert result.posts == [] and result.skipped == 15
    assert result.problems[0] == "item 1: no usable date ('Seg, 24 Set 2018 19:42:40 -0300')"
    summary = result.summary("st-fict", "rss", "uol")
    assert summary.status is CollectionStatus.PARTIAL and "15 malformed item(s) skipped" in summary.message


def body_of(name: str) -> bytes:
    return file_response(f"{SOURCE}/{name}", FEEDS[name]).body
