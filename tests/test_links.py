"""The link resolver: redirects, HEAD then GET, outcomes, SSRF refusals at every hop, pinning, caches.

A real HTTP server on a loopback port (threads, real sockets) plays the web; the resolver opts in to
loopback explicitly (``allow_loopback=True``) to reach it, except where a test is about loopback.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from socialaudit.links import LinkResolution, LinkResolver, LinkState, StoreCache, UnsafeAddress, address_problem, check_address


class Web:
    """A tiny web site: the path picks the behaviour (see ``_answer``)."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.hosts: list[str] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
        web = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                return

            def do_HEAD(self) -> None:  # noqa: N802
                web.serve(self, "HEAD")

            def do_GET(self) -> None:  # noqa: N802
                web.serve(self, "GET")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def serve(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        path = handler.path
        with self.lock:
            self.hits[f"{method} {path}"] += 1
            self.hosts.append(handler.headers.get("Host", ""))
        try:
            status, headers = self._answer(method, path)
            body = b"" if method == "HEAD" else b"<html>page</html>"
            handler.send_response(status)
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            if body:
                handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _answer(self, method: str, path: str) -> tuple[int, dict[str, str]]:
        if path.startswith("/hops/"):
            left = int(path.rsplit("/", 1)[1])
            return (302, {"Location": f"/hops/{left - 1}"}) if left > 0 else (200, {})
        if path.startswith("/busy-host/"):
            # Counted only here, before the answer is sent: the client holds its per-host slot for
            # at least this long, so the count cannot include a request whose slot was released
            # (nor a slow request of an earlier test that is still sleeping on another thread).
            with self.lock:
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
            time.sleep(0.15)
            with self.lock:
                self.in_flight -= 1
            return 200, {}
        routes: dict[str, tuple[int, dict[str, str]]] = {
            "/ok": (200, {}),
            "/short": (301, {"Location": f"http://localhost:{self.port}/ok"}),
            "/relative": (301, {"Location": "ok"}),
            "/loop-a": (302, {"Location": "/loop-b"}),
            "/loop-b": (302, {"Location": "/loop-a"}),
            "/missing": (404, {}),
            "/gone": (410, {}),
            "/bot-wall": (403, {}),
            "/busy": (429, {"Retry-After": "3600"}),
            "/login": (401, {}),
            "/error": (500, {}),
            "/no-location": (302, {}),
            "/to-metadata": (302, {"Location": "http://169.254.169.254/latest/meta-data/"}),
            "/to-private": (307, {"Location": "http://10.0.0.7/admin"}),
            "/to-ipv6-loopback": (302, {"Location": f"http://[::1]:{self.port}/ok"}),
            "/to-file": (302, {"Location": "file:///etc/passwd"}),
            "/to-casino": (302, {"Location": "https://lucky-spins.test/"}),
            "/to-http": (301, {"Location": f"http://127.0.0.1:{self.port}/ok"}),
        }
        if path == "/head-refused":
            return (405, {}) if method == "HEAD" else (200, {})
        if path == "/slow":
            time.sleep(1.5)
            return 200, {}
        return routes.get(path, (404, {}))

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def web() -> Iterator[Web]:
    site = Web()
    yield site
    site.stop()


def resolver(**overrides: Any) -> LinkResolver:
    """A resolver for the local web: loopback allowed explicitly, short timeouts, no real sleeping."""
    options: dict[str, Any] = {"allow_loopback": True, "read_timeout": 0.5, "connect_timeout": 1.0,
                               "dns_canary": "localhost", "sleep": lambda s: None}
    options.update(overrides)
    return LinkResolver(**options)


@pytest.mark.parametrize(("path", "state", "status", "hops"), [
    ("/ok", LinkState.OK, 200, 1),
    ("/short", LinkState.OK, 200, 2),  # a shortener expanded
    ("/relative", LinkState.OK, 200, 2),  # a relative Location
    ("/hops/5", LinkState.OK, 200, 6),  # five redirects: the limit
    ("/hops/6", LinkState.BROKEN, None, 7),  # one too many: the 7th URL is not opened
    ("/loop-a", LinkState.BROKEN, None, 3),
    ("/missing", LinkState.BROKEN, 404, 1),
    ("/gone", LinkState.BROKEN, 410, 1),
    ("/error", LinkState.BROKEN, 500, 1),
    ("/no-location", LinkState.BROKEN, 302, 1),
    ("/bot-wall", LinkState.UNVERIFIED, 403, 1),  # a bot wall is not a broken link
    ("/busy", LinkState.UNVERIFIED, 429, 1),
    ("/login", LinkState.UNVERIFIED, 401, 1),
    ("/slow", LinkState.UNVERIFIED, None, 1),  # read timeout
    ("/head-refused", LinkState.OK, 200, 1),  # HEAD 405, then GET
])
def test_outcomes(web: Web, path: str, state: LinkState, status: int | None, hops: int) -> None:
    result = resolver().resolve(web.url + path)
    assert result.state is state, result.reason
    assert result.http_status == status
    assert len(result.chain) == hops
    assert result.url == web.url + path


def test_shortener_chain_and_final_url(web: Web) -> None:
    result = resolver().resolve(web.url + "/short")
    assert result.chain == (web.url + "/short", f"http://localhost:{web.port}/ok")
    assert result.final_url == f"http://localhost:{web.port}/ok"


def test_head_first_then_get_only_when_refused(web: Web) -> None:
    before = Counter(web.hits)
    resolver().resolve(web.url + "/ok")
    resolver().resolve(web.url + "/head-refused")
    new = web.hits - before
    assert new == Counter({"HEAD /ok": 1, "HEAD /head-refused": 1, "GET /head-refused": 1})


def test_every_request_and_its_answer_is_kept_in_the_resolution(web: Web) -> None:
    """What each hop answered is part of the resolution (and so of the run's evidence): a redirect's
    Location, HEAD refused then GET, and a request that got no answer in time."""
    from socialaudit.links import HopAnswer

    short = resolver().resolve(web.url + "/short")
    ok = f"http://localhost:{web.port}/ok"
    assert short.answers == (HopAnswer("HEAD", web.url + "/short", 301, ok), HopAnswer("HEAD", ok, 200))
    refused = resolver().resolve(web.url + "/head-refused")
    assert [(a.method, a.status) for a in refused.answers] == [("HEAD", 405), ("GET", 200)]
    slow = resolver().resolve(web.url + "/slow")
    [answer] = slow.answers
    assert answer.status is None and answer.error == slow.reason and "did not answer" in answer.error
    assert LinkResolution.from_dict(short.to_dict()) == short and LinkResolution.from_dict(slow.to_dict()) == slow


def test_5xx_is_retried_once_then_broken(web: Web) -> None:
    before = Counter(web.hits)
    assert resolver(retries=1).resolve(web.url + "/error").state is LinkState.BROKEN
    assert (web.hits - before) == Counter({"HEAD /error": 2, "GET /error": 2})


def test_transient_answers_are_marked(web: Web) -> None:
    r = resolver()
    assert r.resolve(web.url + "/busy").transient
    assert r.resolve(web.url + "/slow").transient
    assert not r.resolve(web.url + "/bot-wall").transient
    assert not r.resolve(web.url + "/missing").transient


# --- SSRF ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("ip", ["127.0.0.1", "127.9.9.9", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254",
                                "0.0.0.0", "224.0.0.251", "240.0.0.1", "255.255.255.255", "100.64.0.1", "198.18.0.1",
                                "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "::ffff:127.0.0.1",
                                "::ffff:10.0.0.1", "::ffff:169.254.169.254", "2001:db8::1", "fe80::1%eth0",
                                "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "2002:7f00:1::", "2002:a00:1::",
                                "2001:0:4136:e378:8000:63bf:3fff:fdd2"])
