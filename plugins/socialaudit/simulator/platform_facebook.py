"""Simulated Facebook Graph API (v25.0) under ``/facebook/v25.0``: Pages, posts, photo alt text, comments.

``/{page-username}?fields=...`` (or the Page id), ``/{page-id}/published_posts`` (``since``/``until``,
``limit``, ``after`` cursor, ``paging.next``), ``/?ids=a,b&fields=alt_text,alt_text_custom`` and
``/{photo-id}``, and ``/{post-id}/comments``. Token: ``Authorization: Bearer`` or ``access_token``
(``social.DEMO_TOKENS["facebook"]``); anything else gets error 190.

Shapes added to the data set's posts: the message carries the links (an emoji right before each),
photos are attachments whose ``target.id`` is a photo node with ``alt_text`` (Meta's automatic
caption) and ``alt_text_custom`` (the school's words, absent when it wrote none), each week's second
post is an album with a second photo without alt text, posts with only a link become link shares
(``url`` an ``l.facebook.com`` shim, ``unshimmed_url`` the real one), and photo posts mention their
own facebook.com photo page, which a collector must not count as an outbound link.

Faults (``Profile.fault``): unknown (803), 401/190, 10 (missing permission), 429 (code 32 with
``X-Business-Use-Case-Usage`` 60 minutes), 429-once (code 32, 1 minute, once), bad-item, and the
generic 500/flaky/slow/truncated/malformed.
"""

from __future__ import annotations

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
    graph_error,
    graph_time,
    offset_of,
    paging,
    unix_or_iso,
)
from socialaudit.simulator.server import SimRequest, SimResponse, json_response, route

PREFIX = "/facebook/v25.0"
HISTORY = timedelta(weeks=60)
_photos: dict[str, dict[str, Any]] = {}  # photo id -> node, filled as posts are served
_posts: dict[str, tuple[str, SimPost, str]] = {}  # post id -> (slug, post, permalink)


def _authorised(request: SimRequest) -> bool:
    return bearer(request.headers, request.query) == DEMO_TOKENS["facebook"]


def page_id(slug: str) -> str:
    return number("facebook", slug, digits=15, prefix="10")


def _page(request: SimRequest, node: str) -> tuple[str, Profile] | None:
    if node.isdigit():
        return find_by_id(request.sim.profiles, "facebook", node, digits=15, prefix="10")
    return find_profile(request.sim.profiles, "facebook", node)


def _not_found(node: str) -> SimResponse:
    return graph_error(803, f"(#803) Some of the aliases you requested do not exist: {node}", status=404)


@route("GET", PREFIX + r"/?")
def multi_id(request: SimRequest) -> SimResponse:
    """``GET /?ids=a,b&fields=alt_text,alt_text_custom``: several photo nodes at once."""
    if not _authorised(request):
        return bad_token()
    ids = [i for i in request.query.get("ids", "").split(",") if i]
    if not ids:
        return graph_error(100, "(#100) Missing 'ids' parameter")
    out = {}
    for photo_id in ids:
        node = _photos.get(photo_id)
        if node is None:
            return graph_error(100, f"(#100) Unsupported get request. Object with ID '{photo_id}' does not exist")
        out[photo_id] = node
    return json_response(out)


@route("GET", PREFIX + r"/(?P<node>[A-Za-z0-9._]+)")
def node(request: SimRequest) -> SimResponse:
    if not _authorised(request):
        return bad_token()
    name = request.match.group("node")
    if name in _photos:
        return json_response(_photos[name])
    found = _page(request, name)
    if found is None or found[1].fault == "unknown":
        return _not_found(name)
    slug, profile = found
    if profile.fault in ("401", "190"):
        return bad_token()
    handle = handle_of(slug, profile)
    return json_response({"id": page_id(slug), "name": profile.school_name, "username": handle,
                          "link": f"https://www.facebook.com/{handle}"})


