"""X (Twitter) API v2: a user's timeline for a window, with media alt text, expanded links and replies.

Calls (``Authorization: Bearer <token>``, app-only):

1. ``GET /2/users/by/username/{username}?user.fields=username,name,protected``: the numeric id and the
   handle as X spells it (permalinks use it).
2. ``GET /2/users/{id}/tweets?max_results=100&start_time=&end_time=&tweet.fields=...&expansions=...``,
   following ``meta.next_token`` as ``pagination_token`` until it is absent. Replies and reposts are
   *not* excluded (``exclude=`` is left off) because the audit marks them rather than missing them.
3. For posts younger than 7 days (recent search's reach) that have ``public_metrics.reply_count`` above
   zero: ``GET /2/tweets/search/recent?query=conversation_id:{id}`` for the public replies (comments),
   paging with ``next_token``. Older posts would need full-archive search, which we do not buy.

Field mapping (X -> Post):

============== ===========================================================================
Post field     X API v2
============== ===========================================================================
id             ``data[].id`` (string)
url            ``https://x.com/{username}/status/{id}``
created_at     ``created_at`` (ISO 8601 UTC with milliseconds)
text           ``note_tweet.text`` for long posts, else ``text``; each t.co link replaced by its
               expanded URL (entity offsets are code points, checked before use), the t.co link of
               the post's own photo removed, HTML entities (``&amp;``) unescaped
media          ``attachments.media_keys`` -> ``includes.media[]``: photo (``url``), video and
               animated_gif -> video (``preview_image_url``), ``alt_text``
links          ``entities.urls[]`` (``note_tweet.entities`` for long posts): ``unwound_url`` >
               ``expanded_url`` > ``url``; entries with a ``media_key`` and x.com photo/video links
               dropped
is_reply       ``in_reply_to_user_id`` or ``referenced_tweets[].type == "replied_to"``
is_repost      ``referenced_tweets[].type == "retweeted"`` (text from ``includes.tweets`` if given)
comments       recent-search replies in the conversation, excluding the account's own posts
============== ===========================================================================

Errors: no token -> AuthError; 401, 403 (e.g. ``client-not-enrolled``) and 402 ``CreditsDepleted`` ->
AuthError; HTTP 200 carrying only ``errors`` (not found, suspended, protected) -> AccountUnavailable;
429 (either body form, with ``x-rate-limit-reset``) is waited out by the shared session up to its
cap, then TransientError; 5xx, timeouts, truncated or non-JSON bodies -> TransientError. A post that
cannot be parsed is skipped and noted; the rest of the page is kept.

History: the user timeline reaches only the most recent 3,200 posts (with replies included), so a
backfill reaches as far back as those go; recent search reaches 7 days.

The token is only ever in the request header: it is scrubbed from every message, never in a URL,
and the raw archive stores bodies and URLs (without query), never headers.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from collectors._base import (
    AccountError,
    AccountUnavailable,
    Archive,
    AuthError,
    CollectionResult,
    CollectorError,
    MalformedResponse,
    NullArchive,
    TransientError,
)
from collectors._graph import obj
from collectors._http import HttpSession, Response
from socialaudit.config import Account
from socialaudit.models import Comment, Media, Post, parse_utc

API_ROOT = "https://api.x.com"
TWEET_FIELDS = ("created_at,entities,attachments,public_metrics,conversation_id,lang,possibly_sensitive,note_tweet,"
                "in_reply_to_user_id,referenced_tweets,author_id")
EXPANSIONS = "attachments.media_keys,author_id,referenced_tweets.id"
MEDIA_FIELDS = "type,url,preview_image_url,alt_text,width,height,variants"
USER_FIELDS = "username,name"
MAX_PAGES = 40  # 3,200 posts at 100 a page is 32 pages: the timeline's whole reach
MAX_COMMENT_PAGES = 3
SEARCH_REACH = timedelta(days=7)
_X_HOSTS = {"x.com", "www.x.com", "twitter.com", "www.twitter.com", "mobile.twitter.com", "pic.x.com", "pic.twitter.com"}


@dataclass(slots=True)
class _Client:
    session: HttpSession
    token: str
    root: str
    label: str
    account_key: str
    archive: Archive
    calls: int = 0
    problems: list[str] = field(default_factory=list)

    def get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.root}{path}?{urlencode(params)}"
        response = self.session.get(url, headers={"Authorization": f"Bearer {self.token}"})
        self.calls += 1
        body = response.body.replace(self.token.encode(), b"***") if self.token else response.body
        self.archive.save_raw(platform="x", account=self.account_key, page=self.calls, url=url, body=body,
                              content_type=response.content_type)
        data = self._json(response)
        if response.status != 200:
            self._raise_status(response, data)
        if not isinstance(data, dict):
            raise MalformedResponse(f"{self.label}: X answered a JSON {type(data).__name__}, not an object")
        return data

    def _json(self, response: Response) -> Any:
        try:
            return json.loads(response.body)
        except ValueError:
            if response.status in (401, 402, 403, 404):
                return {}
            kind = response.content_type.split(";")[0] or "unknown type"
            raise MalformedResponse(f"{self.label}: X answered HTTP {response.status} with a body that is not JSON ({kind})") from None

    def _raise_status(self, response: Response, data: Any) -> None:
        problem = data if isinstance(data, dict) else {}
        title = str(problem.get("title") or "")
        detail = self.session.scrub(str(problem.get("detail") or problem.get("reason") or "")[:200])
        status = response.status
        if status == 401:
            raise AuthError(f"{self.label}: X refused the bearer token (HTTP 401 {title or 'Unauthorized'})")
        if status == 402:
            raise AuthError(f"{self.label}: the X API account is out of credits (HTTP 402 {title or 'CreditsDepleted'})")
        if status == 403:
            raise AuthError(f"{self.label}: X forbids this app (HTTP 403 {title or 'Forbidden'}"
                            + (f": {problem.get('reason')}" if problem.get("reason") else "") + ")")
        if status in (404, 410):
            raise AccountUnavailable(f"{self.label}: X answered HTTP {status}")
        if status == 429:  # only if the session handed one back; it normally waits or raises
            raise TransientError(f"{self.label}: rate limited by X")
        raise AccountError(f"{self.label}: X answered HTTP {status} {title}" + (f": {detail}" if detail else ""))


def collect(account: Account, *, school: str, session: HttpSession, since: datetime, until: datetime,
            base_url: str | None = None, credentials: dict[str, Any] | None = None,
            archive: Archive | None = None) -> CollectionResult:
    """Collect an X account's posts created in [since, until), with media, links and recent replies."""
    handle = str(getattr(account, "handle", "") or account).strip().lstrip("@")
    if not handle or "/" in handle:
        raise ValueError(f"x account {account!r}: needs a username handle")
    key = getattr(account, "key", "") or handle
    label = f"x account @{handle}"
    token = str((credentials or {}).get("token") or "").strip()
    if not token:
        raise AuthError(f"{label}: no bearer token (set the Airflow connection socialaudit_x's password, "
                        "or SOCIALAUDIT_X_TOKEN for the CLI)")
    if token not in session.secrets:
        session.secrets = (*session.secrets, token)
    client = _Client(session=session, token=token, root=(base_url or API_ROOT).rstrip("/"), label=label,
                     account_key=key, archive=archive or NullArchive())
    user = _resolve(client, handle)
    user_id = str(user["id"])
    username = str(user.get("username") or handle)
    result = CollectionResult()
    params: dict[str, Any] = {
        "max_results": 100,
        "start_time": _x_time(since),
        "end_time": _x_time(until),
        "tweet.fields": TWEET_FIELDS,
        "expansions": EXPANSIONS,
        "media.fields": MEDIA_FIELDS,
        "user.fields": USER_FIELDS,
    }
    seen: set[str] = set()
    reply_counts: dict[str, int] = {}
    token_param: str | None = None
    while result.pages < MAX_PAGES:
        page_params = dict(params, pagination_token=token_param) if token_param else params
        try:
            data = client.get(f"/2/users/{quote(user_id)}/tweets", page_params)
            items = data.get("data")
            if items is None and data.get("errors"):  # e.g. a protected account: HTTP 200 with only errors
                raise AccountUnavailable(f"{label}: {_describe_errors(data['errors'], session)}")
            if items is not None and not isinstance(items, list):
                raise MalformedResponse(f"{label}: timeline page {result.pages + 1} has no data list")
        except CollectorError as exc:
            result.page_failed(exc)  # partial is not nothing: the pages already parsed are kept
            break
        result.pages += 1
        if items is None:
            break  # result_count 0: an empty window
        if data.get("errors"):
            result.problems.append(f"page {result.pages}: partial errors: {_describe_errors(data['errors'], session)}")
        includes = obj(data.get("includes"))
        media_index = {m.get("media_key"): m for m in includes.get("media") or [] if isinstance(m, dict)}
        tweet_index = {t.get("id"): t for t in includes.get("tweets") or [] if isinstance(t, dict)}
        user_index = {u.get("id"): u for u in includes.get("users") or [] if isinstance(u, dict)}
        for index, item in enumerate(items):
            try:
                post = parse_tweet(item, username=username, account=key, school=school, media=media_index,
                                   tweets=tweet_index, users=user_index)
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                result.skip(f"page {result.pages} item {index + 1}: {exc}")
                continue
            if post.id in seen or not since <= post.created_at < until:
                continue
            seen.add(post.id)
            result.posts.append(post)
            metrics = obj(item.get("public_metrics"))
            reply_counts[post.id] = int(metrics.get("reply_count") or 0)
        meta = obj(data.get("meta"))
        token_param = meta.get("next_token") or None
        if not token_param:
            break
    now = datetime.fromtimestamp(session.clock(), timezone.utc)
    posts = []
    for post in result.posts:
        if reply_counts.get(post.id) and not post.is_repost and now - post.created_at < SEARCH_REACH - timedelta(minutes=5):
            from dataclasses import replace

            post = replace(post, comments=_replies(client, post, user_id, now, result))
        posts.append(post)
    result.posts = sorted(posts, key=lambda p: p.created_at)
    result.problems.extend(client.problems)
    return result


