"""Serve real recorded platform responses from a loopback HTTP server, for the replay suite.

The recordings under ``tests/replay/recorded/`` come from other projects' test suites (see
``recorded/SOURCES.md``): vcrpy cassettes (tweepy, Mastodon.py) and JSON or feed files. A
:class:`ReplayServer` listens on ``127.0.0.1`` and answers each request with the recorded status, the
recorded body exactly as it was recorded (gzip-compressed where the cassette holds it compressed,
with its ``Content-Encoding``) and the recorded headers a collector reads (``Content-Type``,
``Content-Encoding``, ``Link``, the rate-limit headers). It matches a request on its path and on the
query keys that select a page (``max_id``, ``cursor``, ``pagination_token``, ...); the other query
keys (``limit``, ``fields``, ...) are what our collector asks for, not what the recording's client
asked for, and are not compared.

A request that no recording answers gets the server's own ``404 Not Found`` (``text/plain``, "not in
the recording"): that answer is never a recording, and the tests say so where they rely on it (a next
page the recording points to but does not hold).

:func:`replay_session` is the real collector session (:func:`collectors._http.make_session`) with a
guard that opens only this server: its own origin, and the recorded host names (``localhost:3000``
of Mastodon.py's test instance, ``www.blogger.com`` of a FeedBurner feed's next page) pinned to it, so
a recorded absolute URL is followed to the replay and nothing reaches the network.
"""

from __future__ import annotations

import base64
import gzip
import json
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from collectors._guard import Guard
from collectors._http import HttpPolicy, HttpSession, make_session

RECORDED = Path(__file__).resolve().parent / "recorded"
# the recorded response headers a collector reads; the others (cookies, dates, trace ids) are not sent
SERVED_HEADERS = ("content-type", "content-encoding", "link", "retry-after")
SERVED_PREFIXES = ("x-rate-limit-", "x-ratelimit-", "ratelimit-")
# query keys that select a page (or a thread): a request matches a recording only when these agree
PAGE_KEYS = ("max_id", "min_id", "since_id", "pagination_token", "next_token", "cursor", "uri", "after",
             "pageToken", "start-index", "paged", "acct")


@dataclass(frozen=True, slots=True)
class Recorded:
    """One recorded response: what the replay server sends back, and the file it came from."""

    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()
    source: str = ""

    def decoded(self) -> bytes:
        """The body as the platform meant it (inflated when it was recorded gzip-compressed)."""
        encoding = dict(self.headers).get("content-encoding", "")
        return gzip.decompress(self.body) if "gzip" in encoding else self.body

    def json(self) -> Any:
        return json.loads(self.decoded())


@dataclass(frozen=True, slots=True)
class Interaction:
    """A recorded request (method and URL) with its response."""

    method: str
    uri: str
    response: Recorded

    @property
    def path(self) -> str:
        return urlsplit(self.uri).path

    @property
    def query(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(urlsplit(self.uri).query, keep_blank_values=True).items()}


def recorded(relative: str) -> Path:
    """A recording's path under ``tests/replay/recorded/``; the file must exist."""
    path = RECORDED / relative
    if not path.is_file():
        raise FileNotFoundError(f"no recording {relative} (see tests/replay/recorded/SOURCES.md)")
    return path


def load_cassette(relative: str) -> list[Interaction]:
    """Every interaction of a vcrpy cassette, bodies as recorded (``!!binary`` stays compressed bytes)."""
    path = recorded(relative)
    data = yaml.safe_load(path.read_bytes())
    out = []
    for item in data["interactions"]:
        request, response = item["request"], item["response"]
        body = (response.get("body") or {}).get("string", b"")
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif isinstance(body, (bytes, bytearray)):
            body = bytes(body)
        else:  # some vcrpy versions write base64 text under "base64_string"
            body = base64.b64decode((response.get("body") or {}).get("base64_string", ""))
        headers = tuple((name.lower(), str(value)) for name, values in (response.get("headers") or {}).items()
                        for value in (values if isinstance(values, list) else [values])
                        if name.lower() in SERVED_HEADERS or name.lower().startswith(SERVED_PREFIXES))
        out.append(Interaction(method=str(request["method"]).upper(), uri=str(request["uri"]),
                               response=Recorded(status=int(response["status"]["code"]), body=body,
                                                 headers=headers, source=f"{relative}: {request['uri']}")))
    return out


def one(interactions: Iterable[Interaction], method: str, path_ending: str, **query: str) -> Interaction:
    """The single interaction of ``method`` whose path ends with ``path_ending`` (and whose query has
    ``query``); LookupError naming what was there otherwise."""
    found = [i for i in interactions if i.method == method and i.path.endswith(path_ending)
             and all(i.query.get(k) == v for k, v in query.items())]
    if len(found) != 1:
        raise LookupError(f"{len(found)} recorded {method} {path_ending} {query or ''}")
    return found[0]


def file_response(relative: str, content_type: str, *, status: int = 200) -> Recorded:
    """A recording kept as a plain file (a JSON response, a feed), served byte for byte."""
    return Recorded(status=status, body=recorded(relative).read_bytes(),
                    headers=(("content-type", content_type),), source=relative)


@dataclass(slots=True)
class _Route:
    path: str
    query: dict[str, str]
    response: Recorded


@dataclass(slots=True)
class ReplayServer:
    """A loopback server answering with recordings; ``requests`` lists every path+query it was asked."""

    routes: list[_Route] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    _httpd: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def add(self, path: str, response: Recorded, **query: str) -> ReplayServer:
        """Answer GET ``path`` with ``response`` when the request's page-selecting keys equal ``query``."""
        self.routes.append(_Route(path, {k: str(v) for k, v in query.items()}, response))
        return self

    def add_interaction(self, interaction: Interaction, path: str | None = None) -> ReplayServer:
        """Serve a cassette's interaction at its own path (or ``path``), selected by its own page keys."""
        keys = {k: v for k, v in interaction.query.items() if k in PAGE_KEYS}
        return self.add(path or interaction.path, interaction.response, **keys)

    def answer(self, target: str) -> Recorded | None:
        parts = urlsplit(target)
        asked = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items() if k in PAGE_KEYS}
        for route in self.routes:
            if route.path == parts.path and asked == route.query:
                return route.response
        return None

    @property
    def port(self) -> int:
        assert self._httpd is not None, "the replay server is not started"
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ReplayServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                return None

            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                owner.requests.append(self.path)
                found = owner.answer(self.path)
                if found is None:
                    found = Recorded(status=404, body=b"not in the recording",
                                     headers=(("content-type", "text/plain"),), source="(the replay server)")
                self.send_response(found.status)
                for name, value in found.headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(found.body)))
                self.end_headers()
                self.wfile.write(found.body)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def replay_session(server: ReplayServer, *, pinned: Iterable[str] = (), now: float = 0.0,
                   sleeps: list[float] | None = None) -> HttpSession:
    """The real collector session, opening only ``server``: its origin, and ``pinned`` host names
    (recorded absolute URLs) sent to it. ``now`` is the session's clock (Unix seconds; the X collector
    asks it how old a post is); sleeping is recorded in ``sleeps``, not waited."""
    pins: Mapping[str, tuple[str, int]] = {host: ("127.0.0.1", server.port) for host in pinned}
    guard = Guard(allow=(server.url,), host_pins=pins, only_pinned=True, dns_timeout=2.0)
    recorder = sleeps if sleeps is not None else []
    return make_session(policy=HttpPolicy(connect_timeout=2.0, read_timeout=2.0, total_timeout=10.0, retries=1,
                                          backoff=0.01),
                        sleep=recorder.append, clock=lambda: now, guard=guard)
