"""The Bluesky collector against the simulated AppView over real sockets; facets with UTF-8 byte
offsets (emoji first); every embed type, unknown ones tolerated; reposts, replies, comments, faults."""

from __future__ import annotations

from datetime import timedelta

import pytest

from collectors import bluesky
from collectors._base import AccountUnavailable, AuthError, MalformedResponse, TransientError, UnsafeResponse
from socialaudit.simulator import social
from tests.collectors.conftest import SINCE
from tests.conftest import SIM_NOW

REFERENCE_TEXT = ("Year 4 planting our new sensory garden \U0001F331 Summer Fair tickets: "
                  "staidans.example.sch.uk/summer-fa... #SchoolGarden")
REFERENCE_FACETS = [
    {"index": {"byteStart": 65, "byteEnd": 101},
     "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://staidans.example.sch.uk/summer-fair"}]},
    {"index": {"byteStart": 102, "byteEnd": 115}, "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "SchoolGarden"}]},
]


def collect(sim, handle, session, **kwargs):
    return bluesky.collect(handle, school="good", session=session, since=kwargs.pop("since", SINCE), until=SIM_NOW,
                           base_url=f"{sim.url}/bluesky", **kwargs)


def test_facet_byte_offsets_after_an_emoji_replace_the_truncated_link():
    # platforms.md's reference post: the 🌱 is four UTF-8 bytes, so character offsets would be 3 off
    text, links = bluesky.expand_facets(REFERENCE_TEXT, REFERENCE_FACETS)
    assert links == ["https://staidans.example.sch.uk/summer-fair"]
    assert text == ("Year 4 planting our new sensory garden \U0001F331 Summer Fair tickets: "
                    "https://staidans.example.sch.uk/summer-fair #SchoolGarden")
    # slicing the str with the byte offsets would have cut elsewhere: the test above would fail
    assert REFERENCE_TEXT[65:101] != "staidans.example.sch.uk/summer-fa..."


@pytest.mark.parametrize("facets", [
    [{"index": {"byteStart": 60, "byteEnd": 500}, "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://a.example/"}]}],
    [{"index": {"byteStart": 40, "byteEnd": 42}, "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://a.example/"}]}],
    [{"index": {}, "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://a.example/"}]}],
])
def test_impossible_facet_ranges_keep_the_text_and_the_link(facets):
    # beyond the end; splitting the 4-byte emoji (bytes 39-42); no index at all
    text, links = bluesky.expand_facets(REFERENCE_TEXT, facets)
    assert text == REFERENCE_TEXT and links == ["https://a.example/"]


def test_embed_views_give_media_with_alt_text_and_link_cards():
    images = {"$type": "app.bsky.embed.images#view", "images": [{"fullsize": "https://cdn/1", "alt": "A choir"},
                                                                {"fullsize": "https://cdn/2", "alt": ""}]}
    media, links = bluesky.embed_media_links(images)
    assert [(m.type, m.alt) for m in media] == [("photo", "A choir"), ("photo", None)]
    media, _ = bluesky.embed_media_links({"$type": "app.bsky.embed.recordWithMedia#view", "record": {}, "media": images})
    assert len(media) == 2
    media, _ = bluesky.embed_media_links({"$type": "app.bsky.embed.gallery#view", "items": [{"thumbnail": "t", "alt": "x"}]})
    assert media[0].alt == "x"
    media, _ = bluesky.embed_media_links({"$type": "app.bsky.embed.video#view", "playlist": "p.m3u8", "alt": "Sports day"})
    assert media[0].type == "video" and media[0].alt == "Sports day"
    assert bluesky.embed_media_links({"$type": "app.bsky.embed.external#view", "external": {"uri": "https://x.example/a"}}) == (
        [], ["https://x.example/a"])
    assert bluesky.embed_media_links({"$type": "app.bsky.embed.hologram#view", "beams": 3}) == ([], [])
    assert bluesky.embed_media_links(None) == ([], [])


def test_collects_the_feed_with_cursor_paging_reposts_replies_and_comments(sim, session, archive):
    since = SIM_NOW - timedelta(weeks=20)
    result = collect(sim, "good.example.sch.uk", session, archive=archive, since=since)
    assert result.pages >= 2 and result.skipped == 0  # 100 a page: twenty weeks need more than one
    posts = result.posts
    assert all(since <= p.created_at < SIM_NOW for p in posts) and len({p.id for p in posts}) == len(posts)
    own = [p for p in posts if not p.is_repost]
    assert all(p.url.startswith("https://bsky.app/profile/good.example.sch.uk/post/") for p in own)
    reposts = [p for p in posts if p.is_repost]
    assert reposts and all("diocese-of-northmoor.example.org" in p.url for p in reposts)
    assert any(p.is_reply for p in posts)
    # links come from facets, complete, after the emoji the simulator puts before each one
    linked = [p for p in own if p.links]
    assert linked and all(link in p.text for p in linked for link in p.links if link.startswith("https://www.gov.uk"))
    assert not any(p.text.count("...") for p in linked)
    # images, recordWithMedia and gallery embeds all give alt text; unknown embed types did not break anything
    photos = [m for p in own for m in p.media]
    assert photos and any(m.alt for m in photos)
    assert any(p.comments for p in own)
    assert all(c.url.startswith("https://bsky.app/profile/") for p in own for c in p.comments)
    assert all(not c.id.endswith("-blocked") for p in own for c in p.comments)
    assert archive.saved[0]["url"].startswith(f"{sim.url}/bluesky/xrpc/app.bsky.feed.getAuthorFeed")


def test_a_malformed_item_is_skipped_and_the_page_kept(sim, session):
    result = collect(sim, "bsky-bad-item.bsky.social", session)
    assert result.skipped >= 1 and len(result.posts) > 10


def test_an_account_that_hides_from_logged_out_viewers_is_respected(sim, session):
    with pytest.raises(AccountUnavailable, match="no-unauthenticated"):
        collect(sim, "hidden.bsky.social", session)


@pytest.mark.parametrize("fault, error, message", [
    ("unknown", AccountUnavailable, "Profile not found"),
    ("401", AuthError, "AuthMissing"),
    ("500", TransientError, "HTTP 500"),
    ("429", TransientError, "rate limited"),
    ("slow", TransientError, "Timeout"),
    ("truncated", TransientError, "cut short"),
    ("malformed", MalformedResponse, "not valid JSON"),
    ("gzip-bomb", UnsafeResponse, "compressed bomb"),
])
def test_faults_become_the_right_error(sim, session, fault, error, message):
    with pytest.raises(error, match=message):
        collect(sim, f"bsky-{fault}.bsky.social", session)


def test_faults_that_pass_are_survived(sim, session, sleeps):
    social.reset_counters()
    assert collect(sim, "bsky-flaky.bsky.social", session).posts
    assert collect(sim, "bsky-429-once.bsky.social", session).posts
    assert session.stats["retries"] >= 1 and session.stats["rate_limit_waits"] >= 1
    assert all(s <= 2.0 for s in sleeps.calls)  # Retry-After: 2


def test_a_rerun_upserts_without_duplicates(sim, session, store):
    first = collect(sim, "good.example.sch.uk", session)
    store.upsert_posts(first.posts, run_id="run-1")
    store.upsert_posts(collect(sim, "good.example.sch.uk", session).posts, run_id="run-2")
    assert store.count_posts() == len(first.posts)
