"""Safe link resolution for the external_links check (policy 4.1).

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
  TLS still verifies the certificate against the URL's host name (SNI and hostname match unchanged).

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
``link_resolutions`` table for ``ttl`` seconds, so the check task's retries and the benchmark reuse
them; transient outcomes (429, timeouts, infrastructure) are never persisted.
"""

from __future__ import annotations

import errno
import ipaddress
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
from requests.adapters import HTTPAdapter
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util import connection as urllib3_connection

from collectors._http import HttpPolicy, make_session
from socialaudit.config import TrustConfig
from socialaudit.models import LinkState as LinkState  # re-exported: the resolver's answers
from socialaudit.store import Store

__all__ = ["LinkResolution", "LinkResolver", "LinkState", "StoreCache", "UnsafeAddress", "check_address",
           "resolver_for"]

REDIRECTS = (301, 302, 303, 307, 308)
GetAddrInfo = Callable[..., list[tuple[Any, ...]]]
StopFn = Callable[[str], str]  # URL -> why it need not (or must not) be fetched, or ""


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

    def to_dict(self) -> dict[str, Any]:
        """The JSON form stored in the ``link_resolutions`` table."""
        return {"url": self.url, "state": self.state.value, "final_url": self.final_url, "chain": list(self.chain),
                "http_status": self.http_status, "reason": self.reason, "stopped": self.stopped,
                "transient": self.transient}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LinkResolution:
        """The inverse of :meth:`to_dict`."""
        return cls(url=str(data["url"]), state=LinkState(data["state"]), final_url=str(data["final_url"]),
                   chain=tuple(data.get("chain") or ()), http_status=data.get("http_status"),
                   reason=str(data.get("reason") or ""), stopped=str(data.get("stopped") or ""),
                   transient=bool(data.get("transient")))


class UnsafeAddress(Exception):
    """The host resolves to an address the resolver must never connect to."""


class _DnsFailure(Exception):
    def __init__(self, message: str, *, missing: bool) -> None:
        super().__init__(message)
        self.missing = missing  # the name does not exist (as opposed to DNS being unavailable)


# --- addresses -----------------------------------------------------------------------------------

_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))


def address_problem(ip: str, *, allow_loopback: bool = False) -> str:
    """Why the resolver must not connect to ``ip`` ("private address", ...), or "" when it may."""
    try:
        addr: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return "not an IP address"
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
        else:
            # IPv4 carried inside IPv6 (6to4, NAT64) reaches that IPv4 address: judge it as such
            embedded = addr.sixtofour or (ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
                                          if any(addr in net for net in _NAT64) else None)
            if embedded is not None:
                inner = address_problem(str(embedded), allow_loopback=allow_loopback)
                if inner:
                    return f"{inner} (inside an IPv6 address)"
    if addr.is_loopback:
        return "" if allow_loopback else "loopback address"
    for flag, label in (("is_unspecified", "unspecified address"), ("is_link_local", "link-local address"),
                        ("is_multicast", "multicast address"), ("is_private", "private address"),
                        ("is_reserved", "reserved address")):
        if getattr(addr, flag):
            return label
    if not addr.is_global:
        return "address that is not globally routable"
    return ""


def with_timeout(getaddrinfo: GetAddrInfo, seconds: float) -> GetAddrInfo:
    """``getaddrinfo`` that gives up after ``seconds``: the system resolver has no timeout of its own.

    The lookup runs on a daemon thread; when it outlives the limit the caller gets ``TimeoutError``
    (the link is "not evaluated", never "broken") and the thread is left to finish on its own, so a
    slow DNS server cannot hold a check task's worker or delay the process's exit.
    """

    def lookup(host: str, port: int, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        box: dict[str, Any] = {}
        done = threading.Event()

        def run() -> None:
            try:
                box["value"] = getaddrinfo(host, port, *args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller below
                box["error"] = exc
            finally:
                done.set()

        threading.Thread(target=run, name="dns-lookup", daemon=True).start()
        if not done.wait(seconds):
            raise TimeoutError(f"the DNS lookup of {host} took longer than {seconds:g} s")
        if "error" in box:
            raise box["error"]
        return box["value"]  # type: ignore[no-any-return]

    return lookup


def check_address(host: str, port: int, *, getaddrinfo: GetAddrInfo = socket.getaddrinfo,
                  allow_loopback: bool = False) -> str:
    """Resolve ``host`` and return the address to connect to; refuse if any address is not public.

    Raises :class:`UnsafeAddress` (never connect) or ``_DnsFailure`` (the name did not resolve).
    """
    try:
        infos = getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        missing = exc.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME))
        raise _DnsFailure(f"DNS: {exc.strerror or exc}", missing=missing) from None
    except UnicodeError:
        raise _DnsFailure("the host name is not valid", missing=True) from None
    except TimeoutError as exc:
        raise _DnsFailure(str(exc), missing=False) from None
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise _DnsFailure("DNS returned no address", missing=True)
    for ip in addresses:
        problem = address_problem(ip, allow_loopback=allow_loopback)
        if problem:
            raise UnsafeAddress(f"{host} resolves to a {problem}")
    return addresses[0]


# --- the pinned transport ------------------------------------------------------------------------

class _Pins:
    """(host, port) -> (checked ip, port to connect to), shared by the adapter's connections."""

    def __init__(self) -> None:
        self._pins: dict[tuple[str, int], tuple[str, int]] = {}
        self._lock = threading.Lock()

    def set(self, host: str, port: int, target: tuple[str, int]) -> None:
        with self._lock:
            self._pins[(host.lower().rstrip("."), port)] = target

    def get(self, host: str, port: int) -> tuple[str, int] | None:
        with self._lock:
            return self._pins.get((host.lower().rstrip("."), port))


