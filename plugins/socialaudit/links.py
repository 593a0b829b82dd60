"""Safe link resolution for the external_links check (policy 4.1).

The collect step resolves the links the check will judge (``checks.external_links.planned``: which links,
and the ``stop`` rule that names an allowlisted or blocklisted hop without opening it) and keeps the
resolutions in the run's raw folder (:func:`kept_body`); the check step and ``history replay`` read
them back (:class:`KeptLinks`), so neither opens a link. ``scan`` has no collect step: it resolves as
the check asks.

:class:`LinkResolver` expands shorteners and follows redirects (``max_hops``), asking ``HEAD`` first
and ``GET`` when HEAD is refused (any 4xx/5xx, 405 included; a GET is closed after its headers, so
no body is ever read). Requests go through the shared HTTP layer (``collectors._http.make_session``:
its User-Agent, timeouts, no proxies from the environment) with redirects followed here, one hop at
a time, so every hop is checked.

SSRF rules, at every hop, before any connection:

- only ``http`` and ``https``; a URL carrying a user name (``https://gov.uk@evil.example``) is refused;
- the host is resolved (``getaddrinfo``) and refused if *any* address is loopback, private,
  link-local (169.254.169.254), multicast, reserved, unspecified or otherwise not globally routable,
  IPv4 and IPv6 alike (an IPv4-mapped, 6to4 or NAT64 IPv6 address is judged as its IPv4 address);
- the connection goes to the address that was checked: the transport adapter pins the host to it,
  so a DNS answer that changes between the check and the connection (DNS rebinding) is never used.
  TLS still verifies the certificate against the URL's host name (SNI and hostname match unchanged);
- each request has a total deadline (``total_timeout``), so a server trickling its headers is cut off.

The address rules and the pinned transport are the collectors' (:mod:`collectors._guard`): one
implementation for every HTTP read.

Loopback can be allowed only explicitly (``allow_loopback=True``, for tests). The demo pins the
simulator's fictional hosts to the simulator's address (``host_overrides``) and, with
``only_overrides``, fetches nothing else, so the demo makes no internet requests.

Outcomes (:class:`LinkState`): ``ok`` (2xx, or stopped at an allowlisted/blocklisted hop without
fetching it), ``broken`` (4xx, 5xx, a domain that does not exist, refused connection, bad TLS,
redirect loop, too many hops), ``unverified`` (403 or 429 from a bot wall, 401, timeouts),
``unsafe`` (SSRF rules above) and ``not_evaluated`` (infrastructure: DNS or the network unavailable,
resolution switched off). A domain that "does not exist" is only called broken when a known-good
name (``dns_canary``) resolves, so an offline machine never reports every link as broken.

Results are cached per resolver (in memory) and, with ``StoreCache``, in the audit store's
``link_resolutions`` table for ``ttl`` seconds, so the collect task's retries and the benchmark reuse
them; transient outcomes (429, timeouts, infrastructure) are never persisted.
"""

from __future__ import annotations

import errno
import json
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from sqlalchemy import Engine

from collectors._guard import DnsFailure, GetAddrInfo, Guard, NotAllowed, UnsafeAddress, address_problem, check_address
from collectors._guard import with_timeout as with_timeout  # re-exported
from collectors._http import HttpPolicy, make_session
from socialaudit.config import TrustConfig
from socialaudit.models import LinkState as LinkState  # re-exported: the resolver's answers
from socialaudit.store import Store

__all__ = ["HopAnswer", "KeptLinks", "LinkResolution", "LinkResolver", "LinkState", "StoreCache", "UnsafeAddress", "address_problem",
           "check_address", "resolver_for", "with_timeout"]

REDIRECTS = (301, 302, 303, 307, 308)
StopFn = Callable[[str], str]  # URL -> why it need not (or must not) be fetched, or ""


@dataclass(frozen=True, slots=True)
class HopAnswer:
    """What one request of a resolution got: a status and ``Location``, or the error that ended it."""

    method: str  # HEAD, or GET when HEAD was refused
    url: str
    status: int | None = None
    location: str = ""
    error: str = ""  # one line, when no answer came (a timeout, a refused connection)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method, "url": self.url}
        if self.error:
            out["error"] = self.error
        else:
            out.update(status=self.status, location=self.location)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HopAnswer:
        status = data.get("status")
        return cls(method=str(data.get("method") or ""), url=str(data.get("url") or ""),
                   status=int(status) if isinstance(status, int) and not isinstance(status, bool) else None,
                   location=str(data.get("location") or ""), error=str(data.get("error") or ""))


