"""The inputs the checks declare (services layer): one provider per need.

A check declares what it needs besides the posts, ``@check(..., needs=("events",))``, as Great
Expectations' ``metric_dependencies`` or Soda's ``historic_descriptors`` do. Before the checks run,
:func:`provide` calls the provider of each need that a selected check declared, once, and each
check then sees in ``ctx.services`` only the inputs it declared. A need nobody selected is never
computed, and the pipeline names no check: adding a check that needs a new input is the check, a
``@provider`` for that input, and their test (``tests/checks/test_check_needs.py`` shows one).

The checks are pure and so is the check step: an input that needs the network also has a
``@fetcher``, which the collect step calls for each school (:func:`fetch`, after the school's posts
are stored), and which keeps what it read in the run's raw folder: the calendars as read
(``calendar/``, or ``failed.json`` with why not) and the link resolutions (``links/resolutions/``).
The input's provider, in the check step, reads only what was kept there, as ``history replay`` does
from the sealed run; the comment history comes from the store and is kept as it is given
(``inputs/comment_history/``). So a sealed run holds every input its checks were given. ``scan``
has no collect step and no raw folder: its providers read the calendars and resolve the links
themselves.

=====================  ==========================================================  ==================
need                   what                                                        declared by
=====================  ==========================================================  ==================
``events``             the school's calendar events (school id -> SchoolEvents)    event_promotion
``links``              the kept link resolutions (None: resolution switched off)   external_links
``comment_history``    open flagged comments of earlier weeks and their posts      comments
=====================  ==========================================================  ==================
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, TypeVar

from checks._calendar import window_for
from checks.comments import CommentHistory, TrackedComment, history_from_rows, track_weeks, tracking_reach
from checks.external_links import Resolver, planned
from socialaudit.calendars import fetch_calendars, kept_reader, load_school_events
from socialaudit.config import School, TrustConfig
from socialaudit.links import KeptLinks, LinkResolver, kept_body, read_kept, resolver_for
from socialaudit.models import AccountCollection, Post, parse_utc
from socialaudit.raw import RawArchive, kept_page
from socialaudit.store import Store
from socialaudit.weeks import IsoWeek


@dataclass(frozen=True, slots=True, kw_only=True)
class InputRequest:
    """What a provider may use: the school's week, the store when there is one, and the run."""

    config: TrustConfig
    school: School
    week: IsoWeek
    store: Store | None = None  # None for ``scan``: nothing stored is read
    resolve: bool = True  # False: links are judged offline (``scan --no-resolve``)
    run_id: str = ""
    collections: tuple[AccountCollection, ...] = ()
    posts_since: datetime | None = None  # the start of the posts the checks were given
    raw: RawArchive | None = None  # the run's raw folder for the school: what the collect step read, sealed with the run
    resolver: LinkResolver | None = None  # the collect step's resolver, shared by a batch's schools (else one per school)


LINKS, RESOLUTIONS = "links", "resolutions"  # raw/<school>/links/resolutions/: the kept link resolutions
INPUTS, COMMENT_HISTORY = "inputs", "comment_history"  # raw/<school>/inputs/comment_history/: the comments check's
Provider = Callable[[InputRequest], object]
Fn = TypeVar("Fn", bound=Callable[..., object])
_PROVIDERS: dict[str, Provider] = {}
log = logging.getLogger(__name__)


def _registrar(table: dict[str, Fn], need: str, kind: str) -> Callable[[Fn], Fn]:
    """A decorator that registers the one ``kind`` of ``need`` in ``table``; a second one (another function) raises.
    Registering the same function again (a module imported twice) is harmless."""

    def register(fn: Fn) -> Fn:
        known = table.get(need)
        if known is not None and (known.__module__, known.__qualname__) != (fn.__module__, fn.__qualname__):
            raise ValueError(f"input {need!r} has two {kind}s ({known.__module__} and {fn.__module__})")
        table[need] = fn
        return fn

    return register


def provider(need: str) -> Callable[[Provider], Provider]:
    """Register the one provider of ``need``; a second one for the same need raises."""
    return _registrar(_PROVIDERS, need, "provider")


def providers() -> dict[str, Provider]:
    return dict(_PROVIDERS)


