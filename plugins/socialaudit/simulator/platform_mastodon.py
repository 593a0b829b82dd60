"""Simulated Mastodon instances under ``/mastodon`` (one instance) or ``/mastodon/<instance>`` (several).

Real paths and shapes of Mastodon's public REST API: ``/api/v1/accounts/lookup?acct=``,
``/api/v1/accounts/{id}/statuses`` (``limit`` up to 40, ``max_id``, ``Link`` header paging) and
``/api/v1/statuses/{id}/context``. Ids are numeric strings that sort by time, as Mastodon's
snowflakes do. Every answer carries ``X-RateLimit-*`` headers (Reset as ISO 8601) counted per
instance; faults come from the account's profile.
"""

from __future__ import annotations

import time
from html import escape
from typing import Any

from socialaudit.simulator import social
from socialaudit.simulator.dataset import Profile, SimPost
from socialaudit.simulator.server import SimRequest, SimResponse, json_response, route

PREFIX = r"/mastodon(?:/(?P<inst>i-[a-z0-9-]+))?/api/v1"
INSTANCE_DOMAIN = "mastodon.example"


def _limit(request: SimRequest) -> tuple[dict[str, str], SimResponse | None]:
    inst = request.match.group("inst") or "default"
    limit, remaining, reset, exceeded = social.window(request.sim, f"mastodon:{inst}", "mastodon")
    if exceeded:
        return {}, social.too_many("mastodon", reset - time.time(), limit)
    return social.limit_headers("mastodon", limit, remaining, reset), None


def _root(request: SimRequest) -> str:
    host = request.headers.get("host", "127.0.0.1")
    inst = request.match.group("inst")
    return f"http://{host}/mastodon" + (f"/{inst}" if inst else "")


def account_id(slug: str) -> str:
    return str(109000000000000000 + social.stable_int("mastodon-account", slug, bits=40))


def status_id(post: SimPost) -> str:
    # Mastodon snowflakes: milliseconds since the epoch in the high bits, a sequence in the low 16.
    return str((int(post.created_at.timestamp() * 1000) << 16) | social.stable_int(post.id, bits=16))


def _username(slug: str, profile: Profile) -> str:
    return (profile.handle or slug).lstrip("@").split("@", 1)[0]


def _account_json(slug: str, profile: Profile) -> dict[str, Any]:
    username = _username(slug, profile)
    return {"id": account_id(slug), "username": username, "acct": username, "display_name": profile.school_name,
            "locked": False, "bot": False, "url": f"https://{INSTANCE_DOMAIN}/@{username}",
            "created_at": "2024-09-02T00:00:00.000Z", "note": f"<p>News from {escape(profile.school_name)} (fictional)</p>",
            "followers_count": 120, "following_count": 12, "statuses_count": 400}


def _by_account_id(request: SimRequest, wanted: str) -> tuple[str, Profile] | None:
    return social.by_key(request.sim, "mastodon-account", lambda slug, _profile: (account_id(slug),), wanted)


def _fault(request: SimRequest, profile: Profile) -> SimResponse | None:
    return social.fault(profile, "mastodon", f"{request.sim.url}{request.path}?{sorted(request.query.items())}",
                        not_found=json_response({"error": "Record not found"}, status=404))


def _content(post: SimPost, *, crosspost: bool = False) -> str:
    html = f"<p>{escape(post.title)}</p>" if post.title else ""
    html += f"<p>{escape(post.text)}</p>"
    for link in post.links:
        shown = link.split("://", 1)[-1]
        html += (f'<p>More: <a href="{escape(link)}" target="_blank" rel="nofollow noopener" translate="no">'
                 f'<span class="invisible">https://</span><span class="ellipsis">{escape(shown[:30])}</span>'
                 f'<span class="invisible">{escape(shown[30:])}</span></a></p>')
    if not crosspost:  # a website's auto-poster adds no hashtags; people do
        html += (f'<p><a href="https://{INSTANCE_DOMAIN}/tags/SchoolLife" class="mention hashtag" rel="tag">#<span>SchoolLife</span></a>'
                 f' <span class="h-card"><a href="https://{INSTANCE_DOMAIN}/@diocese" class="u-url mention">@<span>diocese</span></a></span></p>')
    return html


