"""The trust's configuration (``config/trust.yaml``), validated with pydantic.

An invalid file raises :class:`ConfigError` whose one-line message names the file, the school and
the field, e.g. ``config/trust.yaml: school 'st-aidans': accounts[1].platform: unknown platform
'myspace' (known: bluesky, facebook, ...)``.
"""

from __future__ import annotations

import importlib.util
import os
import re
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from socialaudit import plugin_modules, settings
from socialaudit.errors import ConfigError as ConfigError  # re-exported: the config's error
from socialaudit.settings import DEFAULT_CONFIG as DEFAULT_CONFIG  # re-exported
from socialaudit.settings import PROJECT_ROOT as PROJECT_ROOT  # re-exported

EventKind = Literal["open_evening", "parents_evening", "parish", "other"]


def known_platforms() -> list[str]:
    """Platform names = the non-underscore modules of the ``collectors`` package.

    Core lists the package's folder (``find_spec`` of a top-level package does not import it), so the
    config can name the known platforms without importing a layer above it. The listing is kept while
    the folders are unchanged: it ran for every account, and was 85% of validating 24,000 schools.
    """
    return list(plugin_modules(_collector_folders()))


@lru_cache(maxsize=1)
def _collector_folders() -> tuple[str, ...]:
    """Where the ``collectors`` package lives (found once: ``find_spec`` searches ``sys.path``)."""
    spec = importlib.util.find_spec("collectors")
    return tuple(spec.submodule_search_locations or []) if spec else ()


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Account(_Model):
    """One official account of a school on one platform."""

    platform: str
    handle: str = ""  # "@staidans@mastodon.example", "staidans.bsky.social", "StAidansFict"
    url: str = ""  # feed URL for rss/youtube feeds, or the account's public page
    base_url: str = ""  # override of the platform's API root (simulator, self-hosted instance)
    expected_handle: str = ""  # explicit expected handle for the handle check
    connection: str = ""  # Airflow connection id holding credentials; default socialaudit_<platform>

    @field_validator("platform")
    @classmethod
    def _platform_known(cls, value: str) -> str:
        platforms = known_platforms()
        if value not in platforms:
            raise ValueError(f"unknown platform {value!r} (known: {', '.join(platforms)})")
        return value

    @model_validator(mode="after")
    def _identified(self) -> Account:
        if not self.handle and not self.url:
            raise ValueError("an account needs a handle or a url")
        return self

    @property
    def key(self) -> str:
        """What identifies the account in the store and reports: its handle, else its URL."""
        return self.handle or self.url


class Event(_Model):
    title: str
    kind: EventKind = "other"
    date: date
    lead_days: int | None = None  # overrides the event_promotion check's default lead time


class Holiday(_Model):
    name: str
    start: date = Field(alias="from")
    end: date = Field(alias="to")

    @model_validator(mode="after")
    def _ordered(self) -> Holiday:
        if self.end < self.start:
            raise ValueError(f"holiday {self.name!r} ends before it starts")
        return self


class Suppression(_Model):
    """A reviewed finding: shown as such in reports until it expires."""

    finding: str  # Finding.key, or a prefix of it such as "external_links:st-aidans"
    kind: Literal["false_positive", "accepted_risk"]
    reviewer: str
    reason: str
    expires: date  # last day it applies: judged against the audited week's Sunday
    reviewed: date | None = None  # when the reviewer decided (shown in reports)

    @field_validator("finding", "reviewer", "reason")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value.strip()


class Retention(_Model):
    """How many days to keep each kind of data; None (the default) keeps it forever.

    raw_responses: the archived platform responses; post_texts: the text (and alt texts, comments)
    of stored posts, which are then blanked but keep their id, permalink and timestamps;
    findings: findings and check results; reports: the rendered reports and emails.
    """

    raw_responses: int | None = Field(default=None, ge=1)
    post_texts: int | None = Field(default=None, ge=1)
    findings: int | None = Field(default=None, ge=1)
    reports: int | None = Field(default=None, ge=1)


