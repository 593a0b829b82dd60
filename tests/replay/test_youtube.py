"""The YouTube collector (Data API v3, with a key) against real responses kept by python-youtube's test
suite (see recorded/SOURCES.md), served from a loopback server through the real session.

python-youtube recorded a playlist of Google Developers' channel (``PLOU2X...``), two pages joined by
``nextPageToken``; the replay serves them as that channel's uploads playlist (``UU...``), which is what
our collector asks for. They were recorded with ``part=snippet`` only, so ``contentDetails`` is absent."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from collectors import youtube
from collectors._base import AuthError, CollectionResult
from socialaudit.models import CollectionStatus, Media, parse_utc
from tests.collectors.social_sim import Account
from tests.replay.server import ReplayServer, file_response, replay_session

SOURCE = "youtube/python-youtube"
JSON = "application/json; charset=UTF-8"
CHANNEL = "https://www.youtube.com/channel/UC_x5XG1OV2P6uZZ5FSM9Ttw"
ITEMS = "/youtube/v3/playlistItems"
WINDOW = (datetime(2019, 11, 1, tzinfo=timezone.utc), datetime(2019, 12, 1, tzinfo=timezone.utc))


def collect(server: ReplayServer) -> CollectionResult:
    account = Account(CHANNEL)
    account.url = CHANNEL
    return youtube.collect(account, school="st-fict", session=replay_session(server), since=WINDOW[0], until=WINDOW[1],
                           base_url=server.url, credentials={"token": "replay-key"})


def test_two_recorded_pages_of_a_playlist_are_read_field_for_field():
    pages = [file_response(f"{SOURCE}/playlist_items_paged_{n}.json", JSON) for n in (1, 2)]
    with ReplayServer() as server:
        server.add(ITEMS, pages[0])
        server.add(ITEMS, pages[1], pageToken="CAoQAA")
        result = collect(server)

    assert "playlistId=UU_x5XG1OV2P6uZZ5FSM9Ttw" in server.requests[0]  # UC -> UU: the channel's uploads
    assert "&pageToken=CAoQAA&" in server.requests[1]
    assert result.pages == 2 and result.skipped == 0 and len(result.posts) == 13
    by_id = {post.id: post for post in result.posts}
    for item in pages[0].json()["items"] + pages[1].json()["items"]:
        snippet = item["snippet"]
        video = snippet["resourceId"]["videoId"]
        post = by_id[video]
        assert post.url == f"https://www.youtube.com/watch?v={video}"
        # no contentDetails.videoPublishedAt in this recording: the playlist's publishedAt is the time
        assert post.created_at == parse_utc(snippet["publishedAt"])
        assert post.text.startswith(snippet["title"])
        assert post.media == (Media(type="video", url=snippet["thumbnails"]["high"]["url"], alt=None),)
    first = by_id["CvTApw9X8aA"]
    assert first.links == ("https://goo.gle/339pgbR", "https://goo.gle/developers")
    assert result.summary("st-fict", "youtube", CHANNEL).status is CollectionStatus.OK


@pytest.mark.parametrize(("name", "status", "words"), [
    ("error_response.json", 400, "the API key was refused (keyInvalid: Bad Request)"),
    ("error_permission_resp.json", 403, "the API refused the request (SERVICE_UNAVAILABLE: The caller does not have permission)"),
])
def test_recorded_api_errors_fail_the_account_in_one_line(name, status, words):
    with ReplayServer() as server:
        server.add(ITEMS, file_response(f"{SOURCE}/{name}", JSON, status=status))  # the status is the body's own code
        with pytest.raises(AuthError) as caught:
            collect(server)
    assert str(caught.value) == f"youtube {CHANNEL}: {words}"
