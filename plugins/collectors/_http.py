"""The one place that builds HTTP sessions for collectors.

``make_session()`` sets timeouts, an honest User-Agent, retries with exponential back-off and jitter
on connection errors and 5xx, 429 handling that honours ``Retry-After`` and the platforms'
rate-limit headers up to a cap, and a cap on response size (compressed bombs included). Sleeping and
the clock are injectable so tests of back-off run instantly. Collectors receive a session; none
builds one.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import requests

from collectors._base import MalformedResponse, TransientError

USER_AGENT = "socialaudit/0.1 (+https://github.com/socialaudit/socialaudit; policy audit of school accounts)"
MAX_BODY_BYTES = 10 * 1024 * 1024


@dataclass(slots=True)
class HttpPolicy:
    connect_timeout: float = 5.0
    read_timeout: float = 20.0
    retries: int = 4  # attempts after the first, for connection errors, timeouts and 5xx
    backoff: float = 0.5  # first delay; doubles each attempt, with full jitter
    max_backoff: float = 30.0
    max_rate_limit_wait: float = 120.0  # longest single wait for a rate limit before giving up
    max_body_bytes: int = MAX_BODY_BYTES


@dataclass(slots=True)
class Response:
    """A fetched body, already size-checked and decompressed."""

    url: str
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        import json

        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise MalformedResponse(f"{_safe_url(self.url)}: response is not valid JSON ({exc.msg})") from None

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


@dataclass(slots=True)
class HttpSession:
    """A requests session plus the retry and rate-limit policy around it."""

    session: requests.Session
    policy: HttpPolicy = field(default_factory=HttpPolicy)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    rng: random.Random = field(default_factory=random.Random)
    secrets: tuple[str, ...] = ()  # values scrubbed from every error message

    def get(self, url: str, *, params: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> Response:
        """GET with retries. Returns any status below 500 except 429; the caller interprets 4xx."""
        attempt = 0
        waited_for_limit = 0
        while True:
            try:
                raw = self.session.get(
                    url,
                    params=params,
                    headers=headers,
                    timeout=(self.policy.connect_timeout, self.policy.read_timeout),
                    stream=True,
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                if attempt >= self.policy.retries:
                    raise TransientError(self.scrub(f"{_safe_url(url)}: {type(exc).__name__} after {attempt + 1} attempts")) from None
                self.sleep(self._backoff(attempt))
                attempt += 1
                continue
            if raw.status_code == 429:
                wait = retry_after(raw, self.clock())
                raw.close()
                if wait is None:
                    wait = self._backoff(waited_for_limit)
                if wait > self.policy.max_rate_limit_wait or waited_for_limit >= self.policy.retries:
                    raise TransientError(self.scrub(f"{_safe_url(url)}: rate limited (asked to wait {wait:.0f} s)"))
                self.sleep(max(wait, 0.0))
                waited_for_limit += 1
                continue
            if raw.status_code >= 500:
                raw.close()
                if attempt >= self.policy.retries:
                    raise TransientError(self.scrub(f"{_safe_url(url)}: HTTP {raw.status_code} after {attempt + 1} attempts"))
                self.sleep(self._backoff(attempt))
                attempt += 1
                continue
            try:
                body = self._read_capped(raw)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if attempt >= self.policy.retries:
                    raise TransientError(self.scrub(f"{_safe_url(url)}: {type(exc).__name__} while reading")) from None
                self.sleep(self._backoff(attempt))
                attempt += 1
                continue
            return Response(url=raw.url, status=raw.status_code, headers={k.lower(): v for k, v in raw.headers.items()}, body=body)

    def scrub(self, message: str) -> str:
        for secret in self.secrets:
            if secret:
                message = message.replace(secret, "***")
        return message

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.policy.max_backoff, self.policy.backoff * (2**attempt))
        return self.rng.uniform(ceiling / 2, ceiling)

    def _read_capped(self, raw: requests.Response) -> bytes:
        limit = self.policy.max_body_bytes
        declared = raw.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raw.close()
            raise MalformedResponse(f"{_safe_url(raw.url)}: response of {declared} bytes exceeds the {limit}-byte cap")
        chunks: list[bytes] = []
        size = 0
        # iter_content decompresses gzip/deflate, so the cap applies to the inflated size: a
        # compressed bomb is refused after `limit` bytes, not after it has filled memory.
        try:
            for chunk in raw.iter_content(chunk_size=65536):
                size += len(chunk)
                if size > limit:
                    raise MalformedResponse(f"{_safe_url(raw.url)}: response exceeds the {limit}-byte cap")
                chunks.append(chunk)
        except requests.exceptions.ContentDecodingError:
            raise MalformedResponse(f"{_safe_url(raw.url)}: response body could not be decompressed") from None
        except requests.exceptions.ChunkedEncodingError:
            raise MalformedResponse(f"{_safe_url(raw.url)}: response body was truncated") from None
        finally:
            raw.close()
        return b"".join(chunks)


def retry_after(raw: requests.Response, now: float) -> float | None:
    """Seconds to wait from ``Retry-After`` or the platforms' reset headers, if any is present."""
    headers = raw.headers
    value = headers.get("Retry-After")
    if value:
        if value.strip().isdigit():
            return float(value.strip())
        from email.utils import parsedate_to_datetime

        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - now)
        except (TypeError, ValueError):
            pass
    for name in ("x-rate-limit-reset", "RateLimit-Reset"):  # X and Bluesky: Unix seconds
        value = headers.get(name)
        if value and value.strip().isdigit():
            reset = float(value.strip())
            # RateLimit-Reset is sometimes delta-seconds (IETF draft); an epoch is far larger.
            return reset if reset < 10**9 else max(0.0, reset - now)
    value = headers.get("X-RateLimit-Reset")  # Mastodon: ISO 8601
    if value:
        try:
            reset_at = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if reset_at.tzinfo is None:
                reset_at = reset_at.replace(tzinfo=timezone.utc)
            return max(0.0, reset_at.timestamp() - now)
        except ValueError:
            if value.strip().isdigit():
                return max(0.0, float(value) - now)
    return None


def _safe_url(url: str) -> str:
    """The URL without its query string, which may carry an access token."""
    return url.split("?", 1)[0]


def make_session(*, policy: HttpPolicy | None = None, sleep: Callable[[float], None] | None = None,
                 clock: Callable[[], float] | None = None, secrets: tuple[str, ...] = (),
                 pool_size: int = 16) -> HttpSession:
    """Build the HTTP session every collector uses."""
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    session.headers["Accept-Encoding"] = "gzip, deflate"
    adapter = requests.adapters.HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.trust_env = False  # no proxies or .netrc credentials picked up from the environment
    return HttpSession(
        session=session,
        policy=policy or HttpPolicy(),
        sleep=sleep or time.sleep,
        clock=clock or time.time,
        secrets=secrets,
    )
