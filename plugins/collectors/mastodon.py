"""Mastodon: an account's public statuses through the instance's REST API (no credentials).

``GET {instance}/api/v1/accounts/lookup?acct={username}`` resolves the handle to an id, then
``GET {instance}/api/v1/accounts/{id}/statuses?limit=40`` lists statuses newest first, following
the ``Link: <...max_id=...>; rel="next"`` header until the window is covered. Comments come from
``GET {instance}/api/v1/statuses/{id}/context`` (``descendants``) for statuses in the window that
have replies; a context answered 401/403/404/410 (hidden, or deleted since it was listed) leaves its
status standing without comments and the account partial, naming the status. The account's home instance is asked (``@user@instance`` or ``base_url``): other
servers hold incomplete copies.

Field mapping (Mastodon Status -> Post):

=============== ===================================================================================
Post field      Mastodon
=============== ===================================================================================
id              ``id`` (string snowflake)
url             ``url`` (the permalink; a boost has none, so the boosted status's ``url``)
created_at      ``created_at`` (ISO 8601, ms, Z)
text            ``spoiler_text`` (content warning, prefixed "CW:") + ``content`` HTML as plain text
                (read in one pass when it is the HTML Mastodon writes, else by BeautifulSoup); a boost's text is
                the boosted status's
media           ``media_attachments[]``: ``type`` image -> photo, video/gifv -> video, audio/unknown
                -> other; ``url``; ``description`` is the alt text (null when none was written)
links           ``href`` of ``<a>`` in ``content`` that are not mentions or hashtags (class
                ``mention``/``hashtag``, ``rel="tag"``), then ``card.url``; the instance's own
                media links dropped
is_reply        ``in_reply_to_id`` is not null
is_repost       ``reblog`` is not null (a boost)
comments        ``/statuses/{id}/context`` ``descendants[]``: id, ``account.acct``, content as text
=============== ===================================================================================

How far back: the whole public timeline, paged 40 at a time (``MAX_PAGES`` bounds one run).
Rate limit: 300 requests per 5 minutes per IP; ``X-RateLimit-Reset`` is ISO 8601 (handled by
``collectors._http``).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from collectors._base import (
    AccountUnavailable,
    Archive,
    AuthError,
    CollectionResult,
    CollectorError,
    MalformedResponse,
    NullArchive,
    TransientError,
    parse_html,
)
from collectors._http import HttpSession, Response
from socialaudit.config import Account
from socialaudit.models import Comment, Media, Post, parse_utc

PAGE_SIZE = 40
MAX_PAGES = 50
MAX_CONTEXT_CALLS = 100  # statuses with replies whose comments one run fetches
_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?([a-z]+)"?')


def split_handle(handle: str) -> tuple[str, str]:
    """``@user@instance`` -> (user, instance); ``user`` -> (user, '')."""
    parts = handle.strip().lstrip("@").split("@")
    user = parts[0]
    instance = parts[1] if len(parts) > 1 else ""
    if not user or not re.fullmatch(r"[A-Za-z0-9_]+", user):
        raise AccountUnavailable(f"mastodon handle {handle!r} is not of the form @user@instance")
    return user, instance


def collect(account: Account, *, school: str, session: HttpSession, since: datetime, until: datetime,
            base_url: str | None = None, credentials: dict[str, Any] | None = None,
            archive: Archive | None = None) -> CollectionResult:
    """Collect the account's statuses created in [since, until), with their public replies."""
    handle = getattr(account, "handle", "") or str(account)
    user, instance = split_handle(handle)
    root = (base_url or (f"https://{instance}" if instance else "")).rstrip("/")
    if not root:
        raise AccountUnavailable(f"mastodon handle {handle!r} names no instance and no base_url is configured")
    key = getattr(account, "key", handle) or handle
    archive = archive or NullArchive()
    headers = {"Accept": "application/json"}
    token = (credentials or {}).get("token")
    if token:
        headers["Authorization"] = f"Bearer {token}"  # only for instances that require it
    result = CollectionResult()
    counter = _Pages(archive, key)

    response = session.get(f"{root}/api/v1/accounts/lookup", params={"acct": user}, headers=headers)
    counter.save(response)
    _raise_for_status(response, handle)
    account_json = response.json()
    if not isinstance(account_json, dict) or not account_json.get("id"):
        raise MalformedResponse(f"mastodon {handle}: account lookup returned no id")
    if account_json.get("suspended"):
        raise AccountUnavailable(f"mastodon {handle}: account is suspended")
    account_id = str(account_json["id"])

    url: str | None = f"{root}/api/v1/accounts/{account_id}/statuses"
    params: dict[str, Any] | None = {"limit": PAGE_SIZE}
    seen: set[str] = set()
    with_replies: list[Post] = []
    for _ in range(MAX_PAGES):
        if url is None:
            break
        try:
            response = session.get(url, params=params, headers=headers)
            counter.save(response)
            _raise_for_status(response, handle)
            statuses = response.json()
            if not isinstance(statuses, list):
                raise MalformedResponse(f"mastodon {handle}: statuses page is not a list")
        except CollectorError as exc:
            result.page_failed(exc)  # partial is not nothing: the pages already parsed are kept
            break
        result.pages += 1
        oldest: datetime | None = None
        for index, status in enumerate(statuses):
            try:
                post, replies = parse_status(status, account=key, school=school)
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                result.skip(f"page {result.pages} status {index + 1}: {exc}")
                continue
            oldest = post.created_at if oldest is None else min(oldest, post.created_at)
            if post.id in seen or not since <= post.created_at < until:
                continue
            seen.add(post.id)
            result.posts.append(post)
            if replies and not post.is_repost:
                with_replies.append(post)
        url = next_link(response.headers.get("link", ""))
        params = None  # the next link carries its own query
        if not statuses or (oldest is not None and oldest < since):
            break

    for number, post in enumerate(with_replies):
        if number >= MAX_CONTEXT_CALLS:
            result.problems.append(f"comments fetched for the first {MAX_CONTEXT_CALLS} statuses only")
            break
        response = session.get(f"{root}/api/v1/statuses/{post.id}/context", headers=headers)
        counter.save(response)
        if response.status in (401, 403, 404, 410):  # replies hidden, or the status deleted since it was listed
            result.skip(f"comments of status {post.id} not read: HTTP {response.status} "
                        f"({' '.join(_error_text(response).split())})")
            continue  # the post stands without comments; the account is partial, saying so
        _raise_for_status(response, handle)
        comments = parse_context(response.json(), post_id=post.id)
        index = result.posts.index(post)
        result.posts[index] = _with_comments(post, comments)
    result.posts.sort(key=lambda p: p.created_at)
    return result


