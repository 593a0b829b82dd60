"""Facebook Pages through the Graph API (pinned to v25.0): a Page's own posts, photo alt text, comments.

Calls, in order (all through :class:`collectors._graph.GraphClient`, token in the Bearer header):

1. ``GET /{page-username}?fields=id,name,username,link``: resolve the configured handle to the Page id.
2. ``GET /{page-id}/published_posts?fields=...&since=&until=&limit=100``: the Page's own posts in the
   window, following ``paging.next`` until it is absent.
3. ``GET /?ids={photo-id},...&fields=alt_text,alt_text_custom``: per-photo alt text, 50 photos a call
   (Graph's multiple-id read of ``GET /{photo-id}?fields=alt_text,alt_text_custom``; attachments carry
   no alt text themselves).
4. ``GET /{post-id}/comments?fields=id,message,created_time,from&filter=stream``: public comments, only
   for posts whose ``comments.summary.total_count`` is above zero. A post whose comments Graph says
   are not there (error 100/803, 404: deleted or hidden since it was listed) stands without them, and
   the account is partial, saying so; the other posts are kept.

Alt text: ``alt_text_custom`` is what the school wrote and is always preferred. ``alt_text`` is
Meta's automatic caption ("May be an image of 3 people, child and garden"), not the school's
words; it is kept only as a fallback when the school wrote none, so a photo is never recorded as
having no description when Meta shows one to screen-reader users. A check that must know whether
the *school* described the photo cannot tell the two apart from ``Media.alt`` alone.

Field mapping (Graph -> Post):

============== ===========================================================================
Post field     Graph Page post
============== ===========================================================================
id             ``id`` (``{page-id}_{post-id}``)
url            ``permalink_url``
created_at     ``created_time`` (``2025-03-14T09:30:12+0000``, offset without a colon)
text           ``message`` (posts without a message have empty text)
media          ``attachments.data[]`` of type photo/video, and each ``subattachments.data[]`` of
               an album; ``media.image.src`` (video: ``media.source`` if given); alt text as above
links          URLs written in ``message``, plus ``unshimmed_url`` of link attachments
               (``url`` is an ``l.facebook.com`` redirect); facebook.com photo/video links dropped
is_reply       always False (``published_posts`` lists only the Page's own posts)
is_repost      always False (Graph gives no reliable "shared another post" flag on this edge)
comments       ``/{post-id}/comments``: ``id``, ``message``, ``created_time``, ``from.name``
               (``from`` is only returned to the Page's own token; otherwise empty)
============== ===========================================================================

Errors are branched on ``error.code`` (see ``collectors/_graph.py``): 190 and 10 -> AuthError, 803
and 100 -> AccountUnavailable, throttling codes -> wait up to the cap, then TransientError. A post
that cannot be parsed (no id, no usable time) is skipped and noted; the rest of the page is kept.

History: ``published_posts`` pages back through the Page's whole history with ``since``/``until``,
so a backfill of past weeks works as far back as the Page existed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from collectors._base import AccountUnavailable, Archive, CollectionResult, MalformedResponse
from collectors._graph import GraphClient, graph_root, obj, parse_graph_time, token_from, urls_in_text
from collectors._http import HttpSession
from socialaudit.config import Account
from socialaudit.models import Comment, Media, Post

POST_FIELDS = ("id,message,created_time,updated_time,permalink_url,status_type,full_picture,"
               "attachments{media_type,type,url,unshimmed_url,title,description,target,media,subattachments},"
               "comments.summary(true).limit(0),shares")
COMMENT_FIELDS = "id,message,created_time,from,like_count,comment_count"
ALT_BATCH = 50
MAX_COMMENT_PAGES = 5
PAGE_SIZE = 100


@dataclass(slots=True)
class _Draft:
    """A parsed post before alt text and comments are fetched (Post is frozen)."""

    id: str
    url: str
    created_at: datetime
    text: str
    media: list[tuple[str, str, str]] = field(default_factory=list)  # (type, url, photo id)
    links: list[str] = field(default_factory=list)
    comment_count: int = 0


def collect(account: Account, *, school: str, session: HttpSession, since: datetime, until: datetime,
            base_url: str | None = None, credentials: dict[str, Any] | None = None,
            archive: Archive | None = None) -> CollectionResult:
    """Collect a Facebook Page's own posts published in [since, until), with alt text and comments."""
    handle = page_handle(account)
    key = getattr(account, "key", "") or handle
    label = f"facebook page {handle!r}"
    token = token_from(credentials, label, "facebook")
    client = GraphClient(session=session, token=token, root=graph_root(base_url), platform="facebook",
                         account_key=key, label=label, archive=archive)
    page = client.get(client.url(handle, {"fields": "id,name,username,link"}))
    page_id = str(page.get("id") or "")
    if not page_id:
        raise MalformedResponse(f"{label}: Graph returned the Page without an id")
    result = CollectionResult()
    drafts: list[_Draft] = []
    seen: set[str] = set()
    url: str | None = client.url(f"{page_id}/published_posts", {
        "fields": POST_FIELDS, "since": int(since.timestamp()), "until": int(until.timestamp()), "limit": PAGE_SIZE})
    while url and result.pages < 50:
        got = client.page(url, result, "published_posts")
        if got is None:  # a later page failed: the pages already parsed are kept
            break
        data, items = got
        result.pages += 1
        for index, item in enumerate(items):
            try:
                draft = parse_post(item)
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                result.skip(f"page {result.pages} item {index + 1}: {exc}")
                continue
            if draft.id in seen or not since <= draft.created_at < until:
                continue
            seen.add(draft.id)
            drafts.append(draft)
        url = client.next_url(data, url) if items else None
    alts = _alt_texts(client, [photo for d in drafts for (_, _, photo) in d.media if photo], result)
    for draft in drafts:
        try:
            comments = _comments(client, draft, result) if draft.comment_count > 0 else ()
        except AccountUnavailable as exc:  # the post gone, or its comments hidden, since it was listed
            comments = ()
            result.skip(f"comments of post {draft.id} not read: {exc}")
        media = tuple(Media(type=kind, url=src, alt=alts.get(photo) if photo else None)
                      for kind, src, photo in draft.media)
        result.posts.append(Post(platform="facebook", account=key, school=school, id=draft.id, url=draft.url,
                                 created_at=draft.created_at, text=draft.text, media=media,
                                 links=tuple(draft.links), comments=comments))
    result.posts.sort(key=lambda p: p.created_at)
    return result


