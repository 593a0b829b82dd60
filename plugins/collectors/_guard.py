"""The SSRF guard and the per-request deadline, shared by every HTTP read (collectors, calendars, links).

:class:`Guard` decides, before any connection, whether a URL may be opened, and pins its host to the
address it checked:

- only ``http`` and ``https``; a URL carrying a user name (``https://gov.uk@evil.example``) is refused;
- the host is resolved (``getaddrinfo``, bounded by a timeout) and refused if *any* address is
  loopback, private, link-local (169.254.169.254), multicast, reserved, unspecified or otherwise not
  globally routable, IPv4 and IPv6 alike (an IPv4-mapped, 6to4 or NAT64 IPv6 address is judged as
  its IPv4 address);
- the connection goes to the address that was checked: the transport adapter
  (:meth:`Guard.adapter`) pins the host to it and never looks the name up again, so a DNS answer that
  changes between the check and the connection (DNS rebinding) is never used. TLS still verifies the
  certificate against the URL's host name.

Internal addresses are opened only when named explicitly: ``allow`` lists origins
(``http://127.0.0.1:8765``, the demo's simulator from the config's ``demo:`` block) that are opened
as they are, at exactly that host *and port*; ``host_pins`` sends fictional host names to a given
address (the demo's web hosts, to the simulator). A redirect from an allowed origin to any other
internal address, another port of the same host included, is refused like any other.
``allow_loopback`` (every loopback address) exists for the link resolver's tests only.

:meth:`Guard.deadline` bounds one HTTP exchange in time as a whole (connect, headers and body
together): every socket the exchange uses is shut down when the deadline passes, so a server that
trickles one byte every few seconds (which no per-read timeout ever catches) is cut off.
"""

from __future__ import annotations

import heapq
import ipaddress
import itertools
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit

from requests.adapters import HTTPAdapter
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util import connection as urllib3_connection

GetAddrInfo = Callable[..., list[tuple[Any, ...]]]
SCHEMES = ("http", "https")


class UnsafeAddress(Exception):
    """The URL must never be opened: its host resolves to an internal address, or its scheme is not http(s)."""


class DnsFailure(Exception):
    """The host name did not resolve."""

    def __init__(self, message: str, *, missing: bool) -> None:
        super().__init__(message)
        self.missing = missing  # the name does not exist (as opposed to DNS being unavailable)


class NotAllowed(Exception):
    """The guard is configured not to open this host (the demo's offline rule)."""


# --- addresses -----------------------------------------------------------------------------------

_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))


def address_problem(ip: str, *, allow_loopback: bool = False) -> str:
    """Why nothing may connect to ``ip`` ("private address", ...), or "" when it may."""
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
    and the thread is left to finish on its own, so a slow DNS server cannot hold a worker or delay
    the process's exit.
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

    Raises :class:`UnsafeAddress` (never connect) or :class:`DnsFailure` (the name did not resolve).
    """
    try:
        infos = getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        missing = exc.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME))
        raise DnsFailure(f"DNS: {exc.strerror or exc}", missing=missing) from None
    except UnicodeError:
        raise DnsFailure("the host name is not valid", missing=True) from None
    except TimeoutError as exc:
        raise DnsFailure(str(exc), missing=False) from None
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise DnsFailure("DNS returned no address", missing=True)
    for ip in addresses:
        problem = address_problem(ip, allow_loopback=allow_loopback)
        if problem:
            raise UnsafeAddress(f"{host} is a {problem}" if _is_ip(host) else f"{host} resolves to a {problem}")
    return addresses[0]


def origin(url: str) -> tuple[str, int]:
    """(host, port) of a URL, the port defaulted from the scheme; ValueError when it has no host."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise ValueError(f"{url!r} has no host")
    return host, parts.port or (443 if parts.scheme.lower() == "https" else 80)


# --- the guard -----------------------------------------------------------------------------------