def test_internal_addresses_are_refused(ip: str) -> None:
    assert address_problem(ip)


@pytest.mark.parametrize("ip", ["8.8.8.8", "93.184.216.34", "151.101.0.81", "2606:4700:4700::1111", "2a00:1450:4009::200e"])
def test_public_addresses_are_allowed(ip: str) -> None:
    assert address_problem(ip) == ""


def test_loopback_only_by_explicit_opt_in() -> None:
    assert address_problem("127.0.0.1") == "loopback address"
    assert address_problem("127.0.0.1", allow_loopback=True) == ""
    assert address_problem("::ffff:127.0.0.1", allow_loopback=True) == ""
    assert address_problem("10.0.0.1", allow_loopback=True) == "private address"  # loopback only


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:{port}/ok", "http://10.1.2.3/", "http://169.254.169.254/latest/meta-data/", "http://[::1]:{port}/ok",
    "http://[::ffff:127.0.0.1]:{port}/ok", "http://localhost:{port}/ok", "http://2130706433:{port}/ok", "http://0x7f.1:{port}/ok",
    "http://0.0.0.0:{port}/ok",
])
def test_internal_targets_are_unsafe_and_never_contacted(web: Web, url: str) -> None:
    before = sum(web.hits.values())
    result = LinkResolver(dns_canary=None).resolve(url.format(port=web.port))  # the default: no loopback
    assert result.state is LinkState.UNSAFE, result.reason
    assert "not opened" in result.reason
    assert sum(web.hits.values()) == before


