"""What a head should do about an account or a calendar the audit could not read, in plain words.

The collectors and calendars report what went wrong in the platform's own terms ("InvalidRequest:
Profile not found", "HTTP 404"). A head needs to know which account, what that means and who can
fix it; the raw reason stays in the report's details. Every account that was not collected, and
every calendar that could not be read, gives one action, listed before the checks' actions: until
they are fixed, the checks that need them are "not evaluated".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from checks import event_promotion
from socialaudit.models import AccountCollection, CheckResult, CollectionStatus

PLATFORM_NAMES = {"rss": "website feed", "x": "X account", "facebook": "Facebook page", "instagram": "Instagram account",
                  "youtube": "YouTube channel", "mastodon": "Mastodon account", "bluesky": "Bluesky account"}
FIXER = "the trust's social media lead, who can correct the trust's settings"

_HTTP = re.compile(r"\bHTTP (\d{3})\b")
_GONE = re.compile(r"not found|could not find|does not exist|no such|unknown (?:user|account|handle)|deactivated|suspended",
                   re.I)
_TIMEOUT = re.compile(r"timed? ?out|timeout|deadline", re.I)


@dataclass(frozen=True, slots=True)
class Advice:
    """One action about something the audit could not read."""

    policy: str  # the clauses it keeps from being checked
    what: str  # the account or calendar, and what it answered, in plain words
    action: str  # what to do and who can fix it
    details: str  # the raw reason, for the report's details


def _answered(status: CollectionStatus | None, message: str) -> str:
    """What the account or calendar answered, in plain words."""
    code = _HTTP.search(message)
    if code and code.group(1) in ("404", "410"):
        return f"answers 'not found' ({code.group(1)})"
    if code and code.group(1) in ("401", "403"):
        return f"refuses to be read ({code.group(1)})"
    if status is CollectionStatus.AUTH_FAILED:
        return "did not accept the trust's credentials"
    if _GONE.search(message) or status is CollectionStatus.UNAVAILABLE:
        return "says the account does not exist, or is private or suspended"
    if _TIMEOUT.search(message):
        return "did not answer in time"
    if code:
        return f"answered with an error ({code.group(1)})"
    if status is CollectionStatus.NOT_COLLECTED:
        return "was not collected this week"
    return "could not be read"


def for_account(platform: str, account: str, status: CollectionStatus, message: str) -> Advice:
    """The action for one account that was not collected."""
    kind = PLATFORM_NAMES.get(platform, f"{platform} account")
    answered = _answered(status, message)
    # a handle is shown as one (@name); a feed address, a YouTube channel id or a Facebook page id as it is
    handle = platform in ("x", "instagram", "bluesky", "mastodon")
    shown = f"@{account}" if handle and not account.startswith("@") else account
    what = f"Your {kind} {shown} {answered}, so this week's posts on it could not be checked."
    if status is CollectionStatus.AUTH_FAILED:
        action = f"Nothing for the school to change: {FIXER.split(',')[0]} renews the platform connection."
    elif platform == "rss":
        action = f"Check the address with your web provider; if the feed moved, tell {FIXER}."
    elif "not found" in answered or "does not exist" in answered:
        action = (f"Check that the account still exists and that {shown} is its current name; if it was renamed "
                  f"or closed, tell {FIXER}.")
    elif status is CollectionStatus.ERROR or status is CollectionStatus.NOT_COLLECTED:
        action = f"Nothing to do if next week's audit reads it; if this repeats, tell {FIXER}."
    else:
        action = f"Check the account is public; if it is, tell {FIXER}."
    return Advice(policy="4.1-4.4", what=what, action=action, details=message)


_CALENDAR = re.compile(r"calendar (\S+): (.+)$")


def for_calendar(error: str, trust_calendars: Iterable[str] = ()) -> Advice:
    """The action for one calendar that could not be read (an error line from event_promotion); a
    trust-wide calendar is the trust's to fix, not the head's."""
    found = _CALENDAR.search(error.splitlines()[0] if error else "")
    url, reason = (found.group(1), found.group(2)) if found else ("", error)
    answered = _answered(None, reason)
    trusts = {c.split("?", 1)[0] for c in trust_calendars}
    if url and url in trusts:
        what = f"The trust's events calendar {url} {answered}, so this week's events (policy 4.4) could not be checked."
        action = f"Nothing for the school to do: {FIXER.split(',')[0]} looks after the trust's calendars."
    else:
        what = f"Your events calendar {url} {answered}, so this week's events (policy 4.4) could not be checked.".replace("  ", " ")
        action = f"Check the calendar's address with whoever publishes it; if it moved, tell {FIXER}."
    return Advice(policy="4.4", what=what, action=action, details=error)


def unread(collections: Iterable[AccountCollection], results: Iterable[CheckResult], trust_calendars: Iterable[str] = ()) -> list[Advice]:
    """One action per account not collected and per calendar not read, accounts first, in a stable order."""
    out = [for_account(c.platform, c.account, c.status, c.message or "")
           for c in sorted(collections, key=lambda c: (c.platform, c.account)) if not c.status.collected]
    for result in results:
        if result.check == "event_promotion":
            trusts = tuple(trust_calendars)
            out.extend(for_calendar(e, trusts) for e in event_promotion.calendar_errors(result.metrics or {}))
    return out
