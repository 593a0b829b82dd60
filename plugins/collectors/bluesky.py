"""Bluesky: an account's posts through the public AppView (no credentials).

``GET {appview}/xrpc/app.bsky.feed.getAuthorFeed?actor={handle}&limit=100&filter=posts_with_replies``
lists the account's posts, replies and reposts newest first; the response's ``cursor`` is passed
back until the window is covered or no cursor comes. Comments come from
``GET {appview}/xrpc/app.bsky.feed.getPostThread?uri=...&depth=6`` (``thread.replies``, flattened)
for the account's own posts in the window that have replies; a thread answered 400/404/410 (deleted
since it was listed) leaves its post standing without comments and the account partial, naming the
post. Default AppView:
``https://public.api.bsky.app``.

Field mapping (``feedViewPost`` -> Post):

=============== ===================================================================================
Post field      Bluesky
=============== ===================================================================================
id              ``post.uri`` (``at://{did}/app.bsky.feed.post/{rkey}``; stable, keyed on the DID)
url             ``https://bsky.app/profile/{post.author.handle}/post/{rkey}``
created_at      ``post.record.createdAt`` (client-declared), else ``post.indexedAt``
text            ``post.record.text`` with each link facet's byte range replaced by its full ``uri``
                (facet offsets are UTF-8 *byte* offsets; displayed links are often truncated "...")
media           ``post.embed``: ``images#view`` ``images[]`` (``fullsize``, ``alt``); ``video#view``
                (``playlist``, ``alt``); ``gallery#view`` ``items[]`` (``fullsize``/``thumbnail``,
                ``alt``); ``recordWithMedia#view`` ``media`` (any of those); an empty alt is None.
                Without a view, ``record.embed`` ``images[].alt``. Unknown ``$type``s are ignored.
links           ``record.facets[].features[]`` ``#link`` ``uri``, then ``external#view``
                ``external.uri`` (a link card); Bluesky's own CDN links are media, never links
is_reply        ``post.record.reply`` present
is_repost       ``reason.$type`` is ``#reasonRepost`` (the post's author is someone else);
                pinned posts (``#reasonPin``) are the account's own and kept once
comments        ``getPostThread`` ``thread.replies[]`` recursively (``#threadViewPost`` only;
                ``#notFoundPost``/``#blockedPost`` skipped)
=============== ===================================================================================

How far back: the whole feed, 100 a page (``MAX_PAGES`` bounds one run). Rate limit: about 3,000
requests per 5 minutes per IP, ``RateLimit-Reset`` in Unix seconds (handled by ``collectors._http``).
An account that labels itself ``!no-unauthenticated`` asked not to be shown to logged-out viewers:
that wish is respected and the account is recorded as unavailable.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from collectors._base import (
    AccountUnavailable,
    Archive,
    AuthError,
    CollectionResult,
    CollectorError,
    MalformedResponse,
    NullArchive,
    TransientError,
)
from collectors._http import HttpSession, Response
from socialaudit.config import Account
from socialaudit.models import Comment, Media, Post, parse_utc

APPVIEW = "https://public.api.bsky.app"
CREDENTIALS = False  # the public AppView: collect() never reads credentials (collectors._base.takes_credentials)
PAGE_SIZE = 100
MAX_PAGES = 30
MAX_THREAD_CALLS = 100
REPOST = "app.bsky.feed.defs#reasonRepost"
PIN = "app.bsky.feed.defs#reasonPin"


def collect(account: Account, *, school: str, session: HttpSession, since: datetime, until: datetime,
            base_url: str | None = None, credentials: dict[str, Any] | None = None,
            archive: Archive | None = None) -> CollectionResult:
    """Collect the account's posts (and reposts, replies) created in [since, until), with comments."""
    actor = (getattr(account, "handle", "") or str(account)).strip().lstrip("@")
    if not actor:
        raise AccountUnavailable("bluesky account has no handle")
    key = getattr(account, "key", actor) or actor
    root = (base_url or APPVIEW).rstrip("/")
    archive = archive or NullArchive()
    result = CollectionResult()
    page_no = 0
    cursor: str | None = None
    seen: set[str] = set()
    threads: list[int] = []
    own_did: str | None = None
    for _ in range(MAX_PAGES):
        params = {"actor": actor, "limit": PAGE_SIZE, "filter": "posts_with_replies"}
        if cursor:
            params["cursor"] = cursor
        try:
            response = session.get(f"{root}/xrpc/app.bsky.feed.getAuthorFeed", params=params)
            page_no += 1
            archive.save_raw(platform="bluesky", account=key, page=page_no, url=response.url, body=response.body,
                             content_type=response.content_type)
            _raise_for_status(response, actor)
            data = response.json()
            if not isinstance(data, dict) or not isinstance(data.get("feed"), list):
                raise MalformedResponse(f"bluesky {actor}: getAuthorFeed answer has no feed list")
        except CollectorError as exc:
            result.page_failed(exc)  # partial is not nothing: the pages already parsed are kept
            break
        result.pages += 1
        oldest: datetime | None = None
        for index, item in enumerate(data["feed"]):
            try:
                post, replies, author, reason = parse_item(item, account=key, school=school)
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                result.skip(f"page {result.pages} item {index + 1}: {exc}")
                continue
            if reason != REPOST:
                own_did = own_did or author.get("did")
                if _hides_from_logged_out(author):
                    raise AccountUnavailable(f"bluesky {actor}: the account asks not to be shown to logged-out "
                                             "viewers (!no-unauthenticated); respected")
            if reason != PIN:  # a pinned post may be old: it says nothing about how far the feed has gone
                oldest = post.created_at if oldest is None else min(oldest, post.created_at)
            if post.id in seen or not since <= post.created_at < until:
                continue
            seen.add(post.id)
            result.posts.append(post)
            if replies and not post.is_repost:
                threads.append(len(result.posts) - 1)
        cursor = data.get("cursor") or None
        if not cursor or not data["feed"] or (oldest is not None and oldest < since):
            break

    for number, position in enumerate(threads):
        if number >= MAX_THREAD_CALLS:
            result.problems.append(f"comments fetched for the first {MAX_THREAD_CALLS} posts only")
            break
        post = result.posts[position]
        response = session.get(f"{root}/xrpc/app.bsky.feed.getPostThread", params={"uri": post.id, "depth": 6})
        page_no += 1
        archive.save_raw(platform="bluesky", account=key, page=page_no, url=response.url, body=response.body,
                         content_type=response.content_type)
        if response.status in (400, 404, 410):  # deleted since it was listed (NotFound, or a proxy's 404)
            result.skip(f"comments of post {post.id} not read: HTTP {response.status} ({_error_detail(response)})")
            continue  # the post stands without comments; the account is partial, saying so
        _raise_for_status(response, actor)
        data = response.json()
        thread = data.get("thread") if isinstance(data, dict) else None
        result.posts[position] = replace(post, comments=tuple(flatten_replies(thread, post_id=post.id)))
    result.posts.sort(key=lambda p: p.created_at)
    return result


