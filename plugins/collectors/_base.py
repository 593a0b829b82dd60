"""What every collector shares: the signature, the result, and the error tree.

Every platform module in this package exposes one function::

    collect(account, *, school, session, since, until, base_url=None, credentials=None, archive=None)
        -> CollectionResult

Errors, drawn as httpx draws its tree::

    CollectorError                 base; never caught with a bare ``except Exception``
    ├── TransientError             timeout, connection error, 5xx, a body cut short, rate limit past
    │   │                          the cap: raised, so Airflow retries the task; on the final attempt
    │   │                          the pipeline records it as the account's ``error`` status
    │   └── MalformedResponse      a complete response that is not what the platform sends (an HTML
    │                              bot wall or maintenance page instead of JSON, invalid JSON): treated
    │                              as transient because in practice it is a CDN or proxy having a bad
    │                              minute; the raw body is archived first, so a parser bug can be fixed
    │                              and the week re-parsed without collecting again
    └── AccountError               recorded as the account's collection status, not retried
        ├── AccountUnavailable     unknown, private or suspended account
        ├── AuthError              bad, expired or missing credentials (401, bad API key)
        ├── UnsafeResponse         a response refused for safety: larger than the size cap, a
        │   │                      compressed bomb, an XML entity bomb. Retrying would fetch the same
        │   │                      bomb, so it is recorded (status ``error``), never retried
        │   └── RefusedAddress     a URL, or a hop of a redirect, that is not opened: a scheme other
        │                          than http(s) (``file:``), an internal, loopback, link-local or
        │                          metadata address not named in the config's ``demo:`` block
        ├── RedirectError          a redirect loop, or more hops than ``HttpPolicy.max_redirects``
        └── DeadlineExceeded       no complete answer (connect, headers and body together) within
                                   ``HttpPolicy.total_timeout``: a server trickling bytes

A body cut short (fewer bytes than ``Content-Length``, a broken chunked stream) is retried inside
the HTTP layer like a connection error, and becomes a ``TransientError`` when the retries run out.

A malformed item is none of these: it is skipped, counted in ``CollectionResult.skipped`` and
described in ``CollectionResult.problems`` while the rest of the page is kept (feedparser's "bozo"
idea). Every message is scrubbed of credentials before it is raised (``HttpSession.scrub``) and URLs
in messages carry no query string (where API keys travel).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import collectors
from socialaudit import plugin_modules, settings
from socialaudit.models import AccountCollection, CollectionStatus, Post

KEPT_BYTES = 64 * 1024  # the most of a refused body kept with the run's raw responses


@dataclass(frozen=True, slots=True)
class Answer:
    """What was received before an answer was refused, kept in the run's raw folder with the reason: the
    start of a body refused for its size (at most ``KEPT_BYTES``), and each redirect followed before a
    refused hop, a loop or too many hops. Addresses carry no query string (tokens travel there)."""

    url: str = ""  # the address that answered (or the hop that was refused)
    status: int | None = None
    content_type: str = ""
    head: bytes = b""  # the start of the body, decompressed
    hops: tuple[tuple[str, int, str], ...] = ()  # (address, status, Location) of each redirect followed


class CollectorError(Exception):
    """Base of every collection error. Messages never contain credentials."""

    answer: Answer | None = None  # what was received before the failure, when anything was


class TransientError(CollectorError):
    """Worth retrying later: timeouts, connection errors, 5xx, rate limits past the cap."""


class AccountError(CollectorError):
    """Recorded as the account's collection status; retrying would not help."""

    status = CollectionStatus.ERROR


class AccountUnavailable(AccountError):
    """Unknown, private, suspended or deleted account."""

    status = CollectionStatus.UNAVAILABLE


class AuthError(AccountError):
    """Bad, expired or missing credentials."""

    status = CollectionStatus.AUTH_FAILED


class UnsafeResponse(AccountError):
    """A response refused for safety (size cap, decompression bomb, XML entity bomb); not retried."""

    status = CollectionStatus.ERROR


class RefusedAddress(UnsafeResponse):
    """A URL (or a redirect's hop) refused before any connection: scheme, or an internal address."""


class RedirectError(AccountError):
    """A redirect loop, or too many redirects."""


class DeadlineExceeded(AccountError):
    """The whole exchange took longer than the total deadline (a server trickling its answer)."""


class MalformedResponse(TransientError):
    """A complete response that could not be parsed (HTML instead of JSON, invalid JSON): retried."""


