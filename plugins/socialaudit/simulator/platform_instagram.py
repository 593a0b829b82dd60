"""Simulated Instagram Graph API (v25.0) under ``/instagram/v25.0``: own media and business discovery.

``/me`` and ``/{ig-user-id}?fields=id,username`` (the demo token belongs to the trust's fictional
professional account, ``stoswinstrust_fict``), ``/{ig-user-id}?fields=business_discovery.username(h){...}``
(``media.after(cursor).limit(n)``), ``/{ig-user-id}/media`` (``since``/``until``, ``after``, ``limit``)
and ``/{ig-media-id}/comments`` with ``replies``. Token: Bearer header or ``access_token``
(``social.DEMO_TOKENS["instagram"]``); anything else gets error 190.

Shapes added to the data set's posts: captions write links as bare domains after an emoji
(Instagram does not linkify), each week's second photo post is a CAROUSEL_ALBUM whose second child
has no alt text, videos are VIDEO with a ``thumbnail_url``, timestamps use ``+0000``.

Faults (``Profile.fault``): unknown (business discovery: 110/2207013), 401/190, 429 (code 80002 with
``X-Business-Use-Case-Usage`` 60 minutes), 429-once, bad-item, and the generic 500/flaky/slow/
truncated/malformed.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from socialaudit.simulator.credentialed import (
    DEMO_TOKENS,
    bearer,
    comments_for,
    find_by_id,
    find_profile,
    handle_of,
    hashed,
    number,
    page_size,
)
from socialaudit.simulator.dataset import Profile, SimPost, posts_between
from socialaudit.simulator.graph import (
    account_fault,
    bad_token,
    cursor,
    graph_error,
    graph_time,
    offset_of,
    paging,
    unix_or_iso,
)
from socialaudit.simulator.server import SimRequest, SimResponse, json_response, route

PREFIX = "/instagram/v25.0"
HISTORY = timedelta(weeks=60)
TRUST_ACCOUNT = {"id": "17841400000000001", "username": "stoswinstrust_fict"}
_media: dict[str, SimPost] = {}  # media id -> post, filled as media are served


def ig_user_id(slug: str) -> str:
    return number("instagram", slug, digits=17, prefix="17841")


def _authorised(request: SimRequest) -> bool:
    return bearer(request.headers, request.query) == DEMO_TOKENS["instagram"]


def _media_id(post: SimPost, n: int | None = None) -> str:
    return number("igmedia", post.id, "" if n is None else str(n), digits=17, prefix="18")


def build_media(post: SimPost, *, slug: str, profile: Profile) -> dict[str, Any]:
    """One IG Media object for a data-set post."""
    media_id = _media_id(post)
    _media[media_id] = post
    caption = post.text
    for link in post.links:
        caption += " 🌱 Details: " + link.split("://", 1)[-1]
    shortcode = "DH" + number("shortcode", post.id, digits=9)
    item: dict[str, Any] = {"id": media_id, "caption": caption, "media_product_type": "FEED",
                            "permalink": f"https://www.instagram.com/p/{shortcode}/", "timestamp": graph_time(post.created_at),
                            "comments_count": len(comments_for(post)), "like_count": hashed(post.id, 60)}
    media = list(post.media)
    if media and media[0].type == "photo" and post.id.endswith("-1"):
        media.append(type(media[0])("photo", media[0].url.replace(".jpg", "-b.jpg"), None))
    nodes = []
    for n, one in enumerate(media):
        url = f"https://scontent.cdninstagram.com/v/t51.29350-15/{_media_id(post, n)}_fict_n.jpg?oh=00_AfFict&oe=67D9A1B2"
        node: dict[str, Any] = {"id": _media_id(post, n)}
        if one.type == "photo":
            node.update(media_type="IMAGE", media_url=url)
            if one.alt:
                node["alt_text"] = one.alt
        else:
            node.update(media_type="VIDEO", media_url=url.replace(".jpg", ".mp4"), thumbnail_url=url)
        nodes.append(node)
    if len(nodes) > 1:
        item.update(media_type="CAROUSEL_ALBUM", media_url=nodes[0]["media_url"], children={"data": nodes})
    elif nodes:
        node = nodes[0]
        item.update({k: v for k, v in node.items() if k != "id"})
        if node["media_type"] == "VIDEO":
            item["media_product_type"] = "REELS"
    else:
        # Instagram has no text-only posts; the school's text goes out on a plain title card.
        item.update(media_type="IMAGE", media_url=f"https://scontent.cdninstagram.com/v/{media_id}_card.jpg",
                    alt_text=f"Text card: {post.title or post.text[:60]}")
    return item


def _posts(request: SimRequest, slug: str, since_text: str | None = None, until_text: str | None = None) -> list[SimPost]:
    now = request.sim.now
    since = unix_or_iso(since_text) or now - HISTORY
    until = unix_or_iso(until_text) or now
    return [p for p in posts_between(slug, request.sim.profiles, since, until) if not p.is_reply]


def _items(request: SimRequest, slug: str, profile: Profile, posts: list[SimPost], offset: int, size: int) -> list[dict[str, Any]]:
    items = [build_media(p, slug=slug, profile=profile) for p in posts[offset: offset + size]]
    if profile.fault == "bad-item" and items:
        items[0] = dict(items[0], timestamp=None)
    return items


@route("GET", PREFIX + r"/(?P<node>me|\d+)")
def user_node(request: SimRequest) -> SimResponse:
    if not _authorised(request):
        return bad_token()
    node = request.match.group("node")
    fields = request.query.get("fields", "")
    if node == "me" or node == TRUST_ACCOUNT["id"]:
        me: dict[str, Any] = dict(TRUST_ACCOUNT)
    else:
        found = find_by_id(request.sim.profiles, "instagram", node, digits=17, prefix="17841")
        if found is None:
            if node in _media:
                return json_response({"id": node})
            return graph_error(100, f"(#100) Unsupported get request. Object with ID '{node}' does not exist")
        slug, profile = found
        if profile.fault in ("401", "190"):
            return bad_token()
        me = {"id": node, "username": handle_of(slug, profile)}
    if "business_discovery" not in fields:
        return json_response(me)
    match = re.search(r"business_discovery\.username\(([^)]*)\)", fields)
    handle = match.group(1) if match else ""
    found = find_profile(request.sim.profiles, "instagram", handle)
    if found is None or found[1].fault == "unknown":
        return graph_error(110, "Invalid user id", subcode=2207013, is_transient=False, error_user_title="Cannot find user",
                           error_user_msg=f"The user with username: {handle} cannot be found.")
    slug, profile = found
    fault = account_fault(request, slug, profile, business_id=TRUST_ACCOUNT["id"], kind="instagram", throttle_code=80002)
    if fault is not None:
        return fault
    after = re.search(r"media\.after\(([^)]*)\)", fields)
    limit = re.search(r"media(?:\.after\([^)]*\))?\.limit\((\d+)\)", fields)
    posts = _posts(request, slug)
    size = page_size(profile, limit.group(1) if limit else None, 25, 100)
    offset = offset_of(after.group(1) if after else None)
    media: dict[str, Any] = {"data": _items(request, slug, profile, posts, offset, size)}
    if media["data"]:
        media["paging"] = {"cursors": {"before": cursor(offset), "after": cursor(offset + size)}}
        if offset + size >= len(posts):
            del media["paging"]["cursors"]["after"]
    return json_response({"business_discovery": {"id": ig_user_id(slug), "username": handle_of(slug, profile),
                                                 "media": media}, "id": me["id"]})


@route("GET", PREFIX + r"/(?P<user>\d+)/media")
def own_media(request: SimRequest) -> SimResponse:
    if not _authorised(request):
        return bad_token()
    found = find_by_id(request.sim.profiles, "instagram", request.match.group("user"), digits=17, prefix="17841")
    if found is None or found[1].fault == "unknown":
        return graph_error(100, "(#100) Unsupported get request.")
    slug, profile = found
    fault = account_fault(request, slug, profile, business_id=request.match.group("user"), kind="instagram", throttle_code=80002)
    if fault is not None:
        return fault
    posts = _posts(request, slug, request.query.get("since"), request.query.get("until"))
    size = page_size(profile, request.query.get("limit"), 25, 100)
    offset = offset_of(request.query.get("after"))
    items = _items(request, slug, profile, posts, offset, size)
    body: dict[str, Any] = {"data": items}
    if items:
        body["paging"] = paging(request, offset=offset, size=size, total=len(posts))
    return json_response(body)


@route("GET", PREFIX + r"/(?P<media>\d+)/comments")
def media_comments(request: SimRequest) -> SimResponse:
    if not _authorised(request):
        return bad_token()
    post = _media.get(request.match.group("media"))
    if post is None:
        return graph_error(100, "(#100) Unsupported get request.")
    data = []
    for comment_id, author, text, when in comments_for(post):
        if when > request.sim.now:
            continue
        data.append({"id": comment_id, "text": text, "timestamp": graph_time(when), "username": author,
                     "like_count": hashed(comment_id, 4)})
    if data and hashed(post.id, 2) == 0:
        reply_id = number("igreply", post.id, digits=17)
        data[0]["replies"] = {"data": [{"id": reply_id, "text": "Thank you, we loved it too!",
                                        "timestamp": graph_time(post.created_at + timedelta(hours=5)),
                                        "username": "school_reply_fict"}]}
    return json_response({"data": data})
