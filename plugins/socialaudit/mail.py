"""The head's weekly email: built from the school view as multipart/alternative (text + HTML).

The HTML is email-safe: table layout, CSS inlined into ``style`` attributes by css-inline (remote
stylesheets never loaded), no images, scripts or external resources, and the posting trend drawn as
table cells, which every client renders. Headers are derived from the week and the school, never
the clock, so a rerun writes the same bytes. Critical (safeguarding) findings copy the school's
designated safeguarding lead (DSL).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, time, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from socialaudit import reports
from socialaudit.config import TrustConfig
from socialaudit.reports import safe_link
from socialaudit.weeks import IsoWeek

SENDER = "Social media audit <socialaudit@trust.example.org>"
MAX_BYTES = 100 * 1024  # many clients clip larger messages (Gmail at ~102 KB)


class EmailTooLarge(ValueError):
    """The rendered email would exceed MAX_BYTES; the message names the school and the size."""


def headline(view: dict[str, Any]) -> str:
    """'2 actions this week', or 'No actions this week'."""
    actions = len(view["actions"])
    if not actions:
        return "No actions this week"
    counted = f"{actions} action{'s' if actions != 1 else ''} this week"
    if view.get("nothing_collected"):
        return f"Nothing could be collected, so nothing was checked: {counted}"
    return counted


def subject(view: dict[str, Any]) -> str:
    """Names the school, the week and the headline, e.g. 'St Aidan's ...: social media audit 2026-W47 - 2 actions this week'."""
    prefix = "[Safeguarding] " if view["critical"] else ""
    return f"{prefix}{view['school']['name']}: social media audit {view['week']} - {headline(view)}"


def recipients(view: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(to, cc): the head, and the DSL when there is a critical finding and the school has one."""
    to = [view["school"]["head_email"]]
    dsl = view["school"]["dsl_email"]
    cc = [dsl] if view["critical"] and dsl and dsl not in to else []
    return to, cc


def _text_bar(cells: int, total: int, minimum: int) -> str:
    """'###|  ' : one '#' per post (capped), '|' where the weekly target lies."""
    out = []
    for i in range(total):
        out.append("#" if i < cells else ".")
        if i == minimum - 1:
            out.append("|")
    return "".join(out)


def email_context(view: dict[str, Any]) -> dict[str, Any]:
    """The school view plus what only the email needs (headline, text bars, report link)."""
    trend = [{**t, "bar": _text_bar(t["cells"], view["bar_cells"], view["minimum"])} for t in view["trend"]]
    base = view["trust"]["report_url"].rstrip("/")
    link = f"{base}/{view['week']}/schools/{view['school']['id']}.html" if base else ""

    return {**view, "trend": trend, "headline": headline(view), "report_link": safe_link(link)}


def render_bodies(view: dict[str, Any]) -> tuple[str, str]:
    """(plain text, email-safe HTML with inlined CSS)."""
    import css_inline

    context = email_context(view)
    text = reports.render("email.txt", **context)
    html = reports.render("email.html", **context)
    inliner = css_inline.CSSInliner(load_remote_stylesheets=False, keep_style_tags=False, keep_link_tags=False)
    return text, inliner.inline(html)


def build_school_email(view: dict[str, Any], config: TrustConfig, *, sender: str = SENDER) -> EmailMessage:
    """The head's weekly email as multipart/alternative; raises EmailTooLarge past MAX_BYTES."""
    return school_email(view, config, sender=sender)[0]


def school_email(view: dict[str, Any], config: TrustConfig, *, sender: str = SENDER) -> tuple[EmailMessage, bytes]:
    """The head's weekly email (``build_school_email``) and its bytes, which the size check has made already:
    the outbox writes those rather than flattening the message a second time."""
    week = IsoWeek.parse(view["week"])
    to, cc = recipients(view)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(to)
    if cc:
        message["Cc"] = ", ".join(cc)
    message["Subject"] = subject(view)
    sent = datetime.combine(week.sunday + timedelta(days=1), time(6), ZoneInfo(config.trust.timezone))
    message["Date"] = format_datetime(sent)
    digest = hashlib.sha256(f"{view['school']['id']}:{view['week']}".encode()).hexdigest()[:24]
    message["Message-ID"] = f"<{digest}.{view['week']}@socialaudit.invalid>"
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: tells autoresponders not to reply
    text, html = render_bodies(view)
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    message.set_boundary(f"=_socialaudit_{digest}")  # the default boundary is random
    data = bytes(message)
    if len(data) > MAX_BYTES:
        raise EmailTooLarge(f"school {view['school']['id']!r}: the {view['week']} email is {len(data)} bytes, over {MAX_BYTES}")
    return message, data


def message_recipients(message: EmailMessage) -> list[str]:
    """Every address in To and Cc, in order, without duplicates (the SMTP envelope)."""
    seen: list[str] = []
    for _name, address in getaddresses([str(v) for v in message.get_all("To", []) + message.get_all("Cc", [])]):
        if address and address not in seen:
            seen.append(address)
    return seen


def outbox_path(folder: Path, school_id: str) -> Path:
    """Where a school's email for a week lives in the outbox."""
    return folder / f"{school_id}.eml"


def write_outbox(message: EmailMessage | bytes, folder: Path, school_id: str) -> Path:
    """Write the message (or its bytes, from ``school_email``) as an .eml file, atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    path = outbox_path(folder, school_id)
    tmp = path.with_suffix(".eml.tmp")
    tmp.write_bytes(message if isinstance(message, bytes) else bytes(message))
    tmp.replace(path)
    return path