def _status(slug: str, profile: Profile, post: SimPost, *, broken: bool = False) -> dict[str, Any]:
    username = _username(slug, profile)
    sid = status_id(post)
    media: list[dict[str, Any]] = [{"id": f"{sid}{n}", "type": "image" if m.type == "photo" else "video", "url": m.url,
              "preview_url": m.url, "remote_url": None, "description": m.alt, "blurhash": None, "meta": {}}
             for n, m in enumerate(post.media)]
    created = post.created_at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    status: dict[str, Any] = {
        "id": sid, "created_at": "not a date" if broken else created,
        "in_reply_to_id": str(int(sid) - 7) if post.is_reply else None,
        "in_reply_to_account_id": "109000000000000001" if post.is_reply else None,
        "sensitive": False, "spoiler_text": "", "visibility": "public", "language": "en",
        "uri": f"https://{INSTANCE_DOMAIN}/users/{username}/statuses/{sid}",
        "url": f"https://{INSTANCE_DOMAIN}/@{username}/{sid}",
        "replies_count": len(social.comments_for(post)), "reblogs_count": 1, "favourites_count": 9, "edited_at": None,
        "content": _content(post, crosspost=bool(profile.crosspost_of)), "reblog": None, "account": _account_json(slug, profile),
        "media_attachments": media, "mentions": [], "tags": [{"name": "schoollife", "url": f"https://{INSTANCE_DOMAIN}/tags/schoollife"}],
        "emojis": [], "card": None, "poll": None,
    }
    if post.links:
        status["card"] = {"url": post.links[0], "title": "Link", "description": "", "type": "link", "image": None}
    if post.is_repost:
        original = dict(status, id=str(int(sid) - 3), account={**_account_json("diocese", profile), "username": "diocese",
                                                                 "acct": "diocese@diocese-of-northmoor.example.org",
                                                                 "display_name": "Diocese of Northmoor (fictional)",
                                                                 "url": "https://diocese-of-northmoor.example.org/@diocese"},
                        url=f"https://diocese-of-northmoor.example.org/@diocese/{int(sid) - 3}", replies_count=0)
        status.update(content="", media_attachments=[], card=None, reblog=original, url=None,
                      uri=f"https://{INSTANCE_DOMAIN}/users/{username}/statuses/{sid}/activity")
    return status


@route("GET", PREFIX + r"/accounts/lookup")
def lookup(request: SimRequest) -> SimResponse:
    headers, limited = _limit(request)
    if limited:
        return limited
    found = social.find(request.sim, request.query.get("acct", ""))
    if found is None:
        return json_response({"error": "Record not found"}, status=404, headers=headers)
    slug, profile = found
    broken = _fault(request, profile)
    if broken is not None:
        return broken
    return json_response(_account_json(slug, profile), headers=headers)


@route("GET", PREFIX + r"/accounts/(?P<id>\d+)/statuses")
def statuses(request: SimRequest) -> SimResponse:
    headers, limited = _limit(request)
    if limited:
        return limited
    found = _by_account_id(request, request.match.group("id"))
    if found is None:
        return json_response({"error": "Record not found"}, status=404, headers=headers)
    slug, profile = found
    broken = _fault(request, profile)
    if broken is not None:
        return broken
    try:
        limit = min(40, max(1, int(request.query.get("limit", "20"))))
        max_id = int(request.query["max_id"]) if request.query.get("max_id") else None
    except ValueError:
        return json_response({"error": "Invalid limit or max_id"}, status=400, headers=headers)
    posts = [p for p in social.timeline(request.sim, slug) if max_id is None or int(status_id(p)) < max_id]
    if request.query.get("exclude_replies") == "true":
        posts = [p for p in posts if not p.is_reply]
    if request.query.get("exclude_reblogs") == "true":
        posts = [p for p in posts if not p.is_repost]
    page = posts[:limit]
    index: dict[str, tuple[str, SimPost]] = request.sim.__dict__.setdefault("_mastodon_index", {})
    for post in page:
        index[status_id(post)] = (slug, post)
    body = [_status(slug, profile, p, broken=(profile.fault == "bad-item" and n == 1)) for n, p in enumerate(page)]
    if page:
        root = _root(request)
        path = f"{root}/api/v1/accounts/{account_id(slug)}/statuses"
        links = []
        if len(posts) > limit:
            links.append(f'<{path}?limit={limit}&max_id={status_id(page[-1])}>; rel="next"')
        links.append(f'<{path}?limit={limit}&min_id={status_id(page[0])}>; rel="prev"')
        headers["Link"] = ", ".join(links)
    return json_response(body, headers=headers)


@route("GET", PREFIX + r"/statuses/(?P<id>\d+)/context")
def context(request: SimRequest) -> SimResponse:
    headers, limited = _limit(request)
    if limited:
        return limited
    wanted = request.match.group("id")
    known = request.sim.__dict__.get("_mastodon_index", {}).get(wanted)
    if known is not None:  # statuses the simulator has listed; a real instance knows every one
        post = known[1]
        if post is not None:
            descendants: list[dict[str, Any]] = []
            for cid, author, text, when in social.comments_for(post):
                reply_id = str((int(when.timestamp() * 1000) << 16) | social.stable_int(cid, bits=16))
                descendants.append({
                    "id": reply_id, "created_at": when.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "in_reply_to_id": wanted,
                    "content": f"<p>{escape(text)}</p>", "spoiler_text": "", "visibility": "public",
                    "url": f"https://families.example/@{author}/{reply_id}", "reblog": None, "media_attachments": [],
                    "account": {"id": str(social.stable_int(author, bits=40)), "username": author,
                                "acct": f"{author}@families.example", "display_name": author,
                                "url": f"https://families.example/@{author}"}})
            return json_response({"ancestors": [], "descendants": descendants}, headers=headers)
    return json_response({"error": "Record not found"}, status=404, headers=headers)
