"""Instagram professional accounts through the Graph API (v25.0): media, carousel alt text, comments.

Two ways in, chosen per account:

* **Own media** (the school granted a token for its own professional account):
  ``GET /{ig-user-id}/media?fields=...&since=&until=``, with carousels' ``children{...,alt_text}``,
  and comments from ``GET /{ig-media-id}/comments`` for media with ``comments_count`` above zero
  (a media whose comments Graph says are not there stands without them; the account is partial).
* **Business discovery** (the trust's own professional account looks a school's account up by
  username): ``GET /{own-ig-user-id}?fields=business_discovery.username(h){id,username,media...}``,
  paging with ``media.after(cursor)``. Meta exposes no comments this way, so none are collected.
  If Graph refuses a field here with error 100 (``alt_text`` in business discovery is not
  confirmed in Meta's documentation), the page is fetched again without alt text and children,
  and the collection notes that alt text was unavailable for that account.

The token's own account is ``credentials["extra"]["ig_user_id"]`` (the Airflow connection's extra),
``SOCIALAUDIT_INSTAGRAM_USER_ID`` for the CLI, else ``GET /me``. When its ``username`` is the
configured handle, the own-media path is used; otherwise business discovery.

Field mapping (Graph IG Media -> Post):

============== ===========================================================================
Post field     IG Media
============== ===========================================================================
id             ``id``
url            ``permalink``
created_at     ``timestamp`` (``2025-03-14T09:30:12+0000``)
text           ``caption``
media          IMAGE -> photo (``media_url``, ``alt_text``); VIDEO/REELS -> video
               (``media_url`` else ``thumbnail_url``); CAROUSEL_ALBUM -> each of ``children.data[]``
links          URLs written in the caption, bare domains included (Instagram does not linkify
               captions, so schools write "example.sch.uk/fair")
is_reply       always False (the media edge lists only the account's own posts)
is_repost      always False (the API exposes no reposts)
comments       ``/{media-id}/comments``: ``id``, ``text``, ``timestamp``, ``username``, and their
               ``replies`` (own-media path only)
============== ===========================================================================

Errors: 110 / subcode 2207013 (unknown or personal account) -> AccountUnavailable; 190 ->
AuthError; throttling as for Facebook (see ``collectors/_graph.py``). A media item that cannot be
parsed is skipped and noted; the rest of the page is kept.

History: the media edge reaches the account's whole history (``since``/``until`` on own media);
business discovery pages back from the newest post, 50 at a time, so a deep backfill costs calls.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from collectors._base import AccountUnavailable, Archive, CollectionResult, CollectorError, MalformedResponse
from collectors._graph import MAX_PAGES, GraphClient, graph_root, obj, parse_graph_time, seq, token_from, urls_in_text
from collectors._http import HttpSession
from socialaudit import settings
from socialaudit.config import Account
from socialaudit.models import Comment, Media, Post

CHILD_FIELDS = "children{id,media_type,media_url,thumbnail_url,alt_text}"
MEDIA_FIELDS = ("id,caption,media_type,media_product_type,media_url,thumbnail_url,permalink,timestamp,alt_text,"
                f"comments_count,like_count,{CHILD_FIELDS}")
PLAIN_FIELDS = "id,caption,media_type,media_product_type,media_url,thumbnail_url,permalink,timestamp,comments_count,like_count"
COMMENT_FIELDS = "id,text,timestamp,username,like_count,replies{id,text,timestamp,username}"
DISCOVERY_PAGE = 50
MAX_COMMENT_PAGES = 5
USER_ID_ENV = "SOCIALAUDIT_INSTAGRAM_USER_ID"


def collect(account: Account, *, school: str, session: HttpSession, since: datetime, until: datetime,
            base_url: str | None = None, credentials: dict[str, Any] | None = None,
            archive: Archive | None = None) -> CollectionResult:
    """Collect an Instagram professional account's posts published in [since, until)."""
    handle = str(getattr(account, "handle", "") or account).strip().lstrip("@")
    if not handle or "/" in handle:
        raise ValueError(f"instagram account {account!r}: needs a username handle")
    key = getattr(account, "key", "") or handle
    label = f"instagram account {handle!r}"
    token = token_from(credentials, label, "instagram")
    client = GraphClient(session=session, token=token, root=graph_root(base_url), platform="instagram",
                         account_key=key, label=label, archive=archive)
    own_id = _own_user_id(credentials)
    me = client.get(client.url(own_id or "me", {"fields": "id,username"}))
    me_id = str(me.get("id") or "")
    if not me_id:
        raise MalformedResponse(f"{label}: Graph returned the token's account without an id")
    result = CollectionResult()
    if str(me.get("username") or "").lower() == handle.lower():
        items = _own_media(client, me_id, since, until, result)
        with_comments = True
    else:
        items = _discovered_media(client, me_id, handle, since, result)
        with_comments = False
    seen: set[str] = set()
    for page, index, item in items:
        try:
            post = parse_media(item, account=key, school=school)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            result.skip(f"page {page} item {index + 1}: {exc}")
            continue
        if post.id in seen or not since <= post.created_at < until:
            continue
        seen.add(post.id)
        if with_comments and int(item.get("comments_count") or 0) > 0:
            from dataclasses import replace

            try:
                post = replace(post, comments=_comments(client, post, result))
            except AccountUnavailable as exc:  # the media gone, or its comments hidden, since it was listed
                result.skip(f"comments of media {post.id} not read: {exc}")
        result.posts.append(post)
    result.posts.sort(key=lambda p: p.created_at)
    return result


