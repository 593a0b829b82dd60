"""The Facebook collector against the simulated Graph API v25.0 over real sockets."""

from __future__ import annotations

from datetime import datetime, timezone
from math import ceil

import pytest

from collectors import facebook
from collectors._base import AccountError, AccountUnavailable, AuthError, MalformedResponse, TransientError
from collectors._graph import GraphClient, parse_graph_time, usage_wait_seconds
from socialaudit.pipeline import RawArchive
from socialaudit.simulator import Simulator
from socialaudit.simulator.credentialed import DEMO_TOKENS, comments_for
from socialaudit.simulator.dataset import posts_between
from tests.collectors.social_sim import Account, archived_bytes, instant_session, profile
from tests.conftest import SIM_NOW

TOKEN = DEMO_TOKENS["facebook"]
CREDS = {"token": TOKEN}
SINCE = datetime(2026, 11, 2, tzinfo=timezone.utc)
UNTIL = datetime(2026, 11, 23, tzinfo=timezone.utc)
FAULTS = ["unknown", "190", "10", "429", "429-once", "500", "flaky", "slow", "truncated", "malformed", "bad-item"]


def handle_for(fault: str) -> str:
    return f"fault{fault.replace('-', '')}fict"


@pytest.fixture(scope="module")
def fbsim():
    profiles = dict([profile("facebook", "PagedFictPage", page_size="2"), profile("facebook", "StFictPrimary", names_child=True)]
                    + [profile("facebook", handle_for(f), fault=f) for f in FAULTS])
    sim = Simulator(port=0, profiles=profiles, now=SIM_NOW).start()
    yield sim
    sim.stop()


def run(sim, handle, *, sleeps=None, credentials=CREDS, archive=None, read_timeout=2.0, since=SINCE, until=UNTIL):
    return facebook.collect(Account(handle), school="st-fict", session=instant_session(sleeps, read_timeout=read_timeout, allow=(sim.url,)),
                            since=since, until=until, base_url=f"{sim.url}/facebook", credentials=credentials,
                            archive=archive)


def source_posts(sim, slug):
    return [p for p in posts_between(slug, sim.profiles, SINCE, UNTIL) if not p.is_reply]


# --- mapping, on the reference example (platforms.md) -----------------------------------------

EXAMPLE = {
    "id": "104512345678901_122134567890123456",
    "message": "Year 4 planting our new sensory garden 🌱 Summer Fair tickets: https://staidans.example.sch.uk/summer-fair #SchoolGarden",
    "created_time": "2025-03-14T09:30:12+0000",
    "permalink_url": "https://www.facebook.com/104512345678901/posts/122134567890123456",
    "status_type": "added_photos",
    "attachments": {"data": [{"media_type": "photo", "type": "photo",
                              "url": "https://www.facebook.com/photo.php?fbid=122134560000000001&set=a.104519999999999&type=3",
                              "unshimmed_url": "https://www.facebook.com/photo.php?fbid=122134560000000001&set=a.104519999999999&type=3",
                              "target": {"id": "122134560000000001"},
                              "media": {"image": {"height": 720, "width": 1080, "src": "https://scontent.xx.fbcdn.net/v/482000_n.jpg"}}}]},
    "comments": {"data": [], "summary": {"order": "ranked", "total_count": 2, "can_comment": True}},
}


@pytest.mark.parametrize(("field", "expected"), [
    ("id", "104512345678901_122134567890123456"),
    ("url", "https://www.facebook.com/104512345678901/posts/122134567890123456"),
    ("created_at", "2025-03-14T09:30:12+00:00"),
    ("text", EXAMPLE["message"]),
    ("media", [("photo", "https://scontent.xx.fbcdn.net/v/482000_n.jpg", "122134560000000001")]),
    ("links", ["https://staidans.example.sch.uk/summer-fair"]),  # the photo.php link is the post's own media
    ("comment_count", 2),
])
def test_field_mapping(field, expected):
    draft = facebook.parse_post(EXAMPLE)
    value = getattr(draft, field)
    if field == "created_at":
        value = value.isoformat()
    assert value == expected