class Guard:
    """Checks every URL before it is opened and pins its host to the checked address. Thread-safe."""

    def __init__(self, *, allow: Iterable[str] = (), host_pins: Mapping[str, tuple[str, int]] | None = None,
                 only_pinned: bool = False, allow_loopback: bool = False, getaddrinfo: GetAddrInfo | None = None,
                 dns_timeout: float = 5.0) -> None:
        self.allowed = frozenset(origin(u) for u in allow if u)
        self.host_pins = {h.lower().rstrip("."): t for h, t in (host_pins or {}).items()}
        self.only_pinned = only_pinned
        self.allow_loopback = allow_loopback
        # the system's lookup, bounded by a timeout (an injected one is used as given)
        self.getaddrinfo = getaddrinfo or with_timeout(socket.getaddrinfo, dns_timeout)
        self._pins: dict[tuple[str, int], tuple[str, int]] = {}
        self._lock = threading.Lock()

    def check_url(self, url: str) -> None:
        """Refuse ``url`` (UnsafeAddress, DnsFailure, NotAllowed, ValueError) or pin its host for the connection."""
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        if scheme not in SCHEMES:
            raise UnsafeAddress(f"{scheme or 'no'} scheme: only http and https are opened")
        if parts.username is not None or parts.password is not None:
            raise UnsafeAddress("the address carries a user name, a way to disguise the real site")
        host, port = origin(url)
        self.pin(host, port)

    def pin(self, host: str, port: int) -> None:
        """Check ``host`` and remember the address its connections on ``port`` go to."""
        key = (host.lower().rstrip("."), port)
        pinned = self.host_pins.get(key[0])
        if pinned is not None:
            self._set(key, pinned)  # explicitly configured (the demo's fictional hosts)
            return
        if key in self.allowed:
            # explicitly allowed origin (the demo's simulator): connect to it as named
            ip = key[0] if _is_ip(key[0]) else check_address(key[0], port, getaddrinfo=self.getaddrinfo,
                                                                allow_loopback=True)
            self._set(key, (ip.strip("[]"), port))
            return
        if self.only_pinned:
            raise NotAllowed(f"{host} is not served by the simulator; the demo opens no other site")
        ip = check_address(host, port, getaddrinfo=self.getaddrinfo, allow_loopback=self.allow_loopback)
        self._set(key, (ip, port))

    def target(self, host: str, port: int) -> tuple[str, int] | None:
        """The checked address for (host, port), or None when it was never checked."""
        with self._lock:
            return self._pins.get((host.lower().rstrip("."), port))

    def _set(self, key: tuple[str, int], target: tuple[str, int]) -> None:
        with self._lock:
            self._pins[key] = target

    def adapter(self, pool_size: int) -> HTTPAdapter:
        """A requests adapter whose connections go only to addresses this guard checked."""
        return _PinnedAdapter(self, pool_size)

    @contextmanager
    def deadline(self, seconds: float) -> Iterator[Deadline]:
        """Bound the HTTP exchange inside the block to ``seconds`` in total (see :class:`Deadline`)."""
        limit = Deadline(seconds)
        previous = getattr(_current, "deadline", None)
        _current.deadline = limit
        try:
            yield limit
        finally:
            _current.deadline = previous
            limit.cancel()


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


# --- the deadline --------------------------------------------------------------------------------

_current = threading.local()


