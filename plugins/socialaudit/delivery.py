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

One connection a batch (``SmtpSession``): the deliver step of a batch, and ``send``, open the
connection at the first message that needs it and send every school's message on it, instead of a
connect, EHLO, STARTTLS and login per email. A message is still recorded only once the server
accepted it, and a refusal stays with its school: a server refusing every recipient of one school
(smtplib resets the transaction) does not stop the next. A connection the server drops mid-batch
(it closes, or answers 421) is opened again once for the message that found it dropped (lost after
the server took the message but before it answered, that is the at-least-once edge above: the copy
carries the same Message-ID); if that fails too, or the connection cannot be opened at all, that
school fails, and so does each school after it without connecting again (``SmtpUnavailable``). The schools sent before stay recorded.
``pipeline.deliver_schools`` raises ``DeliveryFailed`` after the whole batch, naming each school not
sent and why, so Airflow retries the task and the retry sends only what is missing.
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
            resend: bool = False, conn_id: str = CONN_ID, smtp: bool | None = None,
            session: SmtpSession | None = None) -> Delivery:
    """Send ``message`` to the recipients not yet recorded for (week, school); record those accepted.

    ``smtp``: whether connection ``conn_id`` exists, when the caller has looked already (a batch looks once,
    not once per school); None looks it up here. ``session``: the batch's connection (``SmtpSession``); None
    opens one for this message alone."""
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
    if session is None:
        with SmtpSession(conn_id) as own:
            refused = own.send(message, pending)
    else:
        refused = session.send(message, pending)
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


class SmtpUnavailable(smtplib.SMTPException):
    """The SMTP connection could not be opened (or opened again) earlier in the batch: the school's message is
    not sent, and no further connection is attempted for it (each would wait for the same server)."""


class DeliveryFailed(smtplib.SMTPException):
    """Some schools' emails of a batch were not accepted; the others were sent and recorded. Raised after the
    whole batch, so Airflow retries the task and the retry sends only what is missing."""

    def __init__(self, failures: dict[str, BaseException], *, sent: int) -> None:
        self.failures = dict(failures)
        reasons = "; ".join(f"{school}: {_reason(exc)}" for school, exc in self.failures.items())
        super().__init__(f"{len(self.failures)} school(s)' email not sent ({sent} sent and recorded): {reasons}")


def _reason(exc: BaseException) -> str:
    """One line: the error's kind and what the server said (each refused recipient with its reply)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        said = ", ".join(f"{address} {code} {reply.decode(errors='replace')}"
                         for address, (code, reply) in exc.recipients.items())
        return f"every recipient refused ({said})"
    return f"{type(exc).__name__}: {exc}"


class SmtpSession:
    """One SMTP connection (Airflow's ``SmtpHook``, connection ``conn_id``) for every message of a batch.

    Nothing is opened until the first ``send``. Use it as a context manager, so the connection is closed
    (QUIT) at the end. ``opened`` counts the connections opened."""

    def __init__(self, conn_id: str = CONN_ID) -> None:
        self.conn_id = conn_id
        self.opened = 0
        self._hook: Any = None
        self._client: smtplib.SMTP | None = None
        self._unavailable: BaseException | None = None

    def __enter__(self) -> SmtpSession:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Say QUIT and close; a connection already gone is closed quietly."""
        client, self._client = self._client, None
        if client is not None:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()

    def _attempt(self, client: smtplib.SMTP, message: EmailMessage, from_addr: str,
                 to_addrs: list[str]) -> dict[str, tuple[int, bytes]]:
        """One try on ``client``. A refusal (smtplib reset the transaction) keeps the connection; a connection
        lost, or closed by a 421 reply, is dropped and raised as ``SMTPServerDisconnected``, the original
        error chained; any other ``OSError`` (a timeout) drops it and is raised as it is."""
        try:
            return client.send_message(message, from_addr=from_addr, to_addrs=to_addrs)
        except smtplib.SMTPServerDisconnected:
            self._drop()
            raise
        except smtplib.SMTPException as exc:
            if client.sock is not None:
                raise
            self._drop()  # smtplib closes the connection on a 421 reply
            raise smtplib.SMTPServerDisconnected(f"the server closed the connection: {exc}") from exc
        except OSError:
            self._drop()
            raise

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def _open(self) -> smtplib.SMTP:
        from airflow.providers.smtp.hooks.smtp import SmtpHook

        if self._unavailable is not None:
            raise SmtpUnavailable(f"connection {self.conn_id!r} could not be opened earlier in this batch: "
                                  f"{type(self._unavailable).__name__}: {self._unavailable}") from self._unavailable
        if self._hook is None:
            self._hook = SmtpHook(smtp_conn_id=self.conn_id)
        self._hook._smtp_client = None
        try:
            self._hook.get_conn()
        except BaseException as exc:  # remembered, then raised as it is: the next send does not connect again
            self._unavailable = exc
            raise
        client = self._hook._smtp_client  # the hook's authenticated smtplib client (see the module docstring)
        if not isinstance(client, smtplib.SMTP):
            self._unavailable = RuntimeError(f"connection {self.conn_id!r}: the SMTP client did not open")
            raise self._unavailable
        self.opened += 1
        self._client = client
        return client

    def send(self, message: EmailMessage, to_addrs: list[str]) -> dict[str, str]:
        """Send ``message`` to ``to_addrs``; returns the recipients the server refused, with its reply.

        Raises (smtplib errors, ``OSError``) when the server did not accept the message: every recipient
        refused, the sender or the data refused, or the connection lost and not regained (see the module
        docstring). ``From`` follows the connection's ``from_email``."""
        fresh = self._client is None
        client = self._open() if self._client is None else self._client
        sender = self._hook.from_email
        if sender:
            del message["From"]
            message["From"] = sender
        envelope_from = email.utils.parseaddr(str(message["From"]))[1]
        try:
            refused = self._attempt(client, message, envelope_from, to_addrs)
        except (smtplib.SMTPServerDisconnected, ConnectionError):
            if fresh:
                raise
            # dropped since the last message (closed, reset, or 421): once more on a new connection
            refused = self._attempt(self._open(), message, envelope_from, to_addrs)
        return {address: f"{code} {reply.decode(errors='replace')}" for address, (code, reply) in refused.items()}
