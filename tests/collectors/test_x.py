"""The X collector against the simulated X API v2 over real sockets: mapping, paging, faults, secrecy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from math import ceil

import pytest

from collectors import x
from collectors._base import AccountUnavailable, AuthError, MalformedResponse, TransientError
from socialaudit.pipeline import RawArchive
from socialaudit.simulator import Simulator
from socialaudit.simulator.credentialed import DEMO_TOKENS, comments_for
from socialaudit.simulator.dataset import posts_between
from socialaudit.simulator.platform_x import _reposts, snowflake
from tests.collectors.social_sim import Account, archived_bytes, field_of, instant_session, profile
from tests.conftest import ROOT, SIM_NOW

TOKEN = DEMO_TOKENS["x"]
CREDS = {"token": TOKEN}
SINCE = datetime(2026, 11, 2, tzinfo=timezone.utc)
UNTIL = datetime(2026, 11, 23, tzinfo=timezone.utc)
FAULTS = ["unknown", "suspended", "protected", "401", "402", "403", "429", "429v1", "429-once", "500", "flaky",
          "slow", "truncated", "malformed", "bad-item"]


@pytest.fixture(scope="module")
def xsim():
    profiles = dict([profile("x", "PagedFict", page_size="3"), profile("x", "StFictPrimary")]
                    + [profile("x", handle_for(f), fault=f) for f in FAULTS])
    sim = Simulator(port=0, profiles=profiles, now=SIM_NOW).start()
    yield sim
    sim.stop()


def handle_for(fault: str) -> str:
    return f"Fault{fault.replace('4', 'F').replace('-', '')}Fict"[:15]


def run(sim, handle, *, sleeps=None, since=SINCE, until=UNTIL, credentials=CREDS, archive=None, read_timeout=2.0):
    session = instant_session(sleeps, read_timeout=read_timeout, allow=(sim.url,))
    return x.collect(Account(handle), school="st-fict", session=session, since=since, until=until,
                     base_url=f"{sim.url}/x", credentials=credentials, archive=archive)


def expected_ids(sim, slug, since=SINCE, until=UNTIL):
    posts = posts_between(slug, sim.profiles, since, until) + _reposts(since, until, slug)
    return {snowflake(p.created_at, p.id) for p in posts}


# --- mapping, on the reference example (platforms.md) -----------------------------------------

EXAMPLE = {
    "data": [{"id": "1900512345678901234",
              "text": "Year 4 planting our new sensory garden 🌱 Summer Fair tickets: https://t.co/Fk3Qm9ZsLp #SchoolGarden https://t.co/Pq7Wn2XvRt",
              "created_at": "2025-03-14T09:30:12.000Z", "author_id": "1122334455667788990",
              "conversation_id": "1900512345678901234", "attachments": {"media_keys": ["3_1900512300000000001"]},
              "entities": {"urls": [
                  {"start": 62, "end": 85, "url": "https://t.co/Fk3Qm9ZsLp",
                   "expanded_url": "https://staidans.example.sch.uk/summer-fair?utm=x",
                   "unwound_url": "https://staidans.example.sch.uk/summer-fair", "status": 200},
                  {"start": 100, "end": 123, "url": "https://t.co/Pq7Wn2XvRt",
                   "expanded_url": "https://x.com/StAidansFict/status/1900512345678901234/photo/1",
                   "display_url": "pic.x.com/Pq7Wn2XvRt", "media_key": "3_1900512300000000001"}]},
              "public_metrics": {"retweet_count": 3, "reply_count": 2, "like_count": 27, "quote_count": 0}}],
    "includes": {"media": [{"media_key": "3_1900512300000000001", "type": "photo",
                            "url": "https://pbs.twimg.com/media/GmFict10nAbCdEf.jpg",
                            "alt_text": "Three pupils in green jumpers planting lavender in a raised bed"}],
                 "users": [{"id": "1122334455667788990", "name": "St Aidan's (fictional)", "username": "StAidansFict"}]},
}


def _example_post():
    media = {m["media_key"]: m for m in EXAMPLE["includes"]["media"]}
    return x.parse_tweet(EXAMPLE["data"][0], username="StAidansFict", account="StAidansFict", school="st-aidans", media=media)


@pytest.mark.parametrize(("field", "expected"), [
    ("platform", "x"),
    ("id", "1900512345678901234"),
    ("url", "https://x.com/StAidansFict/status/1900512345678901234"),
    ("created_at", "2025-03-14T09:30:12+00:00"),
    # the emoji is one code point: the link after it is replaced at exactly its offsets; the photo's link is removed
    ("text", "Year 4 planting our new sensory garden 🌱 Summer Fair tickets: https://staidans.example.sch.uk/summer-fair #SchoolGarden"),
    ("media", [("photo", "https://pbs.twimg.com/media/GmFict10nAbCdEf.jpg", "Three pupils in green jumpers planting lavender in a raised bed")]),
    ("links", ("https://staidans.example.sch.uk/summer-fair",)),  # unwound_url beats expanded_url; media link dropped
    ("is_reply", False),
    ("is_repost", False),
])
def test_field_mapping(field, expected):
    assert field_of(_example_post(), field) == expected


@pytest.mark.parametrize(("change", "field", "expected"), [
    ({"in_reply_to_user_id": "42"}, "is_reply", True),
    ({"referenced_tweets": [{"type": "replied_to", "id": "7"}]}, "is_reply", True),
    ({"referenced_tweets": [{"type": "retweeted", "id": "7"}]}, "is_repost", True),
    ({"referenced_tweets": [{"type": "quoted", "id": "7"}]}, "is_repost", False),
    ({"note_tweet": {"text": "A long post " * 30}}, "text", ("A long post " * 30).strip()),
    ({"text": "Fish &amp; chips &lt;3"}, "text", "Fish & chips <3"),
])
def test_field_variants(change, field, expected):
    item = dict(EXAMPLE["data"][0], **change)
    if "text" in change:
        item["entities"] = {}
    post = x.parse_tweet(item, username="StAidansFict", account="a", school="s")
    assert getattr(post, field) == expected


def test_entity_offsets_that_do_not_frame_the_link_fall_back_to_the_value():
    item = dict(EXAMPLE["data"][0], entities={"urls": [{"start": 61, "end": 84, "url": "https://t.co/Fk3Qm9ZsLp",
                                                        "expanded_url": "https://staidans.example.sch.uk/summer-fair"}]})
    post = x.parse_tweet(item, username="StAidansFict", account="a", school="s")
    assert "tickets: https://staidans.example.sch.uk/summer-fair #SchoolGarden" in post.text


@pytest.mark.parametrize("url", ["https://x.com/a/status/1/photo/1", "https://twitter.com/a/status/1/video/1",
                                 "https://pic.x.com/abc"])
def test_platform_media_links_are_not_outbound_links(url):
    assert x.is_x_media_link(url)
    assert not x.is_x_media_link("https://x.com/NorthmoorDioFict/status/123")


# --- against the simulator ---------------------------------------------------------------------

def test_pagination_reaches_the_end_of_the_window(xsim):
    xsim.request_log.clear()
    result = run(xsim, "PagedFict")
    ids = {p.id for p in result.posts}
    assert ids == expected_ids(xsim, "pagedfict")
    assert result.pages == ceil(len(ids) / 3) and result.pages > 3
    timeline = [path for path in xsim.request_log if "/tweets?" in path]
    assert len(timeline) == result.pages and sum("pagination_token=" in p for p in timeline) == result.pages - 1
    assert all(SINCE <= p.created_at < UNTIL for p in result.posts)
    assert [p.created_at for p in result.posts] == sorted(p.created_at for p in result.posts)


def test_simulated_posts_map_links_emoji_long_posts_alt_text(xsim):
    result = run(xsim, "StFictPrimary")
    source = {snowflake(p.created_at, p.id): p for p in posts_between("stfictprimary", xsim.profiles, SINCE, UNTIL)}
    with_links = [p for p in result.posts if p.id in source and source[p.id].links and not p.is_repost]
    assert with_links, "the window should hold posts with links"
    for post in with_links:
        original = source[post.id]
        assert list(post.links) == list(original.links)
        assert f"👉 {original.links[0]}" in post.text  # emoji right before the link, replaced at the right offsets
    long_posts = [p for p in result.posts if p.id in source and source[p.id].id.endswith("-0")]
    assert long_posts and all(len(p.text) > 280 and "…" not in p.text for p in long_posts)
    for post in result.posts:
        assert "t.co/" not in post.text and not any("x.com" in link for link in post.links)
        if post.id in source:
            assert [(m.type, m.alt) for m in post.media] == [(m.type, m.alt) for m in source[post.id].media]
    assert any(m.alt for p in result.posts for m in p.media) and any(m.alt is None for p in result.posts for m in p.media)


def test_replies_and_reposts_are_marked(xsim):
    result = run(xsim, "StFictPrimary")
    source = {snowflake(p.created_at, p.id): p for p in posts_between("stfictprimary", xsim.profiles, SINCE, UNTIL)}
    replies = [p for p in result.posts if p.is_reply]
    reposts = [p for p in result.posts if p.is_repost]
    assert {p.id for p in replies} == {i for i, p in source.items() if p.is_reply} and len(replies) == 3
    assert len(reposts) == 3  # one a week, Tuesdays
    assert all(p.text.startswith("RT @NorthmoorDioFict: ") for p in reposts)
    assert all(p.links == ("https://diocese-of-northmoor.example.org/admissions",) for p in reposts)
    assert not any(p.is_reply or p.is_repost for p in result.posts if p.id in source and not source[p.id].is_reply)


def test_recent_replies_become_comments_only_within_seven_days(xsim):
    since, until = SIM_NOW - timedelta(days=14), SIM_NOW
    result = run(xsim, "StFictPrimary", since=since, until=until)
    source = {snowflake(p.created_at, p.id): p for p in posts_between("stfictprimary", xsim.profiles, since, until)}
    commented = 0
    for post in result.posts:
        if post.id not in source:
            continue
        expected = [c for c in comments_for(source[post.id]) if c[3] <= SIM_NOW]
        if SIM_NOW - post.created_at < timedelta(days=7) - timedelta(minutes=5):
            assert [c.author for c in post.comments] == [c[1] for c in expected]
            assert all(c.post_id == post.id and c.url.startswith("https://x.com/") for c in post.comments)
            commented += len(post.comments)
        else:
            assert post.comments == ()
    assert commented > 0


def test_missing_token_is_an_auth_error_before_any_request(xsim):
    before = xsim.requests
    with pytest.raises(AuthError, match="SOCIALAUDIT_X_TOKEN"):
        run(xsim, "StFictPrimary", credentials=None)
    assert xsim.requests == before


def test_wrong_token_is_an_auth_error(xsim):
    with pytest.raises(AuthError, match="401"):
        run(xsim, "StFictPrimary", credentials={"token": "not-the-demo-token"})


@pytest.mark.parametrize(("fault", "error", "message"), [
    ("unknown", AccountUnavailable, "Could not find user"),
    ("suspended", AccountUnavailable, "suspended"),
    ("protected", AccountUnavailable, "not authorized"),
    ("401", AuthError, "HTTP 401"),
    ("402", AuthError, "out of credits"),
    ("403", AuthError, "client-not-enrolled"),
    ("429", TransientError, "rate limited"),
    ("429v1", TransientError, "rate limited"),
    ("500", TransientError, "HTTP 500"),
    ("slow", TransientError, "Timeout"),
    ("truncated", TransientError, "cut short|truncated|decompressed"),
    ("malformed", MalformedResponse, "not JSON"),
])
def test_faults_raise_the_right_error(xsim, fault, error, message, tmp_path):
    sleeps: list[float] = []
    archive = RawArchive(tmp_path).for_account("x", handle_for(fault))
    with pytest.raises(error, match=message) as caught:
        run(xsim, handle_for(fault), sleeps=sleeps, archive=archive, read_timeout=0.3)
    assert TOKEN not in str(caught.value)
    if fault in ("429", "429v1"):
        assert sleeps == []  # a 15-minute reset is past the cap: raised at once, for Airflow to retry later
    if fault in ("500", "slow"):
        assert len(sleeps) == 2  # the session's retries, instantly


def test_one_short_rate_limit_is_waited_out(xsim):
    sleeps: list[float] = []
    result = run(xsim, handle_for("429-once"), sleeps=sleeps)
    assert sleeps == [5.0]  # x-rate-limit-reset minus the injected clock
    assert result.posts


def test_flaky_server_is_retried(xsim):
    sleeps: list[float] = []
    result = run(xsim, handle_for("flaky"), sleeps=sleeps)
    assert result.posts and len(sleeps) >= 1


def test_malformed_item_is_skipped_and_the_rest_kept(xsim):
    result = run(xsim, handle_for("bad-item"))
    assert result.skipped == 1 and result.problems[0].startswith("page 1 item 1:")
    assert len(result.posts) == len(expected_ids(xsim, handle_for("bad-item").lower())) - 1


def test_token_never_reaches_messages_or_the_archive(xsim, tmp_path):
    base = RawArchive(tmp_path)
    for fault in FAULTS + ["ok"]:
        handle = "StFictPrimary" if fault == "ok" else handle_for(fault)
        try:
            run(xsim, handle, archive=base.for_account("x", handle), read_timeout=0.3)
        except (AuthError, AccountUnavailable, TransientError) as exc:
            assert TOKEN not in str(exc)
    files = archived_bytes(tmp_path)
    assert len(files) > 20
    for name, data in files:
        assert TOKEN.encode() not in data, name
        assert b"Bearer" not in data, name  # the Authorization header is never stored


def test_demo_school_is_collected_and_unknown_account_recorded(audit_env, monkeypatch):
    from socialaudit.pipeline import collect_school
    from socialaudit.weeks import IsoWeek

    week = IsoWeek.parse("2026-W47")
    monkeypatch.delenv("SOCIALAUDIT_X_TOKEN", raising=False)  # the demo config supplies the simulator's token
    collect_school("st-aidans", week, "run-x", audit_env)
    collect_school("st-josephs", week, "run-x", audit_env)
    store = audit_env.store()
    statuses = {(c.school, c.platform, c.account): c for c in store.collections_for(week, "st-aidans")}
    statuses.update({(c.school, c.platform, c.account): c for c in store.collections_for(week, "st-josephs")})
    ok = statuses[("st-aidans", "x", "StAidansFict")]
    assert ok.status.value == "ok" and ok.posts > 0
    unknown = statuses[("st-josephs", "x", "StJosephsFict")]
    assert unknown.status.value == "unavailable" and "Could not find user" in unknown.message


def test_cli_collects_from_the_simulator(simulator):
    env = dict(os.environ, PYTHONPATH=str(ROOT / "plugins"), SOCIALAUDIT_X_TOKEN=TOKEN)
    proc = subprocess.run([sys.executable, "-m", "socialaudit", "collect", "--platform", "x", "--account", "StAidansFict",
                           "--base-url", f"{simulator.url}/x", "--allow", simulator.url, "--since", "2026-11-16", "--until", "2026-11-23"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    posts = [json.loads(line) for line in proc.stdout.splitlines()]
    assert posts and all(p["platform"] == "x" and p["url"].startswith("https://x.com/StAidansFict/status/") for p in posts)
    assert TOKEN not in proc.stdout + proc.stderr
    bad = subprocess.run([sys.executable, "-m", "socialaudit", "collect", "--platform", "x", "--account", "StAidansFict",
                          "--base-url", f"{simulator.url}/x", "--allow", simulator.url], capture_output=True, text=True,
                         env=dict(env, SOCIALAUDIT_X_TOKEN="wrong-token-value"), timeout=60)
    assert bad.returncode == 1 and "401" in bad.stderr and "wrong-token-value" not in bad.stderr
