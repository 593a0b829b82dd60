"""A hostile platform over real loopback sockets: every answer ends as one account's one-line error.

The hostile server's own origin is allowed (as the demo allows its simulator); a redirect from it to
any other internal address (``127.0.0.2``, another port of ``127.0.0.1``, the cloud metadata address)
or to another scheme is refused before any connection, a loop or a long chain is a named error, and
a server that trickles its headers or body is cut off at the exchange's total deadline.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest

from collectors import rss
from collectors._base import DeadlineExceeded, RedirectError, RefusedAddress
from collectors._http import HttpPolicy, HttpSession, make_session
from socialaudit.models import CollectionStatus
from tests.collectors.hostile import Canary, HostileServer
from tests.conftest import ROOT

SINCE = datetime(2026, 11, 1, tzinfo=timezone.utc)
UNTIL = datetime(2026, 11, 30, tzinfo=timezone.utc)
DEADLINE = 1.0  # seconds; the server sends one byte every 0.25 s, well inside the 5 s read timeout


@pytest.fixture(scope="module")
def canaries() -> Iterator[tuple[Canary, Canary]]:
    """Internal listeners that must never be reached: one on 127.0.0.2, one on another port of 127.0.0.1."""
    other_address, other_port = Canary("127.0.0.2"), Canary("127.0.0.1")
    yield other_address, other_port
    other_address.close()
    other_port.close()


@pytest.fixture(scope="module")
def hostile(canaries: tuple[Canary, Canary]) -> Iterator[HostileServer]:
    with HostileServer(canaries[0]) as server:
        yield server


@pytest.fixture
def http(hostile: HostileServer) -> HttpSession:
    """The real session, allowed to open the hostile server's origin and nothing else internal."""
    return make_session(policy=HttpPolicy(connect_timeout=2.0, read_timeout=5.0, total_timeout=DEADLINE, retries=1,
                                          backoff=0.01), allow=(hostile.url,))


def collect(http: HttpSession, url: str) -> Any:
    return rss.collect(None, school="st-fict", session=http, since=SINCE, until=UNTIL, base_url=url)


def test_a_redirect_within_the_allowed_origin_is_followed(hostile, http):
    result = collect(http, f"{hostile.url}/redirect-same-origin")
    assert [p.url for p in result.posts] == ["https://st-fict.example.sch.uk/news/harvest",
                                            "https://st-fict.example.sch.uk/news/trip"]


@pytest.mark.parametrize("path, error, words", [
    ("/redirect-metadata", RefusedAddress, "169.254.169.254 is a link-local address"),
    ("/redirect-internal", RefusedAddress, "127.0.0.2 is a loopback address"),
    ("/redirect-file", RefusedAddress, "file scheme"),
    ("/redirect-gopher", RefusedAddress, "gopher scheme"),
    ("/loop-a", RedirectError, "the redirects go round in a loop"),
    ("/chain/0", RedirectError, "more than 5 redirects"),
    ("/redirect-without-location", RedirectError, "redirect without a Location"),
])
def test_a_hostile_redirect_is_one_named_error_and_nothing_internal_is_reached(hostile, http, canaries, path, error,
                                                                               words):
    before = [c.connections for c in canaries]
    started = time.monotonic()
    with pytest.raises(error) as caught:
        collect(http, hostile.url + path)
    message = str(caught.value)
    assert words in message and "\n" not in message
    assert message.startswith(f"{hostile.url}{path}")
    assert [c.connections for c in canaries] == before  # no connection to any internal address
    assert time.monotonic() - started < 5  # refused at once, never waited out


def test_another_port_of_the_allowed_host_is_refused(hostile, http, canaries):
    # the allow-list names an origin (host and port), not "loopback": 127.0.0.1 elsewhere stays internal
    other_port = canaries[1]
    with pytest.raises(RefusedAddress, match="127.0.0.1 is a loopback address"):
        collect(http, f"{other_port.url}/feed")
    assert other_port.connections == 0


def test_a_session_with_no_allow_list_opens_no_internal_address(hostile):
    with pytest.raises(RefusedAddress, match="loopback address"):
        collect(make_session(), f"{hostile.url}/feed")
    with pytest.raises(RefusedAddress, match="link-local address"):
        collect(make_session(), "http://169.254.169.254/latest/meta-data/")


