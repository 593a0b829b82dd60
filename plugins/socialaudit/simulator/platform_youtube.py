"""Simulated YouTube under ``/youtube``: the channel feed and the Data API v3.

- ``/youtube/feeds/videos.xml?channel_id=UC...``: Atom with ``yt:`` and ``media:`` namespaces, the 15
  newest uploads, no paging (as the real feed);
- ``/youtube/youtube/v3/channels?part=contentDetails&id=UC...`` (or ``forHandle=@name``) and
  ``/youtube/youtube/v3/playlistItems?part=snippet,contentDetails&playlistId=UU...&maxResults=50&pageToken=``,
  with ``nextPageToken`` paging. A ``key`` starting with ``bad`` is refused as the real API refuses a
  bad key (400 ``API key not valid``); the "quota" fault answers 403 ``quotaExceeded``.

Every video of an account is one of its simulated posts (title, description with plain-text links).
"""

from __future__ import annotations

import base64
from html import escape
from typing import Any

from socialaudit.simulator import social
from socialaudit.simulator.dataset import Profile, SimPost
from socialaudit.simulator.server import SimRequest, SimResponse, json_response, route

FEED_SIZE = 15


def channel_id(slug: str) -> str:
    value = social.stable_int("youtube-channel", slug, bits=132)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return "UC" + "".join(alphabet[(value >> (6 * i)) & 63] for i in range(22))


def video_id(post: SimPost) -> str:
    return base64.urlsafe_b64encode(social.stable_int("video", post.id, bits=64).to_bytes(8, "big")).decode()[:11]


def _find_channel(request: SimRequest, wanted: str) -> tuple[str, Profile] | None:
    return social.by_key(request.sim, "youtube-channel",
                         lambda slug, _profile: (channel_id(slug), "UU" + channel_id(slug)[2:]), wanted)


def _description(post: SimPost) -> str:
    text = post.text
    for link in post.links:
        text += f"\nMore: {link}"
    return text


def _api_error(code: int, reason: str, message: str, domain: str = "global") -> SimResponse:
    return json_response({"error": {"code": code, "message": message,
                                    "errors": [{"message": message, "domain": domain, "reason": reason}]}}, status=code)


def _fault(request: SimRequest, profile: Profile, *, api: bool) -> SimResponse | None:
    if api and profile.fault == "quota":
        return _api_error(403, "quotaExceeded", 'The request cannot be completed because you have exceeded your '
                          '<a href="/youtube/v3/getting-started#quota">quota</a>.', "youtube.quota")
    not_found = (_api_error(404, "playlistNotFound", "The playlist identified with the request's playlistId parameter cannot be found.")
                 if api else SimResponse(status=404, body=b"<html><body>Not Found</body></html>", content_type="text/html"))
    return social.fault(profile, "youtube", f"{request.sim.url}{request.path}?{sorted(request.query.items())}",
                        unauthorized={"error": {"code": 401, "message": "Request is missing required authentication credential."}},
                        not_found=not_found)


def _videos(request: SimRequest, slug: str) -> list[SimPost]:
    return [p for p in social.timeline(request.sim, slug) if not p.is_reply and not p.is_repost]


