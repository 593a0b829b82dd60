"""The one place that builds HTTP sessions for collectors.

``make_session()`` returns an :class:`HttpSession`: a ``requests`` session plus the policy around it:

- connect and read timeouts on every request (``HttpPolicy.connect_timeout``/``read_timeout``), and
  a total deadline on each exchange, connect, headers and body together (``total_timeout``): a
  server trickling one byte every few seconds is cut off (:class:`DeadlineExceeded`, not retried);
- a deadline per account (``account_deadline``: every request of the session, and its waits, together;
  the pipeline gives each account its own session), so a platform answering page after page just
  inside the per-exchange deadline cannot hold the school's task (:class:`DeadlineExceeded`);
- redirects followed here, hop by hop (at most ``max_redirects``; a loop is a :class:`RedirectError`),
  every hop checked by the SSRF guard (:mod:`collectors._guard`, shared with the link resolver)
  before any connection: http(s) only, no internal, loopback, link-local or metadata address unless
  the config's ``demo:`` block names that origin (:class:`RefusedAddress`, not retried); each
  connection goes to the address that was checked, and credentials go to the first origin only;
- an honest User-Agent naming the project and what it does;
- retries with exponential back-off and full jitter on connection errors, timeouts, bodies cut
  short and 5xx answers (``retries`` attempts after the first), then :class:`TransientError`;
- 429 handling that honours ``Retry-After`` (seconds or HTTP date) and the platforms' own reset
  headers: X ``x-rate-limit-reset`` (Unix seconds), Mastodon ``X-RateLimit-Reset`` (ISO 8601),
  Bluesky ``RateLimit-Reset`` (Unix seconds: atproto's ``xrpc-server`` sets it to
  ``floor((now + msBeforeNext) / 1000)``, and sends ``Retry-After`` in seconds on a 429), waiting
  up to ``max_rate_limit_wait`` per wait and ``retries`` waits, then :class:`TransientError`;
- pre-emptive slowing: when a response says the window has no requests left (``*-Remaining: 0``),
  the next request to that host waits for the window's reset instead of earning a 429;
- a cap on the response size, counted on the *decompressed* bytes: the body is read compressed and
  inflated here in bounded steps, so a gzip bomb is refused after ``max_body_bytes`` of output,
  never inflated into memory (:class:`UnsafeResponse`, recorded, not retried).

Sleeping and the clock are injectable so tests of back-off run instantly. Collectors receive a
session; none builds one. Messages never contain credentials (``secrets`` are scrubbed) or query
strings (where API keys travel).
"""

from __future__ import annotations

import json
import random
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError

from collectors._base import (
    KEPT_BYTES,
    Answer,
    CollectorError,
    DeadlineExceeded,
    MalformedResponse,
    RedirectError,
    RefusedAddress,
    TransientError,
    UnsafeResponse,
)
from collectors._guard import DnsFailure, Guard, NotAllowed, UnsafeAddress, origin
from socialaudit import settings

USER_AGENT = ("socialaudit/0.1 (+https://github.com/socialaudit/socialaudit; "
              "weekly policy audit of a school trust's own public accounts)")
MAX_BODY_BYTES = 10 * 1024 * 1024
REDIRECTS = (301, 302, 303, 307, 308)
_REMAINING = ("x-rate-limit-remaining", "x-ratelimit-remaining", "ratelimit-remaining")
DEFAULT_RATE_LIMIT_WAIT = 120.0  # seconds; see rate_limit_wait_for


@dataclass(slots=True)
class HttpPolicy:
    """Timeouts, retry and rate-limit budget, and the body cap; defaults suit every platform."""

    connect_timeout: float = 5.0
    read_timeout: float = 20.0  # the longest silence between two reads
    # one exchange as a whole: connect, headers and body (a trickle is cut off); $SOCIALAUDIT_HTTP_DEADLINE
    total_timeout: float = field(default_factory=settings.http_deadline)
    max_redirects: int = 5
    # every request of one session (one account, in the pipeline) together, waits included; None: no limit
    account_deadline: float | None = None
    retries: int = 4  # attempts after the first, for connection errors, timeouts and 5xx
    backoff: float = 0.5  # first delay; doubles each attempt, with full jitter
    max_backoff: float = 30.0
    # longest single wait for a rate limit before giving up; a platform with a documented window waits for its
    # reset (rate_limit_wait_for), anything else (a school's website, a calendar) gives up sooner
    max_rate_limit_wait: float = DEFAULT_RATE_LIMIT_WAIT
    max_body_bytes: int = MAX_BODY_BYTES


