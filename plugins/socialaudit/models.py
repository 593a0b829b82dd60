"""The data that flows through the pipeline: posts in, findings out.

Collectors normalise every platform's payload into :class:`Post` at the edge (feedparser's idea);
checks only ever see these frozen objects. Each class has ``to_dict``/``from_dict`` giving the JSON
form used by the CLI, the store and exports, so the shape is defined once, here.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any


class Status(str, enum.Enum):
    """Outcome of one check for one school and week. "Could not check" is never pass or fail."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    ERROR = "error"
    NOT_EVALUATED = "not_evaluated"
    NOT_APPLICABLE = "not_applicable"

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self]

    @property
    def rank(self) -> int:
        """Worse statuses rank higher; used to sort and to pick a school's overall status."""
        return _STATUS_RANK[self]


_STATUS_LABELS = {
    Status.PASS: "Pass",
    Status.WARN: "Warning",
    Status.FAIL: "Fail",
    Status.ERROR: "Error",
    Status.NOT_EVALUATED: "Not evaluated",
    Status.NOT_APPLICABLE: "Not applicable",
}
_STATUS_RANK = {
    Status.NOT_APPLICABLE: 0,
    Status.PASS: 1,
    Status.WARN: 2,
    Status.NOT_EVALUATED: 3,
    Status.ERROR: 4,
    Status.FAIL: 5,
}


class Severity(str, enum.Enum):
    INFO = "info"
    WARNING = "warning"
    BREACH = "breach"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return ["info", "warning", "breach", "critical"].index(self.value)


class CollectionStatus(str, enum.Enum):
    """What happened when one account was collected."""

    OK = "ok"
    PARTIAL = "partial"  # collected, but some items were malformed and skipped
    UNAVAILABLE = "unavailable"  # unknown, private or suspended account
    AUTH_FAILED = "auth_failed"  # bad, expired or missing credentials
    ERROR = "error"  # transient failure that outlived the retries
    NOT_COLLECTED = "not_collected"  # audited from the store, which holds no collection of it for the week

    @property
    def collected(self) -> bool:
        return self in (CollectionStatus.OK, CollectionStatus.PARTIAL)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: timestamps must be timezone-aware")
    return value.astimezone(timezone.utc)


YEARS = (1900, 2200)  # the timestamps a post, a comment or a run may carry


def parse_utc(value: str) -> datetime:
    """Parse an ISO 8601 timestamp (``Z`` or offset) into an aware UTC datetime."""
    text = value.strip()
    if text.endswith("Z") or text.endswith("z"):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    try:
        moment = _utc(parsed)
    except OverflowError:  # "9999-12-31T23:00:00-05:00" has no UTC time: as malformed as any other bad date
        raise ValueError(f"timestamp {value!r} is out of range") from None
    if not YEARS[0] <= moment.year <= YEARS[1]:  # year 1 has no local week: no post is that old or that far off
        raise ValueError(f"timestamp {value!r} is out of range (years {YEARS[0]}-{YEARS[1]})")
    return moment


def iso_utc(value: datetime) -> str:
    return _utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


# The first words of the message of an account's collection taken from the store (a backfill), not collected
# by the run; the state itself is AccountCollection.from_store.
FROM_STORE = "From the store"


class LinkState(str, enum.Enum):
    """What resolving a posted link found (the link resolver's answer, judged by external_links)."""

    OK = "ok"
    BROKEN = "broken"
    UNVERIFIED = "unverified"
    UNSAFE = "unsafe"
    NOT_EVALUATED = "not_evaluated"


@dataclass(frozen=True, slots=True, kw_only=True)
class Media:
    type: str  # photo | video | other
    url: str = ""
    alt: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "url": self.url, "alt": self.alt}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Media:
        kind = str(data.get("type") or "other")
        if kind not in ("photo", "video", "other"):
            raise ValueError(f"media type must be photo, video or other, not {kind!r}")
        alt = data.get("alt")
        return cls(type=kind, url=str(data.get("url") or ""), alt=None if alt is None else str(alt))