@dataclass(slots=True)
class CollectionResult:
    """What one account yielded for a window."""

    posts: list[Post] = field(default_factory=list)
    skipped: int = 0
    problems: list[str] = field(default_factory=list)
    pages: int = 0
    stopped: str = ""  # why paging ended early (a later page failed): the pages before it are kept
    retry: bool = False  # the later page failed in a way a retry may mend (a 503, a 429, a timeout)
    failure: CollectorError | None = None  # the later page's error (its ``answer`` is kept with the raw responses)

    def skip(self, problem: str) -> None:
        self.skipped += 1
        if len(self.problems) < 20:
            self.problems.append(problem)

    def stop(self, reason: str, failure: CollectorError | None = None) -> None:
        """Paging stopped at a page that failed; what the earlier pages gave is kept (partly collected)."""
        self.stopped = reason
        self.failure = failure

    def page_failed(self, exc: CollectorError) -> None:
        """A page failed: on the first page the account's error (``exc`` is raised again); on a later
        page the pages already parsed are kept and the account is partly collected, saying why."""
        if not self.pages:
            raise exc
        self.stop(f"page {self.pages + 1} failed: {exc}", exc)
        self.retry = isinstance(exc, TransientError)

    def summary(self, school: str, platform: str, account: str) -> AccountCollection:
        status = CollectionStatus.PARTIAL if self.skipped or self.stopped else CollectionStatus.OK
        parts = []
        if self.stopped:
            parts.append(f"partly collected ({self.pages} page(s) kept): {self.stopped}")
        if self.skipped:
            parts.append(f"{self.skipped} malformed item(s) skipped: {'; '.join(self.problems[:3])}")
        message = "; ".join(parts)
        return AccountCollection(
            school=school,
            platform=platform,
            account=account,
            status=status,
            message=message,
            posts=len(self.posts),
            skipped=self.skipped,
            pages=self.pages,
        )


class Archive(Protocol):
    """Where raw response bodies go before they are parsed (nothing collected is ever lost)."""

    def save_raw(self, *, platform: str, account: str, page: int, url: str, body: bytes, content_type: str) -> None: ...


class NullArchive:
    def save_raw(self, *, platform: str, account: str, page: int, url: str, body: bytes, content_type: str) -> None:
        return None


Collector = Callable[..., CollectionResult]


def platforms() -> list[str]:
    """The platform modules: the non-underscore modules of the ``collectors`` package (listed again only when
    one of its folders changed: :func:`socialaudit.plugin_modules`)."""
    return list(plugin_modules(collectors.__path__))


def get_collector(platform: str) -> Collector:
    """The ``collect`` function of a platform module; ValueError naming the known ones."""
    known = platforms()
    if platform not in known:
        raise ValueError(f"unknown platform {platform!r} (known: {', '.join(known)})")
    module = importlib.import_module(f"collectors.{platform}")
    return module.collect  # type: ignore[no-any-return]


def takes_credentials(platform: str) -> bool:
    """Whether a platform's collector reads credentials. A module whose accounts are public and that never reads
    them (a website feed, Bluesky's public AppView) says ``CREDENTIALS = False``; its accounts are collected
    without looking up an Airflow Connection, which is an execution-API request for each account."""
    return bool(getattr(importlib.import_module(f"collectors.{platform}"), "CREDENTIALS", True))


def credential_env(platform: str) -> str:
    """Environment variable the CLI reads a platform's token from."""
    return settings.credential_env(platform)


def load_credentials(platform: str, connection_id: str = "") -> dict[str, Any] | None:
    """Credentials from the Airflow Connection ``socialaudit_<platform>`` or the CLI's env var.

    Returns None when neither is set; a collector that needs credentials raises AuthError then. Raises
    TransientError when Airflow could not say (its execution API answered with an error other than "not
    found"): the account is then retried, not told its credentials were refused.
    """
    token = settings.platform_token(platform)
    if token:
        return {"token": token}
    conn_id = connection_id or f"socialaudit_{platform}"
    if not settings.airflow_connection_in_env(conn_id):
        return None
    try:
        from airflow.sdk import Connection
        from airflow.sdk.exceptions import AirflowNotFoundException, AirflowRuntimeError
    except ImportError:
        return None
    try:
        conn = Connection.get(conn_id)
    except AirflowNotFoundException:
        return None
    except Exception as exc:  # noqa: BLE001 - the API failed (AirflowRuntimeError: a 5xx, a timeout...) or the comms did
        error = getattr(getattr(exc, "error", None), "error", None) if isinstance(exc, AirflowRuntimeError) else None
        kind = str(getattr(error, "value", error or ""))
        raise TransientError(f"the Airflow connection {conn_id} could not be read "
                             f"({kind or type(exc).__name__}); retried later") from None
    return {"token": conn.password or "", "login": conn.login or "", "extra": conn.extra_dejson}


def parse_html(html: str) -> Any:
    """``html`` parsed by BeautifulSoup's html.parser. The parser refuses some markup declarations outright
    ("<p>a <![ b</p>" raises ParserRejectedMarkup, and one such item lost its whole feed): those are read again
    as text. ValueError when even that fails, so the caller skips that one item and names it."""
    from bs4 import BeautifulSoup
    from bs4.exceptions import ParserRejectedMarkup

    try:
        return BeautifulSoup(html, "html.parser")
    except ParserRejectedMarkup:
        pass
    try:
        return BeautifulSoup(html.replace("<!", "&lt;!"), "html.parser")
    except ParserRejectedMarkup as exc:
        first = " ".join(str(exc).split())[:200]
        raise ValueError(f"its HTML could not be read ({first})") from None

