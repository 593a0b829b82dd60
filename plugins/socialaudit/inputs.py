"""The inputs the checks declare (services layer): one provider per need.

A check declares what it needs besides the posts, ``@check(..., needs=("events",))``, as Great
Expectations' ``metric_dependencies`` or Soda's ``historic_descriptors`` do. Before the checks run,
:func:`provide` calls the provider of each need that a selected check declared, once, and each
check then sees in ``ctx.services`` only the inputs it declared. A need nobody selected is never
computed, and the pipeline names no check: adding a check that needs a new input is the check, a
``@provider`` for that input, and their test (``tests/checks/test_check_needs.py`` shows one).

What a provider gives a run is kept in the run's raw folder, which the archive seals, so that
``history replay`` can give the checks the same inputs with no network and no store: the calendars
as read (``calendar/``), the link resolutions (``links/resolutions/``) and the comment history
(``inputs/comment_history/``).

=====================  ==========================================================  ==================
need                   what                                                        declared by
=====================  ==========================================================  ==================
``events``             the school's calendar events (school id -> SchoolEvents)    event_promotion
``links``              the link resolver (None when resolution is switched off)    external_links
``comment_history``    open flagged comments of earlier weeks and their posts      comments
=====================  ==========================================================  ==================
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from checks._calendar import window_for
from checks.comments import CommentHistory, TrackedComment, history_from_rows, track_weeks, tracking_reach
from socialaudit.calendars import load_school_events
from socialaudit.config import School, TrustConfig
from socialaudit.links import KeptResolver, LinkResolution, kept_body, resolver_for
from socialaudit.models import AccountCollection, Post, parse_utc
from socialaudit.raw import RawArchive
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
    raw: RawArchive | None = None  # where the run keeps what was read for this school (calendars), to be sealed


LINKS, RESOLUTIONS = "links", "resolutions"  # raw/<school>/links/resolutions/: the kept link resolutions
INPUTS, COMMENT_HISTORY = "inputs", "comment_history"  # raw/<school>/inputs/comment_history/: the comments check's
Provider = Callable[[InputRequest], object]
_PROVIDERS: dict[str, Provider] = {}


def provider(need: str) -> Callable[[Provider], Provider]:
    """Register the one provider of ``need``; a second one for the same need raises."""

    def register(fn: Provider) -> Provider:
        known = _PROVIDERS.get(need)
        if known is not None and (known.__module__, known.__qualname__) != (fn.__module__, fn.__qualname__):
            raise ValueError(f"input {need!r} has two providers ({known.__module__} and {fn.__module__})")
        _PROVIDERS[need] = fn
        return fn

    return register


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
    """The school's calendar events for the week; reading a calendar is I/O, so it is done here and
    not in the pure check. A calendar that cannot be read is recorded with the school and the calendar
    named; that school's event check is "not evaluated"."""
    config, school, week = request.config, request.school, request.week
    if not (school.calendars or config.trust.calendars):
        return None
    start, end = window_for(week.monday, week.sunday)
    raw = request.raw

    def keep(label: str, body: bytes) -> None:  # the calendar as read, sealed with the run for the auditors
        if raw is not None:
            raw.for_account("calendar", label).save_raw(platform="calendar", account=label, page=0, url=label,
                                                        body=body, content_type="text/calendar")

    def failed(label: str, reason: str) -> None:  # why it could not be read, sealed as well
        if raw is not None:
            raw.for_account("calendar", label).save_failure(platform="calendar", account=label, url=label, reason=reason)

    return {school.id: load_school_events(config, school, start, end, keep=keep, failed=failed)}


@provider("links")
def links(request: InputRequest) -> Any:
    """The run's link resolver; with a store its answers are cached there, so a retried task opens nothing again.
    With the run's raw folder, every resolution the check is given is kept there (``links/resolutions/``)
    and sealed with the run: the redirect chain and each request's answer behind a 4.1 finding."""
    resolver = resolver_for(request.config, store=request.store, resolve=request.resolve)
    raw = request.raw
    if resolver is None or raw is None:
        return resolver

    def keep(items: list[LinkResolution]) -> None:
        raw.for_account(LINKS, RESOLUTIONS).save_raw(platform=LINKS, account=RESOLUTIONS, page=0, url="",
                                                     body=kept_body(items), content_type="application/json")

    return KeptResolver(resolver, keep)


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