def _hides_from_logged_out(author: dict[str, Any]) -> bool:
    return any(isinstance(label, dict) and label.get("val") == "!no-unauthenticated" for label in author.get("labels") or [])


def _raise_for_status(response: Response, actor: str) -> None:
    if response.status < 400:
        return
    error = _error_name(response)
    detail = _error_detail(response)
    if response.status == 401:
        raise AuthError(f"bluesky {actor}: HTTP 401 ({detail})")
    if response.status == 400 and error in ("InvalidRequest", "AccountTakedown", "AccountDeactivated", "BlockedActor",
                                            "BlockedByActor", "NotFound", "ProfileNotFound"):
        raise AccountUnavailable(f"bluesky {actor}: {detail}")
    if response.status in (403, 404, 410):
        raise AccountUnavailable(f"bluesky {actor}: HTTP {response.status} ({detail})")
    raise TransientError(f"bluesky {actor}: HTTP {response.status} ({detail})")


def _error_fields(response: Response) -> tuple[str, str]:
    """XRPC's ``error`` and ``message`` (the message cut at 200 characters); empty when the body has none."""
    try:
        data = response.json()
    except MalformedResponse:
        return "", ""
    if not isinstance(data, dict):
        return "", ""
    return str(data.get("error") or ""), str(data.get("message") or "")[:200]


def _error_name(response: Response) -> str:
    return _error_fields(response)[0]


def _error_detail(response: Response) -> str:
    """One line: ``error: message``, or "no error body"."""
    error, message = _error_fields(response)
    return " ".join(f"{error}: {message}".split()) if error or message else "no error body"


def expand_facets(text: str, facets: Any) -> tuple[str, list[str]]:
    """The text with each link facet's byte range replaced by its full URI, and the link URIs.

    Facet offsets count UTF-8 bytes, not characters: slicing the Python string with them is wrong
    as soon as an emoji or accented letter comes first. Facets with impossible ranges are ignored
    (their URI is still a link).
    """
    raw = text.encode("utf-8")
    links: list[str] = []
    spans: list[tuple[int, int, str]] = []
    for facet in facets or []:
        if not isinstance(facet, dict):
            continue
        index = facet.get("index") or {}
        for feature in facet.get("features") or []:
            if not isinstance(feature, dict) or feature.get("$type") != "app.bsky.richtext.facet#link":
                continue
            uri = str(feature.get("uri") or "")
            if not uri:
                continue
            if uri not in links:
                links.append(uri)
            start, end = index.get("byteStart"), index.get("byteEnd")
            if isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(raw):
                spans.append((start, end, uri))
    out = bytearray()
    position = 0
    for start, end, uri in sorted(spans):
        if start < position:
            continue  # overlapping facets: keep the first
        try:
            raw[start:end].decode("utf-8")  # a range that splits a character is not a real facet
        except UnicodeDecodeError:
            continue
        out += raw[position:start] + uri.encode("utf-8")
        position = end
    out += raw[position:]
    return out.decode("utf-8", errors="replace"), links


