"""A local HTTP server that speaks each platform's API shapes over real sockets, on loopback only.

Routes are a table of (method, path regex, handler); each platform module registers its own
(``rss`` here; the API platforms alongside). A handler gets a :class:`SimRequest` and returns a
:class:`SimResponse`. Faults are chosen per account in the data set (see ``dataset.Profile.fault``).

The clock is the simulator's ``now`` (wall clock by default, fixed in tests), so a feed's first page
is "the newest posts as of now" and older weeks are reached by paging, as on a real site.
"""

from __future__ import annotations

import gzip
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from socialaudit.simulator.dataset import Profile, demo_profiles


@dataclass(slots=True)
class SimRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    match: re.Match[str]
    sim: Simulator


@dataclass(slots=True)
class SimResponse:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (slow-response faults)
    truncate: bool = False  # announce the full length, send half, close


Handler = Callable[[SimRequest], SimResponse]


def _is_loopback(host: str) -> bool:
    """localhost, ::1 or any 127.0.0.0/8 address (the benchmark gives each simulated site its own)."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
ROUTES: list[tuple[str, re.Pattern[str], Handler]] = []

STATS_PATH = "/_simulator/stats"  # GET: the requests served so far per bucket (benchmarks); itself never counted


def bucket_of(path: str) -> str:
    """The rate-limit bucket a request path belongs to, as the client's pool keys them: ``mastodon:<instance>``
    (each instance has its own window), ``bluesky`` (the one AppView), ``rss`` (every simulated site), ..."""
    parts = path.split("?", 1)[0].split("/")
    if len(parts) < 2 or not parts[1]:
        return "(root)"
    if parts[1] == "mastodon":
        return f"mastodon:{parts[2] if len(parts) > 2 and parts[2].startswith('i-') else 'default'}"
    return parts[1]


def route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        ROUTES.append((method, re.compile(pattern), fn))
        return fn

    return register


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> SimResponse:
    import json

    return SimResponse(status=status, body=json.dumps(data, ensure_ascii=False).encode(), headers=headers or {})


class Simulator:
    """Start with ``Simulator(port=0).start()``; ``.url`` is its base URL; ``.stop()`` ends it."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 8765, profiles: dict[str, Profile] | None = None,
                 now: datetime | None = None, latency: float = 0.0, config_path: str | None = None) -> None:
        if not _is_loopback(host):
            raise ValueError("the simulator only listens on loopback")
        _load_platform_routes()
        if profiles is None:
            profiles = demo_profiles(config_path)
        self.profiles = profiles  # replace the dict to change them (the lookup indexes follow), never mutate it
        self.fixed_now = now
        self.latency = latency
        self.requests = 0
        self.request_log: list[str] = []
        self.bucket_counts: dict[str, int] = {}  # requests per bucket_of(path)
        self._lock = threading.Lock()
        self._server = _Server((host, port), _make_handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def profiles(self) -> dict[str, Profile]:
        return self._profiles

    @profiles.setter
    def profiles(self, value: dict[str, Profile]) -> None:
        self._profiles = value
        self._indexes: dict[str, dict[str, tuple[int, str]]] = {}

    def index(self, name: str, keys: Callable[[str, Profile], Iterable[str]]) -> dict[str, tuple[int, str]]:
        """Key -> (position, slug) of the first profile giving that key, built once per ``profiles``.

        The platforms find accounts by handle or id through these: a scan per request made a
        generated trust of thousands of accounts answer in time proportional to its size.
        """
        found = self._indexes.get(name)
        if found is None:
            found = {}
            for position, (slug, profile) in enumerate(self._profiles.items()):
                for key in keys(slug, profile):
                    found.setdefault(key, (position, slug))
            with self._lock:
                self._indexes[name] = found
        return found

    @property
    def now(self) -> datetime:
        return self.fixed_now or datetime.now(timezone.utc)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Simulator:
        self._thread = threading.Thread(target=self._server.serve_forever, name="simulator", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def count(self, path: str) -> None:
        with self._lock:
            self.requests += 1
            bucket = bucket_of(path)
            self.bucket_counts[bucket] = self.bucket_counts.get(bucket, 0) + 1
            if len(self.request_log) < 10000:
                self.request_log.append(path)

    def stats(self) -> dict[str, Any]:
        """Requests served per bucket and the 429s each platform's window served (``STATS_PATH`` answers this)."""
        with self._lock:
            buckets = dict(self.bucket_counts)
            total = self.requests
        limited = dict(self.__dict__.get("_rate_limited", {}))  # social.window's count (social.rate_limited_count)
        return {"requests": total, "buckets": buckets, "rate_limited": {p: int(n) for p, n in limited.items()}}

    def dispatch(self, method: str, raw_path: str, headers: dict[str, str]) -> SimResponse:
        parts = urlsplit(raw_path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        for route_method, pattern, handler in ROUTES:
            if route_method != method:
                continue
            match = pattern.fullmatch(parts.path)
            if match:
                return handler(SimRequest(method=method, path=parts.path, query=query, headers=headers, match=match, sim=self))
        return json_response({"error": "not found", "path": parts.path}, status=404)


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return  # the client hung up (a refused bomb, a read timeout): expected, not a simulator fault
        super().handle_error(request, client_address)


def _load_platform_routes() -> None:
    """Import every platform module of the simulator once, so their @route decorators run."""
    import importlib
    import pkgutil

    import socialaudit.simulator as package  # local: the package imports this module (its routes register here)

    for module in pkgutil.iter_modules(package.__path__):
        if module.name.startswith("platform_"):
            importlib.import_module(f"socialaudit.simulator.{module.name}")


def _make_handler(sim: Simulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in separate writes; with Nagle's algorithm on, each response
        # waited for the client's delayed ACK (about 40 ms on Linux), doubling every request's time.
        disable_nagle_algorithm = True
        server_version = "socialaudit-simulator"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet by design
            return

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self._serve("GET")

        def do_HEAD(self) -> None:  # noqa: N802
            self._serve("HEAD")

        def _serve(self, method: str) -> None:
            if self.path == STATS_PATH and method == "GET":
                self._answer(json_response(sim.stats()), method)
                return
            sim.count(self.path)
            if sim.latency:
                time.sleep(sim.latency)
            response = sim.dispatch(method, self.path, {k.lower(): v for k, v in self.headers.items()})
            if response.delay:
                time.sleep(response.delay)
            self._answer(response, method)

        def _answer(self, response: SimResponse, method: str) -> None:
            body = response.body
            headers = dict(response.headers)
            if "gzip" in self.headers.get("Accept-Encoding", "") and len(body) > 1024 and "Content-Encoding" not in headers:
                body = gzip.compress(body, mtime=0)
                headers["Content-Encoding"] = "gzip"
            try:
                self.send_response(response.status)
                self.send_header("Content-Type", response.content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if method == "HEAD":
                    return
                if response.truncate:
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

    return Handler
