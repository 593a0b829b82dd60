"""YouTube: a channel's uploads, from its public feed or, with an API key, the Data API v3.

Without credentials: ``GET {youtube}/feeds/videos.xml?channel_id=UC...`` (Atom with ``yt:`` and
``media:`` namespaces, parsed with the hardened parser of ``collectors.rss``: no DTDs, no entity
expansion). It lists only the 15 newest uploads and has no paging, so a channel that uploads more
than 15 videos between two runs loses the older ones: configure a key for those.

With a key (Airflow connection ``socialaudit_youtube``, password = the key; or the CLI's
``SOCIALAUDIT_YOUTUBE_TOKEN``): ``GET {api}/youtube/v3/playlistItems?part=snippet,contentDetails
&playlistId=UU...&maxResults=50&pageToken=...`` over the channel's uploads playlist (the channel id
with ``UC`` -> ``UU``; a ``@handle`` is resolved with ``channels?forHandle=``), following
``nextPageToken`` until the window is covered. Each call costs 1 unit of the 10,000-a-day quota.
``403 quotaExceeded`` is raised as a :class:`TransientError` (the quota resets at midnight Pacific
time; Airflow's retries and the next run pick it up); a bad key is an :class:`AuthError`.

Field mapping (feed entry / playlistItem -> Post):

=============== ====================================================== =============================================
Post field      feed (Atom)                                            Data API v3 playlistItem
=============== ====================================================== =============================================
id              ``yt:videoId``                                         ``contentDetails.videoId``
url             ``link rel=alternate`` (``/watch?v=`` or ``/shorts/``) ``https://www.youtube.com/watch?v={videoId}``
created_at      ``published``                                          ``contentDetails.videoPublishedAt`` (not
                                                                       ``snippet.publishedAt``: that is when it was
                                                                       added to the playlist)
text            ``title`` + ``media:group/media:description``          ``snippet.title`` + ``snippet.description``
media           one video: ``media:thumbnail`` URL, alt None (YouTube  one video: ``snippet.thumbnails.high.url``,
                has no alt text; title and description describe it)    alt None
links           URLs in the description (plain text), not the video's  same
is_reply        never (uploads only)                                   never
is_repost       never                                                  never
comments        not collected (needs ``commentThreads``, not built)    not collected
=============== ====================================================== =============================================
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

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
from collectors._xml import parse_xml as _parse_xml  # the hardened parser: refuses entity declarations
from socialaudit.config import Account
from socialaudit.models import Media, Post, parse_utc

WEB = "https://www.youtube.com"
API = "https://www.googleapis.com"
MAX_PAGES = 20
_URL = re.compile(r"https?://[^\s<>\"')\]]+")
_CHANNEL = re.compile(r"UC[A-Za-z0-9_-]{22}")
NS = {"atom": "http://www.w3.org/2005/Atom", "media": "http://search.yahoo.com/mrss/",
      "yt": "http://www.youtube.com/xml/schemas/2015"}


class QuotaExceeded(TransientError):
    """The API key's daily quota is spent; it resets at midnight Pacific time."""


def channel_of(account: Account) -> tuple[str, str]:
    """(channel id ``UC...`` or '', handle ``@name`` or '') from the account's url and handle."""
    url = getattr(account, "url", "") or ""
    handle = (getattr(account, "handle", "") or (str(account) if isinstance(account, str) else "")).strip()
    for text in (url, handle):
        query = parse_qs(urlsplit(text).query)
        if query.get("channel_id"):
            return query["channel_id"][0], ""
        match = _CHANNEL.search(text)
        if match:
            return match.group(0), ""
    if handle.startswith("@"):
        return "", handle
    path = urlsplit(url).path
    if path.startswith("/@"):
        return "", path[1:].split("/", 1)[0]
    return "", ""


def collect(account: Account, *, school: str, session: HttpSession, since: datetime, until: datetime,
            base_url: str | None = None, credentials: dict[str, Any] | None = None,
            archive: Archive | None = None) -> CollectionResult:
    """Collect the channel's videos published in [since, until)."""
    channel, handle = channel_of(account)
    key = getattr(account, "key", "") or channel or handle
    archive = archive or NullArchive()
    api_key = str((credentials or {}).get("token") or "")
    if api_key:
        return _collect_api(channel, handle, key=key, school=school, session=session, since=since, until=until,
                            root=(base_url or API).rstrip("/"), api_key=api_key, archive=archive)
    if not channel:
        raise AuthError(f"youtube {key}: a @handle needs the Data API (connection socialaudit_youtube) "
                        "or configure the channel URL (https://www.youtube.com/channel/UC...)")
    return _collect_feed(channel, key=key, school=school, session=session, since=since, until=until,
                         root=(base_url or WEB).rstrip("/"), archive=archive)