@dataclass(frozen=True, slots=True)
class LinkResolution:
    """The outcome of resolving one posted URL: its redirect chain and what the last hop answered."""

    url: str  # as posted
    state: LinkState
    final_url: str  # the last URL reached (requested, or stopped at)
    chain: tuple[str, ...] = ()  # every URL visited, starting with ``url``
    http_status: int | None = None
    reason: str = ""  # one line, shown in findings; never a query string
    stopped: str = ""  # why the last URL was not fetched ("allowlisted", "blocklisted: gambling")
    transient: bool = False  # a rerun may give another answer: never persisted
    answers: tuple[HopAnswer, ...] = ()  # every request sent, in order, and what it got (the run's evidence)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form stored in the ``link_resolutions`` table and kept with the run."""
        return {"url": self.url, "state": self.state.value, "final_url": self.final_url, "chain": list(self.chain),
                "http_status": self.http_status, "reason": self.reason, "stopped": self.stopped,
                "transient": self.transient, "answers": [a.to_dict() for a in self.answers]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LinkResolution:
        """The inverse of :meth:`to_dict`."""
        return cls(url=str(data["url"]), state=LinkState(data["state"]), final_url=str(data["final_url"]),
                   chain=tuple(data.get("chain") or ()), http_status=data.get("http_status"),
                   reason=str(data.get("reason") or ""), stopped=str(data.get("stopped") or ""),
                   transient=bool(data.get("transient")),
                   answers=tuple(HopAnswer.from_dict(a) for a in data.get("answers") or () if isinstance(a, Mapping)))


# --- caches --------------------------------------------------------------------------------------

class StoreCache:
    """Resolutions kept in the audit store's database (its table ``link_resolutions``) for ``ttl`` seconds."""

    def __init__(self, engine: Engine, *, ttl: float = 6 * 86400, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.ttl = ttl
        self.clock = clock
        self.store = Store(str(engine.url), engine=engine)  # creates the tables it lacks

    def load(self, urls: Iterable[str]) -> dict[str, LinkResolution]:
        """The fresh resolutions among ``urls``."""
        wanted = sorted({u for u in urls if len(u) <= 2048})
        cutoff = datetime.fromtimestamp(self.clock() - self.ttl, timezone.utc)
        return {url: LinkResolution.from_dict(data) for url, data in self.store.link_resolutions_since(wanted, cutoff).items()}

    def save(self, items: Iterable[LinkResolution]) -> None:
        """Upsert the lasting resolutions (transient ones are skipped)."""
        rows = [{"url": r.url, "resolved_at": datetime.fromtimestamp(self.clock(), timezone.utc), "data": r.to_dict()}
                for r in items if not r.transient and len(r.url) <= 2048]
        if rows:
            self.store.save_link_resolutions(rows)


# --- the resolver --------------------------------------------------------------------------------

def _safe(url: str) -> str:
    """A URL without its query string or fragment (tokens travel there), for messages."""
    return url.split("#", 1)[0].split("?", 1)[0]


class LinkResolver:
    """Resolve posted links safely; share one per run (its cache is per run, its connections pooled)."""

    def __init__(self, *, max_hops: int = 5, per_host: int = 2, workers: int = 8, connect_timeout: float = 5.0,
                 read_timeout: float = 10.0, allow_loopback: bool = False,
                 host_overrides: Mapping[str, tuple[str, int]] | None = None, only_overrides: bool = False,
                 getaddrinfo: GetAddrInfo | None = None, dns_canary: str | None = "www.gov.uk",
                 cache: StoreCache | None = None, retries: int = 1, sleep: Callable[[float], None] | None = None,
                 total_timeout: float = 20.0) -> None:
        self.max_hops = max_hops
        self.per_host = max(1, per_host)
        self.workers = max(1, workers)
        self.allow_loopback = allow_loopback
        self.host_overrides = {h.lower(): t for h, t in (host_overrides or {}).items()}
        self.only_overrides = only_overrides
        # the system's lookup, bounded by the connect timeout (an injected one is used as given)
        self.getaddrinfo = getaddrinfo or with_timeout(socket.getaddrinfo, connect_timeout)
        self.dns_canary = dns_canary
        self.store_cache = cache
        self.retries = retries
        # the collectors' guard: every hop checked, each host pinned to its checked address
        self.guard = Guard(host_pins=self.host_overrides, only_pinned=only_overrides, allow_loopback=allow_loopback,
                           getaddrinfo=self.getaddrinfo)
        self.http = make_session(policy=HttpPolicy(connect_timeout=connect_timeout, read_timeout=read_timeout,
                                                   total_timeout=total_timeout, retries=retries),
                                 sleep=sleep, pool_size=self.workers, guard=self.guard)
        self._memory: dict[str, LinkResolution] = {}
        self._lock = threading.Lock()
        self._host_slots: dict[str, threading.BoundedSemaphore] = {}
        self._canary: bool | None = None
        self.requests = 0  # HTTP requests sent (for tests and benchmarks)

    # --- public API ------------------------------------------------------------------------------

    def cached(self, url: str) -> LinkResolution | None:
        """The resolution of ``url`` already known to this resolver, if any."""
        with self._lock:
            return self._memory.get(url)

    def remember(self, items: Iterable[LinkResolution]) -> None:
        """Seed the in-memory cache (a benchmark's warm cache, resolutions loaded from elsewhere)."""
        with self._lock:
            self._memory.update((item.url, item) for item in items)

    def resolve(self, url: str, *, stop: StopFn | None = None) -> LinkResolution:
        """Resolve one link (from the cache when known)."""
        return self.resolve_many([url], stop=stop)[url]

    def resolve_many(self, urls: Sequence[str], *, stop: StopFn | None = None) -> dict[str, LinkResolution]:
        """Resolve links concurrently (``workers`` threads, ``per_host`` requests per host at a time)."""
        wanted = list(dict.fromkeys(urls))
        out: dict[str, LinkResolution] = {}
        with self._lock:
            for url in wanted:
                if url in self._memory:
                    out[url] = self._memory[url]
        missing = [u for u in wanted if u not in out]
        if missing and self.store_cache is not None:
            stored = self.store_cache.load(missing)
            with self._lock:
                self._memory.update(stored)
            out.update(stored)
            missing = [u for u in missing if u not in out]
        if not missing:
            return out
        if len(missing) == 1 or self.workers == 1:
            fresh = [self._resolve_uncached(u, stop) for u in missing]
        else:
            with ThreadPoolExecutor(max_workers=min(self.workers, len(missing)), thread_name_prefix="links") as pool:
                fresh = list(pool.map(lambda u: self._resolve_uncached(u, stop), missing))
        with self._lock:
            for item in fresh:
                self._memory[item.url] = item
        if self.store_cache is not None:
            self.store_cache.save(fresh)
        out.update((item.url, item) for item in fresh)
        return out

    def close(self) -> None:
        """Close pooled connections."""
        self.http.session.close()

    # --- one link --------------------------------------------------------------------------------

    def _resolve_uncached(self, url: str, stop: StopFn | None) -> LinkResolution:
        chain: list[str] = []
        answers: list[HopAnswer] = []
        current = url.strip()
        seen: set[str] = set()
        while True:
            chain.append(current)

            def done(state: LinkState, reason: str, status: int | None = None, *, transient: bool = False,
                     stopped: str = "", current: str = current) -> LinkResolution:
                return LinkResolution(url=url, state=state, final_url=current, chain=tuple(chain), http_status=status,
                                      reason=reason, stopped=stopped, transient=transient, answers=tuple(answers))

            if current in seen:
                return done(LinkState.BROKEN, "the redirects go round in a loop")
            seen.add(current)
            if len(chain) > self.max_hops + 1:
                return done(LinkState.BROKEN, f"more than {self.max_hops} redirects")
            why = stop(current) if stop is not None else ""
            if why:
                return done(LinkState.OK, f"not fetched ({why})", stopped=why)
            parts = urlsplit(current)
            if parts.scheme.lower() not in ("http", "https"):
                return done(LinkState.UNSAFE, f"{parts.scheme or 'no'} scheme: only http and https links are opened")
            if parts.username is not None or parts.password is not None:
                return done(LinkState.UNSAFE, "the address carries a user name, a way to disguise the real site")
            try:
                prepared = requests.Request("HEAD", current).prepare()
                target = urlsplit(prepared.url or current)
                host = target.hostname or ""
                port = target.port or (443 if target.scheme == "https" else 80)
            except (requests.RequestException, ValueError, UnicodeError):
                return done(LinkState.BROKEN, "the address is malformed")
            if not host:
                return done(LinkState.BROKEN, "the address has no host")
            try:
                self._pin(host, port)
            except UnsafeAddress as exc:
                return done(LinkState.UNSAFE, f"{exc}; it was not opened")
            except DnsFailure as exc:
                if exc.missing and self._dns_works():
                    return done(LinkState.BROKEN, f"the domain {host} does not exist ({exc})")
                return done(LinkState.NOT_EVALUATED, f"{host} could not be looked up ({exc}); is DNS available?",
                            transient=True)
            except NotAllowed as exc:
                return done(LinkState.NOT_EVALUATED, str(exc), transient=True)
            outcome = self._fetch(prepared.url or current, host, answers)
            if isinstance(outcome, LinkResolution):
                return LinkResolution(url=url, state=outcome.state, final_url=current, chain=tuple(chain),
                                      http_status=outcome.http_status, reason=outcome.reason,
                                      transient=outcome.transient, answers=tuple(answers))
            status, location = outcome
            if status in REDIRECTS:
                if not location:
                    return done(LinkState.BROKEN, f"HTTP {status} redirect without a Location", status)
                current = urljoin(current, location.strip())
                continue
            if 200 <= status < 300:
                return done(LinkState.OK, f"HTTP {status}", status)
            if status in (403, 429):
                return done(LinkState.UNVERIFIED, f"HTTP {status}: the site refuses automated checks (bot wall); "
                            "open it by hand", status, transient=status == 429)
            if status == 401:
                return done(LinkState.UNVERIFIED, "HTTP 401: the page needs a login", status)
            return done(LinkState.BROKEN, f"HTTP {status}", status)

    def _pin(self, host: str, port: int) -> None:
        self.guard.pin(host, port)  # the demo's hosts as configured; any other host only at a public address

    def _dns_works(self) -> bool:
        """Whether a known-good name resolves: tells "no such domain" from "no DNS here"."""
        if self.dns_canary is None:
            return True
        with self._lock:
            known = self._canary
        if known is None:
            try:
                known = bool(self.getaddrinfo(self.dns_canary, 443, type=socket.SOCK_STREAM))
            except (OSError, UnicodeError):
                known = False
            with self._lock:
                self._canary = known
        return known

    def _slot(self, host: str) -> threading.BoundedSemaphore:
        with self._lock:
            slot = self._host_slots.get(host)
            if slot is None:
                slot = self._host_slots[host] = threading.BoundedSemaphore(self.per_host)
            return slot

    def _fetch(self, url: str, host: str, answers: list[HopAnswer]) -> tuple[int, str] | LinkResolution:
        """(status, Location) of HEAD, or of GET when HEAD is refused; or a final outcome on error.
        Each request's answer is added to ``answers``."""
        head = self._answer("HEAD", url, host, answers)
        if isinstance(head, LinkResolution) or head[0] < 400:
            return head  # an error would only repeat (a timeout would wait as long again)
        return self._answer("GET", url, host, answers)

    def _answer(self, method: str, url: str, host: str, answers: list[HopAnswer]) -> tuple[int, str] | LinkResolution:
        outcome = self._request(method, url, host)
        if isinstance(outcome, LinkResolution):
            answers.append(HopAnswer(method=method, url=url, error=outcome.reason))
        else:
            answers.append(HopAnswer(method=method, url=url, status=outcome[0], location=outcome[1]))
        return outcome

    def _request(self, method: str, url: str, host: str) -> tuple[int, str] | LinkResolution:
        policy = self.http.policy
        attempt = 0
        while True:
            try:
                with self._slot(host), self.guard.deadline(policy.total_timeout) as limit:
                    with self._lock:
                        self.requests += 1
                    raw = self.http.session.request(method, url, allow_redirects=False, stream=True,
                                                    timeout=(policy.connect_timeout, policy.read_timeout))
                    status, location = raw.status_code, raw.headers.get("location", "")
                    raw.close()  # headers are all a link check needs: the body is never read
            except requests.exceptions.SSLError:
                return _outcome(LinkState.BROKEN, f"{host}: the TLS certificate was refused")
            except requests.exceptions.Timeout:
                return _outcome(LinkState.UNVERIFIED, f"{host} did not answer in time", transient=True)
            except requests.exceptions.ConnectionError as exc:
                if limit.expired:
                    return _outcome(LinkState.UNVERIFIED, f"{host} did not answer within the {policy.total_timeout:g} s "
                                    "deadline (it sent its headers too slowly)", transient=True)
                code = _errno(exc)
                if code == errno.ECONNREFUSED:
                    return _outcome(LinkState.BROKEN, f"{host} refused the connection")
                if code in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL):
                    return _outcome(LinkState.NOT_EVALUATED, f"{host}: the network is unreachable from here",
                                    transient=True)
                if attempt < self.retries:
                    attempt += 1
                    self.http.sleep(policy.backoff * attempt)
                    continue
                return _outcome(LinkState.UNVERIFIED, f"{host}: the connection failed ({type(exc).__name__})",
                                transient=True)
            except requests.RequestException as exc:
                return _outcome(LinkState.BROKEN, f"{host}: the request failed ({type(exc).__name__})")
            if status >= 500 and attempt < self.retries:
                attempt += 1
                self.http.sleep(policy.backoff * attempt)
                continue
            return status, location


def _outcome(state: LinkState, reason: str, *, transient: bool = False) -> LinkResolution:
    return LinkResolution(url="", state=state, final_url="", reason=reason, transient=transient)


def _errno(exc: BaseException) -> int | None:
    """The OS error number somewhere in an exception's cause chain."""
    seen: set[int] = set()
    node: BaseException | None = exc
    while node is not None and id(node) not in seen:
        seen.add(id(node))
        if isinstance(node, OSError) and node.errno:
            return int(node.errno)
        for arg in getattr(node, "args", ()):
            if isinstance(arg, OSError) and arg.errno:
                return int(arg.errno)
        reason = getattr(node, "reason", None)
        if isinstance(reason, BaseException) and id(reason) not in seen:
            node = reason
            continue
        node = node.__cause__ or node.__context__
    return None


# --- the run's evidence ---------------------------------------------------------------------------

KEPT_FORMAT = 1


def kept_body(items: Iterable[LinkResolution]) -> bytes:
    """The resolutions a school's check judged, as the JSON body kept with the run (sorted by link)."""
    rows = [item.to_dict() for item in sorted(items, key=lambda r: r.url)]
    return (json.dumps({"format": KEPT_FORMAT, "resolutions": rows}, indent=1, sort_keys=True, ensure_ascii=False)
            + "\n").encode("utf-8")


def read_kept(body: bytes) -> dict[str, LinkResolution]:
    """The inverse of :func:`kept_body`; ValueError when the body is not one."""
    try:
        data = json.loads(body)
        rows = data["resolutions"] if isinstance(data, dict) else None
        if not isinstance(rows, list):
            raise ValueError("no resolutions list")
        out = {}
        for row in rows:
            item = LinkResolution.from_dict(row)
            out[item.url] = item
        return out
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a kept link resolution: {exc!r}") from None


class KeptLinks:
    """The link resolver of the check step and of a replay: it answers only with the resolutions the collect
    step kept (``links/resolutions/`` of the run's raw folder) and opens nothing; a link it was not given
    has no answer (the check then says the resolver gave none)."""

    def __init__(self, kept: Mapping[str, LinkResolution]) -> None:
        self.kept = dict(kept)

    def resolve_many(self, urls: Sequence[str], *, stop: StopFn | None = None) -> dict[str, LinkResolution]:
        return {url: self.kept[url] for url in urls if url in self.kept}


def resolver_for(config: TrustConfig, *, store: Store | None = None, resolve: bool = True) -> LinkResolver | None:
    """The run's resolver, from the trust config (None when resolution is switched off).

    With a ``demo:`` block, the simulator's fictional web hosts are pinned to the simulator's address
    and nothing else is opened (the demo makes no internet requests). With a store, resolutions are
    shared through its database so the collect task's retries reuse them.
    """
    if not resolve:
        return None
    overrides: dict[str, tuple[str, int]] = {}
    only = False
    demo = getattr(config, "demo", None)
    if demo is not None:
        parts = urlsplit(demo.simulator)
        target = (parts.hostname or "127.0.0.1", parts.port or 80)
        overrides = {host: target for host in demo.web_hosts}
        only = True
    cache = StoreCache(store.engine) if store is not None else None
    return LinkResolver(host_overrides=overrides, only_overrides=only, cache=cache)
