"""RSS 2.0, Atom and RDF feeds: school websites (WordPress, Blogger, any CMS), Tumblr, Flickr.

Parsed with defusedxml (no DTD entities, no external entities, namespace-aware) so that per-image
alt text in Media RSS (``media:content``/``media:description``/``media:title``) and in the HTML
``<img alt>`` survives; feedparser flattens those. A feed that is not well-formed XML falls back to
feedparser's loose parser, which recovers what it can (``bozo``) but loses per-image alt text.

Field mapping (platform -> Post):

=============== ============================================ ==============================
Post field      RSS 2.0 / RDF                                 Atom
=============== ============================================ ==============================
id              guid, else link                               id, else link
url             link (resolved against the feed URL)          link rel=alternate
created_at      pubDate, dc:date                              published, updated
text            title + content:encoded / description          title + content / summary
media           media:content, media:group, enclosure, <img>  same
links           <a href> in the content, resolved             same
=============== ============================================ ==============================

Pagination: Atom ``rel="next"`` links, else WordPress ``?paged=N`` while the oldest item on the
page is still inside the window (stopping on 404 or when a page brings nothing new). A ``?paged=N``
page that answers 404 or nothing is past the end; a page the feed's own ``rel="next"`` names that
does so has failed, and the account is partly collected with the pages before it.
"""

from __future__ import annotations

import io
import re
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urldefrag, urljoin, urlparse, urlsplit
from xml.etree.ElementTree import Element

from collectors._base import (
    AccountUnavailable,
    Archive,
    CollectionResult,
    CollectorError,
    MalformedResponse,
    NullArchive,
    UnsafeResponse,
    parse_html,
)
from collectors._http import HttpSession
from collectors._xml import UnsafeFeed as UnsafeFeed  # re-exported: the feed collectors' refusal
from collectors._xml import parse_xml as _parse_xml
from socialaudit.config import Account
from socialaudit.models import Media, Post

NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "content": "http://purl.org/rss/1.0/modules/content/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "media": "http://search.yahoo.com/mrss/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rss1": "http://purl.org/rss/1.0/",
    "yt": "http://www.youtube.com/xml/schemas/2015",
}
MAX_PAGES = 20
CREDENTIALS = False  # public feeds: collect() never reads credentials (collectors._base.takes_credentials)
IMAGE_EXT = re.compile(r"\.(jpe?g|png|gif|webp|avif|heic)(\?|$)", re.I)
VIDEO_EXT = re.compile(r"\.(mp4|mov|webm|m4v)(\?|$)", re.I)


def collect(account: Account, *, school: str, session: HttpSession, since: datetime, until: datetime,
            base_url: str | None = None, credentials: dict[str, Any] | None = None,
            archive: Archive | None = None) -> CollectionResult:
    """Collect a feed's items published in [since, until)."""
    feed_url = base_url or getattr(account, "url", "") or str(account)
    account_key = getattr(account, "key", feed_url)
    archive = archive or NullArchive()
    result = CollectionResult()
    seen: set[str] = set()
    url: str | None = feed_url
    guessed = False  # the page's address is WordPress's ?paged=N, not a next link the feed gave
    page = 1
    while url and page <= MAX_PAGES:
        try:
            response = session.get(url)
            if guessed and (response.status == 404 or (response.status < 400 and not response.body.strip())):
                break  # ran past the last WordPress page (some answer 404, some an empty 200)
            # a 404 or an empty page where the feed's own rel="next" pointed is a page that failed (below)
            if response.status in (401, 403, 404, 410):
                raise AccountUnavailable(f"feed {feed_url} answered HTTP {response.status}")
            if response.status >= 400:
                raise AccountUnavailable(f"feed {feed_url} answered HTTP {response.status}")
            archive.save_raw(platform="rss", account=account_key, page=page, url=url, body=response.body,
                             content_type=response.content_type)
            result.pages += 1
            items, next_url, oldest = parse_feed(response.body, feed_url=response.url or url, account=account_key,
                                                 school=school, platform="rss", result=result)
        except CollectorError as exc:
            if page == 1:
                raise
            # Partial is not nothing: the pages already parsed are kept, and the account says why it stopped.
            result.stop(f"page {page} failed: {exc}", exc)
            break
        new = 0
        for post in items:
            if post.id in seen:
                continue
            seen.add(post.id)
            new += 1
            if since <= post.created_at < until:
                result.posts.append(post)
        if not new:
            break
        if next_url:
            url, guessed = next_url, False
        elif oldest is not None and oldest >= since and len(items) >= 5:
            url, guessed = _with_page(feed_url, page + 1), True
        else:
            url = None
        page += 1
    result.posts.sort(key=lambda p: p.created_at)
    return result