@pytest.mark.parametrize(("path", "reason"), [
    ("/to-metadata", "link-local"), ("/to-private", "private"), ("/to-file", "only http and https"),
])
def test_redirect_to_an_internal_address_is_unsafe(web: Web, path: str, reason: str) -> None:
    result = resolver().resolve(web.url + path)
    assert result.state is LinkState.UNSAFE
    assert reason in result.reason
    assert len(result.chain) == 2


def test_redirect_to_ipv6_loopback_is_refused_without_opt_in(web: Web) -> None:
    def only_test_host(host: str, port: int, **kw: Any) -> list[tuple[Any, ...]]:
        if host == "site.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return socket.getaddrinfo(host, port, **kw)

    # site.test is pinned to the local server by an explicit override; the hop to [::1] is judged as usual
    r = LinkResolver(host_overrides={"site.test": ("127.0.0.1", web.port)}, getaddrinfo=only_test_host, dns_canary=None)
    result = r.resolve("http://site.test/to-ipv6-loopback")
    assert result.state is LinkState.UNSAFE and "loopback" in result.reason


@pytest.mark.parametrize("url", ["javascript:alert(1)", "file:///etc/passwd", "ftp://files.example.org/a.pdf",
                                 "data:text/html,<script>x</script>", "gopher://old.example.org/",
                                 "https://www.gov.uk@evil.example/login", "http://user:pass@example.org/"])
def test_only_plain_http_and_https_are_opened(url: str) -> None:
    r = LinkResolver(dns_canary=None)
    assert r.resolve(url).state is LinkState.UNSAFE
    assert r.requests == 0


def test_any_internal_record_refuses_the_host() -> None:
    def mixed(host: str, port: int, **kw: Any) -> list[tuple[Any, ...]]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", port))]

    with pytest.raises(UnsafeAddress, match="private"):
        check_address("mixed.test", 80, getaddrinfo=mixed)


def test_connection_goes_to_the_checked_address(web: Web) -> None:
    """DNS rebinding: the address is looked up once, checked, and pinned; no second lookup is made."""
    calls: list[str] = []

    def rebinding(host: str, port: int, **kw: Any) -> list[tuple[Any, ...]]:
        calls.append(host)
        ip = "127.0.0.1" if len(calls) == 1 else "10.0.0.1"  # a second lookup would get an internal address
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))]

    r = LinkResolver(allow_loopback=True, getaddrinfo=rebinding, dns_canary=None)
    result = r.resolve(f"http://rebind.test:{web.port}/ok")
    assert result.state is LinkState.OK
    assert calls == ["rebind.test"]
    assert web.hosts[-1] == f"rebind.test:{web.port}"  # the Host header keeps the URL's name


@pytest.mark.parametrize(("errno_", "canary_works", "state"), [
    (socket.EAI_NONAME, True, LinkState.BROKEN),  # no such domain, and DNS works
    (socket.EAI_NONAME, False, LinkState.NOT_EVALUATED),  # nothing resolves: this machine is offline
    (socket.EAI_AGAIN, True, LinkState.NOT_EVALUATED),  # DNS temporarily failing
])
def test_dns_failures(errno_: int, canary_works: bool, state: LinkState) -> None:
    def dns(host: str, port: int, **kw: Any) -> list[tuple[Any, ...]]:
        if host == "canary.test" and canary_works:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))]
        raise socket.gaierror(errno_, "lookup failed")

    result = LinkResolver(getaddrinfo=dns, dns_canary="canary.test").resolve("https://no-such-school.test/")
    assert result.state is state
    assert result.transient is (state is LinkState.NOT_EVALUATED)


def test_a_real_missing_domain_is_broken_when_dns_works() -> None:
    # "localhost" always resolves, so it stands in for a working DNS; .invalid never exists (RFC 6761)
    result = LinkResolver(dns_canary="localhost").resolve("https://no-such-school.invalid/")
    assert result.state is LinkState.BROKEN and "does not exist" in result.reason


def test_only_overrides_opens_nothing_else(web: Web) -> None:
    r = LinkResolver(host_overrides={"short.demo.test": ("127.0.0.1", web.port)}, only_overrides=True)
    assert r.resolve("http://short.demo.test/ok").state is LinkState.OK
    other = r.resolve("https://www.gov.uk/")
    assert other.state is LinkState.NOT_EVALUATED and other.transient
    assert r.requests == 1