def _own_user_id(credentials: dict[str, Any] | None) -> str:
    extra = (credentials or {}).get("extra") or {}
    value = (extra.get("ig_user_id") if isinstance(extra, dict) else None) or (credentials or {}).get("ig_user_id")
    return str(value or settings.value(USER_ID_ENV) or "").strip()


def _oldest(items: list[Any]) -> datetime | None:
    times = []
    for item in items:
        try:
            times.append(parse_graph_time(item.get("timestamp")))
        except (ValueError, AttributeError):
            continue
    return min(times) if times else None


def _own_media(client: GraphClient, user_id: str, since: datetime, until: datetime,
               result: CollectionResult) -> list[tuple[int, int, Any]]:
    out: list[tuple[int, int, Any]] = []
    url: str | None = client.url(f"{user_id}/media", {"fields": MEDIA_FIELDS, "since": int(since.timestamp()),
                                                      "until": int(until.timestamp()), "limit": 100})
    while url and result.pages < MAX_PAGES:
        got = client.page(url, result, "media")
        if got is None:  # a later page failed: the pages already parsed are kept
            break
        data, items = got
        result.pages += 1
        out.extend((result.pages, i, item) for i, item in enumerate(items))
        oldest = _oldest(items)
        # newest first: once a page reaches before the window there is nothing more to fetch
        if not items or (oldest is not None and oldest < since):
            break
        url = client.next_url(data, url)
    return out


def _discovered_media(client: GraphClient, me_id: str, handle: str, since: datetime,
                      result: CollectionResult) -> list[tuple[int, int, Any]]:
    out: list[tuple[int, int, Any]] = []
    fields = MEDIA_FIELDS
    after = ""
    while result.pages < MAX_PAGES:
        cursor = f".after({after})" if after else ""
        query = f"business_discovery.username({handle}){{id,username,media{cursor}.limit({DISCOVERY_PAGE}){{{fields}}}}}"
        try:
            data = client.get(client.url(me_id, {"fields": query}))
            discovery = data.get("business_discovery")
            if not isinstance(discovery, dict):
                raise MalformedResponse(f"{client.label}: business_discovery missing from Graph's answer")
        except AccountUnavailable as exc:
            error = getattr(exc, "graph_error", None)
            if error is not None and error.code == 100 and fields == MEDIA_FIELDS and "alt_text" in error.message:
                fields = PLAIN_FIELDS
                result.problems.append("alt text is not available through business discovery for this account")
                continue
            result.page_failed(exc)
            break
        except CollectorError as exc:
            result.page_failed(exc)  # partial is not nothing: the pages already parsed are kept
            break
        result.pages += 1
        media = obj(discovery.get("media"))
        items = seq(media.get("data"))
        out.extend((result.pages, i, item) for i, item in enumerate(items))
        oldest = _oldest(items)
        paging = obj(media.get("paging"))
        cursors = obj(paging.get("cursors"))
        after = str(cursors.get("after") or "") if paging.get("next") or cursors.get("after") else ""
        if not items or not after or (oldest is not None and oldest < since):
            break
    return out


def parse_media(item: Any, *, account: str, school: str) -> Post:
    """One IG Media object as a Post; ValueError/KeyError/TypeError when it cannot be used."""
    if not isinstance(item, dict):
        raise ValueError("item is not an object")
    media_id = item.get("id")
    if not isinstance(media_id, str) or not media_id:
        raise ValueError("no id")
    created = parse_graph_time(item.get("timestamp"))
    caption = item.get("caption") or ""
    if not isinstance(caption, str):
        raise ValueError("caption is not text")
    kind = str(item.get("media_type") or "").upper()
    media: list[Media] = []
    if kind == "CAROUSEL_ALBUM":
        children = (item.get("children") or {}).get("data") or []
        for child in children:
            if isinstance(child, dict):
                media.extend(_media_of(child))
    else:
        media.extend(_media_of(item))
    permalink = item.get("permalink") or ""
    return Post(platform="instagram", account=account, school=school, id=media_id, url=str(permalink),
                created_at=created, text=caption.strip(), media=tuple(media), links=tuple(urls_in_text(caption)))


def _media_of(node: dict[str, Any]) -> list[Media]:
    kind = str(node.get("media_type") or "").upper()
    alt = node.get("alt_text")
    alt = alt.strip() if isinstance(alt, str) and alt.strip() else None
    if kind == "IMAGE":
        return [Media(type="photo", url=str(node.get("media_url") or ""), alt=alt)]
    if kind in ("VIDEO", "REELS"):
        return [Media(type="video", url=str(node.get("media_url") or node.get("thumbnail_url") or ""), alt=alt)]
    if kind == "CAROUSEL_ALBUM":
        return []  # a carousel's children are listed separately
    return [Media(type="other", url=str(node.get("media_url") or ""), alt=alt)]


def _comments(client: GraphClient, post: Post, result: CollectionResult) -> tuple[Comment, ...]:
    comments: list[Comment] = []
    url: str | None = client.url(f"{post.id}/comments", {"fields": COMMENT_FIELDS, "limit": 50})
    pages = 0
    while url and pages < MAX_COMMENT_PAGES:
        data = client.get(url)
        pages += 1
        for item in data.get("data") or []:
            nodes = [item] + list(((item.get("replies") or {}).get("data") or []) if isinstance(item, dict) else [])
            for node in nodes:
                try:
                    comments.append(Comment(id=str(node["id"]), post_id=post.id, author=str(node.get("username") or ""),
                                            text=str(node.get("text") or ""),
                                            created_at=parse_graph_time(node["timestamp"]) if node.get("timestamp") else None,
                                            url=post.url))
                except (KeyError, ValueError, TypeError, AttributeError) as exc:
                    result.skip(f"comment on {post.id}: {exc}")
        url = client.next_url(data, url) if data.get("data") else None
    return tuple(comments)
