"""A hostile platform on loopback: redirects to internal addresses and ``file:``, loops, trickles.

:class:`HostileServer` listens on ``127.0.0.1`` (the origin a test allows, as the demo allows its
simulator). :class:`Canary` listens on another internal address (``127.0.0.2``, or another port of
``127.0.0.1``) and counts the connections it is given: a redirect there must never reach it.
Every feed here is fictional.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

GOOD_FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>St Fiction's news (fictional)</title><link>https://st-fict.example.sch.uk/</link>
<item><title>Harvest festival</title><link>https://st-fict.example.sch.uk/news/harvest</link>
<guid>https://st-fict.example.sch.uk/news/harvest</guid><pubDate>Wed, 18 Nov 2026 10:00:00 +0000</pubDate>
<description>Our harvest festival raised food for the local food bank.</description></item>
<item><title>Year 4 trip</title><link>https://st-fict.example.sch.uk/news/trip</link>
<guid>https://st-fict.example.sch.uk/news/trip</guid><pubDate>Thu, 19 Nov 2026 10:00:00 +0000</pubDate>
<description>Year 4 visited the fictional Northmoor museum.</description></item>
</channel></rss>"""


def atom_page(entries: list[tuple[str, str]], *, next_href: str = "") -> str:
    """An Atom page of (id, updated) entries, with a rel="next" link as Blogger and FeedBurner page."""
    link = f'<link rel="next" href="{next_href}"/>' if next_href else ""
    body = "".join(f"<entry><id>tag:st-fict.example.sch.uk,2026:{eid}</id><title>Post {eid}</title>"
                   f'<link rel="alternate" href="https://st-fict.example.sch.uk/{eid}"/><updated>{when}</updated>'
                   f"<content type=\"html\">News item {eid} (fictional).</content></entry>" for eid, when in entries)
    return f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Blog</title>{link}{body}</feed>'


def deep_atom(depth: int) -> bytes:
    """Atom whose one entry's XHTML content is nested ``depth`` elements deep (a RecursionError in naive code)."""
    return (b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Deep</title>'
            b"<entry><id>tag:deep.example,2026:1</id><title>Deep</title><updated>2026-11-18T10:00:00Z</updated>"
            b'<content type="xhtml">' + b"<div>" * depth + b"x" + b"</div>" * depth + b"</content></entry></feed>")


