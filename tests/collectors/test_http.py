"""The shared HTTP layer over real sockets against the simulator: retries and back-off (instant, with
an injected sleep), rate-limit headers of each platform, pre-emptive slowing, timeouts, bodies cut
short, the size cap and a real gzip bomb, and credentials kept out of messages."""

from __future__ import annotations

import time
import tracemalloc
from datetime import datetime, timezone
from urllib.parse import urlsplit

import pytest

from collectors._base import MalformedResponse, TransientError, UnsafeResponse
from collectors._http import USER_AGENT, HttpPolicy, make_session, rate_limit_wait_for, reset_wait, retry_after
from socialaudit.simulator import social


def lookup(sim, acct: str) -> str:
    return f"{sim.url}/mastodon/api/v1/accounts/lookup?acct={acct}"


def test_a_healthy_answer_comes_back_with_the_platform_headers(sim, session, sleeps):
    response = session.get(lookup(sim, "goodschool"))
    assert response.status == 200
    assert response.json()["username"] == "goodschool"
    assert response.headers["x-ratelimit-limit"] == "300"
    assert sleeps.calls == []


def test_5xx_is_retried_with_exponential_backoff_and_jitter_then_transient(sim, sleeps):
    session = make_session(policy=HttpPolicy(retries=4, backoff=0.5, max_backoff=30), sleep=sleeps, allow=(sim.url,))
    with pytest.raises(TransientError, match="HTTP 500 after 5 attempts"):
        session.get(lookup(sim, "masto_500"))
    assert len(sleeps.calls) == 4
    # full jitter in [ceiling/2, ceiling] with the ceiling doubling: 0.5, 1, 2, 4
    for attempt, delay in enumerate(sleeps.calls):
        ceiling = 0.5 * 2**attempt
        assert ceiling / 2 <= delay <= ceiling
    assert session.stats["requests"] == 5


def test_a_flaky_503_is_survived_by_one_retry(sim, session, sleeps):
    social.reset_counters()
    response = session.get(lookup(sim, "masto_flaky"))
    assert response.status == 200 and len(sleeps.calls) == 1


@pytest.mark.parametrize("url_for, expected_wait", [
    (lambda sim: lookup(sim, "masto_429_once"), (0.5, 2.5)),  # Mastodon: ISO 8601 X-RateLimit-Reset
    (lambda sim: f"{sim.url}/bluesky/xrpc/app.bsky.feed.getAuthorFeed?actor=bsky-429-once.bsky.social&limit=5",
     (1.0, 2.0)),  # Bluesky: Retry-After seconds (RateLimit-Reset epoch alongside)
    (lambda sim: f"{sim.url}/youtube/feeds/videos.xml?channel_id=" + _channel("yt-429-once"), (1.0, 2.0)),
])
def test_a_429_is_waited_out_as_the_platform_says_then_retried(sim, session, sleeps, url_for, expected_wait):
    social.reset_counters()
    response = session.get(url_for(sim))
    assert response.status == 200
    assert len(sleeps.calls) == 1
    low, high = expected_wait
    assert low <= sleeps.calls[0] <= high


def _channel(slug: str) -> str:
    from socialaudit.simulator.platform_youtube import channel_id

    return channel_id(slug)


def test_a_rate_limit_past_the_cap_is_transient_without_waiting(sim, session, sleeps):
    with pytest.raises(TransientError, match="rate limited"):
        session.get(lookup(sim, "masto_429"))  # reset an hour away, cap 120 s
    assert sleeps.calls == []