class Trust(_Model):
    name: str
    timezone: str = "Europe/London"
    min_posts_per_week: int = Field(default=3, ge=0)
    domains: list[str] = []  # the trust's own web domains (allowlisted, lookalikes flagged)
    allow_domains: list[str] = []
    holidays: list[Holiday] = []
    calendars: list[str] = []  # iCalendar URLs or files with trust-wide events
    checks: dict[str, dict[str, Any]] = {}  # per-check threshold overrides
    report_url: str = ""  # where the reports are published, for links in emails
    contact: str = Field(default="", max_length=200)  # who a head asks about the audit (shown in emails)
    retention: Retention = Retention()  # days per kind of data; default: keep forever

    @field_validator("timezone")
    @classmethod
    def _tz_exists(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r}") from None
        return value


class School(_Model):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)  # a file name and a store key
    name: str
    head_email: str
    dsl_email: str = ""
    staff: list[str] = []
    # The school's own contact details: never reported as personal information (named_children, comments).
    website: str = ""  # "https://st-aidans.example.sch.uk/": its domain is the school's own
    address: str = ""
    postcode: str = ""
    phones: list[str] = []
    accounts: list[Account] = []
    events: list[Event] = []
    calendars: list[str] = []
    checks: dict[str, dict[str, Any]] = {}
    # Optional groupings: the Trust report totals its figures by each one the config gives (a diocese's
    # local authorities, primary and secondary, a trust's hubs). One line of plain text each.
    local_authority: str = Field(default="", max_length=100)
    phase: str = Field(default="", max_length=100)
    group: str = Field(default="", max_length=100)

    @field_validator("local_authority", "phase", "group")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if re.search(r"[\x00-\x1f\x7f]", value):
            raise ValueError("must be one line of text (no line breaks or control characters)")
        return " ".join(value.split())

    @field_validator("head_email", "dsl_email")
    @classmethod
    def _email(cls, value: str) -> str:
        if value and ("@" not in value or value.startswith("@") or value.endswith("@")):
            raise ValueError(f"{value!r} is not an email address")
        if re.search(r"[\s\x00-\x1f\x7f,;<>]", value):  # one address: a CR/LF would forge a mail header
            raise ValueError(f"{value!r} is not one email address (spaces, line breaks, commas and brackets are refused)")
        return value


class Demo(_Model):
    """Present only in the demo config: data about the platform simulator the accounts point at.

    The pipeline and the simulator read the same block; production code never imports the simulator.
    """

    simulator: str = "http://127.0.0.1:8765"
    # platform -> the simulator's published demo token, used when no credentials are configured
    credentials: dict[str, str] = {}
    # the fictional web hosts the simulator serves: the link resolver pins these and opens nothing else
    web_hosts: list[str] = []

    def allowed_origins(self) -> tuple[str, ...]:
        """The internal origins HTTP reads may open: the simulator's, at exactly its host and port."""
        return (self.simulator,)

    def credentials_for(self, platform: str) -> dict[str, Any] | None:
        """The demo token for ``platform`` as collector credentials; None if the simulator needs none."""
        token = self.credentials.get(platform)
        return {"token": token} if token else None


_INDEXES: dict[int, tuple[list[School], int, dict[str, School]]] = {}  # id(schools list) -> (list, length, index)


def _school_index(schools: list[School]) -> dict[str, School]:
    """School id -> school for this list, rebuilt when the list is another or has grown; kept outside
    the model, so two equal configs stay equal (pydantic compares private attributes)."""
    got = _INDEXES.get(id(schools))
    if got is None or got[0] is not schools or got[1] != len(schools):
        if len(_INDEXES) > 16:
            _INDEXES.clear()
        got = _INDEXES[id(schools)] = (schools, len(schools), {s.id: s for s in schools})
    return got[2]


