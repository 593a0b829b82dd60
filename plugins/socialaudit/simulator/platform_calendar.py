"""Simulated school calendars: an iCalendar feed per demo school at /calendar/<school>.ics.

Each feed holds the school's recurring events from ``dataset.DEMO_CALENDARS`` (weekly RRULEs), so
the event promotion check has events in any week; an unknown school's feed answers 404 (the demo's
St Joseph's points at an old calendar address that no longer exists).
"""

from __future__ import annotations

from socialaudit.simulator.dataset import DEMO_CALENDARS, calendar_ics
from socialaudit.simulator.server import SimRequest, SimResponse, route


@route("GET", r"/calendar/(?P<school>[a-z0-9-]+)\.ics")
def school_calendar(request: SimRequest) -> SimResponse:
    """The school's calendar as text/calendar, or 404."""
    school = request.match.group("school")
    entries = DEMO_CALENDARS.get(school)
    if not entries:
        return SimResponse(status=404, body=b"Calendar not found", content_type="text/plain")
    names = {p.school: p.school_name for p in request.sim.profiles.values()}
    return SimResponse(body=calendar_ics(school, entries, names.get(school, school)).encode(),
                       content_type="text/calendar; charset=utf-8")
