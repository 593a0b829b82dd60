"""The Bluesky collector against real AppView responses kept by atproto.dart's and the atproto Python
SDK's test suites (see recorded/SOURCES.md), served from a loopback server through the real session."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import pytest

from collectors import bluesky
from collectors._base import CollectionResult
from socialaudit.models import CollectionStatus, parse_utc
from tests.collectors.social_sim import Account
from tests.replay.server import Recorded, ReplayServer, file_response, replay_session

JSON = "application/json; charset=utf-8"
FEED = "/xrpc/app.bsky.feed.getAuthorFeed"
THREAD = "/xrpc/app.bsky.feed.getPostThread"
AUTHOR_FEED = "bluesky/atproto.dart/getAuthorFeed.json"  # @person01.fict.example's feed (pseudonymised), 25 items, with a cursor
WINDOW = (datetime(2023, 4, 29, tzinfo=timezone.utc), datetime(2023, 5, 1, tzinfo=timezone.utc))


def collect(server: ReplayServer, actor: str, window: tuple[datetime, datetime] = WINDOW) -> CollectionResult:
    return bluesky.collect(Account(actor), school="st-fict", session=replay_session(server), since=window[0],
                           until=window[1], base_url=server.url)


def feed_of_thread(relative: str) -> Recorded:
    """A getAuthorFeed page holding the recorded thread's own post view, unchanged: ``{"feed": [{"post":
    thread.post}]}`` (a feed item carries the same PostView), so the collector asks for that thread."""
    thread = file_response(relative, JSON).json()["thread"]
    return Recorded(status=200, body=json.dumps({"feed": [{"post": thread["post"]}]}).encode(),
                    headers=(("content-type", JSON),), source=f"feed of {relative}")


@pytest.fixture(scope="module")
def feed_server():
    with ReplayServer() as server:
        server.add(FEED, file_response(AUTHOR_FEED, JSON))
        yield server


def test_a_recorded_author_feed_is_read_field_for_field(feed_server):
    recorded = [item for item in file_response(AUTHOR_FEED, JSON).json()["feed"]
                if WINDOW[0] <= parse_utc(item["post"]["record"]["createdAt"]) < WINDOW[1]]
    result = collect(feed_server, "person01.fict.example")

    assert result.pages == 1 and not result.stopped
    assert result.skipped == 12 and all(p.startswith("comments of post at://") for p in result.problems)  # threads not recorded
    assert len(result.posts) == len(recorded) == 24
    by_id = {post.id: post for post in result.posts}
    for item in recorded:
        view, record = item["post"], item["post"]["record"]
        post = by_id[view["uri"]]
        assert post.created_at == parse_utc(record["createdAt"])
        assert post.url == f"https://bsky.app/profile/{view['author']['handle']}/post/{view['uri'].rsplit('/', 1)[1]}"
        assert post.text == record["text"]  # its only link facets frame their own full URI
        assert post.is_reply == ("reply" in record)
        assert post.is_repost == ("reason" in item)
    assert sum(post.is_repost for post in result.posts) == 1  # the other repost is of a post older than the window
    assert sum(post.is_reply for post in result.posts) == 20


def test_images_without_alt_text_are_photos_with_no_alt(feed_server):
    result = collect(feed_server, "person01.fict.example")
    (post,) = [p for p in result.posts if p.text == "A treasure trove! 🐩"]
    assert [(m.type, m.alt) for m in post.media] == [("photo", None), ("photo", None)]  # recorded "alt": ""
    assert post.media[0].url.startswith("https://cdn.bsky.social/imgproxy/D91foD_SxIPjaST3zNdmRuuFIgdvqb_xTWDOIslPNR8/")


def test_link_facets_are_byte_offsets_and_a_link_card_adds_no_second_copy(feed_server):
    """The text before the two link facets is Japanese (three bytes a character): slicing it by
    character would cut the URLs; by byte it gives back the recorded text exactly."""
    result = collect(feed_server, "person01.fict.example")
    (post,) = [p for p in result.posts if p.text.startswith("ブロックしたら")]
    uri = "https://psky.app/profile/person13.fict.example/post/3juk5phzpf62w"
    assert post.text.endswith(f"\n\n{uri} {uri}")
    assert post.links == (uri,)
    assert post.media == ()


def test_threads_the_recording_does_not_hold_leave_their_posts_standing(feed_server):
    """Twelve of the account's own posts in the window have replies; the recording holds none of their threads (the
    replay's own 404 for each). Each post stands without comments: a thread that cannot be found is
    not a reason to lose the account's feed (before, the first 404 failed the whole account). The account is
    partial, and each reason names its post in one line, as Facebook's and Instagram's do."""
    own_with_replies = [item for item in file_response(AUTHOR_FEED, JSON).json()["feed"]
                        if "reason" not in item and item["post"]["replyCount"]
                        and WINDOW[0] <= parse_utc(item["post"]["record"]["createdAt"]) < WINDOW[1]]
    before = len(feed_server.requests)
    result = collect(feed_server, "person01.fict.example")
    asked = [r for r in feed_server.requests[before:] if r.startswith(THREAD)]
    assert len(asked) == len(own_with_replies) == 12
    assert all(post.comments == () for post in result.posts)
    assert len(result.posts) == 24  # nothing collected is lost
    summary = result.summary("st-fict", "bluesky", "person01.fict.example")
    assert summary.status is CollectionStatus.PARTIAL and summary.skipped == 12
    first = own_with_replies[0]["post"]["uri"]
    assert f"comments of post {first} not read: HTTP 404 (no error body)" in result.problems
    assert sorted(problem.split()[3] for problem in result.problems) == sorted(i["post"]["uri"] for i in own_with_replies)
    assert "\n" not in summary.message


def test_a_cursor_to_a_page_the_recording_does_not_hold_keeps_the_first_page(feed_server):
    result = collect(feed_server, "person01.fict.example", (datetime(2023, 4, 28, tzinfo=timezone.utc), WINDOW[1]))

    assert any("cursor=1682809172466%3A%3Abafyreihdpdn7uiqmshzb2y4o67gzy2aeairq6phuk476k2oidhy2p5dbwu" in r
               for r in feed_server.requests)
    assert result.pages == 1 and len(result.posts) == 25
    summary = result.summary("st-fict", "bluesky", "person01.fict.example")
    assert summary.status is CollectionStatus.PARTIAL
    assert summary.message.startswith("partly collected (1 page(s) kept): page 2 failed: bluesky person01.fict.example: HTTP 404")


def test_a_recorded_thread_becomes_the_posts_comments_blocked_and_missing_replies_skipped():
    relative = "bluesky/atproto.dart/find_post_thread.json"
    root = file_response(relative, JSON).json()["thread"]["post"]
    with ReplayServer() as server:
        server.add(FEED, feed_of_thread(relative))
        server.add(THREAD, file_response(relative, JSON), uri=root["uri"])
        (post,) = collect(server, "person23.fict.example",
                          (datetime(2023, 4, 21, tzinfo=timezone.utc), datetime(2023, 4, 22, tzinfo=timezone.utc))).posts

    assert post.links == ("https://bluesky-heatmap.fly.dev/",)  # the facet and the card (in recordWithMedia) agree
    assert post.media == ()  # the quote's images belong to the quoted post
    assert [(c.author, c.text) for c in post.comments] == [
        ("person24.fict.example", "🔥"),
        ("person27.fict.example", "Thanks, that helps a lot!"),
        ("person28.fict.example", ""),  # an image reply, one level down; its blocked and deleted siblings are skipped
    ]
    assert post.comments[0].url == "https://bsky.app/profile/person24.fict.example/post/3jtvjdinqcm2a"
    assert post.comments[0].created_at == datetime(2023, 4, 21, 17, 16, 55, 17000, tzinfo=timezone.utc)
    assert all(c.post_id == root["uri"] for c in post.comments)


def test_a_quote_with_images_gives_its_images_with_no_alt():
    relative = "bluesky/atproto/thread_view_post_with_embed_media.json"
    with ReplayServer() as server:
        server.add(FEED, feed_of_thread(relative))
        (post,) = collect(server, "test.marshal.dev",
                          (datetime(2023, 9, 28, tzinfo=timezone.utc), datetime(2023, 9, 29, tzinfo=timezone.utc))).posts

    assert post.id == "at://did:plc:kvwvcn5iqfooopmyzvb4qzba/app.bsky.feed.post/3kaheyt6vpc22"
    assert post.url == "https://bsky.app/profile/test.marshal.dev/post/3kaheyt6vpc22"
    assert post.text == ""
    assert [(m.type, m.alt) for m in post.media] == [("photo", None)]
    assert post.media[0].url.endswith("bafkreic3cp5ky525vsukjvrzxsc2h3jka2gud74l2hgeatw2rhj2qycnmq@jpeg")
    assert not any(r.startswith(THREAD) for r in server.requests)  # replyCount 0: no thread asked for


@pytest.mark.parametrize(("status", "body", "detail"), [
    (400, b'{"error":"NotFound","message":"Post not found:\\n deleted"}', "NotFound: Post not found: deleted"),
    (410, b"", "no error body"),
])
def test_a_thread_answered_not_found_leaves_the_post_standing_and_the_account_partial(status, body, detail):
    """The recorded thread's own post in a feed page, its thread answered with AppView's 400 NotFound (the
    message given two lines, as a hostile server might) or a proxy's bare 410: the post stands without
    comments, the account is partial, and the reason names the post in one line."""
    relative = "bluesky/atproto.dart/find_post_thread.json"
    root = file_response(relative, JSON).json()["thread"]["post"]
    with ReplayServer() as server:
        server.add(FEED, feed_of_thread(relative))
        server.add(THREAD, Recorded(status=status, body=body, headers=(("content-type", JSON),), source="not found"),
                   uri=root["uri"])
        result = collect(server, "person23.fict.example",
                         (datetime(2023, 4, 21, tzinfo=timezone.utc), datetime(2023, 4, 22, tzinfo=timezone.utc)))

    (post,) = result.posts
    assert post.id == root["uri"] and post.comments == ()
    assert result.problems == [f"comments of post {root['uri']} not read: HTTP {status} ({detail})"]
    summary = result.summary("st-fict", "bluesky", "person23.fict.example")
    assert summary.status is CollectionStatus.PARTIAL and summary.posts == 1 and "\n" not in summary.message


@pytest.mark.parametrize("relative", [AUTHOR_FEED, "bluesky/atproto.dart/find_post_thread.json"])
def test_the_pseudonymised_recordings_name_only_fictional_people_and_their_facets_still_frame_their_text(relative):
    """tests/replay/pseudonymise.py rewrote atproto.dart's recordings (private people's names, handles, DIDs,
    avatars, image ids and personal texts): every handle is fictional, and every facet's byte range,
    recomputed on the new text, frames its own mention (``@`` + a fictional handle) or link."""
    data = file_response(relative, JSON).json()
    handles, facets = [], []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("handle"), str):
                handles.append(node["handle"])
            if isinstance(node.get("text"), str):
                facets.extend((node["text"].encode(), facet) for facet in node.get("facets") or [])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(data)
    assert handles and all(re.fullmatch(r"person\d\d\.fict\.example", handle) for handle in handles)
    assert facets
    for raw, facet in facets:
        framed = raw[facet["index"]["byteStart"]:facet["index"]["byteEnd"]].decode("utf-8")
        (feature,) = facet["features"]
        if feature["$type"] == "app.bsky.richtext.facet#mention":
            assert re.fullmatch(r"@person\d\d\.fict\.example", framed)
        else:
            assert feature["uri"].startswith(framed.rstrip(".…")) or framed == feature["uri"]
