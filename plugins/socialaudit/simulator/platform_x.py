"""Simulated X API v2 under ``/x``: user lookup, user timeline, recent search, in the real shapes.

``/x/2/users/by/username/{username}``, ``/x/2/users/{id}/tweets`` (``start_time``/``end_time``,
``max_results``, ``pagination_token`` <- ``meta.next_token``) and ``/x/2/tweets/search/recent``
(``query=conversation_id:{id}``, last 7 days). Bearer token required (``social.DEMO_TOKENS["x"]``);
anything else gets the real 401 problem body.

Posts come from the data set; X's own shapes are added here: t.co links with code-point entity
offsets, an emoji right before each link, the photo's own t.co link carrying its ``media_key``,
``unwound_url`` on some links only, long posts as ``note_tweet`` (each week's first post), replies
with ``in_reply_to_user_id``, and (``Profile.reposts``) one repost a week of a fictional diocese account.

Faults (``Profile.fault``): unknown, suspended, protected (HTTP 200 with only ``errors``), 401,
402 (CreditsDepleted), 403 (client-not-enrolled), 429 (v2 body) and 429v1 (v1.1 body) with
``x-rate-limit-reset`` 15 minutes ahead, 429-once (one short 429, then fine), bad-item (a post with
an unusable ``created_at``), and the generic 500/flaky/slow/truncated/malformed.
"""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone
from typing import Any

from socialaudit.models import parse_utc
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
from socialaudit.simulator.dataset import Profile, SimMedia, SimPost, posts_between
from socialaudit.simulator.faults import generic_fault
from socialaudit.simulator.server import SimRequest, SimResponse, json_response, route

HISTORY = timedelta(weeks=60)
TWEPOCH_MS = 1288834974657
DIOCESE = {"id": "1500000000000000001", "name": "Diocese of Northmoor Schools (fictional)", "username": "NorthmoorDioFict"}
PARENT_USER = "1600000000000000002"
LONG_TAIL = (" We are so proud of how everyone worked together, listened to one another and kept going when it "
             "got tricky. Thank you to the parents and carers who helped, to our wonderful support staff, and to "
             "the children for their enthusiasm. More photos will follow in Friday's newsletter.")
_counters: dict[str, int] = {}
_conversations: dict[str, tuple[str, SimPost]] = {}  # post id -> (account slug, post), filled as timelines are served


def _problem(status: int, title: str, detail: str, kind: str = "about:blank", **extra: Any) -> SimResponse:
    body: dict[str, Any] = {"title": title, "detail": detail, "type": kind}
    if kind == "about:blank":
        body["status"] = status
    body.update(extra)
    return json_response(body, status=status, headers={"content-type": "application/problem+json"})


def _unauthorized() -> SimResponse:
    return _problem(401, "Unauthorized", "Unauthorized")