@dataclass(frozen=True, slots=True, kw_only=True)
class Comment:
    """A public comment or reply on a post, for the comments check."""

    id: str
    post_id: str
    author: str = ""
    text: str = ""
    created_at: datetime | None = None
    url: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "post_id": self.post_id,
            "author": self.author,
            "text": self.text,
            "created_at": iso_utc(self.created_at) if self.created_at else None,
            "url": self.url,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Comment:
        created = data.get("created_at")
        return cls(
            id=str(data["id"]),
            post_id=str(data.get("post_id") or ""),
            author=str(data.get("author") or ""),
            text=str(data.get("text") or ""),
            created_at=parse_utc(created) if created else None,
            url=str(data.get("url") or ""),
        )


POST_FIELDS = ("platform", "account", "school", "id", "url", "created_at", "text")


@dataclass(frozen=True, slots=True, kw_only=True)
class Post:
    platform: str  # collector module name: "rss", "mastodon", ...
    account: str  # handle or feed URL as configured
    school: str  # school id from config
    id: str
    url: str  # permalink
    created_at: datetime  # timezone-aware UTC, never naive
    text: str  # plain text
    media: tuple[Media, ...] = ()
    links: tuple[str, ...] = ()
    is_reply: bool = False
    is_repost: bool = False
    comments: tuple[Comment, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "created_at", _utc(self.created_at))

    @property
    def has_visual_media(self) -> bool:
        return any(m.type in ("photo", "video") for m in self.media)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "platform": self.platform,
            "account": self.account,
            "school": self.school,
            "id": self.id,
            "url": self.url,
            "created_at": iso_utc(self.created_at),
            "text": self.text,
            "media": [m.to_dict() for m in self.media],
            "links": list(self.links),
            "is_reply": self.is_reply,
            "is_repost": self.is_repost,
        }
        if self.comments:
            data["comments"] = [c.to_dict() for c in self.comments]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Post:
        """Build a post from its JSON form; raises ValueError naming the first bad field."""
        if not isinstance(data, dict):
            raise ValueError("a post must be a JSON object")
        missing = [name for name in POST_FIELDS if name not in data or data[name] is None]
        if missing:
            raise ValueError(f"missing field {missing[0]!r}")
        try:
            created = parse_utc(str(data["created_at"]))
        except ValueError as exc:
            raise ValueError(f"field 'created_at': {exc}") from None
        try:
            media = tuple(Media.from_dict(m) for m in data.get("media") or ())
        except (ValueError, AttributeError) as exc:
            raise ValueError(f"field 'media': {exc}") from None
        links = data.get("links") or ()
        if isinstance(links, str) or not all(isinstance(link, str) for link in links):
            raise ValueError("field 'links' must be a list of strings")
        return cls(
            platform=str(data["platform"]),
            account=str(data["account"]),
            school=str(data["school"]),
            id=str(data["id"]),
            url=str(data["url"]),
            created_at=created,
            text=str(data["text"]),
            media=media,
            links=tuple(links),
            is_reply=bool(data.get("is_reply", False)),
            is_repost=bool(data.get("is_repost", False)),
            comments=tuple(Comment.from_dict(c) for c in data.get("comments") or ()),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Suppression:
    """The reviewed suppression that matched a finding (socialaudit.suppressions): the finding is kept
    and listed, but no longer counts towards its check's status."""

    kind: str  # "false_positive" or "accepted_risk"
    reviewer: str
    reason: str
    expires: str  # ISO date: the last week it covers ends on or before it
    reviewed: str | None = None  # ISO date of the review, when known
    rule: str = ""  # the finding key (or prefix) the suppression names
    source: str = ""  # "config" or "cli #<id>"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "reviewer": self.reviewer, "reason": self.reason, "expires": self.expires,
                "reviewed": self.reviewed, "rule": self.rule, "source": self.source}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Suppression:
        return cls(kind=str(data.get("kind") or ""), reviewer=str(data.get("reviewer") or ""),
                   reason=str(data.get("reason") or ""), expires=str(data.get("expires") or ""),
                   reviewed=str(data["reviewed"]) if data.get("reviewed") else None,
                   rule=str(data.get("rule") or ""), source=str(data.get("source") or ""))


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One thing a head (or DSL) must know or act on. ``message`` is shown verbatim in reports."""

    check: str
    severity: Severity
    status: Status
    school: str
    policy: str
    message: str
    account: str = ""
    post_id: str = ""
    post_url: str = ""
    evidence: str = ""  # already redacted: never a child's full name
    action: str = ""  # what to do, one sentence
    # Set when a reviewed suppression matched (socialaudit.suppressions).
    suppression: Suppression | None = field(default=None, hash=False)
    # One incident seen on several accounts (a post cross-posted to the website and Facebook): the
    # findings of a check that share a non-empty ``incident`` are one incident in reports and KPIs.
    incident: str = ""

    @property
    def suppressed(self) -> bool:
        return self.suppression is not None

    @property
    def key(self) -> str:
        """Stable identity of a finding across runs (for suppressions and removal tracking)."""
        return f"{self.check}:{self.school}:{self.account}:{self.post_id}:{self.evidence}"

    @property
    def incident_key(self) -> str:
        """What reports and KPIs count: one per incident (the cross-posted copies of a post are one)."""
        return f"{self.check}:{self.school}:incident:{self.incident}" if self.incident else self.key

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "check": self.check,
            "severity": self.severity.value,
            "status": self.status.value,
            "school": self.school,
            "account": self.account,
            "post_id": self.post_id,
            "post_url": self.post_url,
            "policy": self.policy,
            "message": self.message,
            "evidence": self.evidence,
            "action": self.action,
        }
        if self.incident:
            data["incident"] = self.incident
        if self.suppression is not None:
            data["suppression"] = self.suppression.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(
            check=data["check"],
            severity=Severity(data["severity"]),
            status=Status(data["status"]),
            school=data["school"],
            account=data.get("account") or "",
            post_id=data.get("post_id") or "",
            post_url=data.get("post_url") or "",
            policy=data["policy"],
            message=data["message"],
            evidence=data.get("evidence") or "",
            action=data.get("action") or "",
            suppression=Suppression.from_dict(data["suppression"]) if data.get("suppression") else None,
            incident=str(data.get("incident") or ""),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class CommentObservation:
    """A flagged comment as the comments check saw it in a week: still ``visible``, or ``removed`` (its post
    came again without it). Removal tracking keeps one per comment and week (the store's ``comment_observations``)."""

    platform: str
    account: str
    post_id: str
    comment_id: str
    state: str  # "visible" or "removed"
    post_url: str = ""
    comment_url: str = ""
    evidence: str = ""  # masked, as the finding shows it
    first_week: str = ""  # the week it was first seen visible
    category: str = ""  # what the comment was flagged as (a visible one only)
    post_created_at: str | None = None  # the post's time (iso_utc), so the post is collected again in later weeks

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"platform": self.platform, "account": self.account, "post_id": self.post_id,
                                "comment_id": self.comment_id, "state": self.state, "post_url": self.post_url,
                                "comment_url": self.comment_url, "evidence": self.evidence, "first_week": self.first_week}
        if self.category:
            data["category"] = self.category
        data["post_created_at"] = self.post_created_at
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CommentObservation:
        created = data.get("post_created_at")
        return cls(platform=str(data["platform"]), account=str(data["account"]), post_id=str(data["post_id"]),
                   comment_id=str(data["comment_id"]), state=str(data["state"]), post_url=str(data.get("post_url") or ""),
                   comment_url=str(data.get("comment_url") or ""), evidence=str(data.get("evidence") or ""),
                   first_week=str(data.get("first_week") or ""), category=str(data.get("category") or ""),
                   post_created_at=str(created) if created else None)