def page_handle(account: Account) -> str:
    """The Page username (or id) from the account's handle, or the last path part of its URL."""
    handle = str(getattr(account, "handle", "") or "").strip().lstrip("@")
    if not handle:
        url = str(getattr(account, "url", "") or account)
        handle = urlsplit(url).path.strip("/").split("/")[-1] if "://" in url else url
    if not handle or "/" in handle or "?" in handle:
        raise ValueError(f"facebook account {account!r}: no Page username or id")
    return handle


def parse_post(item: Any) -> _Draft:
    """One ``published_posts`` item; ValueError/KeyError/TypeError when it cannot be used."""
    if not isinstance(item, dict):
        raise ValueError("item is not an object")
    post_id = item.get("id")
    if not isinstance(post_id, str) or not post_id:
        raise ValueError("no id")
    created = parse_graph_time(item.get("created_time"))
    message = item.get("message") or ""
    if not isinstance(message, str):
        raise ValueError("message is not text")
    permalink = item.get("permalink_url") or f"https://www.facebook.com/{post_id.replace('_', '/posts/', 1)}"
    draft = _Draft(id=post_id, url=str(permalink), created_at=created, text=message.strip())
    for link in urls_in_text(message):
        _add_link(draft.links, link)
    attachments = (item.get("attachments") or {}).get("data") or []
    for attachment in attachments:
        if isinstance(attachment, dict):
            _attachment(draft, attachment)
    comments = item.get("comments") or {}
    summary = comments.get("summary") if isinstance(comments, dict) else None
    if isinstance(summary, dict):
        draft.comment_count = int(summary.get("total_count") or 0)
    return draft