@pytest.mark.parametrize("path, part", [("/trickle-headers", "its headers"), ("/trickle-body", "its body")])
def test_a_trickling_server_is_cut_off_at_the_deadline(hostile, http, path, part):
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded) as caught:
        collect(http, hostile.url + path)
    elapsed = time.monotonic() - started
    assert f"no complete answer within the {DEADLINE:g} s deadline (the server sent {part} too slowly)" in str(caught.value)
    # one exchange, not retried (the same trickle would come again), and never much past the deadline
    assert DEADLINE <= elapsed < DEADLINE + 2.0


def test_atom_nested_200000_deep_skips_that_entry_only(hostile, http):
    result = collect(http, f"{hostile.url}/deep-atom")
    assert result.posts == [] and result.skipped == 1
    assert result.problems == ["item 1: its content is nested too deeply to read"]


def test_a_failing_next_page_keeps_the_pages_already_parsed(hostile, http, canaries):
    # Blogger/FeedBurner paging: page 2's rel="next" address redirects to an internal address
    result = collect(http, f"{hostile.url}/blog/feed")
    assert [p.id.rsplit(":", 1)[-1] for p in result.posts] == ["p2", "p1"]
    assert result.pages == 1 and result.stopped.startswith("page 2 failed: ")
    assert "127.0.0.2 is a loopback address" in result.stopped
    summary = result.summary("st-fict", "rss", "blog")
    assert summary.status is CollectionStatus.PARTIAL and summary.posts == 2
    assert summary.message.startswith("partly collected (1 page(s) kept): page 2 failed: ")
    assert canaries[0].connections == 0


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "plugins"), "SOCIALAUDIT_HTTP_DEADLINE": str(DEADLINE)}
    return subprocess.run([sys.executable, "-m", "socialaudit", "collect", "--platform", "rss", *args,
                           "--since", "2026-11-01", "--until", "2026-11-30"],
                          capture_output=True, text=True, env=env, timeout=60)


@pytest.mark.parametrize("path, words", [
    ("/redirect-metadata", "link-local address"),
    ("/redirect-file", "file scheme"),
    ("/loop-a", "loop"),
    ("/trickle-body", "deadline"),
])
def test_the_cli_answers_a_hostile_feed_in_one_line_without_a_traceback(hostile, path, words):
    proc = cli("--account", hostile.url + path, "--allow", hostile.url)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == "" and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and words in proc.stderr


def test_the_cli_says_when_an_account_was_partly_collected(hostile):
    proc = cli("--account", f"{hostile.url}/blog/feed", "--allow", hostile.url)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.splitlines()) == 2 and "Traceback" not in proc.stderr
    assert "partly collected (1 page(s) kept): page 2 failed" in proc.stderr


def test_the_cli_refuses_loopback_unless_allowed(hostile):
    proc = cli("--account", f"{hostile.url}/feed")
    assert proc.returncode == 1 and "loopback address" in proc.stderr and "Traceback" not in proc.stderr
    assert cli("--account", f"{hostile.url}/feed", "--allow", hostile.url).returncode == 0


def test_the_link_checker_shares_the_deadline(hostile):
    from socialaudit.links import LinkResolver, LinkState

    resolver = LinkResolver(host_overrides={"slow.demo.test": ("127.0.0.1", hostile.port)}, only_overrides=True,
                            read_timeout=5.0, total_timeout=DEADLINE, retries=0, dns_canary=None)
    started = time.monotonic()
    result = resolver.resolve(f"http://slow.demo.test:{hostile.port}/trickle-headers")
    assert time.monotonic() - started < DEADLINE + 2.0
    assert result.state is LinkState.UNVERIFIED and "deadline" in result.reason and result.transient


def test_a_calendar_goes_through_the_same_guard(hostile, tmp_path):
    from checks._calendar import CalendarError
    from socialaudit.calendars import read_source

    with pytest.raises(CalendarError, match="169.254.169.254 is a link-local address"):
        read_source(f"{hostile.url}/redirect-metadata", base=tmp_path, allow=(hostile.url,))
    with pytest.raises(CalendarError, match="loopback address"):
        read_source(f"{hostile.url}/feed", base=tmp_path)  # not allowed by the config: refused


def test_an_account_answering_page_after_page_is_stopped_at_its_deadline_keeping_the_pages(hostile):
    # every page arrives in 0.25 s, inside the exchange's deadline; the account's own deadline ends it
    http = make_session(policy=HttpPolicy(total_timeout=DEADLINE, account_deadline=2.0, retries=0), allow=(hostile.url,))
    started = time.monotonic()
    result = collect(http, f"{hostile.url}/slow-pages/0")
    assert time.monotonic() - started < 2.0 + 1.0
    assert 3 <= result.pages < 10 and len(result.posts) == result.pages
    assert result.stopped.startswith(f"page {result.pages + 1} failed: ")
    assert "the account's 2 s collection deadline" in result.stopped
    assert result.summary("st-fict", "rss", "slow").status is CollectionStatus.PARTIAL


