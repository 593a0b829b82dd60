"""Simulated Bluesky AppView under ``/bluesky``: ``/xrpc/app.bsky.feed.getAuthorFeed``,
``/xrpc/app.bsky.feed.getPostThread`` and ``/xrpc/com.atproto.identity.resolveHandle``.

Real shapes (``app.bsky.feed.defs#feedViewPost``): ``post.record`` with facets whose offsets are
UTF-8 byte offsets (an emoji sits before every link), embeds in their ``#view`` forms (images,
video, external link cards, recordWithMedia quotes, the 2026 gallery, and now and then a ``$type``
no client knows yet), reposts with ``reason`` and another author, replies with ``record.reply``,
``cursor`` paging, and ``RateLimit-*`` headers (Reset in Unix seconds) on every answer.
"""

from __future__ import annotations

import time
from typing import Any

from socialaudit.simulator import social
from socialaudit.simulator.dataset import Profile, SimPost
from socialaudit.simulator.server import SimRequest, SimResponse, json_response, route

PREFIX = r"/bluesky/xrpc"
_B32 = "234567abcdefghijklmnopqrstuvwxyz"
DIOCESE = {"did": "did:plc:fictdioceseofnorthmoor01", "handle": "diocese-of-northmoor.example.org",
           "displayName": "Diocese of Northmoor (fictional)", "labels": []}


def did(slug: str) -> str:
    value = social.stable_int("bluesky-did", slug, bits=120)
    return "did:plc:" + "".join(_B32[(value >> (5 * i)) & 31] for i in range(24))


def rkey(post: SimPost) -> str:
    """A TID: microseconds since the epoch and a clock id, base32-sortable, 13 characters."""
    value = (int(post.created_at.timestamp() * 1_000_000) << 10) | social.stable_int(post.id, bits=10)
    return "".join(_B32[(value >> (5 * (12 - i))) & 31] for i in range(13))


def _handle(slug: str, profile: Profile) -> str:
    return (profile.handle or f"{slug}.bsky.social").lstrip("@")


def _author(slug: str, profile: Profile) -> dict[str, Any]:
    return {"did": did(slug), "handle": _handle(slug, profile), "displayName": profile.school_name,
            "avatar": f"https://cdn.bsky.app/img/avatar/plain/{did(slug)}/bafkreifictionalavatar@jpeg",
            "labels": [{"val": "!no-unauthenticated", "src": did(slug)}] if profile.extra.get("no_unauthenticated") else [],
            "createdAt": "2024-09-02T08:00:00.000Z"}


