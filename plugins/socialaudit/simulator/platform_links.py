"""Simulated web: a link shortener (``/s/<code>``, 301 to its target) and plain pages (``/web/<page>``).

Served for the fictional hosts in ``dataset.DEMO_WEB_HOSTS`` (the demo's link resolver pins them to
the simulator), so the demo's external_links check expands a shortened link and follows its
redirect over real sockets without any internet request. Both answer HEAD as well as GET.
"""

from __future__ import annotations

from html import escape

from socialaudit.simulator.dataset import SHORT_LINKS
from socialaudit.simulator.server import SimRequest, SimResponse, route


@route("GET", r"/s/(?P<code>[A-Za-z0-9_-]+)")
@route("HEAD", r"/s/(?P<code>[A-Za-z0-9_-]+)")
def short_link(request: SimRequest) -> SimResponse:
    """A shortener: a known code redirects (301) to its target; an unknown one is a 404."""
    target = SHORT_LINKS.get(request.match.group("code"))
    if target is None:
        return SimResponse(status=404, body=b"<html><body>Unknown short link</body></html>", content_type="text/html")
    return SimResponse(status=301, body=b"", content_type="text/html", headers={"Location": target})


@route("GET", r"/web/(?P<page>[a-z0-9/-]+)")
@route("HEAD", r"/web/(?P<page>[a-z0-9/-]+)")
def web_page(request: SimRequest) -> SimResponse:
    """A small fictional web page (any name under /web/)."""
    page = escape(request.match.group("page"))
    body = f"<!doctype html><html><head><title>{page}</title></head><body><h1>{page}</h1></body></html>"
    return SimResponse(status=200, body=body.encode(), content_type="text/html; charset=utf-8")
