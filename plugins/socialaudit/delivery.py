"""Deliver the head's weekly email: by SMTP through Airflow's ``SmtpHook``, or not at all.

* With an Airflow connection ``smtp_default`` (``AIRFLOW_CONN_SMTP_DEFAULT``, the metastore, or a
  secrets backend), the outbox's ``.eml`` is sent as it is, so what was sent is what the outbox
  shows, apart from these headers: ``From`` follows the connection's ``from_email`` extra and
  ``Date`` is the time of sending. The first sending keeps the outbox's stable ``Message-ID`` for
  the school and week, so a retry after the server accepted it (the narrow at-least-once edge
  below) carries the same id and mail systems can drop the copy. A deliberate resend
  (``--resend``) gets a new ``Message-ID``, so it is not dropped as a duplicate, with
  ``References``/``In-Reply-To`` naming the first, so mail clients thread it. The outbox keeps its
  deterministic headers, so a rerun still writes byte-identical files.
* Without one (the demo, a laptop), nothing is sent: the message stays in the outbox folder, and
  no delivery is recorded, so configuring SMTP later and running ``send`` still delivers it.

Idempotence: each recipient of a (week, school) is recorded in the store's ``deliveries`` table
once the SMTP server accepts it. A retried task, or a rerun of the week, skips recipients already
recorded, so a head never gets the same week's report twice; ``resend=True`` (``--resend``) forces
it. The guarantee is at-least-once at the narrow edge: a crash after the server accepted the
message but before the row was written would send it again on retry.

``SmtpHook.send_email_smtp`` builds its own message with an HTML part only; the head's email needs
a text/plain alternative, so we let the hook open and authenticate the connection (SSL, STARTTLS,
login or OAuth2 as the connection says) and hand its client our prebuilt message.
"""

from __future__ import annotations

import email
import email.parser
import email.policy
import email.utils
import smtplib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from socialaudit.mail import message_recipients
from socialaudit.store import Store
from socialaudit.weeks import IsoWeek

CONN_ID = "smtp_default"


@dataclass(frozen=True, slots=True)
class Delivery:
    """What happened to one school's email for one week."""

    school: str
    week: str
    transport: str  # "smtp", "outbox" (no SMTP connection) or "skipped" (already delivered)
    message_id: str
    sent: tuple[str, ...] = ()
    already: tuple[str, ...] = ()
    refused: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"school": self.school, "week": self.week, "transport": self.transport, "message_id": self.message_id,
                "sent": list(self.sent), "already": list(self.already), "refused": dict(self.refused)}


def smtp_configured(conn_id: str = CONN_ID) -> bool:
    """Whether an Airflow connection ``conn_id`` exists (env var, metastore or secrets backend)."""
    from airflow.providers.common.compat.sdk import AirflowNotFoundException, BaseHook

    try:
        BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return False
    return True


def read_eml(path: Path, *, headers_only: bool = False) -> EmailMessage:
    """Parse an outbox file back into a message. ``headers_only``: the headers, with the rest kept unparsed as
    the payload, enough to decide a delivery that sends nothing (no SMTP connection); parsing the MIME parts
    was most of the deliver step's CPU."""
    data = path.read_bytes()
    if headers_only:
        message = email.parser.BytesHeaderParser(policy=email.policy.default).parsebytes(data)
    else:
        message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def deliver(message: EmailMessage, *, week: IsoWeek, school: str, store: Store, run_id: str,
            resend: bool = False, conn_id: str = CONN_ID, smtp: bool | None = None) -> Delivery:
    """Send ``message`` to the recipients not yet recorded for (week, school); record those accepted.

    ``smtp``: whether connection ``conn_id`` exists, when the caller has looked already (a batch looks once,
    not once per school); None looks it up here."""
    everyone = message_recipients(message)
    message_id = str(message["Message-ID"] or "")
    already = [] if resend else [r for r in everyone if store.delivered(week, school, r)]
    pending = [r for r in everyone if r not in already]
    if not pending:
        return Delivery(school=school, week=str(week), transport="skipped", message_id=message_id,
                        already=tuple(already))
    if not (smtp_configured(conn_id) if smtp is None else smtp):
        return Delivery(school=school, week=str(week), transport="outbox", message_id=message_id,
                        already=tuple(already))
    message_id = stamp_for_sending(message, resend=resend)
    refused = _send_smtp(message, pending, conn_id)
    sent = [r for r in pending if r not in refused]
    for recipient in sent:
        store.record_delivery(week, school, recipient, run_id=run_id, message_id=message_id, transport="smtp")
    return Delivery(school=school, week=str(week), transport="smtp", message_id=message_id, sent=tuple(sent),
                    already=tuple(already), refused=refused)


def stamp_for_sending(message: EmailMessage, *, resend: bool = False, now: datetime | None = None) -> str:
    """Give ``message`` the headers of this sending (see the module docstring); returns its Message-ID."""
    original = str(message["Message-ID"] or "").strip()
    del message["Date"]
    message["Date"] = email.utils.format_datetime(now or datetime.now(timezone.utc))
    if not resend and original:
        return original
    domain = original.rsplit("@", 1)[-1].rstrip(">") if "@" in original else "socialaudit.invalid"
    for header in ("Message-ID", "References", "In-Reply-To"):
        del message[header]
    message_id = email.utils.make_msgid(idstring="socialaudit", domain=domain)
    message["Message-ID"] = message_id
    if original:
        message["References"] = original
        message["In-Reply-To"] = original
    return message_id


def _send_smtp(message: EmailMessage, to_addrs: list[str], conn_id: str) -> dict[str, str]:
    """Send through the hook's authenticated client; returns the recipients the server refused.

    Connection errors and a server refusing every recipient raise (smtplib errors), so Airflow
    retries the task; nothing is recorded for a message the server did not accept.
    """
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    hook = SmtpHook(smtp_conn_id=conn_id)
    with hook:
        sender = hook.from_email
        if sender:
            del message["From"]
            message["From"] = sender
        client = hook._smtp_client  # the hook's authenticated smtplib client (see the module docstring)
        if not isinstance(client, smtplib.SMTP):
            raise RuntimeError(f"connection {conn_id!r}: the SMTP client did not open")
        envelope_from = email.utils.parseaddr(str(message["From"]))[1]
        refused = client.send_message(message, from_addr=envelope_from, to_addrs=to_addrs)
    return {address: f"{code} {reply.decode(errors='replace')}" for address, (code, reply) in refused.items()}