class TrustConfig(_Model):
    trust: Trust
    schools: list[School]
    suppressions: list[Suppression] = []
    demo: Demo | None = None
    source: str = ""  # the file it was loaded from (set by load_config)

    def allowed_origins(self) -> tuple[str, ...]:
        """The internal origins HTTP reads may open (the ``demo:`` block's simulator); none in production."""
        return self.demo.allowed_origins() if self.demo is not None else ()


    @model_validator(mode="after")
    def _unique_ids(self) -> TrustConfig:
        seen: set[str] = set()
        for school in self.schools:
            if school.id in seen:
                raise ValueError(f"duplicate school id {school.id!r}")
            seen.add(school.id)
        return self

    def school(self, school_id: str) -> School:
        """The school with this id: one dictionary lookup (a scan per call made a large trust's run quadratic)."""
        found = _school_index(self.schools).get(school_id)
        if found is None:
            raise KeyError(f"no school {school_id!r} in {self.source or 'the config'}")
        return found

    def check_settings(self, check: str, school: School | None) -> dict[str, Any]:
        """Trust-wide overrides for a check, then the school's on top."""
        merged = dict(self.trust.checks.get(check, {}))
        if school is not None:
            merged.update(school.checks.get(check, {}))
        return merged


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """--config, else $SOCIALAUDIT_CONFIG, else the bundled demo trust."""
    return settings.config_file(explicit)


def _describe(loc: tuple[Any, ...], raw: Any) -> str:
    """Turn a pydantic error location into "school 'x': accounts[1].platform"."""
    parts: list[str] = []
    prefix = ""
    node = raw
    index = 0
    if len(loc) >= 2 and loc[0] == "schools" and isinstance(loc[1], int):
        try:
            school_id = raw["schools"][loc[1]].get("id") or f"#{loc[1] + 1}"
        except (KeyError, IndexError, TypeError, AttributeError):
            school_id = f"#{loc[1] + 1}"
        prefix = f"school {school_id!r}: "
        index = 2
        node = None
    for item in loc[index:]:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    del node
    return prefix + ("".join(parts) or "(top level)")


def parse_config(raw: Any, source: str) -> TrustConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping with 'trust' and 'schools', got {type(raw).__name__}")
    try:
        return TrustConfig.model_validate({**raw, "source": source})
    except ValidationError as exc:
        # every problem, each naming its school and field, so one edit fixes them all (at most
        # MAX_LISTED, then how many more: the message stays one readable line)
        found = list(dict.fromkeys(f"{_describe(tuple(e['loc']), raw)}: {e['msg'].removeprefix('Value error, ')}"
                                   for e in exc.errors()))
        if len(found) == 1:
            raise ConfigError(f"{source}: {found[0]}") from None
        listed = "; ".join(found[:MAX_LISTED])
        more = f"; and {len(found) - MAX_LISTED} more" if len(found) > MAX_LISTED else ""
        raise ConfigError(f"{source}: {len(found)} problems: {listed}{more}") from None


MAX_LISTED = 20  # config problems named in one message


_DATE_LIKE = re.compile(r"(?<![\w.-])(\d{4})-(\d{1,2})-(\d{1,2})(?![\w.-])")


def _bad_date(text: str) -> str:
    """' line N: 2026-02-30:' for the first date-like value that is no date (YAML names no place)."""
    for number, line in enumerate(text.splitlines(), start=1):
        for m in _DATE_LIKE.finditer(line.split("#", 1)[0]):
            try:
                date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                return f" line {number}: {m.group()}:"
    return ""


def load_config(path: str | os.PathLike[str] | None = None) -> TrustConfig:
    """Read and validate the trust config; every failure is a one-line ConfigError."""
    file = config_path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read config: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        line = exc.object[:exc.start].count(b"\n") + 1
        raise ConfigError(f"{file}: line {line}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x}): is it the config?") from None
    try:
        # libyaml's loader when present: PyYAML's pure-Python one takes ~20 s for 30,000 schools.
        raw = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{file}:{where} invalid YAML: {getattr(exc, 'problem', exc)}") from None
    except ValueError as exc:  # YAML's timestamps: "2026-02-30" matches the date form but is no date
        raise ConfigError(f"{file}:{_bad_date(text)} {exc}") from None
    return parse_config(raw, str(file))