@pytest.mark.parametrize(("attachment", "media", "links"), [
    ({"media_type": "album", "type": "album", "subattachments": {"data": [
        {"media_type": "photo", "target": {"id": "1"}, "media": {"image": {"src": "https://scontent.example/a.jpg"}}},
        {"media_type": "video", "target": {"id": "2"}, "media": {"image": {"src": "https://scontent.example/b.jpg"},
                                                                  "source": "https://video.example/b.mp4"}}]}},
     [("photo", "https://scontent.example/a.jpg", "1"), ("video", "https://video.example/b.mp4", "")], []),
    ({"media_type": "link", "type": "share", "url": "https://l.facebook.com/l.php?u=https%3A%2F%2Fwww.gov.uk%2F&h=AT0",
      "unshimmed_url": "https://www.gov.uk/school-term-holiday-dates"}, [], ["https://www.gov.uk/school-term-holiday-dates"]),
    ({"media_type": "event", "type": "event", "unshimmed_url": "https://www.facebook.com/events/123/"}, [],
     ["https://www.facebook.com/events/123/"]),
    ({"type": "some_future_type"}, [], []),  # unknown attachment types are tolerated
])
def test_attachment_variants(attachment, media, links):
    draft = facebook.parse_post(dict(EXAMPLE, message="", attachments={"data": [attachment]}))
    assert draft.media == media and draft.links == links


@pytest.mark.parametrize(("value", "expected"), [
    ("2025-03-14T09:30:12+0000", "2025-03-14T09:30:12+00:00"),
    ("2025-03-14T10:30:12+0100", "2025-03-14T09:30:12+00:00"),
    ("2025-03-14T09:30:12Z", "2025-03-14T09:30:12+00:00"),
])
def test_graph_times(value, expected):
    assert parse_graph_time(value).isoformat() == expected


@pytest.mark.parametrize("value", ["", None, "yesterday", "2025-03-14T09:30:12"])
def test_unusable_graph_times(value):
    with pytest.raises(ValueError):
        parse_graph_time(value)


def test_business_use_case_header_gives_the_wait():
    header = '{"1045":[{"type":"pages","call_count":100,"estimated_time_to_regain_access":7},{"type":"pages","estimated_time_to_regain_access":3}]}'
    assert usage_wait_seconds({"x-business-use-case-usage": header}) == 420.0
    assert usage_wait_seconds({"x-business-use-case-usage": "not json"}) is None
    assert usage_wait_seconds({}) is None


def test_paging_next_on_another_host_is_not_followed():
    client = GraphClient(session=instant_session(), token="t0ken", root="http://127.0.0.1:1/facebook/v25.0",
                         platform="facebook", account_key="a", label="facebook page 'a'")
    current = "http://127.0.0.1:1/facebook/v25.0/1/published_posts?limit=2"
    elsewhere = {"paging": {"next": "https://graph.evil.example/v25.0/1/published_posts?after=C2",
                            "cursors": {"after": "C2"}}}
    assert client.next_url(elsewhere, current) == "http://127.0.0.1:1/facebook/v25.0/1/published_posts?limit=2&after=C2"
    echoed = {"paging": {"next": "http://127.0.0.1:1/facebook/v25.0/1/published_posts?access_token=t0ken&after=C3"}}
    assert client.next_url(echoed, current) == "http://127.0.0.1:1/facebook/v25.0/1/published_posts?after=C3"
    assert client.next_url({"paging": {"cursors": {"after": "C4"}}}, current) is None  # no next: last page


# --- against the simulator ---------------------------------------------------------------------

def test_pagination_reaches_the_end_of_the_window(fbsim):
    fbsim.request_log.clear()
    result = run(fbsim, "PagedFictPage")
    expected = source_posts(fbsim, "pagedfictpage")
    assert len(result.posts) == len(expected) and result.pages == ceil(len(expected) / 2) > 3
    assert [p.created_at for p in result.posts] == sorted(p.created_at for p in expected)
    pages = [path for path in fbsim.request_log if "/published_posts" in path]
    assert len(pages) == result.pages and sum("after=" in p for p in pages) == result.pages - 1
    assert not any("access_token" in path for path in fbsim.request_log)  # the token travels in the header only