def _pinned_connect(conn: HTTPConnection, pins: _Pins) -> socket.socket:
    target = pins.get(conn.host, int(conn.port or 0))
    if target is None:
        # Never fall back to a fresh DNS lookup: only an address the resolver checked is used.
        raise NewConnectionError(conn, f"refused: {conn.host} has no checked address")
    try:
        return urllib3_connection.create_connection(target, conn.timeout, source_address=conn.source_address,
                                                    socket_options=conn.socket_options)
    except socket.timeout as exc:
        raise ConnectTimeoutError(conn, f"Connection to {conn.host} timed out") from exc
    except OSError as exc:
        raise NewConnectionError(conn, f"Failed to establish a new connection: {exc}") from exc


class _PinnedAdapter(HTTPAdapter):
    """A requests adapter whose connections go to the pinned (checked) address of each host."""

    def __init__(self, pins: _Pins, pool_size: int) -> None:
        self._pins = pins
        super().__init__(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any) -> None:
        super().init_poolmanager(connections, maxsize, block=block, **pool_kwargs)
        pins = self._pins

        class PinnedHTTPConnection(HTTPConnection):
            def _new_conn(self) -> socket.socket:
                return _pinned_connect(self, pins)

        class PinnedHTTPSConnection(HTTPSConnection):
            def _new_conn(self) -> socket.socket:
                return _pinned_connect(self, pins)

        class PinnedHTTPPool(HTTPConnectionPool):
            ConnectionCls = PinnedHTTPConnection

        class PinnedHTTPSPool(HTTPSConnectionPool):
            ConnectionCls = PinnedHTTPSConnection

        self.poolmanager.pool_classes_by_scheme = {"http": PinnedHTTPPool, "https": PinnedHTTPSPool}


# --- caches --------------------------------------------------------------------------------------

class StoreCache:
    """Resolutions kept in the audit store's database (its table ``link_resolutions``) for ``ttl`` seconds."""

    def __init__(self, engine: Any, *, ttl: float = 6 * 86400, clock: Callable[[], float] = time.time) -> None:
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
                 cache: StoreCache | None = None, retries: int = 1, sleep: Callable[[float], None] | None = None) -> None:
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
        self.http = make_session(policy=HttpPolicy(connect_timeout=connect_timeout, read_timeout=read_timeout,
                                                   retries=retries), sleep=sleep, pool_size=self.workers)
        self._pins = _Pins()
        adapter = _PinnedAdapter(self._pins, self.workers)
        self.http.session.mount("http://", adapter)
        self.http.session.mount("https://", adapter)
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
        current = url.strip()
        seen: set[str] = set()
        while True:
            chain.append(current)

            def done(state: LinkState, reason: str, status: int | None = None, *, transient: bool = False,
                     stopped: str = "", current: str = current) -> LinkResolution:
                return LinkResolution(url=url, state=state, final_url=current, chain=tuple(chain), http_status=status,
                                      reason=reason, stopped=stopped, transient=transient)

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
            except _DnsFailure as exc:
                if exc.missing and self._dns_works():
                    return done(LinkState.BROKEN, f"the domain {host} does not exist ({exc})")
                return done(LinkState.NOT_EVALUATED, f"{host} could not be looked up ({exc}); is DNS available?",
                            transient=True)
            except _NotAllowed as exc:
                return done(LinkState.NOT_EVALUATED, str(exc), transient=True)
            outcome = self._fetch(prepared.url or current, host)
            if isinstance(outcome, LinkResolution):
                return LinkResolution(url=url, state=outcome.state, final_url=current, chain=tuple(chain),
                                      http_status=outcome.http_status, reason=outcome.reason,
                                      transient=outcome.transient)
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
        override = self.host_overrides.get(host.lower())
        if override is not None:
            self._pins.set(host, port, override)  # explicitly configured (the demo's simulator)
            return
        if self.only_overrides:
            raise _NotAllowed(f"{host} is not served by the simulator; the demo opens no other site")
        ip = check_address(host, port, getaddrinfo=self.getaddrinfo, allow_loopback=self.allow_loopback)
        self._pins.set(host, port, (ip, port))

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

    def _fetch(self, url: str, host: str) -> tuple[int, str] | LinkResolution:
        """(status, Location) of HEAD, or of GET when HEAD is refused; or a final outcome on error."""
        head = self._request("HEAD", url, host)
        if isinstance(head, LinkResolution) or head[0] < 400:
            return head  # an error would only repeat (a timeout would wait as long again)
        return self._request("GET", url, host)

    def _request(self, method: str, url: str, host: str) -> tuple[int, str] | LinkResolution:
        policy = self.http.policy
        attempt = 0
        while True:
            try:
                with self._slot(host):
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


class _NotAllowed(Exception):
    """The resolver is configured not to open this host (the demo's offline rule)."""


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


def resolver_for(config: TrustConfig, *, store: Store | None = None, resolve: bool = True) -> LinkResolver | None:
    """The run's resolver, from the trust config (None when resolution is switched off).

    With a ``demo:`` block, the simulator's fictional web hosts are pinned to the simulator's address
    and nothing else is opened (the demo makes no internet requests). With a store, resolutions are
    shared through its database so the check task's retries reuse them.
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
    cache = StoreCache(store.engine) if store is not None and getattr(store, "engine", None) is not None else None
    return LinkResolver(host_overrides=overrides, only_overrides=only, cache=cache)
