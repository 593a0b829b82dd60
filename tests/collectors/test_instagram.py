"""The Instagram collector against the simulated Graph API v25.0 over real sockets: both ways in."""

from __future__ import annotations

from datetime import datetime, timezone
from math import ceil

import pytest

from collectors import instagram
from collectors._base import AccountError, AccountUnavailable, AuthError, MalformedResponse, TransientError
from socialaudit.pipeline import RawArchive
from socialaudit.simulator import Simulator
from socialaudit.simulator.credentialed import DEMO_TOKENS, comments_for
from socialaudit.simulator.dataset import posts_between
from socialaudit.simulator.platform_instagram import ig_user_id
from tests.collectors.social_sim import Account, archived_bytes, field_of, instant_session, profile
from tests.conftest import SIM_NOW

TOKEN = DEMO_TOKENS["instagram"]
CREDS = {"token": TOKEN}
SINCE = datetime(2026, 11, 2, tzinfo=timezone.utc)
UNTIL = datetime(2026, 11, 23, tzinfo=timezone.utc)
FAULTS = ["unknown", "190", "429", "429-once", "500", "flaky", "slow", "truncated", "malformed", "bad-item"]


def handle_for(fault: str) -> str:
    return f"fault_{fault.replace('-', '_')}_fict"


@pytest.fixture(scope="module")
def igsim():
    profiles = dict([profile("instagram", "paged_fict", page_size="2"), profile("instagram", "st.fict.primary")]
                    + [profile("instagram", handle_for(f), fault=f) for f in FAULTS])
    sim = Simulator(port=0, profiles=profiles, now=SIM_NOW).start()
    yield sim
    sim.stop()


def own(handle: str) -> dict[str, object]:
    """Credentials of the school's own professional account (own-media path, with comments)."""
    return {"token": TOKEN, "extra": {"ig_user_id": ig_user_id(handle.lower())}}


def run(sim, handle, *, sleeps=None, credentials=CREDS, archive=None, read_timeout=2.0):
    return instagram.collect(Account(handle), school="st-fict", session=instant_session(sleeps, read_timeout=read_timeout, allow=(sim.url,)),
                             since=SINCE, until=UNTIL, base_url=f"{sim.url}/instagram", credentials=credentials,
                             archive=archive)


def source_posts(sim, slug):
    return [p for p in posts_between(slug, sim.profiles, SINCE, UNTIL) if not p.is_reply]


# --- mapping, on the reference example (platforms.md) -----------------------------------------

EXAMPLE = {
    "id": "18045123456789012",
    "caption": "Year 4 planting our new sensory garden 🌱 Summer Fair tickets at staidans.example.sch.uk/summer-fair (link in bio) #SchoolGarden",
    "media_type": "IMAGE", "media_product_type": "FEED",
    "media_url": "https://scontent.cdninstagram.com/v/t51.29350-15/482001_fict_n.jpg?stp=dst-jpg_e35&oh=00_AfFict&oe=67D9A1B2",
    "permalink": "https://www.instagram.com/p/DHfict10nAb/", "timestamp": "2025-03-14T09:30:12+0000",
    "alt_text": "Three pupils in green jumpers planting lavender in a raised bed", "comments_count": 2, "like_count": 41,
}


@pytest.mark.parametrize(("field", "expected"), [
    ("platform", "instagram"),
    ("id", "18045123456789012"),
    ("url", "https://www.instagram.com/p/DHfict10nAb/"),
    ("created_at", "2025-03-14T09:30:12+00:00"),
    ("text", EXAMPLE["caption"]),
    ("media", [("photo", EXAMPLE["media_url"], "Three pupils in green jumpers planting lavender in a raised bed")]),
    ("links", ("https://staidans.example.sch.uk/summer-fair",)),  # a bare domain after an emoji
    ("is_reply", False),
    ("is_repost", False),
])
def test_field_mapping(field, expected):
    assert field_of(instagram.parse_media(EXAMPLE, account="a", school="s"), field) == expected


@pytest.mark.parametrize(("change", "media"), [
    ({"media_type": "CAROUSEL_ALBUM", "children": {"data": [
        {"id": "1", "media_type": "IMAGE", "media_url": "https://cdn.example/1.jpg", "alt_text": "A choir"},
        {"id": "2", "media_type": "VIDEO", "media_url": "https://cdn.example/2.mp4"},
        {"id": "3", "media_type": "IMAGE", "media_url": "https://cdn.example/3.jpg"}]}},
     [("photo", "https://cdn.example/1.jpg", "A choir"), ("video", "https://cdn.example/2.mp4", None),
      ("photo", "https://cdn.example/3.jpg", None)]),
    ({"media_type": "VIDEO", "media_url": None, "thumbnail_url": "https://cdn.example/t.jpg", "alt_text": None},
     [("video", "https://cdn.example/t.jpg", None)]),  # media_url is absent for copyright-flagged video
    ({"media_type": "SOMETHING_NEW", "alt_text": "  "}, [("other", EXAMPLE["media_url"], None)]),
])
def test_media_variants(change, media):
    assert field_of(instagram.parse_media(dict(EXAMPLE, **change), account="a", school="s"), "media") == media


