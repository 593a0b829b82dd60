"""The Mastodon collector against the simulated instance over real sockets, plus the field mapping
on the reference status from platforms.md."""

from __future__ import annotations

from datetime import timedelta

import pytest

from collectors import mastodon
from collectors._base import AccountUnavailable, AuthError, MalformedResponse, TransientError, UnsafeResponse
from socialaudit.simulator import social
from tests.collectors.conftest import SINCE
from tests.conftest import SIM_NOW

REFERENCE = {
    "id": "113998877665544332", "created_at": "2025-03-14T09:30:12.345Z", "in_reply_to_id": None,
    "spoiler_text": "", "url": "https://mastodon.example/@staidans/113998877665544332", "replies_count": 2,
    "content": "<p>Year 4 planting our new sensory garden \U0001F331 Summer Fair tickets: <a href=\"https://staidans.example.sch.uk/summer-fair\" "
               "target=\"_blank\" rel=\"nofollow noopener\" translate=\"no\"><span class=\"invisible\">https://</span>"
               "<span class=\"\">staidans.example.sch.uk/summer-fair</span><span class=\"invisible\"></span></a> "
               "<a href=\"https://mastodon.example/tags/SchoolGarden\" class=\"mention hashtag\" rel=\"tag\">#<span>SchoolGarden</span></a></p>",
    "reblog": None,
    "media_attachments": [{"id": "1", "type": "image", "url": "https://files.mastodon.example/original/a1.jpg",
                           "description": "Three pupils in green jumpers planting lavender in a raised bed"},
                          {"id": "2", "type": "gifv", "url": "https://files.mastodon.example/original/a2.mp4", "description": None}],
    "card": {"url": "https://staidans.example.sch.uk/summer-fair", "title": "Summer Fair 2025"},
}


def collect(sim, handle, session, **kwargs):
    return mastodon.collect(f"@{handle}@mastodon.example", school="good", session=session, since=kwargs.pop("since", SINCE),
                            until=SIM_NOW, base_url=f"{sim.url}/mastodon", **kwargs)


def test_reference_status_maps_to_a_post():
    post, replies = mastodon.parse_status(REFERENCE, account="@staidans@mastodon.example", school="st-aidans")
    assert post.id == "113998877665544332"
    assert post.url == "https://mastodon.example/@staidans/113998877665544332"
    assert post.created_at.isoformat() == "2025-03-14T09:30:12.345000+00:00"
    # the link's text is split into invisible spans; the hashtag is not a link
    assert post.text == ("Year 4 planting our new sensory garden \U0001F331 Summer Fair tickets: "
                         "https://staidans.example.sch.uk/summer-fair #SchoolGarden")
    assert post.links == ("https://staidans.example.sch.uk/summer-fair",)
    assert [(m.type, m.alt) for m in post.media] == [
        ("photo", "Three pupils in green jumpers planting lavender in a raised bed"), ("video", None)]
    assert replies == 2 and not post.is_reply and not post.is_repost


def test_content_warning_boost_and_reply_are_marked():
    warned, _ = mastodon.parse_status({**REFERENCE, "spoiler_text": "Photos of pupils"}, account="a", school="s")
    assert warned.text.startswith("CW: Photos of pupils Year 4")
    reply, _ = mastodon.parse_status({**REFERENCE, "in_reply_to_id": "1"}, account="a", school="s")
    assert reply.is_reply
    boost, _ = mastodon.parse_status({**REFERENCE, "id": "9", "content": "", "url": None, "media_attachments": [],
                                      "reblog": REFERENCE}, account="a", school="s")
    assert boost.is_repost and boost.text.startswith("Year 4 planting") and boost.url == REFERENCE["url"]
    # as recorded from real instances: the wrapper carries its ActivityPub activity address as its url
    wrapped, _ = mastodon.parse_status({**REFERENCE, "id": "10", "content": "", "media_attachments": [], "reblog": REFERENCE,
                                        "uri": "https://mastodon.example/users/school/statuses/10/activity",
                                        "url": "https://mastodon.example/users/school/statuses/10/activity"},
                                       account="a", school="s")
    assert wrapped.is_repost and wrapped.url == REFERENCE["url"]