def test_stop_at_a_blocklisted_hop_without_fetching_it(web: Web) -> None:
    r = resolver()
    result = r.resolve(web.url + "/to-casino", stop=lambda url: "blocklisted: gambling" if "lucky-spins" in url else "")
    assert result.state is LinkState.OK and result.stopped == "blocklisted: gambling"
    assert result.final_url == "https://lucky-spins.test/"
    assert r.requests == 1


# --- caches and concurrency ----------------------------------------------------------------------

def test_memory_cache(web: Web) -> None:
    r = resolver()
    first = r.resolve(web.url + "/short")
    sent = r.requests
    assert r.resolve(web.url + "/short") == first
    assert r.requests == sent


def test_store_cache_is_shared_and_skips_transient_answers(web: Web, store: Any) -> None:
    urls = [web.url + "/short", web.url + "/missing", web.url + "/busy"]
    first = resolver(cache=StoreCache(store.engine)).resolve_many(urls)
    again = resolver(cache=StoreCache(store.engine))
    second = again.resolve_many(urls)
    assert second == first
    assert again.requests == 2  # only /busy (429, transient) asked again: HEAD then GET


def test_store_cache_expires(web: Web, store: Any) -> None:
    now = [1_000_000.0]
    cache = StoreCache(store.engine, ttl=3600, clock=lambda: now[0])
    cache.save([LinkResolution(url="https://a.test/", state=LinkState.OK, final_url="https://a.test/")])
    assert set(cache.load(["https://a.test/"])) == {"https://a.test/"}
    now[0] += 3601
    assert cache.load(["https://a.test/"]) == {}


def test_per_host_limit(web: Web) -> None:
    web.max_in_flight = 0
    r = resolver(per_host=2, workers=6)
    results = r.resolve_many([f"{web.url}/busy-host/{i}" for i in range(6)])
    assert all(res.state is LinkState.OK for res in results.values())
    assert 1 <= web.max_in_flight <= 2


def test_resolution_round_trips_as_json() -> None:
    item = LinkResolution(url="http://a.test/s/1", state=LinkState.BROKEN, final_url="https://b.test/x",
                          chain=("http://a.test/s/1", "https://b.test/x"), http_status=404, reason="HTTP 404")
    assert LinkResolution.from_dict(item.to_dict()) == item
    legacy = {k: v for k, v in item.to_dict().items() if k != "answers"}  # cached before answers were kept
    assert LinkResolution.from_dict(legacy) == item


def test_resolver_for_the_config(store: Any) -> None:
    import copy

    import yaml

    from socialaudit.config import DEFAULT_CONFIG, parse_config
    from socialaudit.links import resolver_for
    from socialaudit.simulator.dataset import DEMO_WEB_HOSTS

    raw = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    demo = resolver_for(parse_config(raw, "demo.yaml"), store=store)
    assert demo is not None and demo.only_overrides and not demo.allow_loopback
    assert demo.host_overrides == {host: ("127.0.0.1", 8765) for host in DEMO_WEB_HOSTS}  # the simulator only
    assert demo.store_cache is not None
    real = copy.deepcopy(raw)
    del real["demo"]
    production = resolver_for(parse_config(real, "trust.yaml"))
    assert production is not None and not production.only_overrides and not production.host_overrides
    assert not production.allow_loopback and production.store_cache is None
    assert resolver_for(parse_config(real, "trust.yaml"), resolve=False) is None


def test_a_dns_lookup_that_hangs_is_not_evaluated_and_does_not_hold_the_check() -> None:
    from socialaudit.links import with_timeout

    released = threading.Event()

    def hanging(host: str, port: int, **kw: Any) -> list[tuple[Any, ...]]:
        released.wait(5)  # a resolver that does not answer
        return []

    started = time.perf_counter()
    result = LinkResolver(getaddrinfo=with_timeout(hanging, 0.2), dns_canary=None).resolve("https://slow-dns.test/")
    elapsed = time.perf_counter() - started
    released.set()
    assert result.state is LinkState.NOT_EVALUATED and result.transient
    assert "took longer than 0.2 s" in result.reason
    assert elapsed < 3  # gave up at the limit, not when the resolver answered


def test_the_bounded_lookup_passes_answers_and_errors_through() -> None:
    from socialaudit.links import with_timeout

    def answer(host: str, port: int, **kw: Any) -> list[tuple[Any, ...]]:
        if host == "gone.test":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port))]

    lookup = with_timeout(answer, 1.0)
    assert lookup("site.test", 443, type=socket.SOCK_STREAM)[0][4] == ("93.184.215.14", 443)
    with pytest.raises(socket.gaierror):
        lookup("gone.test", 443)