def _x_time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _describe_errors(errors: Any, session: HttpSession) -> str:
    parts = []
    for error in errors if isinstance(errors, list) else [errors]:
        if isinstance(error, dict):
            parts.append(str(error.get("detail") or error.get("title") or error.get("message") or "error"))
    return session.scrub("; ".join(parts)[:300] or "X returned errors and no data")


def _resolve(client: _Client, handle: str) -> dict[str, Any]:
    data = client.get(f"/2/users/by/username/{quote(handle)}", {"user.fields": "username,name,protected"})
    user = data.get("data")
    if not isinstance(user, dict) or not user.get("id"):
        errors = data.get("errors")
        if errors:
            raise AccountUnavailable(f"{client.label}: {_describe_errors(errors, client.session)}")
        raise MalformedResponse(f"{client.label}: X returned no user and no errors")
    return user


def parse_tweet(item: Any, *, username: str, account: str, school: str, media: dict[Any, Any] | None = None,
                tweets: dict[Any, Any] | None = None, users: dict[Any, Any] | None = None) -> Post:
    """One v2 post object as a Post; ValueError/KeyError/TypeError when it cannot be used."""
    if not isinstance(item, dict):
        raise ValueError("item is not an object")
    post_id = item.get("id")
    if not isinstance(post_id, str) or not post_id.isdigit():
        raise ValueError(f"bad id {post_id!r}")
    created_raw = item.get("created_at")
    if not isinstance(created_raw, str):
        raise ValueError("no created_at")
    created = parse_utc(created_raw)
    note = item.get("note_tweet") if isinstance(item.get("note_tweet"), dict) else None
    text = note.get("text") if note and isinstance(note.get("text"), str) else item.get("text")
    if not isinstance(text, str):
        raise ValueError("no text")
    entities = (note.get("entities") if note and isinstance(note.get("entities"), dict) else None) \
        or (obj(item.get("entities")))
    references = [r for r in item.get("referenced_tweets") or [] if isinstance(r, dict)]
    is_repost = any(r.get("type") == "retweeted" for r in references)
    is_reply = bool(item.get("in_reply_to_user_id")) or any(r.get("type") == "replied_to" for r in references)
    if is_repost and tweets:
        original = next((tweets.get(r.get("id")) for r in references if r.get("type") == "retweeted"), None)
        if isinstance(original, dict) and isinstance(original.get("text"), str):
            author = (users or {}).get(original.get("author_id")) or {}
            prefix = f"RT @{author['username']}: " if isinstance(author, dict) and author.get("username") else ""
            original_note = obj(original.get("note_tweet"))
            text = prefix + str(original_note.get("text") or original["text"])
            entities = original_note.get("entities") or original.get("entities") or entities
    text, links = _expand(text, entities)
    items: list[Media] = []
    for key in ((item.get("attachments") or {}).get("media_keys") or []):
        node = (media or {}).get(key)
        if not isinstance(node, dict):
            continue  # a media key without its expansion: X withheld it; nothing to describe
        kind = str(node.get("type") or "")
        alt = node.get("alt_text")
        alt = alt.strip() if isinstance(alt, str) and alt.strip() else None
        if kind == "photo":
            items.append(Media(type="photo", url=str(node.get("url") or ""), alt=alt))
        elif kind in ("video", "animated_gif"):
            items.append(Media(type="video", url=str(node.get("preview_image_url") or ""), alt=alt))
        else:
            items.append(Media(type="other", url=str(node.get("url") or node.get("preview_image_url") or ""), alt=alt))
    return Post(platform="x", account=account, school=school, id=post_id, url=f"https://x.com/{username}/status/{post_id}",
                created_at=created, text=text, media=tuple(items), links=tuple(links), is_reply=is_reply,
                is_repost=is_repost)