def _with_page(url: str, page: int) -> str:
    parsed = urlparse(url)
    query = re.sub(r"(^|&)paged=\d+", "", parsed.query).strip("&")
    query = f"{query}&paged={page}" if query else f"paged={page}"
    return parsed._replace(query=query).geturl()


def parse_feed(body: bytes, *, feed_url: str, account: str, school: str, platform: str = "rss",
               result: CollectionResult | None = None) -> tuple[list[Post], str | None, datetime | None]:
    """Parse a feed body into posts; returns (posts, next page URL, oldest item date).

    Malformed items are skipped and noted in ``result``; a document that is not well-formed XML falls
    back to feedparser. Raises MalformedResponse for an empty body or a document that is no feed, and
    UnsafeFeed for refused entity declarations; nothing else in the content raises.
    """
    result = result if result is not None else CollectionResult()
    if not body.strip():  # a 200 with nothing in it is a broken feed, not a quiet week
        raise MalformedResponse(f"{feed_url}: empty response body (not a feed)")
    root = _parse_xml(body)
    if root is None:
        try:
            return _parse_loose(body, feed_url=feed_url, account=account, school=school, platform=platform,
                                result=result)
        except RecursionError:
            raise UnsafeResponse(f"{feed_url}: the document is nested too deeply to read") from None
    base = root.get("{http://www.w3.org/XML/1998/namespace}base") or feed_url
    posts: list[Post] = []
    next_url: str | None = None
    tag = _local(root.tag)
    if tag == "feed":  # Atom
        for link in root.findall("atom:link", NS):
            if link.get("rel") == "next" and link.get("href"):
                next_url = urljoin(base, link.get("href", ""))
        entries = root.findall("atom:entry", NS)
        parse = _atom_entry
    elif tag == "rss":
        channel = root.find("channel")
        entries = channel.findall("item") if channel is not None else []
        if channel is not None:
            for link in channel.findall("atom:link", NS):
                if link.get("rel") == "next" and link.get("href"):
                    next_url = urljoin(base, link.get("href", ""))
        parse = _rss_item
    elif tag == "RDF":
        entries = root.findall("rss1:item", NS)
        parse = _rss_item
    else:
        return _parse_loose(body, feed_url=feed_url, account=account, school=school, platform=platform, result=result)
    oldest: datetime | None = None
    for index, entry in enumerate(entries):
        try:
            post = parse(entry, base=base, account=account, school=school, platform=platform)
        except ValueError as exc:
            result.skip(f"item {index + 1}: {exc}")
            continue
        except RecursionError:  # content nested deeper than Python's stack: that item only
            result.skip(f"item {index + 1}: its content is nested too deeply to read")
            continue
        posts.append(post)
        oldest = post.created_at if oldest is None else min(oldest, post.created_at)
    return posts, next_url, oldest


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _text(element: Element | None) -> str:
    if element is None:
        return ""
    return "".join(element.itertext()).strip()


def _find_text(entry: Element, *paths: str) -> str:
    for path in paths:
        value = _text(entry.find(path, NS))
        if value:
            return value
    return ""


def parse_date(value: str) -> datetime | None:
    """RFC 822 (RSS), RFC 3339 (Atom) and a few common deviations, as UTC; None when unparseable or
    outside 1990-2100 (a hostile "9999-12-31T23:00:00-05:00" overflows when moved to UTC)."""
    try:
        found = _parse_date_text(value.strip())
    except (OverflowError, ValueError, TypeError, IndexError):
        return None
    return found if found is not None and 1990 <= found.year <= 2100 else None