def provide(needs: Iterable[str], request: InputRequest, given: Mapping[str, object] | None = None) -> dict[str, object]:
    """``given`` (a test's or the CLI's own inputs), plus each need not given from its provider.

    A provider that has nothing to give (a school without calendars, no store) returns None, and the
    need is then left out.
    """
    out = dict(given or {})
    for need in dict.fromkeys(needs):
        if need in out:
            continue
        if need not in _PROVIDERS:
            raise LookupError(f"no provider for the input {need!r} (see socialaudit.inputs)")
        value = _PROVIDERS[need](request)
        if value is not None:
            out[need] = value
    return out


# --- the providers ---------------------------------------------------------------------------------

@provider("events")
def events(request: InputRequest) -> dict[str, Any] | None:
    """The school's calendar events for the week, parsed from the calendars the collect step read and
    kept in the run's raw folder (:func:`fetch_calendars_input`); the check step opens nothing. A calendar
    that could not be read is recorded with the school and the calendar named, as read; that school's
    event check is "not evaluated". ``scan`` (no raw folder: no collect step) reads the calendars here."""
    config, school, week = request.config, request.school, request.week
    if not (school.calendars or config.trust.calendars):
        return None
    start, end = window_for(week.monday, week.sunday)
    if request.raw is None:
        return {school.id: load_school_events(config, school, start, end)}
    read = kept_reader(request.raw.read, missing="it was not read by the run's collect step")
    return {school.id: load_school_events(config, school, start, end, read=read)}


@provider("links")
def links(request: InputRequest) -> Resolver | None:
    """The link resolutions the collect step kept for the school (:func:`resolve_links_input`), answered
    by a resolver that opens nothing; None when resolution is switched off. ``scan`` (no raw folder)
    gets the run's live resolver, with the store's cache when there is a store."""
    if not request.resolve:
        return None
    if request.raw is None:
        return resolver_for(request.config, store=request.store)
    try:
        body = kept_page(request.raw.read, f"{LINKS}/{RESOLUTIONS}/")
        kept = read_kept(body) if body is not None else {}
    except (OSError, EOFError, ValueError):
        kept = {}  # unreadable: every link is then one the resolver gave no answer for, as the check says
    return KeptLinks(kept)


@provider("comment_history")
def comment_history_input(request: InputRequest) -> CommentHistory | None:
    """Needs the store (``scan`` has none: the check then sees this week's comments only). What it
    gives is kept with the run (``inputs/comment_history/``), as it comes from earlier weeks' store
    rows that the run's archive does not otherwise hold."""
    if request.store is None or request.posts_since is None:
        return None
    history = comment_history(request.store, request.config, request.school, request.week, request.run_id,
                              request.collections, request.posts_since)
    if request.raw is not None:
        request.raw.for_account(INPUTS, COMMENT_HISTORY).save_raw(
            platform=INPUTS, account=COMMENT_HISTORY, page=0, url="", body=comment_history_body(history),
            content_type="application/json")
    return history


# --- what the collect step reads for the checks ------------------------------------------------------

Fetcher = Callable[[InputRequest, Sequence[Post]], None]
_FETCHERS: dict[str, Fetcher] = {}


def fetcher(need: str) -> Callable[[Fetcher], Fetcher]:
    """Register the collect step's part of the input ``need``: what it reads from the network for the
    school (given the posts the checks will read), kept in the run's raw folder for the input's provider."""

    return _registrar(_FETCHERS, need, "fetcher")


def fetch(request: InputRequest, posts: Sequence[Post]) -> list[str]:
    """The collect step: every input that needs the network read for the school and kept in ``request.raw``.

    Each fetcher's failure is its input's alone: it is logged and named in the list returned, the other
    inputs are still read, and the check finds that input not kept and says so ("not evaluated").
    """
    problems: list[str] = []
    for need, fn in _FETCHERS.items():
        try:
            fn(request, posts)
        except Exception as exc:  # noqa: BLE001 - confined to this input of this school, named in one line
            line = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
            log.warning("school %s: the %s input was not read: %s", request.school.id, need, line)
            problems.append(f"{need}: {line}")
    return problems


