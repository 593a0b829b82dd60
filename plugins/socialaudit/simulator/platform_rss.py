"""Simulated school websites: WordPress-style RSS 2.0 at /rss/<slug>/feed/ (``?paged=N``, 10 a page)."""

from __future__ import annotations

from datetime import timedelta
from email.utils import format_datetime
from html import escape

from socialaudit.simulator.dataset import posts_between
from socialaudit.simulator.faults import XML_BOMB, generic_fault
from socialaudit.simulator.server import SimRequest, SimResponse, route

PAGE_SIZE = 10
HISTORY = timedelta(weeks=60)  # how far back a simulated site's archive reaches
_counters: dict[str, int] = {}


def _cdata(html: str) -> str:
    return "<![CDATA[" + html.replace("]]>", "]]]]><![CDATA[>") + "]]>"


@route("GET", r"/rss/(?P<slug>[a-z0-9-]+)/feed/?")
def wordpress_feed(request: SimRequest) -> SimResponse:
    slug = request.match.group("slug")
    profile = request.sim.profiles.get(slug)
    if profile is None or profile.fault == "unknown":
        return SimResponse(status=404, body=b"<html><body>Page not found</body></html>", content_type="text/html")
    if profile.fault == "401":
        return SimResponse(status=401, body=b"Unauthorized", content_type="text/plain")
    if profile.fault == "bomb":
        return SimResponse(status=200, body=XML_BOMB, content_type="application/rss+xml")
    if profile.fault == "429":
        return SimResponse(status=429, body=b"Too Many Requests", content_type="text/plain", headers={"Retry-After": "3600"})
    fault = generic_fault(profile.fault, stateful_key=request.path + str(request.query), counters=_counters)
    if fault is not None:
        return fault
    try:
        page = max(1, int(request.query.get("paged", "1")))
    except ValueError:
        page = 1
    now = request.sim.now
    posts = posts_between(slug, request.sim.profiles, now - HISTORY, now)
    chunk = posts[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
    if page > 1 and not chunk:
        return SimResponse(status=404, body=b"<html><body>Page not found</body></html>", content_type="text/html")
    site = f"https://{profile.domain}"
    items = []
    for post in chunk:
        if post.is_reply:
            continue  # websites have no replies
        html = f"<p>{escape(post.text)}</p>"
        for media in post.media:
            alt = "" if media.alt is None else f' alt="{escape(media.alt)}"'
            html += f'<figure class="wp-block-image"><img src="/uploads/{media.url.rsplit("/", 1)[-1]}"{alt}/></figure>'
        for link in post.links:
            html += f'<p>More: <a href="{escape(link)}">{escape(link)}</a></p>'
        number = abs(hash(post.id)) % 100000
        items.append(f"""<item>
  <title>{escape(post.title or post.text[:40])}</title>
  <link>{site}/news/{post.id}/</link>
  <dc:creator><![CDATA[Office Admin]]></dc:creator>
  <pubDate>{format_datetime(post.created_at)}</pubDate>
  <guid isPermaLink="false">{site}/?p={post.id}</guid>
  <description>{_cdata(escape(post.text[:80]) + " [&#8230;]")}</description>
  <content:encoded>{_cdata(html)}</content:encoded>
  <slash:comments>0</slash:comments>
</item>""")
        del number
    body = f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/"
  xmlns:atom="http://www.w3.org/2005/Atom" xmlns:slash="http://purl.org/rss/1.0/modules/slash/">
<channel>
  <title>{escape(profile.school_name)} (fictional)</title>
  <link>{site}/</link>
  <description>News from {escape(profile.school_name)}</description>
  <language>en-GB</language>
{"".join(items)}
</channel>
</rss>
"""
    return SimResponse(body=body.encode(), content_type="application/rss+xml; charset=UTF-8")