# Platforms whose documented rate limit is a window of this many seconds (Mastodon 300 requests and Bluesky 3,000
# per 5 minutes; ../shared/reference/platforms.md): a trust that spends a window early waits for its reset. With
# 120 s, its collect tasks failed and their retries collected the batch again, spending the next window too (issue 12).
RATE_LIMIT_WINDOWS = {"mastodon": 300.0, "bluesky": 300.0}


def rate_limit_wait_for(platform: str) -> float:
    """The longest single rate-limit wait for an account on ``platform``: its documented window, else the default."""
    return RATE_LIMIT_WINDOWS.get(platform, DEFAULT_RATE_LIMIT_WAIT)


@dataclass(slots=True)
class Response:
    """A fetched body, already size-checked and decompressed."""

    url: str
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON; MalformedResponse (transient) when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError as exc:
            reason = getattr(exc, "msg", None) or type(exc).__name__
            raise MalformedResponse(f"{_safe_url(self.url)}: response is not valid JSON ({reason})") from None
        except RecursionError:
            raise MalformedResponse(f"{_safe_url(self.url)}: response JSON is nested too deeply") from None

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


class _CutShort(Exception):
    """The connection ended before the body was complete (retried like a connection error)."""


@dataclass(slots=True)
class HttpSession:
    """A requests session plus the retry and rate-limit policy around it. Safe to share between threads."""

    session: requests.Session
    policy: HttpPolicy = field(default_factory=HttpPolicy)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    rng: random.Random = field(default_factory=random.Random)
    secrets: tuple[str, ...] = ()  # values scrubbed from every error message
    guard: Guard = field(default_factory=Guard)  # checks every hop; its adapter pins each host to the checked address
    stats: Counter[str] = field(default_factory=Counter)  # requests, retries, rate-limit waits (for benchmarks)
    _not_before: dict[str, float] = field(default_factory=dict)  # host -> time its window resets
    _started: float | None = None  # monotonic time of the first request (for ``account_deadline``)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, url: str, *, params: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> Response:
        """GET with retries, following redirects here, hop by hop, each hop checked by the guard.

        Returns any status below 500 except 429 and redirects; the caller interprets 4xx. Raises
        :class:`RefusedAddress` (a hop's scheme or address), :class:`RedirectError` (a loop, too
        many hops), :class:`DeadlineExceeded` (an exchange slower than ``total_timeout``) and the
        errors of :meth:`_exchange`. The caller's headers (credentials) go to the first origin only.
        """
        current = url
        home = _origin_or_none(url)
        seen: set[str] = set()
        hops: list[tuple[str, int, str]] = []  # each redirect followed: kept with the reason when a later hop fails

        def failed(exc: CollectorError, where: str) -> CollectorError:
            if hops:
                exc.answer = replace(exc.answer or Answer(url=_safe_url(where)), hops=tuple(hops))
            return exc

        for hop in range(self.policy.max_redirects + 1):
            try:
                prepared = requests.Request("GET", current, params=params if hop == 0 else None).prepare()
                target = prepared.url or current
            except (requests.RequestException, ValueError, UnicodeError):
                raise failed(RefusedAddress(self.scrub(f"{_hop(url, current)}: the address is malformed")),
                             current) from None
            if target in seen:
                raise failed(RedirectError(self.scrub(f"{_safe_url(url)}: the redirects go round in a loop "
                                                      f"(back to {_safe_url(target)})")), target)
            seen.add(target)
            same_origin = _origin_or_none(target) == home
            try:
                outcome = self._exchange(target, url, headers=headers if same_origin else None)
            except CollectorError as exc:
                raise failed(exc, target) from None
            if isinstance(outcome, Response):
                return outcome
            status, location = outcome
            current = urljoin(target, location)
            hops.append((_safe_url(target), status, _safe_url(current)))
        raise failed(RedirectError(self.scrub(f"{_safe_url(url)}: more than {self.policy.max_redirects} redirects")),
                     current)

    def _exchange(self, url: str, first: str, *, headers: dict[str, str] | None) -> Response | tuple[int, str]:
        """One hop: the response, or the redirect's (status, Location). Retries transient failures."""
        attempt = 0
        waited_for_limit = 0
        host = urlsplit(url).netloc
        where = _hop(first, url)
        while True:
            try:
                self.guard.check_url(url)
            except (UnsafeAddress, NotAllowed) as exc:
                raise RefusedAddress(self.scrub(f"{where}: refused: {exc}")) from None
            except ValueError:
                raise RefusedAddress(self.scrub(f"{where}: refused: the address has no host")) from None
            except DnsFailure as exc:
                attempt = self._retry_or_raise(attempt, f"{where}: {exc} after {attempt + 1} attempts")
                continue
            self._wait_for_window(host, url)
            self._count("requests")
            total = self._time_left()
            wait: float | None = None
            body = b""
            with self.guard.deadline(total) as limit:
                try:
                    raw = self.session.get(url, headers=headers, allow_redirects=False, stream=True,
                                           timeout=(self.policy.connect_timeout, self.policy.read_timeout))
                except (requests.ConnectionError, requests.Timeout) as exc:
                    if limit.expired:
                        raise DeadlineExceeded(self.scrub(self._too_slow(where, total, "its headers"))) from None
                    attempt = self._retry_or_raise(attempt, f"{where}: {type(exc).__name__} after {attempt + 1} attempts")
                    continue
                if raw.status_code in REDIRECTS:
                    location = raw.headers.get("location", "").strip()
                    raw.close()
                    if not location:
                        raise RedirectError(self.scrub(f"{where}: HTTP {raw.status_code} redirect without a Location"))
                    return raw.status_code, location
                if raw.status_code != 429:
                    self._note_window(host, raw.headers)
                if raw.status_code == 429 or raw.status_code >= 500:
                    status = raw.status_code
                    wait = retry_after(raw, self.clock()) if status == 429 else None
                    raw.close()
                else:
                    status = 0
                    try:
                        body = self._read_capped(raw)
                    except (requests.ConnectionError, requests.Timeout, _CutShort) as exc:
                        if limit.expired:
                            raise DeadlineExceeded(self.scrub(self._too_slow(where, total, "its body"))) from None
                        what = "body cut short" if isinstance(exc, _CutShort) else type(exc).__name__
                        attempt = self._retry_or_raise(attempt, f"{where}: {what} after {attempt + 1} attempts")
                        continue
                    if limit.expired:
                        raise DeadlineExceeded(self.scrub(self._too_slow(where, total, "its body")))
            if status == 429:
                if wait is None:
                    wait = self._backoff(waited_for_limit)
                if wait > self.policy.max_rate_limit_wait or waited_for_limit >= self.policy.retries:
                    raise TransientError(self.scrub(f"{where}: rate limited (asked to wait {wait:.0f} s)"))
                self._count("rate_limit_waits")
                self._sleep(max(wait, 0.0))
                waited_for_limit += 1
                continue
            if status >= 500:
                attempt = self._retry_or_raise(attempt, f"{where}: HTTP {status} after {attempt + 1} attempts")
                continue
            return Response(url=raw.url, status=raw.status_code, headers={k.lower(): v for k, v in raw.headers.items()}, body=body)

    def scrub(self, message: str) -> str:
        """The message with every configured secret replaced by ``***``."""
        for secret in self.secrets:
            if secret:
                message = message.replace(secret, "***")
        return message

    # --- retries and rate limits ---------------------------------------------------------------

    def _retry_or_raise(self, attempt: int, message: str) -> int:
        if attempt >= self.policy.retries:
            raise TransientError(self.scrub(message))
        self._count("retries")
        self._sleep(self._backoff(attempt))
        return attempt + 1

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.policy.max_backoff, self.policy.backoff * (2**attempt))
        return self.rng.uniform(ceiling / 2, ceiling)

    def _too_slow(self, where: str, seconds: float, part: str) -> str:
        limit = self.policy.account_deadline
        if limit is not None and seconds < self.policy.total_timeout:
            return f"{where}: the account's {limit:g} s collection deadline passed during this request"
        return _too_slow(where, seconds, part)

    def _time_left(self) -> float:
        """Seconds the next exchange may take: ``total_timeout``, or less when the account's deadline is nearer."""
        left = self._account_left()
        return self.policy.total_timeout if left is None else min(self.policy.total_timeout, left)

    def _account_left(self) -> float | None:
        """Seconds left of the account's deadline (None without one); DeadlineExceeded once it has passed."""
        limit = self.policy.account_deadline
        if limit is None:
            return None
        now = time.monotonic()
        with self._lock:
            if self._started is None:
                self._started = now
            started = self._started
        left = limit - (now - started)
        if left <= 0:
            raise DeadlineExceeded(f"the account's {limit:g} s collection deadline has passed")
        return left

    def _sleep(self, seconds: float) -> None:
        left = self._account_left()
        if left is not None and seconds >= left:
            raise DeadlineExceeded(f"waiting {seconds:.0f} s more (back-off or rate limit) would pass the account's "
                                   f"{self.policy.account_deadline:g} s collection deadline")
        with self._lock:
            self.stats["slept_ms"] += int(seconds * 1000)
        self.sleep(seconds)

    def _count(self, name: str) -> None:
        with self._lock:
            self.stats[name] += 1

    def _note_window(self, host: str, headers: Mapping[str, str]) -> None:
        """Remember when a host's exhausted window resets, so the next request waits instead of a 429.

        Only successful answers count: a 429 is waited out by its own handling.
        """
        remaining = next((headers[name] for name in _REMAINING if headers.get(name) is not None), None)
        if remaining is None or remaining.strip() != "0":
            return
        now = self.clock()
        wait = reset_wait(headers, now)
        if wait is None:
            return
        with self._lock:
            self._not_before[host] = max(self._not_before.get(host, 0.0), now + wait)

    def _wait_for_window(self, host: str, url: str) -> None:
        with self._lock:
            until = self._not_before.get(host, 0.0)
        wait = until - self.clock()
        if wait <= 0:
            return
        if wait > self.policy.max_rate_limit_wait:
            raise TransientError(self.scrub(f"{_safe_url(url)}: rate-limit window exhausted for another {wait:.0f} s"))
        self._count("preemptive_waits")
        self._sleep(wait)

    # --- the body ------------------------------------------------------------------------------

    def _read_capped(self, raw: requests.Response) -> bytes:
        """The decompressed body, refused once it passes the cap (compressed bombs included)."""
        limit = self.policy.max_body_bytes
        url = _safe_url(raw.url)
        declared = raw.headers.get("content-length", "")
        encoding = raw.headers.get("content-encoding", "").strip().lower()
        out = bytearray()

        def refused(message: str) -> UnsafeResponse:  # the reason, and the start of the body with it
            exc = UnsafeResponse(message)
            exc.answer = Answer(url=url, status=raw.status_code, content_type=raw.headers.get("content-type", ""),
                                head=bytes(out[:KEPT_BYTES]))
            return exc

        try:
            if declared.isdigit() and not encoding and int(declared) > limit:
                raise refused(f"{url}: response of {declared} bytes exceeds the {limit}-byte cap")
            if encoding in ("gzip", "x-gzip"):
                inflater: Any = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            elif encoding == "deflate":
                inflater = _DeflateInflater()
            elif encoding in ("", "identity"):
                inflater = None
            else:
                raise MalformedResponse(f"{url}: unsupported Content-Encoding {encoding!r}")
            received = 0
            for chunk in raw.raw.stream(65536, decode_content=False):
                received += len(chunk)
                if inflater is None:
                    out += chunk
                else:
                    # Inflate in bounded steps: never more than the room left under the cap at once.
                    data = chunk
                    while data:
                        room = limit - len(out) + 1
                        out += inflater.decompress(data, room)
                        if len(out) > limit:
                            break
                        data = inflater.unconsumed_tail
                        if not data and inflater.eof and getattr(inflater, "unused_data", b""):
                            # Concatenated gzip members are one stream (RFC 1952): inflate the next.
                            data = inflater.unused_data
                            inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
                if len(out) > limit:
                    if inflater is not None:
                        raise refused(f"{url}: response decompresses to more than the {limit}-byte cap "
                                      f"(compressed bomb?) after {received} bytes received")
                    raise refused(f"{url}: response exceeds the {limit}-byte cap")
            if declared.isdigit() and received < int(declared):
                raise _CutShort()
            if inflater is not None:
                out += inflater.flush()
                if not inflater.eof and out:
                    raise _CutShort()
        except (zlib.error, DecodeError):
            raise MalformedResponse(f"{url}: response body could not be decompressed") from None
        except (requests.exceptions.ChunkedEncodingError, ProtocolError, ReadTimeoutError):
            raise _CutShort() from None
        finally:
            raw.close()
        return bytes(out)