def _rate_limited(request: SimRequest, v1: bool, seconds: int = 900) -> SimResponse:
    reset = int(request.sim.now.timestamp()) + seconds
    headers = {"x-rate-limit-limit": "1500", "x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)}
    body: Any = ({"errors": [{"code": 88, "message": "Rate limit exceeded"}]} if v1 else
                 {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429})
    return json_response(body, status=429, headers=headers)


def _account_fault(request: SimRequest, slug: str, profile: Profile, *, stage: str) -> SimResponse | None:
    """The fault a profile shows at this stage ("lookup" or "timeline"), or None."""
    fault = profile.fault
    if fault == "401":
        return _unauthorized()
    if fault == "402":
        return _problem(402, "CreditsDepleted", "Your enrolled account does not have any credits to fulfill this request.",
                        "https://api.x.com/2/problems/credits")
    if fault == "403":
        return _problem(403, "Client Forbidden",
                        "When authenticating requests to the Twitter API v2 endpoints, you must use keys and tokens "
                        "from a Twitter developer App that is attached to a Project.",
                        "https://api.twitter.com/2/problems/client-forbidden", reason="client-not-enrolled",
                        registration_url="https://developer.x.com/en/docs/projects/overview")
    if fault in ("429", "429v1"):
        return _rate_limited(request, v1=fault == "429v1")
    if fault == "429-once" and stage == "timeline":
        key = f"{id(request.sim)}:{slug}:{stage}"
        _counters[key] = _counters.get(key, 0) + 1
        if _counters[key] == 1:
            return _rate_limited(request, v1=False, seconds=5)
        return None
    if stage == "lookup":
        return None
    return generic_fault(fault, stateful_key=f"{id(request.sim)}:{request.path}:{sorted(request.query.items())}",
                         counters=_counters)


@route("GET", r"/x/2/users/by/username/(?P<username>[^/]+)")
def user_by_username(request: SimRequest) -> SimResponse:
    if bearer(request.headers, {}) != DEMO_TOKENS["x"]:
        return _unauthorized()
    username = request.match.group("username")
    found = find_profile(request.sim.profiles, "x", username)
    if found is None or found[1].fault == "unknown":
        return json_response({"errors": [{
            "value": username, "detail": f"Could not find user with username: [{username}].", "title": "Not Found Error",
            "resource_type": "user", "parameter": "username", "resource_id": username,
            "type": "https://api.twitter.com/2/problems/resource-not-found"}]})
    slug, profile = found
    if profile.fault == "suspended":
        return json_response({"errors": [{
            "value": username, "detail": f"User has been suspended: [{username}].", "title": "Forbidden",
            "resource_type": "user", "parameter": "username", "resource_id": username,
            "type": "https://api.x.com/2/problems/resource-not-found"}]})
    fault = _account_fault(request, slug, profile, stage="lookup")
    if fault is not None:
        return fault
    return json_response({"data": {"id": number("x", slug, digits=19), "name": profile.school_name,
                                   "username": handle_of(slug, profile), "protected": profile.fault == "protected"}})


def snowflake(moment: datetime, salt: str) -> str:
    """An X id whose timestamp bits are ``moment``, as real ids are (so they sort by time)."""
    ms = int(moment.timestamp() * 1000)
    return str(((ms - TWEPOCH_MS) << 22) | hashed(salt, 1 << 22))


def _tco(*parts: str) -> str:
    code = base64.b32encode(number("tco", *parts, digits=14).encode()).decode().rstrip("=")[:10]
    return f"https://t.co/{code[:1].upper()}{code[1:].lower()}"


def _reposts(since: datetime, until: datetime, slug: str) -> list[SimPost]:
    """One repost a week (Tuesday 12:30 UTC) of the fictional diocese's account."""
    out = []
    day = since.replace(hour=12, minute=30, second=0, microsecond=0)
    while day < until:
        if day.weekday() == 1 and since <= day < until:
            week = day.isocalendar()
            out.append(SimPost(id=f"{slug}-rt-{week[0]}-{week[1]}", created_at=day, title="",
                               text="Applications for Reception places in our diocese's schools close on 15 January. "
                                    "Find out more:", links=("https://diocese-of-northmoor.example.org/admissions",),
                               is_repost=True))
        day += timedelta(days=1)
    return out


def build_tweet(post: SimPost, *, slug: str, profile: Profile, user_id: str) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """(tweet, its media objects, included original tweets) for one data-set post."""
    handle = handle_of(slug, profile)
    tweet_id = snowflake(post.created_at, post.id)
    long = post.id.endswith("-0")
    body = post.text + (LONG_TAIL if long else "")
    urls: list[dict[str, Any]] = []
    media_objects: list[dict[str, Any]] = []
    included: list[dict[str, Any]] = []
    text = body
    for n, link in enumerate(post.links):
        short = _tco(post.id, "link", str(n))
        text += " 👉 "
        start = len(text)  # code points, as X counts them
        text += short
        entity: dict[str, Any] = {"start": start, "end": len(text), "url": short, "expanded_url": link,
                                  "display_url": link.split("://", 1)[-1][:26] + ("…" if len(link.split("://", 1)[-1]) > 26 else "")}
        if hashed(post.id + link, 2) == 0:
            entity.update(unwound_url=link, status=200, title="(fictional page title)")
        urls.append(entity)
    media_keys = []
    for n, media in enumerate(post.media):
        key = f"{3 if media.type == 'photo' else 7}_{tweet_id}{n}"
        media_keys.append(key)
        media_objects.append(_media_object(key, media, post.id, n))
    if media_keys:
        short = _tco(post.id, "media")
        text += " "
        start = len(text)
        text += short
        kind = "photo" if post.media[0].type == "photo" else "video"
        urls.append({"start": start, "end": len(text), "url": short,
                     "expanded_url": f"https://x.com/{handle}/status/{tweet_id}/{kind}/1",
                     "display_url": f"pic.x.com/{short.rsplit('/', 1)[-1]}", "media_key": media_keys[0]})
    tweet: dict[str, Any] = {
        "id": tweet_id, "created_at": post.created_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "author_id": user_id, "conversation_id": tweet_id, "edit_history_tweet_ids": [tweet_id], "lang": "en",
        "possibly_sensitive": False,
        "public_metrics": {"retweet_count": hashed(post.id, 5), "reply_count": len(comments_for(post)),
                           "like_count": hashed(post.id, 40), "quote_count": 0, "bookmark_count": 0,
                           "impression_count": 300 + hashed(post.id, 900)},
    }
    if post.is_reply:
        tweet["text"] = "@ParentFict " + text
        for url in urls:
            url["start"] += len("@ParentFict ")
            url["end"] += len("@ParentFict ")
        tweet["in_reply_to_user_id"] = PARENT_USER
        parent = snowflake(post.created_at - timedelta(hours=1), post.id + "parent")
        tweet["conversation_id"] = parent
        tweet["referenced_tweets"] = [{"type": "replied_to", "id": parent}]
        tweet["entities"] = {"urls": urls, "mentions": [{"start": 0, "end": 11, "username": "ParentFict", "id": PARENT_USER}]}
    elif post.is_repost:
        original_id = snowflake(post.created_at - timedelta(hours=3), post.id + "original")
        original_text = text
        tweet["text"] = f"RT @{DIOCESE['username']}: {original_text}"[:140]
        tweet["referenced_tweets"] = [{"type": "retweeted", "id": original_id}]
        tweet["public_metrics"]["reply_count"] = 0
        included.append({"id": original_id, "text": original_text, "author_id": DIOCESE["id"],
                         "created_at": (post.created_at - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                         "entities": {"urls": urls}})
        tweet["entities"] = {}
    elif long:
        tweet["text"] = body[:275] + "…"
        tweet["note_tweet"] = {"text": text, "entities": {"urls": urls}}
        tweet["entities"] = {}
    else:
        tweet["text"] = text
        tweet["entities"] = {"urls": urls} if urls else {}
    if media_keys:
        tweet["attachments"] = {"media_keys": media_keys}
    return tweet, media_objects, included


def _media_object(key: str, media: SimMedia, post_id: str, n: int) -> dict[str, Any]:
    name = number("media", post_id, str(n), digits=12)
    obj: dict[str, Any] = {"media_key": key, "width": 2048, "height": 1365}
    if media.type == "photo":
        obj.update(type="photo", url=f"https://pbs.twimg.com/media/Fict{name}.jpg")
    else:
        obj.update(type="animated_gif" if hashed(post_id, 2) else "video",
                   preview_image_url=f"https://pbs.twimg.com/ext_tw_video_thumb/{name}/pu/img/fict.jpg",
                   variants=[{"content_type": "video/mp4", "bit_rate": 832000,
                              "url": f"https://video.twimg.com/ext_tw_video/{name}/pu/vid/fict.mp4"}])
    if media.alt is not None:
        obj["alt_text"] = media.alt
    return obj


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parse_utc(value)
    except ValueError:
        return None


@route("GET", r"/x/2/users/(?P<id>\d+)/tweets")
def user_tweets(request: SimRequest) -> SimResponse:
    if bearer(request.headers, {}) != DEMO_TOKENS["x"]:
        return _unauthorized()
    user_id = request.match.group("id")
    found = find_by_id(request.sim.profiles, "x", user_id, digits=19)
    if found is None:
        return json_response({"errors": [{"value": user_id, "detail": f"Could not find user with id: [{user_id}].",
                                          "title": "Not Found Error", "resource_type": "user", "parameter": "id",
                                          "resource_id": user_id, "type": "https://api.twitter.com/2/problems/resource-not-found"}]})
    slug, profile = found
    if profile.fault == "protected":
        return json_response({"errors": [{"resource_id": user_id, "parameter": "id", "resource_type": "user",
                                          "section": "data", "title": "Authorization Error", "value": user_id,
                                          "detail": f"Sorry, you are not authorized to see the user with id: [{user_id}].",
                                          "type": "https://api.twitter.com/2/problems/not-authorized-for-resource"}]})
    fault = _account_fault(request, slug, profile, stage="timeline")
    if fault is not None:
        return fault
    now = request.sim.now
    until = _parse_time(request.query.get("end_time")) or now
    since = _parse_time(request.query.get("start_time")) or now - HISTORY
    posts = posts_between(slug, request.sim.profiles, since, until)
    if profile.reposts:
        posts = sorted(posts + _reposts(since, until, slug), key=lambda p: p.created_at, reverse=True)
    size = page_size(profile, request.query.get("max_results"), 10, 100)
    offset = _offset(request.query.get("pagination_token"))
    chunk = posts[offset: offset + size]
    tweets, media, originals = [], [], []
    for post in chunk:
        tweet, media_objects, included = build_tweet(post, slug=slug, profile=profile, user_id=user_id)
        _conversations[tweet["id"]] = (slug, post)
        tweets.append(tweet)
        media.extend(media_objects)
        originals.extend(included)
    if profile.fault == "bad-item" and tweets:
        tweets[0] = dict(tweets[0], created_at="last Tuesday")
    meta: dict[str, Any] = {"result_count": len(tweets)}
    if tweets:
        meta.update(newest_id=tweets[0]["id"], oldest_id=tweets[-1]["id"])
    if offset + size < len(posts):
        meta["next_token"] = base64.b32encode(f"o{offset + size}".encode()).decode().lower().rstrip("=")
    if not tweets:
        return json_response({"meta": meta})
    users = [{"id": user_id, "name": profile.school_name, "username": handle_of(slug, profile)}]
    if originals:
        users.append(DIOCESE)
    includes: dict[str, Any] = {"users": users}
    if media:
        includes["media"] = media
    if originals:
        includes["tweets"] = originals
    return json_response({"data": tweets, "includes": includes, "meta": meta})


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        padded = token.upper() + "=" * (-len(token) % 8)
        return max(0, int(base64.b32decode(padded).decode()[1:]))
    except (ValueError, UnicodeDecodeError):
        return 0


@route("GET", r"/x/2/tweets/search/recent")
def search_recent(request: SimRequest) -> SimResponse:
    if bearer(request.headers, {}) != DEMO_TOKENS["x"]:
        return _unauthorized()
    query = request.query.get("query", "")
    if not query.startswith("conversation_id:"):
        return _problem(400, "Invalid Request", "One or more parameters to your request was invalid.",
                        "https://api.twitter.com/2/problems/invalid-request")
    conversation = query.split(":", 1)[1].strip()
    entry = _conversations.get(conversation)
    now = request.sim.now
    start = _parse_time(request.query.get("start_time"))
    if start is not None and start < now - timedelta(days=7):
        return _problem(400, "Invalid Request", "Invalid 'start_time': must be within the last 7 days.",
                        "https://api.twitter.com/2/problems/invalid-request")
    replies = []
    users = []
    if entry is not None:
        slug, post = entry
        for comment_id, author, text, when in comments_for(post):
            if when > now or when < now - timedelta(days=7):
                continue
            author_id = number("x-user", author, digits=19)
            reply_id = snowflake(when, comment_id)
            replies.append({"id": reply_id, "text": f"@{handle_of(slug, request.sim.profiles[slug])} {text}",
                            "created_at": when.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "author_id": author_id,
                            "conversation_id": conversation, "in_reply_to_user_id": number("x", slug, digits=19),
                            "edit_history_tweet_ids": [reply_id]})
            users.append({"id": author_id, "name": author.replace("_", " "), "username": author})
    if not replies:
        return json_response({"meta": {"result_count": 0}})
    replies.reverse()
    return json_response({"data": replies, "includes": {"users": users},
                          "meta": {"newest_id": replies[0]["id"], "oldest_id": replies[-1]["id"], "result_count": len(replies)}})