def _alt(value: Any) -> str | None:
    text = str(value or "").strip()
    return text or None


def embed_media_links(embed: Any) -> tuple[list[Media], list[str]]:
    """Media and link-card URIs of a post's embed view; unknown ``$type``s contribute nothing."""
    if not isinstance(embed, dict):
        return [], []
    kind = str(embed.get("$type") or "").split("#", 1)[0]
    if kind == "app.bsky.embed.images":
        return [Media(type="photo", url=str(i.get("fullsize") or i.get("thumb") or ""), alt=_alt(i.get("alt")))
                for i in embed.get("images") or [] if isinstance(i, dict)], []
    if kind == "app.bsky.embed.gallery":
        return [Media(type="photo", url=str(i.get("fullsize") or i.get("thumbnail") or ""), alt=_alt(i.get("alt")))
                for i in embed.get("items") or [] if isinstance(i, dict)], []
    if kind == "app.bsky.embed.video":
        return [Media(type="video", url=str(embed.get("playlist") or ""), alt=_alt(embed.get("alt")))], []
    if kind == "app.bsky.embed.external":
        external = embed.get("external") or {}
        uri = str(external.get("uri") or "") if isinstance(external, dict) else ""
        return [], [uri] if uri.startswith(("http://", "https://")) else []
    if kind == "app.bsky.embed.recordWithMedia":
        return embed_media_links(embed.get("media"))
    return [], []  # app.bsky.embed.record (a quote) and types this collector does not know yet


def _record_media(record_embed: Any) -> list[Media]:
    """Alt text from the record's own embed, for posts the AppView sent without a view."""
    if not isinstance(record_embed, dict):
        return []
    kind = str(record_embed.get("$type") or "")
    if kind == "app.bsky.embed.images":
        return [Media(type="photo", alt=_alt(i.get("alt"))) for i in record_embed.get("images") or [] if isinstance(i, dict)]
    if kind == "app.bsky.embed.video":
        return [Media(type="video", alt=_alt(record_embed.get("alt")))]
    if kind == "app.bsky.embed.recordWithMedia":
        return _record_media(record_embed.get("media"))
    return []


def permalink(uri: str, handle: str) -> str:
    rkey = uri.rsplit("/", 1)[-1]
    return f"https://bsky.app/profile/{handle}/post/{rkey}"


def parse_item(item: dict[str, Any], *, account: str, school: str) -> tuple[Post, int, dict[str, Any], str]:
    """One feed item as a Post, with its reply count, the post's author and the reason type."""
    post = item["post"]
    uri = post["uri"]
    if not isinstance(uri, str) or not uri.startswith("at://"):
        raise ValueError(f"post uri {uri!r} is not an at:// URI")
    record = post.get("record") or {}
    text = record.get("text", "")
    if not isinstance(text, str):
        raise ValueError("record.text is not a string")
    created_text = record.get("createdAt") or post.get("indexedAt")
    if not created_text:
        raise ValueError("no createdAt or indexedAt")
    created = parse_utc(str(created_text))
    author = post.get("author") or {}
    reason = str((item.get("reason") or {}).get("$type") or "")
    text, links = expand_facets(text, record.get("facets"))
    media, card_links = embed_media_links(post.get("embed"))
    if not media and not post.get("embed"):
        media = _record_media(record.get("embed"))
    links += [link for link in card_links if link not in links]
    result = Post(platform="bluesky", account=account, school=school, id=uri,
                  url=permalink(uri, str(author.get("handle") or author.get("did") or "")), created_at=created,
                  text=text, media=tuple(media), links=tuple(links), is_reply=bool(record.get("reply")),
                  is_repost=reason == REPOST)
    return result, int(post.get("replyCount") or 0), author, reason


def flatten_replies(thread: Any, *, post_id: str, limit: int = 500) -> list[Comment]:
    """Every visible reply under a thread view, depth first; blocked and deleted ones skipped."""
    out: list[Comment] = []
    stack = list(reversed((thread or {}).get("replies") or [])) if isinstance(thread, dict) else []
    while stack and len(out) < limit:
        node = stack.pop()
        if not isinstance(node, dict) or node.get("$type", "app.bsky.feed.defs#threadViewPost") != "app.bsky.feed.defs#threadViewPost":
            continue
        post = node.get("post") or {}
        record = post.get("record") or {}
        author = post.get("author") or {}
        try:
            created = parse_utc(str(record.get("createdAt") or post.get("indexedAt")))
            out.append(Comment(id=str(post["uri"]), post_id=post_id, author=str(author.get("handle") or ""),
                               text=str(record.get("text") or ""), created_at=created,
                               url=permalink(str(post["uri"]), str(author.get("handle") or author.get("did") or ""))))
        except (KeyError, ValueError, TypeError):
            pass
        stack.extend(reversed(node.get("replies") or []))
    return out