def test_waiting_past_the_account_deadline_is_refused_before_sleeping():
    slept: list[float] = []
    http = make_session(policy=HttpPolicy(account_deadline=5.0), sleep=slept.append)
    with pytest.raises(DeadlineExceeded, match="waiting 120 s more .* would pass the account's 5 s collection deadline"):
        http._sleep(120.0)
    assert slept == []


def test_a_mastodon_account_whose_next_page_fails_keeps_the_first_page(hostile, http):
    from collectors import mastodon

    result = mastodon.collect("@fict@mastodon.example", school="st-fict", session=http, since=SINCE, until=UNTIL,
                              base_url=f"{hostile.url}/mastodon")
    assert sorted(p.id for p in result.posts) == ["1", "2"] and result.pages == 1
    assert result.stopped.startswith("page 2 failed: ") and "169.254.169.254 is a link-local address" in result.stopped
    assert result.summary("st-fict", "mastodon", "@fict@mastodon.example").status is CollectionStatus.PARTIAL


def test_a_bluesky_account_whose_next_page_fails_keeps_the_first_page(hostile, http, canaries):
    from collectors import bluesky

    result = bluesky.collect("fict.example.sch.uk", school="st-fict", session=http, since=SINCE, until=UNTIL,
                             base_url=f"{hostile.url}/bluesky")
    assert len(result.posts) == 2 and result.pages == 1
    assert result.stopped.startswith("page 2 failed: ") and "127.0.0.2 is a loopback address" in result.stopped
    assert canaries[0].connections == 0


@pytest.mark.parametrize("platform, account, root, credentials, stopped", [
    ("x", "fict", "/x", {"token": "fict-token"}, "169.254.169.254 is a link-local address"),
    ("facebook", "fictpage", "/graph", {"token": "fict-token"}, "HTTP 503"),
    ("instagram", "fict", "/graph", {"token": "fict-token"}, "not JSON (text/html)"),
    ("youtube", "UC" + "f" * 22, "/yt", {"token": "fict-key"}, "the redirects go round in a loop"),
])
def test_every_paging_collector_keeps_the_pages_before_a_failing_one(hostile, http, canaries, platform, account, root,
                                                                     credentials, stopped):
    """X, Facebook, Instagram and YouTube keep page 1 when page 2 fails, as rss, mastodon and bluesky do."""
    from collectors._base import get_collector

    result = get_collector(platform)(account, school="st-fict", session=http, since=SINCE, until=UNTIL,
                                     base_url=f"{hostile.url}{root}", credentials=credentials)
    assert len(result.posts) == 2 and result.pages == 1
    assert result.stopped.startswith("page 2 failed: ") and stopped in result.stopped, result.stopped
    summary = result.summary("st-fict", platform, account)
    assert summary.status is CollectionStatus.PARTIAL and summary.message.startswith("partly collected (1 page(s) kept)")
    # a 503 or an unreadable page may mend on a retry; a refused address or a redirect loop will not
    assert result.retry is (platform in ("facebook", "instagram"))
    assert canaries[0].connections == 0 and canaries[1].connections == 0


@pytest.mark.parametrize("platform, account, credentials", [
    ("rss", None, None), ("mastodon", "@fict@mastodon.example", None), ("bluesky", "fict.example.sch.uk", None),
    ("x", "fict", {"token": "fict-token"}), ("facebook", "fictpage", {"token": "fict-token"}),
    ("instagram", "fict", {"token": "fict-token"}), ("youtube", "UC" + "f" * 22, {"token": "fict-key"}),
    ("youtube", "UC" + "f" * 22, None),  # the public channel feed
])
def test_an_empty_200_is_never_an_account_with_no_posts(hostile, http, platform, account, credentials):
    """An empty body with status 200 is a malformed answer (retried, then the account's error, so its
    checks are "not evaluated"), never a collection that found 0 posts (which would fail 4.3)."""
    from collectors._base import MalformedResponse, get_collector

    base = f"{hostile.url}/empty" + ("/feed" if platform == "rss" else "")
    with pytest.raises(MalformedResponse, match="empty response body|not valid JSON|not JSON|not an Atom feed"):
        get_collector(platform)(account, school="st-fict", session=http, since=SINCE, until=UNTIL, base_url=base,
                                credentials=credentials)