def _attachment(draft: _Draft, attachment: dict[str, Any]) -> None:
    kind = str(attachment.get("media_type") or attachment.get("type") or "").lower()
    if kind == "album" or (attachment.get("subattachments") and kind not in ("photo", "video")):
        for sub in (attachment.get("subattachments") or {}).get("data") or []:
            if isinstance(sub, dict):
                _attachment(draft, sub)
        return
    media = obj(attachment.get("media"))
    image = obj(media.get("image"))
    target = obj(attachment.get("target"))
    if kind == "photo" or kind.startswith("photo"):
        draft.media.append(("photo", str(image.get("src") or ""), str(target.get("id") or "")))
    elif kind.startswith("video") or kind in ("animated_image_video", "animated_image_share"):
        draft.media.append(("video", str(media.get("source") or image.get("src") or ""), ""))
    else:
        # a link share, event, or a type we do not know: its real URL, never the l.facebook.com shim
        real = attachment.get("unshimmed_url") or ""
        if isinstance(real, str) and real.startswith(("http://", "https://")):
            _add_link(draft.links, real)


def _add_link(links: list[str], url: str) -> None:
    if is_facebook_media_link(url) or url in links:
        return
    links.append(url)


def is_facebook_media_link(url: str) -> bool:
    """facebook.com photo/video pages and Meta's CDN: the post's own media, not an outbound link."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host.endswith("fbcdn.net"):
        return True
    if not (host == "facebook.com" or host.endswith(".facebook.com") or host == "fb.watch"):
        return False
    path = parts.path.lower()
    return host == "fb.watch" or path.startswith(("/photo", "/watch", "/reel")) or "/photos/" in path or "/videos/" in path


def _alt_texts(client: GraphClient, photo_ids: list[str], result: CollectionResult) -> dict[str, str | None]:
    """Photo id -> alt text: the school's ``alt_text_custom``, else Meta's automatic ``alt_text``."""
    alts: dict[str, str | None] = {}
    unique = list(dict.fromkeys(photo_ids))
    for start in range(0, len(unique), ALT_BATCH):
        batch = unique[start:start + ALT_BATCH]
        data = client.get(client.url("", {"ids": ",".join(batch), "fields": "alt_text,alt_text_custom"}))
        for photo_id in batch:
            node = data.get(photo_id)
            if not isinstance(node, dict):
                result.problems.append(f"photo {photo_id}: no alt text node returned")
                continue
            custom = node.get("alt_text_custom")
            automatic = node.get("alt_text")
            if isinstance(custom, str) and custom.strip():
                alts[photo_id] = custom.strip()
            elif isinstance(automatic, str) and automatic.strip():
                alts[photo_id] = automatic.strip()
            else:
                alts[photo_id] = None
    return alts


def _comments(client: GraphClient, draft: _Draft, result: CollectionResult) -> tuple[Comment, ...]:
    comments: list[Comment] = []
    url: str | None = client.url(f"{draft.id}/comments", {"fields": COMMENT_FIELDS, "filter": "stream",
                                                          "summary": "true", "limit": 100})
    pages = 0
    while url and pages < MAX_COMMENT_PAGES:
        data = client.get(url)
        pages += 1
        for item in data.get("data") or []:
            if not isinstance(item, dict) or not item.get("id"):
                result.skip(f"comment on {draft.id}: no id")
                continue
            try:
                author = obj(item.get("from"))
                comments.append(Comment(id=str(item["id"]), post_id=draft.id, author=str(author.get("name") or ""),
                                        text=str(item.get("message") or ""),
                                        created_at=parse_graph_time(item["created_time"]) if item.get("created_time") else None,
                                        url=f"{draft.url}?comment_id={str(item['id']).split('_')[-1]}"))
            except (KeyError, ValueError, TypeError, AttributeError) as exc:
                result.skip(f"comment on {draft.id}: {exc}")
        url = client.next_url(data, url) if data.get("data") else None
    return tuple(comments)