def test_text_links_alt_text_albums_and_comments(fbsim):
    result = run(fbsim, "StFictPrimary")
    expected = {p.created_at: p for p in source_posts(fbsim, "stfictprimary")}
    assert len(result.posts) == len(expected)
    albums = 0
    for post in result.posts:
        original = expected[post.created_at]
        assert post.text.startswith(original.text)
        assert list(post.links) == list(original.links)
        for link in original.links:
            assert f"👉 {link}" in post.text
        assert not any("facebook.com" in link or "fbcdn" in link for link in post.links)
        custom = [m.alt for m in original.media]
        alts = [m.alt for m in post.media]
        if len(alts) == 2:  # an album: the second photo has no words from the school
            albums += 1
            assert alts == [custom[0] or "May be an image of child and text", "May be an image of child and text"]
        else:
            # the school's alt_text_custom wins; Meta's automatic alt_text only when the school wrote none
            assert alts == [a or "May be an image of child and text" for a in custom]
        assert [c.text for c in post.comments] == [c[2] for c in comments_for(original) if c[3] <= SIM_NOW]
        assert all(c.author and c.url.startswith(post.url + "?comment_id=") for c in post.comments)
    assert albums >= 1
    assert any("Kowalczyk" in p.text or "Brennan" in p.text or "Osei" in p.text or "Lindqvist" in p.text for p in result.posts)
    assert any("facebook.com/photo.php" in p.text for p in result.posts)  # written in the text, not taken as a link


def test_missing_token_is_an_auth_error(fbsim):
    with pytest.raises(AuthError, match="socialaudit_facebook"):
        run(fbsim, "StFictPrimary", credentials={})


def test_wrong_token_is_an_auth_error(fbsim):
    with pytest.raises(AuthError, match="190"):
        run(fbsim, "StFictPrimary", credentials={"token": "EAAGfictional-wrong"})


@pytest.mark.parametrize(("fault", "error", "message"), [
    ("unknown", AccountUnavailable, "803"),
    ("190", AuthError, "invalid or expired"),
    ("10", AuthError, "lacks a permission"),
    ("429", TransientError, "throttled by Graph \\(code 32\\); asked to wait 60 min"),
    ("500", TransientError, "HTTP 500"),
    ("slow", TransientError, "Timeout"),
    ("truncated", TransientError, "cut short|truncated|decompressed"),
    ("malformed", MalformedResponse, "not JSON"),
])
def test_faults_raise_the_right_error(fbsim, fault, error, message, tmp_path):
    sleeps: list[float] = []
    with pytest.raises(error, match=message) as caught:
        run(fbsim, handle_for(fault), sleeps=sleeps, read_timeout=0.3,
            archive=RawArchive(tmp_path).for_account("facebook", handle_for(fault)))
    assert TOKEN not in str(caught.value)
    if fault == "429":
        assert sleeps == []  # an hour is past the cap: raised at once for Airflow's retry
    assert issubclass(error, (AccountError, TransientError))


def test_short_throttle_is_waited_out_with_the_injected_sleep(fbsim):
    sleeps: list[float] = []
    result = run(fbsim, handle_for("429-once"), sleeps=sleeps)
    assert sleeps == [60.0]  # estimated_time_to_regain_access: 1 minute
    assert result.posts


def test_flaky_server_is_retried(fbsim):
    sleeps: list[float] = []
    assert run(fbsim, handle_for("flaky"), sleeps=sleeps).posts and sleeps


def test_malformed_item_is_skipped_and_the_rest_kept(fbsim):
    result = run(fbsim, handle_for("bad-item"))
    assert result.skipped == 1 and result.problems[0].startswith("page 1 item 1:")
    assert len(result.posts) == len(source_posts(fbsim, handle_for("bad-item"))) - 1
    assert result.summary("st-fict", "facebook", handle_for("bad-item")).status.value == "partial"


def test_token_never_reaches_messages_or_the_archive(fbsim, tmp_path):
    base = RawArchive(tmp_path)
    for fault in FAULTS + ["ok"]:
        handle = "StFictPrimary" if fault == "ok" else handle_for(fault)
        try:
            run(fbsim, handle, archive=base.for_account("facebook", handle), read_timeout=0.3)
        except (AccountError, TransientError) as exc:
            assert TOKEN not in str(exc)
    files = archived_bytes(tmp_path)
    assert len(files) > 20
    for name, data in files:
        assert TOKEN.encode() not in data and b"Bearer" not in data, name