class _Pages:
    """Archives every raw body before it is parsed, numbering the account's requests."""

    def __init__(self, archive: Archive, account: str) -> None:
        self.archive, self.account, self.page = archive, account, 0

    def save(self, response: Response) -> None:
        self.page += 1
        self.archive.save_raw(platform="mastodon", account=self.account, page=self.page, url=response.url,
                              body=response.body, content_type=response.content_type)


def _raise_for_status(response: Response, handle: str) -> None:
    if response.status < 400:
        return
    message = _error_text(response)
    if response.status == 401:
        raise AuthError(f"mastodon {handle}: HTTP 401 ({message}); the instance requires a token")
    if response.status in (403, 404, 410):
        raise AccountUnavailable(f"mastodon {handle}: HTTP {response.status} ({message})")
    raise TransientError(f"mastodon {handle}: HTTP {response.status} ({message})")


def _error_text(response: Response) -> str:
    try:
        data = response.json()
    except MalformedResponse:
        return "no error body"
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        return data["error"][:200]
    return "no error message"


def next_link(header: str) -> str | None:
    """The ``rel="next"`` URL of a ``Link`` header, if any."""
    for target, rel in _LINK.findall(header or ""):
        if rel == "next":
            return target
    return None


def html_text_and_links(html: str) -> tuple[str, list[str]]:
    """Plain text and outbound links of a status's HTML; mentions and hashtags are not links.

    The HTML Mastodon itself writes (paragraphs, line breaks, links and spans, nested properly) is read by
    ``_plain_text_and_links``, which gives what BeautifulSoup gives (tests/collectors/test_mastodon_html.py
    compares the two on every shape); anything else, hostile or unusual, goes through BeautifulSoup.
    """
    simple = _plain_text_and_links(html or "")
    if simple is not None:
        return simple
    return _soup_text_and_links(html or "")