@dataclass(frozen=True, slots=True, kw_only=True)
class CommentTracking:
    """What the comments check saw for removal tracking: each flagged comment, visible or removed, and the
    (platform, account)s it could evaluate (only their stored observations are replaced)."""

    observations: tuple[CommentObservation, ...] = ()
    evaluated: tuple[tuple[str, str], ...] = ()  # (platform, account)

    # The JSON form: two keys of the result's ``metrics`` (results.json, the store's check_results), as
    # they were before this was a type, so archived runs read back, verify and replay unchanged.
    KEYS = ("evaluated_accounts", "observations")

    def to_metrics(self) -> dict[str, Any]:
        return {"evaluated_accounts": sorted(f"{platform}:{account}" for platform, account in self.evaluated),
                "observations": [o.to_dict() for o in self.observations]}

    @classmethod
    def from_metrics(cls, metrics: Mapping[str, Any]) -> CommentTracking:
        evaluated = (str(a).partition(":") for a in metrics.get("evaluated_accounts") or ())
        return cls(observations=tuple(CommentObservation.from_dict(o) for o in metrics.get("observations") or ()),
                   evaluated=tuple((platform, account) for platform, _, account in evaluated))


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckResult:
    """The outcome of one check for one school and week."""

    check: str
    policy: str
    school: str
    status: Status
    summary: str  # one sentence for the report's status table
    findings: tuple[Finding, ...] = ()
    metrics: dict[str, Any] = field(default_factory=dict)  # the check's figures
    comment_tracking: CommentTracking | None = None  # the comments check's observations, for the next weeks

    def recorded_metrics(self) -> dict[str, Any]:
        """``metrics`` as results.json and the store keep them: the comment tracking, if any, joins the figures."""
        if self.comment_tracking is None:
            return self.metrics
        return {**self.metrics, **self.comment_tracking.to_metrics()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "policy": self.policy,
            "school": self.school,
            "status": self.status.value,
            "summary": self.summary,
            "findings": [f.to_dict() for f in self.findings],
            "metrics": self.recorded_metrics(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckResult:
        metrics = dict(data.get("metrics") or {})
        tracked = any(key in metrics for key in CommentTracking.KEYS)
        return cls(
            check=data["check"],
            policy=data["policy"],
            school=data["school"],
            status=Status(data["status"]),
            summary=data["summary"],
            findings=tuple(Finding.from_dict(f) for f in data.get("findings", ())),
            metrics={k: v for k, v in metrics.items() if k not in CommentTracking.KEYS},
            comment_tracking=CommentTracking.from_metrics(metrics) if tracked else None,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountCollection:
    """How collecting one account went, recorded per run so reports can say "not evaluated"."""

    school: str
    platform: str
    account: str
    status: CollectionStatus
    message: str = ""
    posts: int = 0
    skipped: int = 0
    pages: int = 0
    from_store: bool = False  # audited from the store (a backfill), not collected by the run; the message says so too

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (results.json, the DAG's XComs): without ``from_store``, as runs sealed before it was a
        field, so every archive keeps its bytes; the store keeps it in a column of its own."""
        return {
            "school": self.school,
            "platform": self.platform,
            "account": self.account,
            "status": self.status.value,
            "message": self.message,
            "posts": self.posts,
            "skipped": self.skipped,
            "pages": self.pages,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AccountCollection:
        return cls(
            school=data["school"],
            platform=data["platform"],
            account=data["account"],
            status=CollectionStatus(data["status"]),
            message=data.get("message") or "",
            posts=int(data.get("posts") or 0),
            skipped=int(data.get("skipped") or 0),
            pages=int(data.get("pages") or 0),
            # the store's column; the JSON form has no key, and its message starts with FROM_STORE exactly then
            from_store=bool(data["from_store"]) if "from_store" in data else str(data.get("message") or "").startswith(FROM_STORE),
        )