@route("GET", r"/youtube/feeds/videos\.xml")
def feed(request: SimRequest) -> SimResponse:
    found = _find_channel(request, request.query.get("channel_id", ""))
    if found is None:
        return SimResponse(status=404, body=b"<html><body>Not Found</body></html>", content_type="text/html")
    slug, profile = found
    broken = _fault(request, profile, api=False)
    if broken is not None:
        return broken
    cid = channel_id(slug)
    entries = []
    for post in _videos(request, slug)[:FEED_SIZE]:
        vid = video_id(post)
        title = escape(post.title or post.text[:60])
        published = post.created_at.strftime("%Y-%m-%dT%H:%M:%S+00:00")
        entries.append(f""" <entry>
  <id>yt:video:{vid}</id>
  <yt:videoId>{vid}</yt:videoId>
  <yt:channelId>{cid}</yt:channelId>
  <title>{title}</title>
  <link rel="alternate" href="https://www.youtube.com/watch?v={vid}"/>
  <author><name>{escape(profile.school_name)}</name><uri>https://www.youtube.com/channel/{cid}</uri></author>
  <published>{published}</published>
  <updated>{published}</updated>
  <media:group>
   <media:title>{title}</media:title>
   <media:content url="https://www.youtube.com/v/{vid}?version=3" type="application/x-shockwave-flash" width="640" height="390"/>
   <media:thumbnail url="https://i1.ytimg.com/vi/{vid}/hqdefault.jpg" width="480" height="360"/>
   <media:description>{escape(_description(post))}</media:description>
   <media:community><media:starRating count="12" average="5.00" min="1" max="5"/><media:statistics views="341"/></media:community>
  </media:group>
 </entry>
""")
    if profile.fault == "bad-item" and entries:
        head, rest = entries[0].split("<published>", 1)
        entries[0] = head + "<published>not a date</published>" + rest.split("</published>", 1)[1]
    body = f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns:yt="http://www.youtube.com/xml/schemas/2015" xmlns:media="http://search.yahoo.com/mrss/" xmlns="http://www.w3.org/2005/Atom">
 <link rel="self" href="http://www.youtube.com/feeds/videos.xml?channel_id={cid}"/>
 <id>yt:channel:{cid[2:]}</id>
 <yt:channelId>{cid[2:]}</yt:channelId>
 <title>{escape(profile.school_name)}</title>
 <link rel="alternate" href="https://www.youtube.com/channel/{cid}"/>
 <author><name>{escape(profile.school_name)}</name><uri>https://www.youtube.com/channel/{cid}</uri></author>
 <published>2019-09-02T08:00:00+00:00</published>
{"".join(entries)}</feed>
"""
    return SimResponse(body=body.encode(), content_type="application/atom+xml; charset=UTF-8")


def _key_problem(request: SimRequest) -> SimResponse | None:
    key = request.query.get("key", "")
    if not key:
        return _api_error(403, "forbidden", "Method doesn't allow unregistered callers (callers without established identity). "
                          "Please use API Key or other form of API consumer identity to call this API.")
    if key.startswith("bad"):
        return _api_error(400, "badRequest", "API key not valid. Please pass a valid API key.")
    return None


@route("GET", r"/youtube/youtube/v3/channels")
def channels(request: SimRequest) -> SimResponse:
    refused = _key_problem(request)
    if refused is not None:
        return refused
    found = None
    if request.query.get("id"):
        found = _find_channel(request, request.query["id"])
    elif request.query.get("forHandle"):
        found = social.find(request.sim, request.query["forHandle"])
    body: dict[str, Any] = {"kind": "youtube#channelListResponse", "etag": "fictEtag",
                            "pageInfo": {"totalResults": 0, "resultsPerPage": 5}}
    if found is None or found[1].fault == "unknown":
        return json_response(body)  # an unknown channel or handle is a 200 with no items
    slug, profile = found
    broken = _fault(request, profile, api=True)
    if broken is not None:
        return broken
    cid = channel_id(slug)
    body["pageInfo"]["totalResults"] = 1
    body["items"] = [{"kind": "youtube#channel", "etag": "fictEtagC", "id": cid,
                      "contentDetails": {"relatedPlaylists": {"likes": "", "uploads": "UU" + cid[2:]}}}]
    return json_response(body)


@route("GET", r"/youtube/youtube/v3/playlistItems")
def playlist_items(request: SimRequest) -> SimResponse:
    refused = _key_problem(request)
    if refused is not None:
        return refused
    found = _find_channel(request, request.query.get("playlistId", ""))
    if found is None:
        return _api_error(404, "playlistNotFound", "The playlist identified with the request's playlistId parameter cannot be found.")
    slug, profile = found
    broken = _fault(request, profile, api=True)
    if broken is not None:
        return broken
    try:
        size = min(50, max(0, int(request.query.get("maxResults", "5"))))
        start = int(base64.urlsafe_b64decode(request.query["pageToken"] + "==").decode()) if request.query.get("pageToken") else 0
    except (ValueError, UnicodeDecodeError):
        return _api_error(400, "invalidPageToken", "The request specifies an invalid page token.")
    videos = _videos(request, slug)
    cid = channel_id(slug)
    items = []
    for n, post in enumerate(videos[start:start + size]):
        vid = video_id(post)
        published = post.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        items.append({"kind": "youtube#playlistItem", "etag": f"fictEtag{vid}",
                      "id": base64.urlsafe_b64encode(f"UU{cid[2:]}.{vid}".encode()).decode().rstrip("="),
                      "snippet": {"publishedAt": published, "channelId": cid,
                                  "title": post.title or post.text[:60], "description": _description(post),
                                  "thumbnails": {"high": {"url": f"https://i.ytimg.com/vi/{vid}/hqdefault.jpg", "width": 480, "height": 360}},
                                  "channelTitle": profile.school_name, "playlistId": "UU" + cid[2:], "position": start + n,
                                  "resourceId": {"kind": "youtube#video", "videoId": vid},
                                  "videoOwnerChannelTitle": profile.school_name, "videoOwnerChannelId": cid},
                      "contentDetails": {"videoId": vid, "videoPublishedAt": "yesterday" if profile.fault == "bad-item" and n == 1 else published}})
    body: dict[str, Any] = {"kind": "youtube#playlistItemListResponse", "etag": "fictEtag", "items": items,
                            "pageInfo": {"totalResults": len(videos), "resultsPerPage": size}}
    if start + size < len(videos):
        body["nextPageToken"] = base64.urlsafe_b64encode(str(start + size).encode()).decode().rstrip("=")
    return json_response(body)