# The subset of HTML read without BeautifulSoup: these tags, lower-case, with double-quoted attribute values
# holding no "&", "<" or ">"; text holding no "<", and "&" only in these entities. Anything else: None.
MAX_SIMPLE_DEPTH = 32  # tags open at once in the HTML read without BeautifulSoup
_SIMPLE_TAG = re.compile(r'<(/?)(p|br|a|span)((?:[ \t\n]+[a-z][a-z-]*="[^"&<>]*")*)[ \t\n]*(/?)>')
_SIMPLE_ATTR = re.compile(r'([a-z][a-z-]*)="([^"&<>]*)"')
_SIMPLE_TEXT = re.compile(r"[^<&]+")
_SIMPLE_ENTITY = re.compile(r"&(amp|lt|gt|quot|#39|#x27);")
_ENTITY_CHAR = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "#39": "'", "#x27": "'"}


def _plain_text_and_links(html: str) -> tuple[str, list[str]] | None:
    """``_soup_text_and_links`` for the HTML Mastodon writes, in one pass without building a tree (a fifth
    of a weekly run's CPU went into BeautifulSoup here); None when ``html`` is not of that simple kind."""
    out: list[str] = []
    links: list[str] = []
    seen: set[str] = set()
    open_tags: list[str] = []
    paragraphs = 0  # <p> open now (counted: a scan of the stack at every <p> was quadratic in the nesting)
    at, end = 0, len(html)
    while at < end:
        char = html[at]
        if char == "<":
            tag = _SIMPLE_TAG.match(html, at)
            if tag is None:
                return None
            closing, name, attributes, slash = tag.groups()
            at = tag.end()
            if name == "br":
                if closing:
                    return None  # </br>: BeautifulSoup's own rules
                out.append("\n")
                continue
            if slash:
                return None
            if closing:
                if attributes or not open_tags or open_tags[-1] != name:
                    return None  # not nested properly: the tree BeautifulSoup builds decides
                open_tags.pop()
                if name == "p":
                    paragraphs -= 1
                    out.append(" ")
                continue
            if name == "p":
                if paragraphs:
                    return None
                paragraphs += 1
            if len(open_tags) >= MAX_SIMPLE_DEPTH:
                return None  # Mastodon nests a few tags deep; deeper is not its HTML
            open_tags.append(name)
            if name == "a":
                found = _SIMPLE_ATTR.findall(attributes)
                values = dict(found)
                if len(values) != len(found):
                    return None  # a repeated attribute
                href = values.get("href")
                if href is None:
                    continue
                classes = re.findall(r"\S+", values.get("class", ""))
                rels = re.findall(r"\S+", values.get("rel", ""))
                if "mention" in classes or "hashtag" in classes or "tag" in rels:
                    continue
                href = href.strip()
                if href.startswith(("http://", "https://")) and href not in seen:
                    seen.add(href)
                    links.append(href)
        elif char == "&":
            entity = _SIMPLE_ENTITY.match(html, at)
            if entity is None:
                return None
            out.append(_ENTITY_CHAR[entity.group(1)])
            at = entity.end()
        else:
            text = _SIMPLE_TEXT.match(html, at)
            assert text is not None  # char is neither "<" nor "&"
            out.append(text.group())
            at = text.end()
    if open_tags:
        return None
    return re.sub(r"\s+", " ", "".join(out)).strip(), links