# --- the public feed -----------------------------------------------------------------------------

def _collect_feed(channel: str, *, key: str, school: str, session: HttpSession, since: datetime, until: datetime,
                  root: str, archive: Archive) -> CollectionResult:
    result = CollectionResult()
    url = f"{root}/feeds/videos.xml"
    response = session.get(url, params={"channel_id": channel})
    archive.save_raw(platform="youtube", account=key, page=1, url=response.url, body=response.body,
                     content_type=response.content_type)
    if response.status == 404:
        # The feed is known to answer 404 now and then for a live channel: ask once more first.
        response = session.get(url, params={"channel_id": channel})
        archive.save_raw(platform="youtube", account=key, page=2, url=response.url, body=response.body,
                         content_type=response.content_type)
    if response.status in (401, 403):
        raise AccountUnavailable(f"youtube {key}: the channel feed answered HTTP {response.status}")
    if response.status in (404, 410):
        raise AccountUnavailable(f"youtube {key}: no such channel (the feed answered HTTP {response.status} twice)")
    if response.status >= 400:
        raise TransientError(f"youtube {key}: the channel feed answered HTTP {response.status}")
    result.pages = 1
    for post in parse_feed(response.body, account=key, school=school, result=result):
        if since <= post.created_at < until:
            result.posts.append(post)
    result.posts.sort(key=lambda p: p.created_at)
    return result


def parse_feed(body: bytes, *, account: str, school: str, result: CollectionResult | None = None) -> list[Post]:
    """Videos of a channel feed; malformed entries are skipped and noted in ``result``."""

    result = result if result is not None else CollectionResult()
    root = _parse_xml(body)
    if root is None or root.tag != f"{{{NS['atom']}}}feed":
        raise MalformedResponse(f"youtube {account}: the channel feed is not an Atom feed")
    posts = []
    for index, entry in enumerate(root.findall("atom:entry", NS)):
        try:
            posts.append(_feed_entry(entry, account=account, school=school))
        except ValueError as exc:
            result.skip(f"entry {index + 1}: {exc}")
    return posts


def _text(element: Any) -> str:
    return "".join(element.itertext()).strip() if element is not None else ""


def _feed_entry(entry: Any, *, account: str, school: str) -> Post:
    video = _text(entry.find("yt:videoId", NS)) or _text(entry.find("atom:id", NS)).removeprefix("yt:video:")
    if not video:
        raise ValueError("no yt:videoId")
    link = ""
    for candidate in entry.findall("atom:link", NS):
        if candidate.get("rel", "alternate") == "alternate" and candidate.get("href"):
            link = candidate.get("href", "")
            break
    url = link or f"https://www.youtube.com/watch?v={video}"
    published = _text(entry.find("atom:published", NS)) or _text(entry.find("atom:updated", NS))
    try:
        created = parse_utc(published)
    except ValueError:
        raise ValueError(f"video {video}: no usable date ({published!r})") from None
    title = _text(entry.find("atom:title", NS)) or _text(entry.find("media:group/media:title", NS))
    description = _text(entry.find("media:group/media:description", NS))
    thumbnail = entry.find("media:group/media:thumbnail", NS)
    return _post(video_id=video, url=url, created=created, title=title, description=description,
                 thumbnail=thumbnail.get("url", "") if thumbnail is not None else "", account=account, school=school)


def _post(*, video_id: str, url: str, created: datetime, title: str, description: str, thumbnail: str,
          account: str, school: str) -> Post:
    links = []
    for match in _URL.findall(description):
        link = match.rstrip(".,;:!?")
        if link != url and link not in links:
            links.append(link)
    text = " ".join(part for part in (title, description) if part)
    return Post(platform="youtube", account=account, school=school, id=video_id, url=url, created_at=created,
                text=re.sub(r"\s+", " ", text).strip(), media=(Media(type="video", url=thumbnail or url, alt=None),),
                links=tuple(links))


# --- the Data API --------------------------------------------------------------------------------

