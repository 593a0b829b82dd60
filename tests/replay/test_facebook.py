"""The Facebook collector against real Graph API responses kept by python-facebook's test suite (see
recorded/SOURCES.md), served from a loopback server through the real session.

python-facebook recorded each endpoint on its own, not one Page's session: the Page lookup is the
Facebook App Page, the posts are Facebook for Developers' (two pages, joined by the ``after``
cursor), the photo read and the comments are of other objects. The replay serves each where our
collector asks for that kind of answer, so the mapping of each recorded shape is tested, not the
ids joining them."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from collectors import facebook
from collectors._base import CollectionResult
from socialaudit.models import CollectionStatus
from tests.collectors.social_sim import Account
from tests.replay.server import Recorded, ReplayServer, file_response, replay_session

SOURCE = "facebook/python-facebook"
JSON = "application/json; charset=UTF-8"
ROOT = "/v25.0"
WINDOW = (datetime(2021, 6, 1, tzinfo=timezone.utc), datetime(2021, 8, 1, tzinfo=timezone.utc))
WITH_COMMENTS = "19292868552_10158316421783553"  # the oldest post: served python-facebook's comment pages


def recorded(name: str, status: int = 200) -> Recorded:
    return file_response(f"{SOURCE}/{name}.json", JSON, status=status)


def posts() -> list[dict]:
    return recorded("feeds_default_fields_p1").json()["data"] + recorded("feeds_default_fields_p2").json()["data"]


@pytest.fixture(scope="module")
def page():
    with ReplayServer() as server:
        server.add(f"{ROOT}/facebookapp", recorded("single_fields_page"))
        server.add(f"{ROOT}/20531316728/published_posts", recorded("feeds_default_fields_p1"))
        server.add(f"{ROOT}/20531316728/published_posts", recorded("feeds_default_fields_p2"), after="after")
        server.add(f"{ROOT}/", recorded("photos_info_fields"))  # the multiple-id read, of two other photos
        server.add(f"{ROOT}/{WITH_COMMENTS}/comments", recorded("comments_p1"))
        server.add(f"{ROOT}/{WITH_COMMENTS}/comments", recorded("comments_p2"), after="after")
        for post in posts()[:-1]:
            # Graph's recorded error 100 ("Object does not exist, cannot be loaded due to missing
            # permission..."); the body is recorded, the HTTP 400 Graph sends with it is ours
            server.add(f"{ROOT}/{post['id']}/comments", recorded("error_data", status=400))
        yield server


@pytest.fixture(scope="module")
def result(page) -> CollectionResult:
    return facebook.collect(Account("facebookapp"), school="st-fict", session=replay_session(page), since=WINDOW[0],
                            until=WINDOW[1], base_url=page.url, credentials={"token": "replay-token"})


def test_two_recorded_pages_of_posts_are_read_field_for_field(page, result):
    assert any(r.endswith("&after=after") and "/published_posts?" in r for r in page.requests)  # the cursor
    assert result.pages == 2 and len(result.posts) == 10
    by_id = {post.id: post for post in result.posts}
    for item in posts():
        post = by_id[item["id"]]
        assert post.url == item["permalink_url"]
        assert post.created_at == datetime.strptime(item["created_time"], "%Y-%m-%dT%H:%M:%S%z")
        assert post.text == item["message"]
        assert (post.is_reply, post.is_repost) == (False, False)


def test_photos_videos_and_shared_links_come_from_the_attachments(result):
    by_id = {post.id: post for post in result.posts}
    photo = by_id["19292868552_10158349356748553"]
    assert [m.type for m in photo.media] == ["photo"]
    assert photo.media[0].url.startswith("https://scontent-ssn1-1.xx.fbcdn.net/v/t1.6435-9/p720x720/211801276_")
    assert photo.links == ("https://fb.me/Ninja-Van-Success-Story",)  # written in the message; the photo page is not a link
    video = by_id["19292868552_10158333323653553"]
    assert [m.type for m in video.media] == ["video"]
    assert not any("facebook.com/FacebookforDevelopers/videos" in link for link in video.links)  # its own video page
    share = by_id["19292868552_10158347294088553"]
    assert share.media == ()
    assert any(link.startswith("https://engineering.fb.com/2021/05/20/networking-traffic/peering-automation/")
               for link in share.links)  # the unshimmed link, not l.facebook.com's redirect


def test_an_alt_text_read_without_the_photos_asked_for_leaves_them_undescribed(result):
    """The recorded multiple-id read holds two other photos: each photo of ours is noted, none invented."""
    assert all(m.alt is None for post in result.posts for m in post.media)
    assert any(problem.startswith("photo 10158349355013553: no alt text node returned") for problem in result.problems)


def test_comments_without_ids_and_posts_whose_comments_graph_refuses_keep_every_post(result):
    """python-facebook recorded comments without ``id`` (it did not ask for one): each is skipped with
    that reason. Graph's error 100 on the other posts' comments leaves those posts standing (before,
    the first such error failed the whole Page and lost its ten posts)."""
    assert len(result.posts) == 10 and all(post.comments == () for post in result.posts)
    assert f"comment on {WITH_COMMENTS}: no id" in result.problems
    assert result.skipped == 15 + 9  # the two recorded comment pages, and nine posts' refused comments
    refused = [p for p in result.problems if p.startswith("comments of post ")]
    assert refused and "Graph error 100" in refused[0] and "\n" not in refused[0]
    summary = result.summary("st-fict", "facebook", "facebookapp")
    assert summary.status is CollectionStatus.PARTIAL and summary.posts == 10