def is_x_media_link(url: str) -> bool:
    """x.com/twitter.com photo and video pages, and pic.x.com: the post's own media."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host in ("pic.x.com", "pic.twitter.com", "pbs.twimg.com", "video.twimg.com"):
        return True
    return host in _X_HOSTS and ("/photo/" in parts.path or "/video/" in parts.path)


def _expand(text: str, entities: dict[str, Any]) -> tuple[str, list[str]]:
    """Replace t.co links by their expanded URLs (dropping media links); return (text, outbound links).

    Offsets are code points, which is what Python indexes, so an emoji before a link is not an
    off-by-one here; an entity whose offsets do not frame its t.co URL is replaced by value instead.
    """
    links: list[str] = []
    edits: list[tuple[int, int, str, str]] = []
    for entity in entities.get("urls") or []:
        if not isinstance(entity, dict):
            continue
        short = str(entity.get("url") or "")
        real = str(entity.get("unwound_url") or entity.get("expanded_url") or short)
        is_media = bool(entity.get("media_key")) or is_x_media_link(real)
        if not is_media and real and real not in links:
            links.append(real)
        start, end = entity.get("start"), entity.get("end")
        replacement = "" if is_media else real
        if isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text) and text[start:end] == short:
            edits.append((start, end, short, replacement))
        elif short:
            edits.append((-1, -1, short, replacement))
    for start, end, short, replacement in sorted(edits, key=lambda e: e[0], reverse=True):
        if start >= 0:
            text = text[:start] + replacement + text[end:]
        else:
            text = text.replace(short, replacement)
    text = html.unescape(" ".join(text.split()))
    return text, links


def _replies(client: _Client, post: Post, user_id: str, now: datetime, result: CollectionResult) -> tuple[Comment, ...]:
    comments: list[Comment] = []
    params: dict[str, Any] = {
        "query": f"conversation_id:{post.id}",
        "max_results": 100,
        "start_time": _x_time(max(post.created_at, now - SEARCH_REACH + timedelta(minutes=1))),
        "tweet.fields": "created_at,author_id,conversation_id,in_reply_to_user_id",
        "expansions": "author_id",
        "user.fields": "username",
    }
    next_token = None
    for _ in range(MAX_COMMENT_PAGES):
        data = client.get("/2/tweets/search/recent", dict(params, next_token=next_token) if next_token else params)
        users = {u.get("id"): u for u in ((data.get("includes") or {}).get("users") or []) if isinstance(u, dict)}
        for item in data.get("data") or []:
            try:
                if str(item.get("author_id")) == user_id:
                    continue  # the school's own replies are posts in its timeline
                author = users.get(item.get("author_id")) or {}
                name = str(author.get("username") or item.get("author_id") or "")
                comments.append(Comment(id=str(item["id"]), post_id=post.id, author=name,
                                        text=html.unescape(str(item.get("text") or "")),
                                        created_at=parse_utc(item["created_at"]) if item.get("created_at") else None,
                                        url=f"https://x.com/{name or 'i'}/status/{item['id']}"))
            except (KeyError, ValueError, TypeError, AttributeError) as exc:
                result.skip(f"reply to {post.id}: {exc}")
        next_token = (data.get("meta") or {}).get("next_token")
        if not next_token:
            break
    return tuple(comments)