class Deadline:
    """A total time limit for one exchange: at expiry every socket it used is shut down.

    Per-read timeouts reset with every byte, so a server that sends one byte every few seconds never
    trips them; shutting the socket down wakes the blocked read at once, for plain and TLS sockets.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started = time.monotonic()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._expired = False
        self._cancelled = False
        _WATCHDOG.watch(self.started + max(0.0, seconds), self)

    @property
    def expired(self) -> bool:
        return self._expired or time.monotonic() - self.started >= self.seconds

    def attach(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            self._sockets.append(sock)
            late = self._expired
        if late:
            _shut(sock)

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True  # the watchdog drops it unexpired
            self._sockets.clear()

    def _expire(self) -> None:
        with self._lock:
            if self._cancelled:
                return
            self._expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)


MAX_WAIT_SECONDS = 3600.0  # the watchdog wakes at least this often (Condition.wait overflows on a huge time)


class _Watchdog:
    """One daemon thread that expires every :class:`Deadline` of the process when its time comes.

    A ``threading.Timer`` per deadline started and stopped a thread for every HTTP exchange: about 3,300
    threads for a 300-school run, a measurable share of its CPU. Deadlines wait in a heap by expiry time; a
    cancelled one is dropped when it reaches the top. After a fork (a Celery worker's child) the child starts
    afresh: the parent's thread is not there, and its lock may have been held at the fork.
    """

    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._ready = threading.Condition(threading.Lock())
        self._heap: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, when: float, deadline: Deadline) -> None:
        """Expire ``deadline`` at ``when`` (``time.monotonic()`` time) unless it is cancelled first."""
        with self._ready:
            heapq.heappush(self._heap, (when, next(self._order), deadline))
            if self._thread is None or not self._thread.is_alive():  # never a process without its watchdog
                self._thread = threading.Thread(target=self._run, name="http-deadlines", daemon=True)
                self._thread.start()
            if self._heap[0][2] is deadline:
                self._ready.notify()  # the earliest now: the thread waits for it instead

    def _run(self) -> None:
        while True:
            with self._ready:
                while True:
                    while self._heap and self._heap[0][2]._cancelled:
                        heapq.heappop(self._heap)
                    if not self._heap:
                        self._ready.wait()
                        continue
                    left = self._heap[0][0] - time.monotonic()
                    if left <= 0:
                        due = heapq.heappop(self._heap)[2]
                        break
                    self._ready.wait(min(left, MAX_WAIT_SECONDS))  # a huge deadline overflows the wait
            try:
                due._expire()
            except Exception:  # noqa: BLE001 - one deadline's failure must not end every other one's
                continue


_WATCHDOG = _Watchdog()


def _shut(sock: socket.socket) -> None:
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain socket's, for TLS sockets too
    except OSError:
        pass


def _attach(sock: socket.socket | None) -> None:
    limit: Deadline | None = getattr(_current, "deadline", None)
    if limit is not None:
        limit.attach(sock)


# --- the pinned transport ------------------------------------------------------------------------

_Conn = TypeVar("_Conn", bound=HTTPConnection)

def _pinned_connect(conn: HTTPConnection, guard: Guard) -> socket.socket:
    target = guard.target(conn.host, int(conn.port or 0))
    if target is None:
        # Never fall back to a fresh DNS lookup: only an address the guard checked is used.
        raise NewConnectionError(conn, f"refused: {conn.host} has no checked address")
    try:
        sock = urllib3_connection.create_connection(target, conn.timeout, source_address=conn.source_address,
                                                    socket_options=conn.socket_options)
    except socket.timeout as exc:
        raise ConnectTimeoutError(conn, f"Connection to {conn.host} timed out") from exc
    except OSError as exc:
        raise NewConnectionError(conn, f"Failed to establish a new connection: {exc}") from exc
    _attach(sock)
    return sock


def _pinned(base: type[_Conn], guard: Guard) -> type[_Conn]:
    """``base`` (urllib3's HTTP or HTTPS connection) connecting to the guard's checked address only,
    and with the exchange's deadline attached to its socket."""

    class Pinned(base):  # type: ignore[valid-type,misc]
        def _new_conn(self) -> socket.socket:
            return _pinned_connect(self, guard)

        def connect(self) -> None:
            super().connect()
            _attach(self.sock)  # after TLS is set up: the socket the exchange reads from

        def request(self, *args: Any, **kwargs: Any) -> None:
            _attach(self.sock)  # a pooled connection reused by a later exchange
            super().request(*args, **kwargs)

    Pinned.__name__ = Pinned.__qualname__ = f"Pinned{base.__name__}"
    return Pinned


class _PinnedAdapter(HTTPAdapter):
    """A requests adapter whose connections go to the pinned (checked) address of each host."""

    def __init__(self, guard: Guard, pool_size: int) -> None:
        self._guard = guard
        super().__init__(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any) -> None:
        super().init_poolmanager(connections, maxsize, block=block, **pool_kwargs)
        guard = self._guard

        PinnedHTTPConnection = _pinned(HTTPConnection, guard)
        PinnedHTTPSConnection = _pinned(HTTPSConnection, guard)

        class PinnedHTTPPool(HTTPConnectionPool):
            ConnectionCls = PinnedHTTPConnection

        class PinnedHTTPSPool(HTTPSConnectionPool):
            ConnectionCls = PinnedHTTPSConnection

        self.poolmanager.pool_classes_by_scheme = {"http": PinnedHTTPPool, "https": PinnedHTTPSPool}
