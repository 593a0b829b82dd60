"""The Instagram collector (own-media path) against real Graph API responses kept by python-facebook's
test suite (see recorded/SOURCES.md), served from a loopback server through the real session.

As for Facebook, python-facebook recorded each endpoint on its own: the token's account, two pages of
its media (joined by the ``after`` cursor) and two pages of another media's comments, which the replay
serves where our collector asks for a media's comments."""

from __future__ import annotations

from datetime import datetime, timezone

from collectors import instagram
from collectors._base import CollectionResult
from socialaudit.models import CollectionStatus
from tests.collectors.social_sim import Account
from tests.replay.server import Recorded, ReplayServer, file_response, replay_session

SOURCE = "instagram/python-facebook"
JSON = "application/json; charset=UTF-8"
ROOT = "/v25.0"
USER_ID = "17841407673135339"  # facebookfordevelopers, the token's own account in the recording
WITH_COMMENTS = "17896622936197745"  # the one media with comments_count above zero
WINDOW = (datetime(2021, 6, 1, tzinfo=timezone.utc), datetime(2021, 9, 1, tzinfo=timezone.utc))


def recorded(name: str, status: int = 200) -> Recorded:
    return file_response(f"{SOURCE}/{name}.json", JSON, status=status)


def collect(comments: list[tuple[Recorded, dict[str, str]]]) -> tuple[ReplayServer, CollectionResult]:
    with ReplayServer() as server:
        server.add(f"{ROOT}/me", recorded("users_user_fields"))
        server.add(f"{ROOT}/{USER_ID}/media", recorded("users_medias_p1"))
        server.add(f"{ROOT}/{USER_ID}/media", recorded("users_medias_p2"), after="after")
        for response, query in comments:
            server.add(f"{ROOT}/{WITH_COMMENTS}/comments", response, **query)
        result = instagram.collect(Account("facebookfordevelopers"), school="st-fict", session=replay_session(server),
                                   since=WINDOW[0], until=WINDOW[1], base_url=server.url,
                                   credentials={"token": "replay-token", "extra": {"ig_user_id": ""}})
    return server, result


def test_two_recorded_pages_of_media_with_a_carousel_and_comments():
    server, result = collect([(recorded("medias_comments_p1"), {}), (recorded("medias_comments_p2"), {"after": "after"})])

    assert any(r.startswith(f"{ROOT}/{USER_ID}/media?") and r.endswith("&after=after") for r in server.requests)
    assert result.pages == 2 and result.skipped == 0
    assert [p.id for p in result.posts] == ["17893085207160254", "17896129349106152", "17896622936197745",
                                            "17895731045244887"]  # oldest first
    peach, album, commented, newest = result.posts
    assert newest.url == "https://www.instagram.com/p/CSgf9BChwVq/"
    assert newest.created_at == datetime(2021, 8, 13, 8, 25, 28, tzinfo=timezone.utc)
    assert newest.text == "" and [m.type for m in newest.media] == ["photo"]
    assert peach.text == "Peach new"
    # a carousel is its children: two photos and a video, none with alt text in this recording
    assert (album.text, [(m.type, m.alt) for m in album.media]) == (
        "ALBUM", [("photo", None), ("photo", None), ("video", None)])
    assert album.media[2].url.startswith("https://video-gmp1-1.cdninstagram.com/")
    # the comments, both pages of them (through their cursor)
    assert [(c.id, c.text) for c in commented.comments] == [
        ("17858154961981086", "Beautiful!"), ("17874875428706419", "Beautiful!"),
        ("17892250648466172", "@ikroskun  Hey, guys"), ("17914413430382429", "@ikroskun")]
    assert commented.comments[0].created_at == datetime(2020, 6, 1, 10, 56, 52, tzinfo=timezone.utc)
    assert result.summary("st-fict", "instagram", "facebookfordevelopers").status is CollectionStatus.OK


def test_comments_graph_refuses_leave_the_media_standing():
    """Graph's recorded error 100 (python-facebook's ``error_data.json``; the HTTP 400 is ours) for the
    media's comments: the media is kept without them and the account is partial, saying why (before,
    the error failed the whole account)."""
    error = file_response("facebook/python-facebook/error_data.json", JSON, status=400)
    _, result = collect([(error, {})])

    assert len(result.posts) == 4
    summary = result.summary("st-fict", "instagram", "facebookfordevelopers")
    assert summary.status is CollectionStatus.PARTIAL
    assert f"comments of media {WITH_COMMENTS} not read: " in summary.message and "Graph error 100" in summary.message
    assert "\n" not in summary.message