def _parse_date_text(value: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
        if parsed is not None:
            return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
    except (TypeError, ValueError, IndexError):
        pass
    text = value.replace("Z", "+00:00").replace("z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
    except ValueError:
        pass
    m = _YMD.match(value) or _DMY.match(value)
    if m:  # 2026/11/23, 2026.11.23 10:00, 23/11/2026 (day first, as UK sites write it)
        parts = m.groupdict()
        return datetime(int(parts["y"]), int(parts["m"]), int(parts["d"]), int(parts["H"] or 0),
                        int(parts["M"] or 0), min(int(parts["S"] or 0), 59), tzinfo=timezone.utc)  # 2026/02/30: ValueError
    from feedparser.datetimes import _parse_date  # its handlers cover some localised forms (W3DTF, Greek, Korean...)

    try:
        struct = _parse_date(value)
        return _from_struct(struct) if struct else None
    except Exception:  # noqa: BLE001 - a third-party parser on hostile text: any failure means "no usable date"
        return None


_TIME = r"(?:[ T](?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?)?$"
_YMD = re.compile(r"(?P<y>\d{4})[/.](?P<m>\d{1,2})[/.](?P<d>\d{1,2})" + _TIME)
_DMY = re.compile(r"(?P<d>\d{1,2})[/.](?P<m>\d{1,2})[/.](?P<y>\d{4})" + _TIME)


def _from_struct(struct: Any) -> datetime:
    """A UTC datetime from a time.struct_time (feedparser's parsed dates); ValueError if impossible."""
    year, month, day, hour, minute, second = (int(part) for part in tuple(struct)[:6])
    return datetime(year, month, day, hour, minute, min(second, 59), tzinfo=timezone.utc)


# Hosts (and path prefixes) of the invisible images that feeds append to every item to count readers.
_TRACKER_HOSTS = {"stats.wordpress.com": "/", "pixel.wp.com": "/", "feeds.feedburner.com": "/~r/",
                  "feeds.feedblitz.com": "/", "www.google-analytics.com": "/", "medium.com": "/_/stat"}
_SPACER_FILES = frozenset(f"{stem}.{ext}" for stem in ("pixel", "spacer", "blank", "tracker", "beacon", "1x1", "clear")
                          for ext in ("gif", "png"))
_LAZY_ATTRIBUTES = ("data-src", "data-lazy-src", "data-original")


def is_tracking_pixel(url: str, width: object = None, height: object = None) -> bool:
    """A spacer or tracking image: drawn 1x1 or smaller, served by a known reader-counting host, or a
    file named like a spacer ("spacer.gif"). Only the URL's host and the last part of its path are read
    (never the query), so a hostile URL costs one parse."""
    def tiny(value: object) -> bool:
        text = str(value).strip().lower().removesuffix("px") if value is not None else ""
        return text.isdigit() and int(text) <= 1

    if tiny(width) and tiny(height):
        return True
    if len(url) > 2048:
        return False
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return False
    prefix = _TRACKER_HOSTS.get(host)
    if prefix is not None and parts.path.startswith(prefix):
        return True
    return parts.path.rsplit("/", 1)[-1] in _SPACER_FILES  # exact name: "Pixel-art.png" is a picture


def _image_source(img: Any) -> str:
    """An image's real address: a lazy-loading page puts a placeholder in src and the photo in data-src."""
    src = str(img.get("src") or "").strip()
    lazy = next((str(img.get(a)).strip() for a in _LAZY_ATTRIBUTES if img.get(a)), "")
    if lazy and (not src or src.startswith("data:") or is_tracking_pixel(src)):
        return lazy
    return src


def html_to_text_media_links(html: str, base: str) -> tuple[str, list[Media], list[str]]:
    """Plain text, images (with alt) and outbound links from an HTML fragment.

    The HTML a blog writes in its feed (paragraphs, figures, images, links, lists and emphasis, nested
    properly) is read by ``_simple_html`` in one pass, which gives what BeautifulSoup gives
    (tests/collectors/test_rss_html.py compares the two on every shape); anything else, hostile or unusual
    (scripts, embedded video, comments, odd entities), goes through BeautifulSoup.
    """
    simple = _simple_html(html)
    if simple is None:
        return _soup_text_media_links(html, base)
    text, images, hrefs = simple
    media = [photo for photo in (_photo(img, base) for img in images) if photo is not None]
    links: list[str] = []
    for href in hrefs:
        _add_link(links, href, base)
    return text, media, links


def _photo(img: Any, base: str) -> Media | None:
    """An image (a BeautifulSoup tag, or ``_simple_html``'s attributes) as a photo; None for a tracking pixel."""
    src = _image_source(img)
    url = urljoin(base, src) if src else ""
    if is_tracking_pixel(url, img.get("width"), img.get("height")):
        return None  # a 1x1 tracker (Medium, FeedBurner, WordPress stats) is not a photo
    alt = img.get("alt")
    return Media(type="photo", url=url, alt=None if alt is None else str(alt).strip())


def _add_link(links: list[str], href: object, base: str) -> None:
    href = str(href).strip()
    if not href or href.startswith(("#", "mailto:", "tel:", "javascript:", "data:")):
        return
    absolute = urldefrag(urljoin(base, href))[0]
    if absolute not in links:
        links.append(absolute)


def _soup_text_media_links(html: str, base: str) -> tuple[str, list[Media], list[str]]:
    """``html_to_text_media_links`` by BeautifulSoup, for any HTML."""
    soup = parse_html(html)
    for tag in soup(["script", "style"]):
        tag.decompose()
    media = [photo for photo in (_photo(img, base) for img in soup.find_all("img")) if photo is not None]
    for video in soup.find_all(["video", "iframe"]):
        video_src = str(video.get("src") or "")
        if video.name == "iframe" and not re.search(r"youtube|vimeo|video", video_src):
            continue
        media.append(Media(type="video", url=urljoin(base, video_src) if video_src else "",
                           alt=str(video["title"]) if video.get("title") else None))
    links: list[str] = []
    for anchor in soup.find_all("a", href=True):
        _add_link(links, anchor["href"], base)
    text = soup.get_text(" ", strip=True)
    return re.sub(r"\s+", " ", text), media, links


# The subset of HTML read without BeautifulSoup: these tags, lower-case, attributes double-quoted with no "<" or
# ">" in the value (whose entities Python's HTML parser decodes, as html.unescape does); text holding no "<", and
# "&" only in these entities. Anything else: None, and BeautifulSoup reads it.
MAX_SIMPLE_DEPTH = 32  # tags open at once in the HTML read without BeautifulSoup
_SIMPLE_TAGS = frozenset("p div span a img br hr figure figcaption strong em b i u ul ol li h1 h2 h3 h4 h5 h6 "
                         "blockquote".split())
_SIMPLE_VOID = frozenset({"img", "br", "hr"})
_SIMPLE_TAG = re.compile(r'<(/?)([a-z][a-z0-9]*)((?:[ \t\n]+[a-z][a-z-]*="[^"<>]*")*)[ \t\n]*(/?)>')
_SIMPLE_ATTR = re.compile(r'([a-z][a-z-]*)="([^"<>]*)"')
_SIMPLE_TEXT = re.compile(r"[^<&]+")
_SIMPLE_ENTITY = re.compile(r"&(amp|lt|gt|quot|nbsp|#[0-9]{1,7}|#x[0-9a-f]{1,6});")
_ENTITY_CHAR = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "nbsp": "\u00a0"}


def _entity(name: str) -> str | None:
    """An entity's character as BeautifulSoup decodes it, for those read here; None for the others."""
    if not name.startswith("#"):
        return _ENTITY_CHAR[name]
    code = int(name[2:], 16) if name.startswith("#x") else int(name[1:])
    # printable ASCII, and Latin-1 up: below 256 BeautifulSoup reads the number as Windows-1252, which agrees there
    if 0x20 <= code <= 0x7E or 0xA0 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD:
        return chr(code)
    return None


def _simple_html(html: str) -> tuple[str, list[dict[str, str]], list[str]] | None:
    """(text, each image's attributes, each link's href) as ``_soup_text_media_links`` reads them, in one pass
    without building a tree (BeautifulSoup was most of a feed's parsing); None when ``html`` is not of that kind."""
    from html import unescape

    texts: list[str] = []  # the text between tags (BeautifulSoup's strings), entities decoded
    piece: list[str] = []
    images: list[dict[str, str]] = []
    hrefs: list[str] = []
    open_tags: list[str] = []
    at, end = 0, len(html)
    while at < end:
        char = html[at]
        if char == "<":
            tag = _SIMPLE_TAG.match(html, at)
            if tag is None:
                return None
            closing, name, attributes, slash = tag.groups()
            if name not in _SIMPLE_TAGS:
                return None
            at = tag.end()
            if piece:
                texts.append("".join(piece))
                piece = []
            if closing:
                if attributes or slash or name in _SIMPLE_VOID or not open_tags or open_tags[-1] != name:
                    return None  # not nested properly: the tree BeautifulSoup builds decides
                open_tags.pop()
                continue
            found = _SIMPLE_ATTR.findall(attributes)
            values = {key: unescape(value) for key, value in found}
            if len(values) != len(found):
                return None  # a repeated attribute
            if name in _SIMPLE_VOID:
                if name == "img":
                    images.append(values)
                continue
            if slash or len(open_tags) >= MAX_SIMPLE_DEPTH:
                return None
            open_tags.append(name)
            if name == "a" and "href" in values:
                hrefs.append(values["href"])
        elif char == "&":
            entity = _SIMPLE_ENTITY.match(html, at)
            decoded = _entity(entity.group(1)) if entity is not None else None
            if entity is None or decoded is None:
                return None
            piece.append(decoded)
            at = entity.end()
        else:
            text = _SIMPLE_TEXT.match(html, at)
            assert text is not None  # char is neither "<" nor "&"
            piece.append(text.group())
            at = text.end()
    if open_tags:
        return None
    if piece:
        texts.append("".join(piece))
    joined = " ".join(stripped for stripped in (t.strip() for t in texts) if stripped)
    return re.sub(r"\s+", " ", joined), images, hrefs


def _media_elements(entry: Element, base: str) -> list[Media]:
    media: list[Media] = []
    contents = entry.findall("media:content", NS) + entry.findall("media:group/media:content", NS)
    group_desc = _find_text(entry, "media:group/media:description")
    for content in contents:
        url = urljoin(base, content.get("url", ""))
        medium = content.get("medium") or ""
        mime = content.get("type") or ""
        if medium == "image" or mime.startswith("image/") or (not medium and IMAGE_EXT.search(url)):
            kind = "photo"
        elif medium == "video" or mime.startswith("video/") or VIDEO_EXT.search(url):
            kind = "video"
        else:
            kind = "other"
        alt = _find_text(content, "media:description", "media:title") or group_desc or None
        media.append(Media(type=kind, url=url, alt=alt))
    if not media:
        for thumb in entry.findall("media:thumbnail", NS) + entry.findall("media:group/media:thumbnail", NS):
            media.append(Media(type="photo", url=urljoin(base, thumb.get("url", "")), alt=group_desc or None))
            break
    for enclosure in entry.findall("enclosure"):
        mime = enclosure.get("type") or ""
        url = urljoin(base, enclosure.get("url", ""))
        if mime.startswith("image/") or IMAGE_EXT.search(url):
            media.append(Media(type="photo", url=url, alt=None))
        elif mime.startswith("video/") or VIDEO_EXT.search(url):
            media.append(Media(type="video", url=url, alt=None))
    return media


def _merge_media(first: list[Media], second: list[Media]) -> tuple[Media, ...]:
    merged: list[Media] = []
    urls: set[str] = set()
    for item in first + second:
        if item.url and item.url in urls:
            continue
        urls.add(item.url)
        merged.append(item)
    return tuple(merged)


def _build(*, entry_id: str, link: str, date_text: str, title: str, html: str, base: str, extra_media: list[Media],
           account: str, school: str, platform: str) -> Post:
    created = parse_date(date_text)
    if created is None:
        raise ValueError(f"no usable date ({date_text!r})" if date_text else "no date")
    item_base = link or base
    body_text, html_media, links = html_to_text_media_links(html, item_base) if html else ("", [], [])
    if title and body_text.startswith(title):
        text = body_text
    else:
        text = " ".join(part for part in (title, body_text) if part)
    post_id = entry_id or link
    if not post_id:
        raise ValueError("no guid, id or link")
    permalink = link or (entry_id if entry_id.startswith("http") else "")
    links = [url for url in links if url != permalink and not IMAGE_EXT.search(url)]
    return Post(platform=platform, account=account, school=school, id=post_id, url=permalink, created_at=created,
                text=text, media=_merge_media(extra_media, html_media), links=tuple(links))


def _rss_item(entry: Element, *, base: str, account: str, school: str, platform: str) -> Post:
    ns_rss1 = NS["rss1"]
    link = _text(entry.find("link")) or _text(entry.find(f"{{{ns_rss1}}}link"))
    link = urljoin(base, link) if link else ""
    guid = _text(entry.find("guid")) or entry.get(f"{{{NS['rdf']}}}about", "")
    title = _text(entry.find("title")) or _text(entry.find(f"{{{ns_rss1}}}title"))
    html = _find_text(entry, "content:encoded") or _text(entry.find("description")) or _text(entry.find(f"{{{ns_rss1}}}description"))
    date_text = _text(entry.find("pubDate")) or _find_text(entry, "dc:date", "atom:published", "atom:updated")
    return _build(entry_id=guid, link=link, date_text=date_text, title=title, html=html, base=base,
                  extra_media=_media_elements(entry, link or base), account=account, school=school, platform=platform)


def _atom_entry(entry: Element, *, base: str, account: str, school: str, platform: str) -> Post:
    base = entry.get("{http://www.w3.org/XML/1998/namespace}base") or base
    link = ""
    for candidate in entry.findall("atom:link", NS):
        if candidate.get("rel", "alternate") == "alternate" and candidate.get("href"):
            link = urljoin(base, candidate.get("href", ""))
            break
    content = entry.find("atom:content", NS)
    if content is None:
        content = entry.find("atom:summary", NS)
    html = ""
    if content is not None:
        if content.get("type") == "xhtml":
            from xml.etree.ElementTree import tostring

            html = "".join(tostring(child, encoding="unicode") for child in content)
        else:
            html = content.text or ""
            if content.get("type", "text") == "text":
                from html import escape

                html = escape(html)
    description = _find_text(entry, "media:group/media:description")
    if not html and description:
        from html import escape

        html = escape(description)
    return _build(entry_id=_find_text(entry, "atom:id"), link=link,
                  date_text=_find_text(entry, "atom:published", "atom:updated"), title=_find_text(entry, "atom:title"),
                  html=html, base=base, extra_media=_media_elements(entry, link or base), account=account,
                  school=school, platform=platform)


def _parse_loose(body: bytes, *, feed_url: str, account: str, school: str, platform: str,
                 result: CollectionResult) -> tuple[list[Post], str | None, datetime | None]:
    """feedparser's forgiving parser for feeds that are not well-formed XML."""
    import feedparser

    parsed = feedparser.parse(io.BytesIO(body), response_headers={"content-location": feed_url})
    if not parsed.entries and parsed.get("bozo"):
        exc = parsed.get("bozo_exception")
        raise MalformedResponse(f"{feed_url}: not a feed ({type(exc).__name__ if exc else 'unrecognised'})")
    posts: list[Post] = []
    oldest: datetime | None = None
    for index, entry in enumerate(parsed.entries):
        try:
            struct = entry.get("published_parsed") or entry.get("updated_parsed")
            date_text = "" if struct else (entry.get("published") or entry.get("updated") or "")
            html = ""
            if entry.get("content"):
                html = entry["content"][0].get("value", "")
            html = html or entry.get("summary", "")
            link = entry.get("link", "")
            if struct:
                created = _from_struct(struct)
                date_text = created.isoformat()
            post = _build(entry_id=str(entry.get("id") or ""), link=str(link), date_text=date_text,
                          title=str(entry.get("title", "")), html=str(html), base=feed_url,
                          extra_media=[], account=account, school=school, platform=platform)
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            result.skip(f"item {index + 1}: {exc}")
            continue
        posts.append(post)
        oldest = post.created_at if oldest is None else min(oldest, post.created_at)
    return posts, None, oldest