class _DeflateInflater:
    """HTTP 'deflate' is zlib-wrapped in the RFC and raw deflate in practice: accept both."""

    def __init__(self) -> None:
        self._obj: Any = None
        self.unconsumed_tail = b""

    def decompress(self, data: bytes, max_length: int) -> bytes:
        if self._obj is None:
            try:
                probe = zlib.decompressobj()
                first = probe.decompress(data, max_length)
                self._obj = probe
                self.unconsumed_tail = probe.unconsumed_tail
                return first
            except zlib.error:
                self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
        result = self._obj.decompress(data, max_length)
        self.unconsumed_tail = self._obj.unconsumed_tail
        return bytes(result)

    def flush(self) -> bytes:
        return bytes(self._obj.flush()) if self._obj is not None else b""

    @property
    def eof(self) -> bool:
        return bool(self._obj is not None and self._obj.eof)


def reset_wait(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds until a rate-limit window resets, from the platforms' reset headers; None if absent.

    X ``x-rate-limit-reset`` and Bluesky ``RateLimit-Reset`` are Unix seconds (a small number is
    read as delta-seconds, as the IETF RateLimit draft has it); Mastodon ``X-RateLimit-Reset`` is
    an ISO 8601 time.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    for name in ("x-rate-limit-reset", "ratelimit-reset", "x-ratelimit-reset"):
        value = (lowered.get(name) or "").strip()
        if not value:
            continue
        if value.replace(".", "", 1).isdigit():
            reset = float(value)
            return reset if reset < 10**9 else max(0.0, reset - now)
        try:
            reset_at = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            continue
        if reset_at.tzinfo is None:
            reset_at = reset_at.replace(tzinfo=timezone.utc)
        return max(0.0, reset_at.timestamp() - now)
    return None


def retry_after(raw: Any, now: float) -> float | None:
    """Seconds to wait after a 429, from ``Retry-After`` or the platforms' reset headers, if any."""
    headers = {k.lower(): v for k, v in raw.headers.items()}
    value = (headers.get("retry-after") or "").strip()
    if value:
        if value.isdigit():
            return float(value)
        from email.utils import parsedate_to_datetime

        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - now)
        except (TypeError, ValueError, IndexError):
            pass
    return reset_wait(headers, now)


