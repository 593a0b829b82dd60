"""Meta Graph API plumbing shared by the Facebook and Instagram collectors.

Meta does not signal throttling with 429: it answers HTTP 400/403 with a JSON ``error`` whose
``code`` is 4, 17, 32, 613 or 80001 (and Instagram's 80002), and reports how long to wait in the
``X-Business-Use-Case-Usage`` header (``estimated_time_to_regain_access``, in minutes). The shared
session (``collectors._http``) handles 429 and 5xx; this module adds the Graph error codes on top of
it, waiting through the session's injectable ``sleep`` up to the session's rate-limit cap, so tests
of back-off run instantly and the caps are the same for every platform.

Error codes, branched on ``error.code`` rather than the HTTP status (as Meta advises):

=============================== ===========================================================
code                            outcome
=============================== ===========================================================
190 (expired: subcode 463)      AuthError: bad or expired token
10, 200-299                     AuthError: the token lacks a permission or feature
102, 2500                       AuthError: no or unusable token
4, 17, 32, 613, 80001, 80002    throttled: wait, then TransientError past the cap
1, 2, or ``is_transient``       TransientError (Meta's own "try again later")
803, 100 (unknown alias/node)   AccountUnavailable
110 / subcode 2207013           AccountUnavailable (Instagram: unknown or personal account)
anything else                   AccountError, recorded with Meta's message
=============================== ===========================================================

The token travels only in the ``Authorization: Bearer`` header, never in a URL we build; bodies are
archived with the token replaced by ``***`` (Graph echoes ``access_token`` into ``paging.next`` when
a caller put it in the query), and a ``paging.next`` that points at another host is never followed,
so the token cannot be sent anywhere but the configured API root.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

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
from collectors._http import HttpSession, Response

GRAPH_VERSION = "v25.0"  # pinned: Graph versions expire about two years after release
DEFAULT_GRAPH_ROOT = "https://graph.facebook.com"
THROTTLE_CODES = frozenset({4, 17, 32, 613, 80001, 80002})
AUTH_CODES = frozenset({190, 102, 2500, 10})
MAX_PAGES = 50  # a week of a school's posts is one or two pages; this stops a paging loop
_URL_IN_TEXT = re.compile(r"""(?:https?://|www\.)[^\s<>"'()\[\]{}]+""", re.I)
# Bare domains ("staidans.example.sch.uk/summer-fair"), as Instagram captions write them; only
# with a common final label, so "Mr.Smith" or "e.g." are not taken for links.
_BARE_DOMAIN = re.compile(
    r"""(?<![\w@/.-])((?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:com|org|net|uk|ie|io|co|gov|edu|info|eu|me|app|dev|"""
    r"""ly|tv|scot|wales|cymru|london|school|academy|church|news|example)(?:/[^\s<>"'()\[\]{}]*)?)(?![\w@-])""", re.I)
_TRAILING = ".,;:!?…'\""


def obj(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one (platform payloads are untrusted)."""
    return value if isinstance(value, dict) else {}


def seq(value: Any) -> list[Any]:
    """``value`` if it is a JSON array, else an empty one."""
    return value if isinstance(value, list) else []


def graph_root(base_url: str | None) -> str:
    """The versioned API root: ``{base}/v25.0`` (base defaults to graph.facebook.com)."""
    base = (base_url or DEFAULT_GRAPH_ROOT).rstrip("/")
    if re.search(r"/v\d+\.\d+$", base):
        return base
    return f"{base}/{GRAPH_VERSION}"


def parse_graph_time(value: Any) -> datetime:
    """Graph timestamps (``2025-03-14T09:30:12+0000``, no colon in the offset) as aware UTC."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"missing or non-text timestamp {value!r}")
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    text = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", text)
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp {value!r} has no offset")
    return parsed.astimezone(timezone.utc)


def urls_in_text(text: str) -> list[str]:
    """URLs written in a message or caption (``https://...``, ``www...`` or a bare domain), trailing punctuation dropped."""
    found: list[str] = []
    text = text or ""
    spans: list[tuple[int, int]] = []
    for match in _URL_IN_TEXT.finditer(text):
        spans.append(match.span())
        url = match.group(0).rstrip(_TRAILING)
        if url.lower().startswith("www."):
            url = "https://" + url
        if url not in found:
            found.append(url)
    for match in _BARE_DOMAIN.finditer(text):
        if any(start <= match.start() < end for start, end in spans):
            continue
        url = "https://" + match.group(1).rstrip(_TRAILING)
        if url not in found:
            found.append(url)
    return found


def usage_wait_seconds(headers: dict[str, str]) -> float | None:
    """Seconds until access is regained, from ``X-Business-Use-Case-Usage`` (minutes), if stated.

    The header maps business ids to lists of usage objects; the longest
    ``estimated_time_to_regain_access`` wins. ``X-App-Usage`` carries percentages only, so it gives
    no wait time.
    """
    raw = headers.get("x-business-use-case-usage")
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    minutes: list[float] = []
    if isinstance(data, dict):
        for entries in data.values():
            for entry in entries if isinstance(entries, list) else [entries]:
                if isinstance(entry, dict):
                    value = entry.get("estimated_time_to_regain_access")
                    if isinstance(value, (int, float)) and not isinstance(value, bool):
                        minutes.append(float(value))
    return max(minutes) * 60.0 if minutes else None


@dataclass(slots=True)
class GraphError:
    """The ``error`` object of a Graph response, typed."""

    code: int
    subcode: int
    message: str
    transient: bool

    @classmethod
    def from_body(cls, data: Any) -> GraphError | None:
        if not isinstance(data, dict) or not isinstance(data.get("error"), dict):
            return None
        error = data["error"]

        def number(value: Any) -> int:
            try:
                return int(value)
            except (TypeError, ValueError):
                return 0

        message = str(error.get("error_user_msg") or error.get("message") or "no message")
        return cls(code=number(error.get("code")), subcode=number(error.get("error_subcode")),
                   message=message[:300], transient=bool(error.get("is_transient")))


class GraphClient:
    """GET Graph nodes and edges for one account: auth header, archive, error codes, throttling.

    ``label`` names the account in every error message ("facebook page 'ourladyfict'").
    """

    def __init__(self, *, session: HttpSession, token: str, root: str, platform: str, account_key: str,
                 label: str, archive: Archive | None = None) -> None:
        self.session = session
        self.token = token
        self.root = root.rstrip("/")
        self.platform = platform
        self.account_key = account_key
        self.label = label
        self.archive = archive or NullArchive()
        self.calls = 0
        origin = urlsplit(self.root)
        self._origin = (origin.scheme, origin.netloc)
        if token and token not in session.secrets:
            session.secrets = (*session.secrets, token)

    def url(self, path: str, params: dict[str, Any] | None = None) -> str:
        """``{root}/{path}?{params}``; the token is never part of it."""
        query = urlencode({k: v for k, v in (params or {}).items() if v is not None})
        return f"{self.root}/{path.lstrip('/')}" + (f"?{query}" if query else "")

    def same_origin(self, url: str) -> bool:
        parts = urlsplit(url)
        return (parts.scheme, parts.netloc) == self._origin

    def next_url(self, data: dict[str, Any], current: str) -> str | None:
        """The next page: ``paging.next`` if it stays on the API host, else ``after`` on the current URL.

        A ``paging.next`` on another host is not followed: the Bearer token would go with it.
        Any ``access_token`` Graph echoed into it is removed (the header carries ours).
        """
        paging = obj(data.get("paging"))
        nxt = paging.get("next") if isinstance(paging, dict) else None
        if isinstance(nxt, str) and nxt:
            if self.same_origin(nxt):
                parts = urlsplit(nxt)
                query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "access_token"]
                return urlunsplit(parts._replace(query=urlencode(query)))
            cursors = paging.get("cursors") if isinstance(paging, dict) else None
            after = cursors.get("after") if isinstance(cursors, dict) else None
            if isinstance(after, str) and after:
                parts = urlsplit(current)
                query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "after"]
                return urlunsplit(parts._replace(query=urlencode([*query, ("after", after)])))
        return None

    def page(self, url: str, result: CollectionResult, edge: str) -> tuple[dict[str, Any], list[Any]] | None:
        """One page of an edge: (the answer, its ``data`` list). A failing first page raises; a failing
        later page returns None, the pages already parsed kept (``result.page_failed``: partly collected)."""
        try:
            data = self.get(url)
            items = data.get("data")
            if not isinstance(items, list):
                raise MalformedResponse(f"{self.label}: {edge} page {result.pages + 1} has no data list")
        except CollectorError as exc:
            result.page_failed(exc)
            return None
        return data, items

    def get(self, url: str) -> dict[str, Any]:
        """GET a Graph URL and return its JSON object, or raise the error its ``error.code`` means."""
        waited = 0
        while True:
            response = self.session.get(url, headers={"Authorization": f"Bearer {self.token}"})
            self.calls += 1
            self._archive(url, response)
            data = self._json(response)
            error = GraphError.from_body(data)
            if error is None:
                if response.status >= 400:
                    self._raise_status(response)
                if not isinstance(data, dict):
                    raise MalformedResponse(f"{self.label}: Graph answered a JSON {type(data).__name__}, not an object")
                return data
            if error.code in THROTTLE_CODES:
                wait = usage_wait_seconds(response.headers)
                if wait is None:
                    wait = self.session._backoff(waited)  # noqa: SLF001 - the session's own jittered back-off
                cap = self.session.policy.max_rate_limit_wait
                if wait > cap or waited >= self.session.policy.retries:
                    raise TransientError(self._scrub(
                        f"{self.label}: throttled by Graph (code {error.code}); asked to wait {wait / 60:.0f} min, "
                        f"more than the {cap:.0f} s cap or after {waited} waits"))
                self.session._count("rate_limit_waits")  # noqa: SLF001 - the session's own counters and sleep
                self.session._sleep(max(0.0, wait))  # noqa: SLF001
                waited += 1
                continue
            self._raise_error(error)

    def _raise_error(self, error: GraphError) -> None:
        detail = self._scrub(f"Graph error {error.code}" + (f"/{error.subcode}" if error.subcode else "") + f": {error.message}")
        exc: AccountError | TransientError
        if error.code in AUTH_CODES or 200 <= error.code <= 299:
            hint = "token invalid or expired" if error.code == 190 else "token lacks a permission or feature"
            exc = AuthError(f"{self.label}: {hint} ({detail})")
        elif error.code in (1, 2) or error.transient:
            exc = TransientError(f"{self.label}: temporary Graph failure ({detail})")
        elif error.code in (803, 100, 110) or error.subcode == 2207013:
            exc = AccountUnavailable(f"{self.label}: account not found or not visible ({detail})")
        else:
            exc = AccountError(f"{self.label}: {detail}")
        exc.graph_error = error  # type: ignore[union-attr]
        raise exc

    def _raise_status(self, response: Response) -> None:
        if response.status in (401, 403):
            raise AuthError(f"{self.label}: HTTP {response.status} from Graph (credentials refused)")
        if response.status in (404, 410):
            raise AccountUnavailable(f"{self.label}: HTTP {response.status} from Graph")
        raise TransientError(f"{self.label}: unexpected HTTP {response.status} from Graph")

    def _json(self, response: Response) -> Any:
        try:
            return json.loads(response.body)
        except ValueError:
            kind = response.content_type.split(";")[0] or "unknown type"
            raise MalformedResponse(
                f"{self.label}: Graph answered HTTP {response.status} with a body that is not JSON ({kind})") from None

    def _archive(self, url: str, response: Response) -> None:
        body = response.body
        if self.token:
            body = body.replace(self.token.encode(), b"***")
        self.archive.save_raw(platform=self.platform, account=self.account_key, page=self.calls, url=url, body=body,
                              content_type=response.content_type)

    def _scrub(self, message: str) -> str:
        return self.session.scrub(message.replace(self.token, "***") if self.token else message)


def token_from(credentials: dict[str, Any] | None, label: str, platform: str) -> str:
    """The access token from the credentials, or AuthError naming where it is looked for."""
    token = str((credentials or {}).get("token") or "").strip()
    if not token:
        raise AuthError(f"{label}: no access token (set the Airflow connection socialaudit_{platform}'s password, "
                        f"or SOCIALAUDIT_{platform.upper()}_TOKEN for the CLI)")
    return token