def test_reset_headers_of_every_platform_are_understood():
    now = 1_800_000_000.0
    assert reset_wait({"x-rate-limit-reset": str(int(now) + 90)}, now) == 90  # X: epoch seconds
    assert reset_wait({"RateLimit-Reset": str(int(now) + 30)}, now) == 30  # Bluesky: epoch seconds
    assert reset_wait({"RateLimit-Reset": "12"}, now) == 12  # IETF draft: delta seconds
    iso = datetime.fromtimestamp(now + 45, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert reset_wait({"X-RateLimit-Reset": iso}, now) == pytest.approx(45)  # Mastodon: ISO 8601
    assert reset_wait({}, now) is None

    class Raw:
        headers = {"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}

    moment = datetime(2026, 10, 21, 7, 27, 0, tzinfo=timezone.utc).timestamp()
    assert retry_after(Raw(), moment) == 60


def test_an_exhausted_window_slows_the_next_request_instead_of_earning_a_429():
    from socialaudit.simulator import Simulator
    from tests.collectors.conftest import fault_profiles
    from tests.conftest import SIM_NOW

    calls: list[float] = []

    def sleep(seconds: float) -> None:  # records, and really waits: the simulator's window is real time
        calls.append(seconds)
        time.sleep(seconds)

    with Simulator(port=0, now=SIM_NOW, profiles=fault_profiles()) as small:
        small.rate_limits = {"mastodon": (3, 1.0)}
        session = make_session(sleep=sleep, allow=(small.url,))
        for _ in range(5):
            assert session.get(lookup(small, "goodschool")).status == 200
        assert social.rate_limited_count(small, "mastodon") == 0
    assert session.stats["preemptive_waits"] >= 1
    assert all(0 < c <= 1.1 for c in calls)


def test_a_five_minute_window_spent_early_is_waited_for_not_failed():
    """Bluesky's and Mastodon's documented windows are 5 minutes: a trust that spends one in its first
    minute waits about 4 minutes for the reset (the cap is one window), rather than failing the batch,
    whose retry would collect it again. Waiting longer than a window is still transient."""
    from socialaudit.simulator import Simulator
    from tests.collectors.conftest import fault_profiles
    from tests.conftest import SIM_NOW

    calls: list[float] = []
    with Simulator(port=0, now=SIM_NOW, profiles=fault_profiles()) as small:
        small.rate_limits = {"mastodon": (3, 300.0)}

        def sleep(seconds: float) -> None:  # the window's reset comes when the wait ends
            calls.append(seconds)
            small.__dict__["_rate_windows"].clear()

        policy = HttpPolicy(max_rate_limit_wait=rate_limit_wait_for("mastodon"))  # as the pipeline gives Mastodon
        session = make_session(policy=policy, sleep=sleep, allow=(small.url,))
        for _ in range(4):
            assert session.get(lookup(small, "goodschool")).status == 200
        assert social.rate_limited_count(small, "mastodon") == 0
        assert session.policy.max_rate_limit_wait == 300
        assert len(calls) == 1 and 290 <= calls[0] <= 300.5  # the pre-emptive wait for the window's reset

        small.rate_limits = {"mastodon": (1, 900.0)}  # a 15-minute window: longer than the cap
        small.__dict__["_rate_windows"].clear()
        later = make_session(policy=policy, sleep=sleep, allow=(small.url,))  # the first session's clock still waits for its reset
        assert later.get(lookup(small, "goodschool")).status == 200
        with pytest.raises(TransientError, match=r"window exhausted for another (8\d\d|900) s"):  # 900 s less the time taken
            later.get(lookup(small, "goodschool"))
    assert len(calls) == 1


def test_only_platforms_with_a_documented_window_wait_a_whole_window():
    """Mastodon and Bluesky document 5-minute windows: their accounts wait one out. A school's website or a
    calendar that asks for minutes gives up sooner, so one slow host cannot hold a batch for hours."""
    assert rate_limit_wait_for("mastodon") == rate_limit_wait_for("bluesky") == 300
    for platform in ("rss", "facebook", "instagram", "x", "youtube", "calendar", "no-such-platform"):
        assert rate_limit_wait_for(platform) == HttpPolicy().max_rate_limit_wait == 120


def test_a_wait_longer_than_the_default_cap_fails_at_once(sim):
    slept: list[float] = []
    session = make_session(sleep=slept.append, allow=(sim.url,))
    session._not_before[urlsplit(sim.url).netloc] = session.clock() + 295  # a host that asked for 295 s
    with pytest.raises(TransientError, match="window exhausted"):
        session.get(sim.url + "/healthz")
    assert slept == []


def test_a_response_slower_than_the_read_timeout_is_retried_then_transient(sim, sleeps):
    session = make_session(policy=HttpPolicy(read_timeout=0.3, retries=1), sleep=sleeps, allow=(sim.url,))
    with pytest.raises(TransientError, match="Timeout"):
        session.get(lookup(sim, "masto_slow"))
    assert len(sleeps.calls) == 1


def test_a_body_cut_short_is_retried_then_transient(sim, session, sleeps):
    with pytest.raises(TransientError, match="body cut short after 3 attempts"):
        session.get(lookup(sim, "masto_truncated"))
    assert len(sleeps.calls) == 2


def test_html_instead_of_json_is_a_transient_malformed_response(sim, session):
    response = session.get(lookup(sim, "masto_malformed"))
    with pytest.raises(MalformedResponse, match="not valid JSON"):
        response.json()
    assert issubclass(MalformedResponse, TransientError)


def test_a_real_gzip_bomb_is_refused_without_inflating_it(sim, session):
    tracemalloc.start()
    try:
        with pytest.raises(UnsafeResponse, match="decompresses to more than the 10485760-byte cap"):
            session.get(lookup(sim, "masto_gzip_bomb"))  # 200 MiB of zeros in ~200 KB of gzip
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 40 * 1024 * 1024  # the cap is 10 MiB: memory stays near it, nowhere near 200 MiB


def test_an_uncompressed_body_over_the_cap_is_refused(sim, sleeps):
    session = make_session(policy=HttpPolicy(max_body_bytes=2000), sleep=sleeps, allow=(sim.url,))
    session.session.headers["Accept-Encoding"] = "identity"
    url = f"{sim.url}/bluesky/xrpc/app.bsky.feed.getAuthorFeed?actor=good.example.sch.uk&limit=50"
    with pytest.raises(UnsafeResponse, match="exceeds the 2000-byte cap"):
        session.get(url)


def test_secrets_never_reach_an_error_message(sim, sleeps):
    session = make_session(policy=HttpPolicy(retries=0), sleep=sleeps, secrets=("s3cr3t-token",), allow=(sim.url,))
    with pytest.raises(TransientError) as caught:
        session.get(f"{sim.url}/mastodon/api/v1/accounts/lookup?acct=masto_500&access_token=s3cr3t-token")
    assert "s3cr3t-token" not in str(caught.value)
    assert "access_token" not in str(caught.value)  # URLs in messages carry no query string
    assert session.scrub("Bearer s3cr3t-token") == "Bearer ***"


def test_the_user_agent_is_honest():
    session = make_session()
    assert session.session.headers["User-Agent"] == USER_AGENT
    assert "socialaudit" in USER_AGENT and "audit" in USER_AGENT.split(";", 1)[1]
