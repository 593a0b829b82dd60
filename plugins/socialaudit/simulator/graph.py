"""Meta Graph API shapes shared by the simulated Facebook and Instagram: errors, throttling, cursors.

Graph answers errors as ``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}``
with HTTP 400/403/404 and signals throttling with codes (4, 17, 32, 613, 80001/80002) plus an
``X-Business-Use-Case-Usage`` header, never 429.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

from socialaudit.simulator.dataset import Profile
from socialaudit.simulator.faults import generic_fault
from socialaudit.simulator.server import SimRequest, SimResponse, json_response

_counters: dict[str, int] = {}


def graph_error(code: int, message: str, *, status: int = 400, subcode: int | None = None,
                headers: dict[str, str] | None = None, **extra: Any) -> SimResponse:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    error.update(extra)
    error["fbtrace_id"] = "AbCdFictTrace"
    return json_response({"error": error}, status=status, headers=headers)


def bad_token() -> SimResponse:
    return graph_error(190, "Invalid OAuth access token - Cannot parse access token")


def throttled(request: SimRequest, *, code: int, minutes: int, business_id: str, kind: str) -> SimResponse:
    usage = {business_id: [{"type": kind, "call_count": 100, "total_cputime": 30, "total_time": 40,
                            "estimated_time_to_regain_access": minutes}]}
    message = {4: "Application request limit reached", 17: "User request limit reached",
               32: "Page request limit reached", 613: "Calls to this api have exceeded the rate limit."}.get(
        code, "There have been too many calls for this account. Wait a bit and try again.")
    return graph_error(code, message, status=403 if code in (4, 17) else 400,
                       headers={"X-Business-Use-Case-Usage": json.dumps(usage),
                                "X-App-Usage": json.dumps({"call_count": 100, "total_time": 40, "total_cputime": 30})})


def account_fault(request: SimRequest, slug: str, profile: Profile, *, business_id: str, kind: str,
                  throttle_code: int) -> SimResponse | None:
    """The fault a Graph profile shows on a data request, or None."""
    fault = profile.fault
    if fault in ("401", "190"):
        return bad_token()
    if fault == "10":
        return graph_error(10, "(#10) This endpoint requires the 'pages_read_engagement' permission or the "
                               "'Page Public Content Access' feature", status=403)
    if fault == "429":
        return throttled(request, code=throttle_code, minutes=60, business_id=business_id, kind=kind)
    if fault == "429-once":
        key = f"{id(request.sim)}:{slug}"
        _counters[key] = _counters.get(key, 0) + 1
        if _counters[key] == 1:
            return throttled(request, code=32 if kind == "pages" else 4, minutes=1, business_id=business_id, kind=kind)
        return None
    return generic_fault(fault, stateful_key=f"{id(request.sim)}:{request.path}:{sorted(request.query.items())}",
                         counters=_counters)


def graph_time(moment: datetime) -> str:
    """``2025-03-14T09:30:12+0000``: Graph's format, offset without a colon."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+0000")


def cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"QVFIU{offset:06d}".encode()).decode().rstrip("=")


def offset_of(value: str | None) -> int:
    if not value:
        return 0
    try:
        decoded = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        return max(0, int(decoded[5:]))
    except (ValueError, UnicodeDecodeError):
        return 0


def paging(request: SimRequest, *, offset: int, size: int, total: int) -> dict[str, Any]:
    """``paging`` with cursors and, when more remain, a ``next`` URL that repeats the request's query.

    As Graph does, an ``access_token`` given in the query is echoed into ``next``: a client must not
    archive or log these URLs unscrubbed.
    """
    result: dict[str, Any] = {"cursors": {"before": cursor(offset), "after": cursor(offset + size)}}
    if offset + size < total:
        query = {k: v for k, v in request.query.items() if k not in ("after", "before")}
        query["after"] = cursor(offset + size)
        result["next"] = f"{request.sim.url}{request.path}?{urlencode(query)}"
    return result


def unix_or_iso(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        if value.isdigit():
            return datetime.fromtimestamp(int(value), timezone.utc)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    except ValueError:
        return None