def test_collects_the_window_following_link_headers_with_comments(sim, session, archive):
    since = SIM_NOW - timedelta(weeks=12)
    result = collect(sim, "goodschool", session, archive=archive, since=since)
    assert result.pages >= 2  # 40 a page: twelve weeks of posts, replies and boosts need more than one
    assert result.skipped == 0
    assert all(since <= p.created_at < SIM_NOW for p in result.posts)
    assert [p.created_at for p in result.posts] == sorted(p.created_at for p in result.posts)
    assert len({p.id for p in result.posts}) == len(result.posts)
    originals = [p for p in result.posts if not p.is_reply and not p.is_repost]
    assert len(originals) >= 12 * 4
    assert any(p.is_reply for p in result.posts) and any(p.is_repost for p in result.posts)
    assert all("diocese-of-northmoor" in p.url for p in result.posts if p.is_repost)
    # hashtags and mentions are text, not links
    assert not any("/tags/" in link or "/@diocese" in link for p in result.posts for link in p.links)
    photos = [m for p in result.posts for m in p.media]
    assert photos and any(m.alt for m in photos) and any(m.alt is None for m in photos)
    commented = [p for p in result.posts if p.comments]
    assert commented and all(c.post_id == p.id and c.author.endswith("@families.example") for p in commented for c in p.comments)
    # every raw body was archived, in order: the lookup, the statuses pages, then the contexts
    assert archive.saved[0]["url"].startswith(f"{sim.url}/mastodon/api/v1/accounts/lookup")
    statuses_pages = [a for a in archive.saved if "/statuses?" in a["url"] or a["url"].endswith("/statuses")]
    assert len(statuses_pages) == result.pages
    assert [a["page"] for a in archive.saved] == list(range(1, len(archive.saved) + 1))


def test_a_malformed_status_is_skipped_and_the_page_kept(sim, session):
    result = collect(sim, "masto_bad_item", session)
    assert result.skipped >= 1 and "created_at" in result.problems[0] or "date" in result.problems[0].lower()
    assert len(result.posts) > 10


@pytest.mark.parametrize("fault, error, message", [
    ("unknown", AccountUnavailable, "Record not found"),
    ("401", AuthError, "requires a token"),
    ("500", TransientError, "HTTP 500"),
    ("429", TransientError, "rate limited"),
    ("slow", TransientError, "Timeout"),
    ("truncated", TransientError, "cut short"),
    ("malformed", MalformedResponse, "not valid JSON"),
    ("gzip-bomb", UnsafeResponse, "compressed bomb"),
    ("bomb", MalformedResponse, "not valid JSON"),
])
def test_faults_become_the_right_error(sim, session, fault, error, message):
    with pytest.raises(error, match=message):
        collect(sim, f"masto_{fault.replace('-', '_')}", session)


def test_faults_that_pass_are_survived(sim, session, sleeps):
    social.reset_counters()
    assert collect(sim, "masto_flaky", session).posts
    assert collect(sim, "masto_429_once", session).posts
    # each endpoint failed once (503, or 429 with a reset 2 s ahead) and was retried after a wait
    assert session.stats["retries"] >= 1 and session.stats["rate_limit_waits"] >= 1
    assert len(sleeps.calls) == session.stats["retries"] + session.stats["rate_limit_waits"]


def test_the_raw_body_is_archived_before_it_is_parsed(sim, session, archive):
    with pytest.raises(MalformedResponse):
        collect(sim, "masto_malformed", session, archive=archive)
    assert archive.saved and b"checking your browser" in archive.saved[-1]["body"]


def test_a_rerun_upserts_without_duplicates(sim, session, store):
    first = collect(sim, "goodschool", session)
    store.upsert_posts(first.posts, run_id="run-1")
    count = store.count_posts()
    store.upsert_posts(collect(sim, "goodschool", session).posts, run_id="run-2")
    assert store.count_posts() == count == len(first.posts)


def test_handles_without_an_instance_need_a_base_url(session):
    with pytest.raises(AccountUnavailable, match="names no instance"):
        mastodon.collect("staidans", school="s", session=session, since=SINCE, until=SIM_NOW)
    with pytest.raises(AccountUnavailable, match="not of the form"):
        mastodon.split_handle("@not a handle@x")


def test_next_link_is_read_from_the_link_header():
    header = ('<https://m.example/api/v1/accounts/1/statuses?limit=40&max_id=7>; rel="next", '
              '<https://m.example/api/v1/accounts/1/statuses?limit=40&min_id=9>; rel="prev"')
    assert mastodon.next_link(header) == "https://m.example/api/v1/accounts/1/statuses?limit=40&max_id=7"
    assert mastodon.next_link('<https://m.example/x?min_id=9>; rel="prev"') is None