class Canary:
    """A listener on an internal address that must never be reached: it counts accepted connections."""

    def __init__(self, host: str = "127.0.0.2") -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((host, 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.host, self.port = host, self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 15\r\nConnection: close\r\n\r\ninternal secret")
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


class HostileServer:
    """The hostile answers, by path. ``trickle`` is the pause between two bytes of a trickled answer."""

    def __init__(self, canary: Canary, *, trickle: float = 0.25) -> None:
        self.canary = canary
        self.trickle = trickle
        self.stopping = threading.Event()
        self.requests: list[str] = []
        routes = self._routes()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                return None

            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                owner.requests.append(self.path)
                if self.path.startswith("/empty/"):  # an empty 200, whatever was asked
                    self._send(200, b"", "application/json")
                    return
                route = routes.get(self.path.split("?", 1)[0])
                if route is None:
                    self._send(404, b"not here", "text/plain")
                else:
                    route(self)

            def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

        self.Handler = Handler
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    # --- the answers ---------------------------------------------------------------------------

    def _routes(self) -> dict[str, Any]:
        def redirect(location: str, status: int = 302) -> Any:
            def answer(h: Any) -> None:
                h._send(status, b"", "text/plain", {"Location": location() if callable(location) else location})
            return answer

        def good(h: Any) -> None:
            h._send(200, GOOD_FEED.encode(), "application/rss+xml")

        def deep(h: Any) -> None:
            h._send(200, deep_atom(200_000), "application/atom+xml")

        def trickle_headers(h: Any) -> None:
            # a status line, then one header byte at a time for ever: no read ever waits long
            self._trickle(h, b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 100_000)

        def huge_body(h: Any) -> None:  # 11 MB with no Content-Length: refused at the 10 MB cap while read
            h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nConnection: close\r\n\r\n")
            chunk = b"<rss><!-- " + b"x" * (1024 * 1024 - 10)
            try:
                for _ in range(11):
                    h.wfile.write(chunk)
            except OSError:
                return  # the client stopped reading at the cap

        def trickle_body(h: Any) -> None:
            h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 100000\r\n\r\n")
            h.wfile.flush()
            self._trickle(h, GOOD_FEED.encode() * 50)

        def blog_page_1(h: Any) -> None:
            page = atom_page([("p1", "2026-11-19T10:00:00Z"), ("p2", "2026-11-18T10:00:00Z")],
                             next_href=f"{self.url}/blog/page-2-fails")
            h._send(200, page.encode(), "application/atom+xml")

        def blog_page_2(h: Any) -> None:
            page = atom_page([("p3", "2026-11-17T10:00:00Z")], next_href=f"{self.canary.url}/page-3")
            h._send(200, page.encode(), "application/atom+xml")

        def slow_page(n: int) -> Any:
            def answer(h: Any) -> None:
                # each page comes well inside the exchange's deadline, and there is always another
                time.sleep(self.trickle)
                page = atom_page([(f"s{n}", f"2026-11-{19 - n % 5:02d}T10:00:00Z")], next_href=f"/slow-pages/{n + 1}")
                h._send(200, page.encode(), "application/atom+xml")
            return answer

        def mastodon_lookup(h: Any) -> None:
            h._send(200, json.dumps({"id": "1", "acct": "fict", "username": "fict"}).encode(), "application/json")

        def mastodon_statuses(h: Any) -> None:
            statuses = [{"id": str(n), "created_at": f"2026-11-{20 - n}T10:00:00.000Z", "in_reply_to_id": None,
                         "url": f"https://mastodon.example/@fict/{n}", "content": f"<p>School news {n} (fictional)</p>",
                         "media_attachments": [], "reblog": None, "replies_count": 0} for n in (1, 2)]
            h._send(200, json.dumps(statuses).encode(), "application/json",
                    {"Link": f'<{self.url}/mastodon/page-2-fails>; rel="next"'})

        def bluesky_feed(h: Any) -> None:
            if "cursor=" in h.path:  # the second page: sent to an internal address
                h._send(302, b"", "text/plain", {"Location": f"{self.canary.url}/xrpc/app.bsky.feed.getAuthorFeed"})
                return
            author = {"did": "did:plc:fict", "handle": "fict.example.sch.uk"}
            feed = [{"post": {"uri": f"at://did:plc:fict/app.bsky.feed.post/{n}", "author": author,
                              "record": {"text": f"School news {n} (fictional)",
                                         "createdAt": f"2026-11-{20 - n}T10:00:00.000Z"}}} for n in (1, 2)]
            h._send(200, json.dumps({"feed": feed, "cursor": "c2"}).encode(), "application/json")

        def send_json(h: Any, value: Any, headers: dict[str, str] | None = None) -> None:
            h._send(200, json.dumps(value).encode(), "application/json", headers)

        def x_timeline(h: Any) -> None:
            if "pagination_token=" in h.path:  # the second page: sent to the metadata address
                h._send(302, b"", "text/plain", {"Location": "http://169.254.169.254/latest/meta-data/"})
                return
            tweets = [{"id": f"10{n}", "created_at": f"2026-11-{20 - n}T10:00:00.000Z",
                       "text": f"School news {n} (fictional)"} for n in (1, 2)]
            send_json(h, {"data": tweets, "meta": {"result_count": 2, "next_token": "t2"}})

        def facebook_posts(h: Any) -> None:
            posts = [{"id": f"55_{n}", "created_time": f"2026-11-{20 - n}T10:00:00+0000",
                      "message": f"School news {n} (fictional)"} for n in (1, 2)]
            send_json(h, {"data": posts, "paging": {"next": f"{self.url}/graph/v25.0/55/page-2-fails?after=c2"}})

        def instagram_media(h: Any) -> None:
            media = [{"id": f"17{n}", "timestamp": f"2026-11-{20 - n}T10:00:00+0000", "caption": f"School news {n}",
                      "media_type": "IMAGE", "media_url": f"https://cdn.example/{n}.jpg",
                      "alt_text": "Pupils planting bulbs (fictional)", "permalink": f"https://www.instagram.com/p/fict{n}/"} for n in (1, 2)]
            send_json(h, {"data": media, "paging": {"next": f"{self.url}/graph/v25.0/17/not-json?after=c2"}})

        def youtube_uploads(h: Any) -> None:
            if "pageToken=" in h.path:  # the second page goes round in a redirect loop
                h._send(302, b"", "text/plain", {"Location": "/loop-a"})
                return
            videos = [{"snippet": {"title": f"Video {n} (fictional)", "description": "", "publishedAt":
                                   f"2026-11-{20 - n}T10:00:00Z", "resourceId": {"videoId": f"vid{n}"}},
                       "contentDetails": {"videoId": f"vid{n}", "videoPublishedAt": f"2026-11-{20 - n}T10:00:00Z"}}
                      for n in (1, 2)]
            send_json(h, {"items": videos, "nextPageToken": "p2"})

        return {
            "/x/2/users/by/username/fict": lambda h: send_json(h, {"data": {"id": "9", "username": "fict"}}),
            "/x/2/users/9/tweets": x_timeline,
            "/graph/v25.0/fictpage": lambda h: send_json(h, {"id": "55", "name": "St Fict's (fictional)"}),
            "/graph/v25.0/55/published_posts": facebook_posts,
            "/graph/v25.0/55/page-2-fails": lambda h: h._send(503, b"busy", "text/plain"),
            "/graph/v25.0/me": lambda h: send_json(h, {"id": "17", "username": "fict"}),
            "/graph/v25.0/17/media": instagram_media,
            "/graph/v25.0/17/not-json": lambda h: h._send(200, b"<html>maintenance</html>", "text/html"),
            "/yt/youtube/v3/playlistItems": youtube_uploads,
            **{f"/slow-pages/{n}": slow_page(n) for n in range(100)},
            "/bluesky/xrpc/app.bsky.feed.getAuthorFeed": bluesky_feed,
            "/mastodon/api/v1/accounts/lookup": mastodon_lookup,
            "/mastodon/api/v1/accounts/1/statuses": mastodon_statuses,
            "/mastodon/page-2-fails": redirect("http://169.254.169.254/latest/meta-data/"),
            "/feed": good,
            "/redirect-same-origin": redirect("/feed", 301),
            "/redirect-metadata": redirect("http://169.254.169.254/latest/meta-data/iam/security-credentials/"),
            "/redirect-internal": redirect(lambda: f"{self.canary.url}/feed"),
            "/redirect-file": redirect("file:///etc/passwd"),
            "/redirect-gopher": redirect("gopher://127.0.0.1:6379/_INFO"),
            "/loop-a": redirect("/loop-b"),
            "/loop-b": redirect("/loop-a", 307),
            "/redirect-without-location": lambda h: h._send(302, b"", "text/plain"),
            **{f"/chain/{n}": redirect(f"/chain/{n + 1}") for n in range(50)},
            "/deep-atom": deep,
            "/huge-body": huge_body,
            "/trickle-headers": trickle_headers,
            "/trickle-body": trickle_body,
            "/blog/feed": blog_page_1,
            "/blog/page-2-fails": redirect(lambda: f"{self.canary.url}/page-2"),
            "/blog/page-2": blog_page_2,
        }

    def _trickle(self, h: Any, data: bytes) -> None:
        for index in range(len(data)):
            if self.stopping.is_set():
                return
            try:
                h.wfile.write(data[index:index + 1])
                h.wfile.flush()
            except OSError:
                return  # the client gave up: that is the point
            time.sleep(self.trickle)