def build_post(post: SimPost, *, slug: str, profile: Profile) -> dict[str, Any]:
    """One ``published_posts`` item for a data-set post (and its photo nodes, remembered for lookups)."""
    pid = page_id(slug)
    number_part = number("fbpost", post.id, digits=18, prefix="12")
    post_id = f"{pid}_{number_part}"
    permalink = f"https://www.facebook.com/{pid}/posts/{number_part}"
    message = post.text
    for link in post.links:
        message += f" 👉 {link}"
    media = list(post.media)
    if media and media[0].type == "photo" and post.id.endswith("-1"):
        media.append(type(media[0])("photo", media[0].url.replace(".jpg", "-b.jpg"), None))
    photo_attachments: list[dict[str, Any]] = []
    for n, one in enumerate(media):
        photo_id = number("fbphoto", post.id, str(n), digits=18, prefix="12")
        photo_page = f"https://www.facebook.com/photo.php?fbid={photo_id}&set=a.{pid}&type=3"
        src = f"https://scontent.xx.fbcdn.net/v/t39.30808-6/{photo_id}_n.jpg?stp=dst-jpg_p720x720&oh=00_AfFict&oe=67D9A1B2"
        if one.type == "photo":
            node: dict[str, Any] = {"id": photo_id, "alt_text": "May be an image of child and text"}
            if one.alt:
                node["alt_text_custom"] = one.alt
            _photos[photo_id] = node
            photo_attachments.append({"media_type": "photo", "type": "photo", "url": photo_page, "unshimmed_url": photo_page,
                                      "target": {"id": photo_id, "url": photo_page},
                                      "media": {"image": {"height": 720, "width": 1080, "src": src}}})
        else:
            video_page = f"https://www.facebook.com/{handle_of(slug, profile)}/videos/{photo_id}/"
            photo_attachments.append({"media_type": "video", "type": "video_inline", "url": video_page,
                                      "unshimmed_url": video_page, "target": {"id": photo_id, "url": video_page},
                                      "media": {"image": {"height": 720, "width": 1280, "src": src},
                                                "source": f"https://video.xx.fbcdn.net/v/{photo_id}.mp4"}})
    attachments: list[dict[str, Any]] = []
    if len(photo_attachments) > 1:
        attachments.append({"media_type": "album", "type": "album", "title": post.title,
                            "url": f"https://www.facebook.com/media/set/?set=a.{pid}",
                            "subattachments": {"data": photo_attachments}})
    elif photo_attachments:
        attachments.extend(photo_attachments)
        if media[0].type == "photo" and hashed(post.id, 2) == 0:
            message += f" All photos: {photo_attachments[0]['url']}"
    elif post.links:
        link = post.links[0]
        attachments.append({"media_type": "link", "type": "share", "title": "(fictional page title)",
                            "url": f"https://l.facebook.com/l.php?u={link}&h=AT0Fict",
                            "unshimmed_url": link, "target": {"url": f"https://l.facebook.com/l.php?u={link}&h=AT0Fict"}})
    comments = comments_for(post)
    _posts[post_id] = (slug, post, permalink)
    item: dict[str, Any] = {
        "id": post_id, "message": message, "created_time": graph_time(post.created_at),
        "updated_time": graph_time(post.created_at), "permalink_url": permalink,
        "status_type": "added_photos" if photo_attachments else ("shared_story" if post.links else "mobile_status_update"),
        "comments": {"data": [], "summary": {"order": "ranked", "total_count": len(comments), "can_comment": True}},
    }
    if photo_attachments:
        item["full_picture"] = photo_attachments[0]["media"]["image"]["src"]
    if attachments:
        item["attachments"] = {"data": attachments}
    if hashed(post.id, 3) == 0:
        item["shares"] = {"count": hashed(post.id, 7)}
    return item


@route("GET", PREFIX + r"/(?P<page>\d+)/(?P<edge>published_posts|posts)")
def published_posts(request: SimRequest) -> SimResponse:
    if not _authorised(request):
        return bad_token()
    found = _page(request, request.match.group("page"))
    if found is None or found[1].fault == "unknown":
        return graph_error(100, "(#100) Unsupported get request.")
    slug, profile = found
    fault = account_fault(request, slug, profile, business_id=page_id(slug), kind="pages", throttle_code=32)
    if fault is not None:
        return fault
    now = request.sim.now
    since = unix_or_iso(request.query.get("since")) or now - HISTORY
    until = unix_or_iso(request.query.get("until")) or now
    posts = [p for p in posts_between(slug, request.sim.profiles, since, until) if not p.is_reply]
    size = page_size(profile, request.query.get("limit"), 25, 100)
    offset = offset_of(request.query.get("after"))
    items = [build_post(p, slug=slug, profile=profile) for p in posts[offset: offset + size]]
    if profile.fault == "bad-item" and items:
        items[0] = dict(items[0], created_time="yesterday afternoon")
    body: dict[str, Any] = {"data": items}
    if items:
        body["paging"] = paging(request, offset=offset, size=size, total=len(posts))
    return json_response(body)


@route("GET", PREFIX + r"/(?P<post>\d+_\d+)/comments")
def comments(request: SimRequest) -> SimResponse:
    if not _authorised(request):
        return bad_token()
    post_id = request.match.group("post")
    entry = _posts.get(post_id)
    if entry is None:
        return graph_error(100, f"(#100) Unsupported get request. Object with ID '{post_id}' does not exist")
    slug, post, _permalink = entry
    data = []
    for comment_id, author, text, when in comments_for(post, request.sim.now):
        if when > request.sim.now:
            continue
        data.append({"id": f"{post_id.split('_')[1]}_{comment_id}", "message": text, "created_time": graph_time(when),
                     "from": {"name": author.replace("_", " ").title(), "id": number("fbuser", author, digits=16)},
                     "like_count": hashed(comment_id, 4), "comment_count": 0})
    return json_response({"data": data, "paging": {"cursors": {"before": "QVFIUbefore", "after": "QVFIUafter"}},
                          "summary": {"order": "chronological", "total_count": len(data), "can_comment": True}})