def _text_and_facets(post: SimPost) -> tuple[str, list[dict[str, Any]]]:
    text = post.text
    facets: list[dict[str, Any]] = []
    for link in post.links:
        shown = link.split("://", 1)[-1]
        shown = shown if len(shown) <= 26 else shown[:23] + "..."
        text += " \U0001F331 "  # an emoji (4 UTF-8 bytes) before the link, as the real example has
        start = len(text.encode("utf-8"))
        text += shown
        facets.append({"index": {"byteStart": start, "byteEnd": len(text.encode("utf-8"))},
                       "features": [{"$type": "app.bsky.richtext.facet#link", "uri": link}]})
    start = len(text.encode("utf-8")) + 1
    text += " #SchoolLife"
    facets.append({"index": {"byteStart": start, "byteEnd": len(text.encode("utf-8"))},
                   "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "SchoolLife"}]})
    return text, facets


def _embed(slug: str, post: SimPost) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(record.embed, post.embed view) for a post."""
    author = did(slug)
    variant = social.stable_int(post.id, "embed", bits=8) % 4
    photos = [m for m in post.media if m.type == "photo"]
    videos = [m for m in post.media if m.type == "video"]
    if photos:
        images = [{"thumb": f"https://cdn.bsky.app/img/feed_thumbnail/plain/{author}/bafkrei{n}@jpeg",
                   "fullsize": f"https://cdn.bsky.app/img/feed_fullsize/plain/{author}/bafkrei{n}{rkey(post)}@jpeg",
                   "alt": m.alt or "", "aspectRatio": {"width": 2048, "height": 1365}} for n, m in enumerate(photos)]
        record = {"$type": "app.bsky.embed.images",
                  "images": [{"alt": m.alt or "", "image": {"$type": "blob", "ref": {"$link": "bafkreifict"},
                                                             "mimeType": "image/jpeg", "size": 482113}} for m in photos]}
        view_images = {"$type": "app.bsky.embed.images#view", "images": images}
        if variant == 1:
            quoted = {"$type": "app.bsky.embed.record#viewRecord", "uri": f"at://{DIOCESE['did']}/app.bsky.feed.post/3kquoted",
                      "cid": "bafyquoted", "author": DIOCESE, "value": {"$type": "app.bsky.feed.post", "text": "Diocesan news",
                                                                        "createdAt": "2026-01-01T00:00:00.000Z"},
                      "indexedAt": "2026-01-01T00:00:00.000Z"}
            return record, {"$type": "app.bsky.embed.recordWithMedia#view", "record": {"record": quoted}, "media": view_images}
        if variant == 2:
            return record, {"$type": "app.bsky.embed.gallery#view",
                            "items": [{"thumbnail": i["thumb"], "fullsize": i["fullsize"], "alt": i["alt"]} for i in images]}
        return record, view_images
    if videos:
        video = videos[0]
        return None, {"$type": "app.bsky.embed.video#view", "cid": "bafkreifictvideo",
                      "playlist": f"https://video.bsky.app/watch/{author}/bafkreifictvideo/playlist.m3u8",
                      "thumbnail": f"https://video.bsky.app/watch/{author}/bafkreifictvideo/thumbnail.jpg",
                      "alt": video.alt or "", "aspectRatio": {"width": 1920, "height": 1080}}
    if post.links:
        return None, {"$type": "app.bsky.embed.external#view",
                      "external": {"uri": post.links[0], "title": "Link", "description": "",
                                   "thumb": f"https://cdn.bsky.app/img/feed_thumbnail/plain/{author}/bafkreicard@jpeg"}}
    if variant == 3:
        return None, {"$type": "app.bsky.embed.somethingNew#view", "whatever": {"nested": [1, 2, 3]}}
    return None, None


def _post_view(slug: str, profile: Profile, post: SimPost, *, broken: bool = False) -> dict[str, Any]:
    author = _author(slug, profile)
    text, facets = _text_and_facets(post)
    created = post.created_at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    record: dict[str, Any] = {"$type": "app.bsky.feed.post", "createdAt": created, "text": text, "langs": ["en"],
                              "facets": facets}
    record_embed, view = _embed(slug, post)
    if record_embed:
        record["embed"] = record_embed
    uri = f"at://{author['did']}/app.bsky.feed.post/{rkey(post)}"
    if post.is_reply:
        parent = {"uri": f"at://{DIOCESE['did']}/app.bsky.feed.post/3kparent", "cid": "bafyparent"}
        record["reply"] = {"root": parent, "parent": parent}
    if post.is_repost:
        author = DIOCESE
        uri = f"at://{DIOCESE['did']}/app.bsky.feed.post/{rkey(post)}"
    view_post: dict[str, Any] = {"uri": uri, "cid": f"bafyrei{rkey(post)}", "author": author, "record": record,
                                 "bookmarkCount": 0, "replyCount": len(social.comments_for(post)), "repostCount": 1,
                                 "likeCount": 9, "quoteCount": 0, "indexedAt": created, "labels": []}
    if view:
        view_post["embed"] = view
    if broken:
        del view_post["uri"]
        view_post["record"] = {"$type": "app.bsky.feed.post", "text": 42}
    return view_post


def _feed_item(slug: str, profile: Profile, post: SimPost, *, broken: bool = False) -> dict[str, Any]:
    item: dict[str, Any] = {"post": _post_view(slug, profile, post, broken=broken)}
    if post.is_repost:
        item["reason"] = {"$type": "app.bsky.feed.defs#reasonRepost", "by": _author(slug, profile),
                          "indexedAt": post.created_at.strftime("%Y-%m-%dT%H:%M:%S.000Z")}
    return item


def _limit(request: SimRequest) -> tuple[dict[str, str], SimResponse | None]:
    limit, remaining, reset, exceeded = social.window(request.sim, "bluesky", "bluesky")
    if exceeded:
        return {}, social.too_many("bluesky", reset - time.time(), limit)
    return social.limit_headers("bluesky", limit, remaining, reset), None


def _not_found(headers: dict[str, str]) -> SimResponse:
    return json_response({"error": "InvalidRequest", "message": "Profile not found"}, status=400, headers=headers)


def _find(request: SimRequest, actor: str) -> tuple[str, Profile] | None:
    if actor.startswith("did:"):
        return social.by_key(request.sim, "bluesky-did", lambda slug, _profile: (did(slug),), actor)
    return social.find(request.sim, actor)


def _fault(request: SimRequest, profile: Profile, headers: dict[str, str]) -> SimResponse | None:
    return social.fault(profile, "bluesky", f"{request.sim.url}{request.path}?{sorted(request.query.items())}",
                        unauthorized={"error": "AuthMissing", "message": "Authentication Required"},
                        not_found=_not_found(headers))


@route("GET", PREFIX + r"/app\.bsky\.feed\.getAuthorFeed")
def get_author_feed(request: SimRequest) -> SimResponse:
    headers, limited = _limit(request)
    if limited:
        return limited
    found = _find(request, request.query.get("actor", ""))
    if found is None:
        return _not_found(headers)
    slug, profile = found
    broken = _fault(request, profile, headers)
    if broken is not None:
        return broken
    try:
        limit = int(request.query.get("limit", "50"))
    except ValueError:
        limit = 0
    if not 1 <= limit <= 100:
        return json_response({"error": "InvalidRequest", "message": "limit must be between 1 and 100"}, status=400, headers=headers)
    posts = social.timeline(request.sim, slug)
    cursor = request.query.get("cursor")
    if cursor:
        posts = [p for p in posts if p.created_at.strftime("%Y-%m-%dT%H:%M:%S.000Z") < cursor]
    if request.query.get("filter") == "posts_no_replies":
        posts = [p for p in posts if not p.is_reply]
    page = posts[:limit]
    index: dict[str, tuple[str, SimPost]] = request.sim.__dict__.setdefault("_bluesky_index", {})
    for post in page:
        index[rkey(post)] = (slug, post)
    body: dict[str, Any] = {"feed": [_feed_item(slug, profile, p, broken=(profile.fault == "bad-item" and n == 1))
                                     for n, p in enumerate(page)]}
    if len(posts) > limit:
        body["cursor"] = page[-1].created_at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return json_response(body, headers=headers)


@route("GET", PREFIX + r"/app\.bsky\.feed\.getPostThread")
def get_post_thread(request: SimRequest) -> SimResponse:
    headers, limited = _limit(request)
    if limited:
        return limited
    uri = request.query.get("uri", "")
    known = request.sim.__dict__.get("_bluesky_index", {}).get(uri.rsplit("/", 1)[-1])
    if known is None:
        return json_response({"error": "NotFound", "message": f"Post not found: {uri}"}, status=400, headers=headers)
    slug, post = known
    profile = request.sim.profiles[slug]
    replies: list[dict[str, Any]] = []
    for cid, author, text, when in social.comments_for(post):
        replier: dict[str, Any] = {"did": f"did:plc:{cid[-20:].replace('-', 'x')}", "handle": f"{author}.bsky.social", "displayName": author, "labels": []}
        replies.append({"$type": "app.bsky.feed.defs#threadViewPost",
                        "post": {"uri": f"at://{replier['did']}/app.bsky.feed.post/{rkey(post)}r{cid[-2:]}", "cid": "bafyreply",
                                 "author": replier, "indexedAt": when.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                                 "record": {"$type": "app.bsky.feed.post", "text": text,
                                            "createdAt": when.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                                            "reply": {"root": {"uri": uri, "cid": "x"}, "parent": {"uri": uri, "cid": "x"}}},
                                 "replyCount": 0, "labels": []},
                        "replies": []})
    if replies:
        replies.append({"$type": "app.bsky.feed.defs#blockedPost", "uri": f"{uri}-blocked", "blocked": True,
                        "author": {"did": "did:plc:someoneblocked"}})
    thread = {"$type": "app.bsky.feed.defs#threadViewPost", "post": _post_view(slug, profile, post), "replies": replies}
    return json_response({"thread": thread}, headers=headers)


@route("GET", PREFIX + r"/com\.atproto\.identity\.resolveHandle")
def resolve_handle(request: SimRequest) -> SimResponse:
    headers, limited = _limit(request)
    if limited:
        return limited
    found = social.find(request.sim, request.query.get("handle", ""))
    if found is None:
        return json_response({"error": "InvalidRequest", "message": "Unable to resolve handle"}, status=400, headers=headers)
    return json_response({"did": did(found[0])}, headers=headers)