@fetcher("events")
def fetch_calendars_input(request: InputRequest, posts: Sequence[Post]) -> None:
    """Read each of the school's calendars and keep its body, or why it could not be read (``failed.json``)."""
    raw = request.raw
    if raw is None or not (request.school.calendars or request.config.trust.calendars):
        return

    def keep(label: str, body: bytes) -> None:  # the calendar as read, sealed with the run for the auditors
        raw.for_account("calendar", label).save_raw(platform="calendar", account=label, page=0, url=label,
                                                    body=body, content_type="text/calendar")

    def failed(label: str, reason: str) -> None:  # why it could not be read, sealed as well
        raw.for_account("calendar", label).save_failure(platform="calendar", account=label, url=label, reason=reason)

    fetch_calendars(request.config, request.school, keep=keep, failed=failed)


@fetcher("links")
def resolve_links_input(request: InputRequest, posts: Sequence[Post]) -> None:
    """Resolve the links the external_links check will judge in ``posts``, following each only as far as the
    check's own ``stop`` rule allows, and keep every resolution (its redirect chain and each request's
    answer) in ``links/resolutions/``. A resolver that fails keeps nothing: the check then names the links
    it has no answer for, as it did when it asked the resolver itself."""
    raw = request.raw
    if raw is None or not request.resolve:
        return
    kept = raw.for_account(LINKS, RESOLUTIONS)
    kept.clear()  # an earlier attempt's resolutions are not what this run judges
    plan = planned(request.school, posts, week=request.week, config=request.config)
    if not plan.to_resolve:
        return
    resolver = request.resolver or resolver_for(request.config, store=request.store)
    if resolver is None:
        return
    try:
        found = resolver.resolve_many(plan.to_resolve, stop=plan.stop)
    except OSError as exc:
        log.warning("school %s: link resolution failed: %s", request.school.id, exc)
        return
    finally:
        if resolver is not request.resolver:
            resolver.close()
    kept.save_raw(platform=LINKS, account=RESOLUTIONS, page=0, url="", body=kept_body(found.values()),
                  content_type="application/json")


def comment_history_body(history: CommentHistory) -> bytes:
    """The comments check's input as the JSON body kept with the run."""
    def moment(value: datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    data = {"format": 1,
            "tracked": [{**{f.name: getattr(t, f.name) for f in fields(t)}, "post_created_at": moment(t.post_created_at)}
                        for t in history.tracked],
            "recollected": [p.to_dict() for p in history.recollected],
            "collected": None if history.collected is None else sorted(list(k) for k in history.collected)}
    return (json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False, default=str) + "\n").encode("utf-8")


def read_comment_history(body: bytes) -> CommentHistory:
    """The inverse of :func:`comment_history_body`; ValueError when the body is not one."""
    try:
        data = json.loads(body)
        tracked = tuple(TrackedComment(**{**t, "post_created_at": parse_utc(t["post_created_at"])
                                          if t.get("post_created_at") else None}) for t in data["tracked"])
        recollected = tuple(Post.from_dict(p) for p in data["recollected"])
        collected = data["collected"]
        return CommentHistory(tracked=tracked, recollected=recollected,
                              collected=None if collected is None else frozenset(
                                  (str(a), str(b), str(c)) for a, b, c in collected))
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a kept comment history: {exc!r}") from None


def tracked_comments(store: Store, config: TrustConfig, school: School, week: IsoWeek) -> tuple[Any, ...]:
    """Flagged comments of the last 52 weeks still tracked for removal."""
    return history_from_rows(store.comment_observations_for(school.id, week - 52, week), week,
                             track_weeks(config, school))


def comment_history(store: Store, config: TrustConfig, school: School, week: IsoWeek, run_id: str,
                    collections: Iterable[AccountCollection], posts_since: datetime) -> CommentHistory:
    """The comments check's input: open flagged comments from earlier weeks, their posts collected
    again from before the checks' window, and which posts this run collected (None when the week is
    audited from the store: the stored posts are all there is)."""
    tracked = tracked_comments(store, config, school, week)
    reach = tracking_reach(tracked)
    recollected: tuple[Any, ...] = ()
    if reach and min(reach.values()) < posts_since:
        wanted = {t.post_key for t in tracked}
        recollected = tuple(p for p in store.posts_for(school.id, min(reach.values()), posts_since)
                            if (p.platform, p.account, p.id) in wanted)
    collections = list(collections)
    from_store = bool(collections) and all(c.from_store for c in collections)
    collected = None if from_store else frozenset(store.post_keys_of_run(school.id, run_id))
    return CommentHistory(tracked=tracked, recollected=recollected, collected=collected)