def _safe_url(url: str) -> str:
    """The URL without its query string, which may carry an access token."""
    return url.split("?", 1)[0]


def _hop(first: str, current: str) -> str:
    """How a message names a hop: the URL asked for, and where a redirect led when that differs."""
    if _safe_url(current) == _safe_url(first):
        return _safe_url(first)
    return f"{_safe_url(first)} (redirected to {_safe_url(current)})"


def _too_slow(where: str, seconds: float, part: str) -> str:
    return f"{where}: no complete answer within the {seconds:g} s deadline (the server sent {part} too slowly)"


def _origin_or_none(url: str) -> tuple[str, str, int] | None:
    try:
        return (urlsplit(url).scheme.lower(), *origin(url))
    except ValueError:
        return None


def make_session(*, policy: HttpPolicy | None = None, sleep: Callable[[float], None] | None = None,
                 clock: Callable[[], float] | None = None, secrets: tuple[str, ...] = (),
                 pool_size: int = 16, allow: Iterable[str] = (), guard: Guard | None = None) -> HttpSession:
    """Build the HTTP session every collector uses (``pool_size`` connections kept per host).

    ``allow`` names the internal origins that may be opened (the demo simulator's, from the config's
    ``demo:`` block); every other internal address is refused. ``guard`` replaces the whole guard
    (the link resolver's, with its pinned demo hosts).
    """
    policy = policy or HttpPolicy()
    guard = guard or Guard(allow=allow, dns_timeout=policy.connect_timeout)
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    session.headers["Accept-Encoding"] = "gzip, deflate"
    adapter = guard.adapter(pool_size)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.trust_env = False  # no proxies or .netrc credentials picked up from the environment
    return HttpSession(
        session=session,
        policy=policy,
        guard=guard,
        sleep=sleep or time.sleep,
        clock=clock or time.time,
        secrets=tuple(s for s in secrets if s),
    )