@pytest.mark.parametrize("item", [None, {"id": ""}, dict(EXAMPLE, timestamp=None), dict(EXAMPLE, caption=["x"])])
def test_unusable_items_are_refused(item):
    with pytest.raises((ValueError, TypeError)):
        instagram.parse_media(item, account="a", school="s")


# --- against the simulator ---------------------------------------------------------------------

def test_business_discovery_pages_back_to_the_start_of_the_window(igsim):
    igsim.request_log.clear()
    result = run(igsim, "paged_fict")
    expected = source_posts(igsim, "paged_fict")
    assert [p.created_at for p in result.posts] == sorted(p.created_at for p in expected)
    assert result.pages >= ceil(len(expected) / 2)
    calls = [path for path in igsim.request_log if "business_discovery" in path]
    assert len(calls) == result.pages and any("media.after" in path for path in calls)
    assert all(p.comments == () for p in result.posts)  # business discovery exposes no comments


def test_own_media_pages_with_cursors_and_collects_comments(igsim):
    igsim.request_log.clear()
    result = run(igsim, "paged_fict", credentials=own("paged_fict"))
    expected = source_posts(igsim, "paged_fict")
    assert len(result.posts) == len(expected)
    assert any("/media?" in path and "after=" in path for path in igsim.request_log)
    commented = 0
    for post, original in zip(result.posts, sorted(expected, key=lambda p: p.created_at), strict=True):
        wanted = [c for c in comments_for(original) if c[3] <= SIM_NOW]
        assert [c.text for c in post.comments if c.author != "school_reply_fict"] == [c[2] for c in wanted]
        commented += len(post.comments)
    assert commented > 0


def test_captions_carousels_alt_text_and_links(igsim):
    result = run(igsim, "st.fict.primary")
    expected = {p.created_at: p for p in source_posts(igsim, "st.fict.primary")}
    carousels = 0
    for post in result.posts:
        original = expected[post.created_at]
        assert post.text.startswith(original.text)
        assert list(post.links) == list(original.links)  # bare domains in the caption, expanded to https
        assert post.url.startswith("https://www.instagram.com/p/")
        if original.media:
            alts = [m.alt for m in post.media]
            assert alts[0] == original.media[0].alt
            if len(alts) == 2:
                carousels += 1
                assert alts[1] is None
    assert carousels >= 1
    assert any(p.links for p in result.posts)


def test_missing_token_is_an_auth_error(igsim):
    with pytest.raises(AuthError, match="socialaudit_instagram"):
        run(igsim, "st.fict.primary", credentials=None)


def test_wrong_token_is_an_auth_error(igsim):
    with pytest.raises(AuthError, match="190"):
        run(igsim, "st.fict.primary", credentials={"token": "IGQfictional-wrong"})


@pytest.mark.parametrize(("fault", "error", "message"), [
    ("unknown", AccountUnavailable, "110/2207013"),
    ("190", AuthError, "invalid or expired"),
    ("429", TransientError, "throttled by Graph \\(code 80002\\)"),
    ("500", TransientError, "HTTP 500"),
    ("slow", TransientError, "Timeout"),
    ("truncated", TransientError, "cut short|truncated|decompressed"),
    ("malformed", MalformedResponse, "not JSON"),
])
def test_faults_raise_the_right_error(igsim, fault, error, message):
    sleeps: list[float] = []
    with pytest.raises(error, match=message) as caught:
        run(igsim, handle_for(fault), sleeps=sleeps, read_timeout=0.3)
    assert TOKEN not in str(caught.value)
    if fault == "429":
        assert sleeps == []


def test_short_throttle_is_waited_out(igsim):
    sleeps: list[float] = []
    assert run(igsim, handle_for("429-once"), sleeps=sleeps).posts
    assert sleeps == [60.0]


def test_flaky_server_is_retried(igsim):
    sleeps: list[float] = []
    assert run(igsim, handle_for("flaky"), sleeps=sleeps).posts and sleeps


def test_malformed_item_is_skipped_and_the_rest_kept(igsim):
    result = run(igsim, handle_for("bad-item"))
    assert result.skipped == 1 and result.problems[0].startswith("page 1 item 1:")
    # business discovery lists from the newest post: the broken one may lie after the window
    slug = handle_for("bad-item")
    newest = [p for p in posts_between(slug, igsim.profiles, SINCE, SIM_NOW) if not p.is_reply][0]
    assert len(result.posts) == len(source_posts(igsim, slug)) - (1 if newest.created_at < UNTIL else 0)
    assert newest.created_at not in {p.created_at for p in result.posts}


def test_token_never_reaches_messages_or_the_archive(igsim, tmp_path):
    base = RawArchive(tmp_path)
    for fault in FAULTS + ["ok"]:
        handle = "st.fict.primary" if fault == "ok" else handle_for(fault)
        for credentials in (CREDS, own(handle)):
            try:
                run(igsim, handle, credentials=credentials, archive=base.for_account("instagram", handle), read_timeout=0.3)
            except (AccountError, TransientError) as exc:
                assert TOKEN not in str(exc)
    files = archived_bytes(tmp_path)
    assert len(files) > 20
    for name, data in files:
        assert TOKEN.encode() not in data and b"Bearer" not in data, name