def _collect_api(channel: str, handle: str, *, key: str, school: str, session: HttpSession, since: datetime,
                 until: datetime, root: str, api_key: str, archive: Archive) -> CollectionResult:
    result = CollectionResult()
    page_no = 0

    def get(path: str, params: dict[str, Any]) -> Any:
        nonlocal page_no
        response = session.get(f"{root}/youtube/v3/{path}", params={**params, "key": api_key})
        page_no += 1
        archive.save_raw(platform="youtube", account=key, page=page_no, url=response.url, body=response.body,
                         content_type=response.content_type)
        _raise_for_api_error(response, key)
        return response.json()

    if channel:
        uploads = "UU" + channel[2:]
    elif handle:
        data = get("channels", {"part": "contentDetails", "forHandle": handle})
        items = data.get("items") if isinstance(data, dict) else None
        if not items:
            raise AccountUnavailable(f"youtube {key}: no channel has the handle {handle}")
        try:
            uploads = str(items[0]["contentDetails"]["relatedPlaylists"]["uploads"])
        except (KeyError, TypeError, IndexError):
            raise MalformedResponse(f"youtube {key}: channels answer has no uploads playlist") from None
    else:
        raise AccountUnavailable(f"youtube {key}: configure a channel URL (/channel/UC...) or a @handle")

    token: str | None = None
    for _ in range(MAX_PAGES):
        params: dict[str, Any] = {"part": "snippet,contentDetails", "playlistId": uploads, "maxResults": 50}
        if token:
            params["pageToken"] = token
        try:
            data = get("playlistItems", params)
            if not isinstance(data, dict) or not isinstance(data.get("items", []), list):
                raise MalformedResponse(f"youtube {key}: playlistItems answer has no items list")
        except CollectorError as exc:
            result.page_failed(exc)  # partial is not nothing: the pages already parsed are kept
            break
        result.pages += 1
        oldest: datetime | None = None
        for index, item in enumerate(data.get("items", [])):
            try:
                post = _api_item(item, account=key, school=school)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                result.skip(f"page {result.pages} item {index + 1}: {exc}")
                continue
            oldest = post.created_at if oldest is None else min(oldest, post.created_at)
            if since <= post.created_at < until:
                result.posts.append(post)
        token = data.get("nextPageToken") or None
        if not token or (oldest is not None and oldest < since):
            break
    result.posts.sort(key=lambda p: p.created_at)
    return result


def _api_item(item: dict[str, Any], *, account: str, school: str) -> Post:
    snippet = item["snippet"]
    details = item.get("contentDetails") or {}
    video = str(details.get("videoId") or snippet["resourceId"]["videoId"])
    published = details.get("videoPublishedAt") or snippet["publishedAt"]
    try:
        created = parse_utc(str(published))
    except ValueError:
        raise ValueError(f"video {video}: no usable date ({published!r})") from None
    thumbs = snippet.get("thumbnails") or {}
    thumb = next((thumbs[size]["url"] for size in ("high", "medium", "default") if isinstance(thumbs.get(size), dict)), "")
    return _post(video_id=video, url=f"https://www.youtube.com/watch?v={video}", created=created,
                 title=str(snippet.get("title") or ""), description=str(snippet.get("description") or ""),
                 thumbnail=str(thumb), account=account, school=school)


def _raise_for_api_error(response: Response, key: str) -> None:
    if response.status < 400:
        return
    reason, message = "", ""
    try:
        error = response.json().get("error") or {}
        message = re.sub(r"<[^>]+>", "", str(error.get("message") or ""))[:200]
        reason = str(((error.get("errors") or [{}])[0]).get("reason") or "")
    except (MalformedResponse, AttributeError, IndexError, TypeError):
        pass
    detail = f"{reason}: {message}" if reason else (message or "no error body")
    if reason in ("quotaExceeded", "dailyLimitExceeded"):
        raise QuotaExceeded(f"youtube {key}: API quota exceeded for today ({detail}); it resets at midnight Pacific time")
    if reason in ("rateLimitExceeded", "userRateLimitExceeded"):
        raise TransientError(f"youtube {key}: API rate limit ({detail})")
    if response.status in (400, 401) and (reason in ("badRequest", "keyInvalid", "keyExpired") or "API key" in message
                                          or response.status == 401):
        raise AuthError(f"youtube {key}: the API key was refused ({detail})")
    if response.status == 403:
        raise AuthError(f"youtube {key}: the API refused the request ({detail})")
    if response.status in (404, 410):
        raise AccountUnavailable(f"youtube {key}: {detail}")
    raise TransientError(f"youtube {key}: HTTP {response.status} ({detail})")
