"""Read the schools' calendars for the event promotion check (services layer: the I/O it needs).

The collect step reads them (:func:`fetch_calendars`) and keeps each body, or why it could not be
read, in the run's raw folder; the check step parses what was kept (:func:`load_school_events` with
:func:`kept_reader`), as ``history replay`` does from the sealed run, so the check step opens nothing.

A calendar source is an ``http(s)://`` URL (fetched with the collectors' session: timeouts, retries,
size cap), a ``file://`` URL or a path (relative paths are relative to the config file's folder).
What was read is parsed by the pure :func:`checks._calendar.parse_ics`; a calendar that cannot be
read is kept in ``SchoolEvents.errors`` and never raised.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from checks._calendar import CalendarError, CalendarEvent, SchoolEvents, parse_ics
from collectors._base import CollectorError
from collectors._http import HttpPolicy, HttpSession, make_session
from socialaudit.config import School, TrustConfig
from socialaudit.raw import FAILED, folder_name, kept_page


def read_source(source: str, *, base: Path, session: HttpSession | None = None, allow: tuple[str, ...] = ()) -> bytes:
    """The bytes of a calendar: an http(s) URL through the collectors' session, else a local file.

    ``allow``: the internal origins the session may open (the config's ``demo:`` simulator).
    """
    if source.startswith(("http://", "https://")):
        # one retry: a calendar that is down makes only its school's event check "not evaluated"
        http = session or make_session(policy=HttpPolicy(retries=1, max_body_bytes=5 * 1024 * 1024), allow=allow)
        try:
            response = http.get(source)
        except CollectorError as exc:
            raise CalendarError(str(exc)) from None
        if response.status != 200:
            raise CalendarError(f"HTTP {response.status}")
        return response.body
    if "://" in source and not source.startswith("file://"):
        raise CalendarError("only http(s) URLs and files are supported")
    path = Path(source.removeprefix("file://"))
    if not path.is_absolute():
        path = base / path
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CalendarError(f"cannot read {path}: {exc.strerror}") from None


def kept_as(source: str) -> str:
    """The name a calendar is kept under in a run's raw folder: its address without the query string
    (which may carry a private calendar's token), and, when it has one, a short hash of the whole
    address, so two calendars that differ only in their query are kept apart."""
    label, query = source.split("?", 1)[0], "?" in source
    return f"{label[:100]}#{hashlib.sha256(source.encode()).hexdigest()[:12]}" if query else label


def sources_of(config: TrustConfig, school: School) -> list[str]:
    """The school's calendars and the trust's, each once, in order."""
    return list(dict.fromkeys([*school.calendars, *config.trust.calendars]))


def fetch_calendars(config: TrustConfig, school: School, *, keep: Callable[[str, bytes], None],
                    failed: Callable[[str, str], None], session: HttpSession | None = None) -> None:
    """Read every calendar of the school (the collect step) and hand each to ``keep(name, body)`` as it was
    read, or to ``failed(name, reason)`` when it could not be read (``name`` from :func:`kept_as`); nothing is
    parsed here: the check step parses what was kept (:func:`load_school_events` with :func:`kept_reader`)."""
    base = Path(config.source).resolve().parent if config.source else Path.cwd()
    for source in sources_of(config, school):
        try:
            data = read_source(source, base=base, session=session, allow=config.allowed_origins())
        except CalendarError as exc:
            failed(kept_as(source), str(exc))
            continue
        keep(kept_as(source), data)


def kept_reader(get: Callable[[str], bytes | None], *, missing: str) -> Callable[[str], bytes]:
    """``read`` for :func:`load_school_events` from what a run kept: ``get(path)`` gives a file of the school's
    raw folder (``calendar/<name>/pages.jsonl.gz``, or ``failed.json`` with why it could not be read), or
    None; a calendar with neither raises :class:`CalendarError` with ``missing``."""

    def read(source: str) -> bytes:
        folder = f"calendar/{folder_name(kept_as(source))}/"
        try:
            body = kept_page(get, folder)
            if body is not None:
                return body
            failure = get(folder + FAILED)
            if failure is not None:
                raise CalendarError(str(json.loads(failure).get("error") or "could not be read"))
        except (OSError, EOFError, ValueError, AttributeError) as exc:
            if isinstance(exc, CalendarError):
                raise
            raise CalendarError(f"its kept copy cannot be read ({type(exc).__name__})") from None
        raise CalendarError(missing)

    return read


def load_school_events(config: TrustConfig, school: School, start: date, end: date, *, session: HttpSession | None = None,
                       keep: Callable[[str, bytes], None] | None = None, failed: Callable[[str, str], None] | None = None,
                       read: Callable[[str], bytes] | None = None) -> SchoolEvents:
    """The school's and the trust's calendar events in [start, end); read errors are kept, not raised.

    ``read(source)`` replaces the reading: the check step and a replay read the bodies the collect step
    kept (:func:`kept_reader`); it raises :class:`CalendarError` as reading would. Without it the
    calendars are read here (``scan``, which has no collect step); ``keep(name, body)`` is then given
    every calendar as it was read, and ``failed(name, reason)`` every calendar that could not be read.
    """
    sources = sources_of(config, school)
    base = Path(config.source).resolve().parent if config.source else Path.cwd()
    events: list[CalendarEvent] = []
    errors: list[str] = []
    for source in sources:
        label = source.split("?", 1)[0]  # a query string may carry a private calendar's token
        try:
            if read is not None:
                data = read(source)
            else:
                data = read_source(source, base=base, session=session, allow=config.allowed_origins())
        except CalendarError as exc:
            errors.append(f"school {school.id!r}: calendar {label}: {exc}")
            if failed is not None:
                failed(kept_as(source), str(exc))
            continue
        if keep is not None:
            keep(kept_as(source), data)
        try:
            events.extend(parse_ics(data, source=label, start=start, end=end, tz=config.trust.timezone))
        except CalendarError as exc:
            errors.append(f"school {school.id!r}: calendar {label}: {exc}")
        except ValueError as exc:  # icalendar's and recurring-ical-events' parse errors
            errors.append(f"school {school.id!r}: calendar {label}: invalid iCalendar: {exc}")
    return SchoolEvents(events=tuple(events), errors=tuple(errors), calendars=tuple(s.split("?", 1)[0] for s in sources))


def event_services(config: TrustConfig, school: School, start: date, end: date, *, session: HttpSession | None = None) -> dict[str, Any]:
    """``services`` for :func:`checks._base.run_checks`: the school's calendar events under "events"."""
    return {"events": {school.id: load_school_events(config, school, start, end, session=session)}}
