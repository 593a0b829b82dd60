"""The head's weekly email: built from the school view, written to the outbox (or sent by SMTP).

Headers are derived from the week and the school, never the clock, so a rerun writes the same bytes.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, time, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from socialaudit.config import TrustConfig
from socialaudit.weeks import IsoWeek

SENDER = "Social media audit <socialaudit@trust.example.org>"


def subject(view: dict[str, Any]) -> str:
    actions = len(view["actions"])
    headline = f"{actions} action{'s' if actions != 1 else ''} this week" if actions else "no actions this week"
    return f"{view['school']['name']}: social media audit {view['week']} - {headline}"


def build_school_email(view: dict[str, Any], config: TrustConfig, *, sender: str = SENDER) -> EmailMessage:
    from socialaudit import reports

    week = IsoWeek.parse(view["week"])
    message = EmailMessage()
    message["From"] = sender
    message["To"] = view["school"]["head_email"]
    if view["critical"] and view["school"]["dsl_email"]:
        message["Cc"] = view["school"]["dsl_email"]
    message["Subject"] = subject(view)
    sent = datetime.combine(week.sunday + timedelta(days=1), time(6), ZoneInfo(config.trust.timezone))
    message["Date"] = format_datetime(sent)
    digest = hashlib.sha256(f"{view['school']['id']}:{view['week']}".encode()).hexdigest()[:24]
    message["Message-ID"] = f"<{digest}.{view['week']}@socialaudit.invalid>"
    message.set_content(reports.render("email.txt", **view))
    message.add_alternative(reports.render("email.html", **view), subtype="html")
    message.set_boundary(f"=_socialaudit_{digest}")  # the default boundary is random
    return message


def write_outbox(message: EmailMessage, folder: Path, school_id: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{school_id}.eml"
    tmp = path.with_suffix(".eml.tmp")
    tmp.write_bytes(bytes(message))
    tmp.replace(path)
    return path