def _soup_text_and_links(html: str) -> tuple[str, list[str]]:
    """``html_text_and_links`` by BeautifulSoup, for any HTML."""
    soup = parse_html(html)
    links: list[str] = []
    seen: set[str] = set()
    for anchor in soup.find_all("a", href=True):
        classes = list(anchor.get("class") or [])
        rels = list(anchor.get("rel") or [])
        if "mention" in classes or "hashtag" in classes or "tag" in rels:
            continue
        href = str(anchor["href"]).strip()
        if href.startswith(("http://", "https://")) and href not in seen:
            seen.add(href)
            links.append(href)
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for paragraph in soup.find_all("p"):
        paragraph.append(" ")
    # Link text is split into invisible/ellipsis spans; joining with "" keeps the URL whole.
    text = re.sub(r"\s+", " ", soup.get_text("", strip=False))
    return text.strip(), links


def _media(attachments: Any) -> tuple[Media, ...]:
    media = []
    for item in attachments or []:
        kind = {"image": "photo", "video": "video", "gifv": "video"}.get(str(item.get("type")), "other")
        alt = item.get("description")
        media.append(Media(type=kind, url=str(item.get("url") or item.get("remote_url") or ""),
                           alt=None if alt is None else str(alt)))
    return tuple(media)


def parse_status(status: dict[str, Any], *, account: str, school: str) -> tuple[Post, int]:
    """One status as a Post, and its ``replies_count``; ValueError/KeyError when malformed."""
    if not isinstance(status, dict):
        raise ValueError("status is not an object")
    sid = str(status["id"])
    created = parse_utc(str(status["created_at"]))
    reblog = status.get("reblog")
    source = reblog if isinstance(reblog, dict) else status
    text, links = html_text_and_links(str(source.get("content") or ""))
    spoiler = str(source.get("spoiler_text") or "").strip()
    if spoiler:
        text = f"CW: {spoiler} {text}".strip()
    card = source.get("card") or {}
    if isinstance(card, dict) and card.get("url") and card["url"] not in links:
        links.append(str(card["url"]))
    media = _media(source.get("media_attachments"))
    media_urls = {m.url for m in media}
    links = [link for link in links if link not in media_urls]
    # A boost's permalink is the boosted status's own page: the wrapper's url, where an instance sets one,
    # is its ActivityPub ".../activity" address, which no browser shows.
    url = str(source.get("url") or source.get("uri") or status.get("url") or "")
    post = Post(platform="mastodon", account=account, school=school, id=sid, url=url, created_at=created,
                text=text, media=media, links=tuple(links), is_reply=status.get("in_reply_to_id") is not None,
                is_repost=isinstance(reblog, dict))
    return post, int(status.get("replies_count") or 0)


def parse_context(data: Any, *, post_id: str) -> tuple[Comment, ...]:
    """The public replies (``descendants``) of a status; malformed ones are left out."""
    comments: list[Comment] = []
    for item in (data or {}).get("descendants", []) if isinstance(data, dict) else []:
        try:
            text, _ = html_text_and_links(str(item.get("content") or ""))
            spoiler = str(item.get("spoiler_text") or "").strip()
            comments.append(Comment(id=str(item["id"]), post_id=post_id,
                                    author=str((item.get("account") or {}).get("acct") or ""),
                                    text=f"CW: {spoiler} {text}".strip() if spoiler else text,
                                    created_at=parse_utc(str(item["created_at"])), url=str(item.get("url") or "")))
        except (KeyError, ValueError, TypeError, AttributeError):
            continue
    return tuple(comments)


def _with_comments(post: Post, comments: tuple[Comment, ...]) -> Post:
    from dataclasses import replace

    return replace(post, comments=comments)


def instance_of(url: str) -> str:
    """The host of an instance URL (for per-instance concurrency limits)."""
    return urlsplit(url).netloc
