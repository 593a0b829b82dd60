"""``python -m socialaudit send``: deliver a week's emails (SMTP connection smtp_default, else the outbox)."""

from __future__ import annotations

import argparse
import smtplib
import sys
from typing import Any

from socialaudit.cli._common import EXIT_FAILED
from socialaudit.delivery import SmtpSession, smtp_configured
from socialaudit.errors import UsageError
from socialaudit.pipeline import Environment, deliver_school, safe_run_id
from socialaudit.weeks import IsoWeek


def cmd_send(args: argparse.Namespace) -> int:
    """Deliver a week's emails from the outbox; already-delivered recipients are skipped unless --resend."""
    week = IsoWeek.parse(args.week)
    env = Environment.from_env(config=args.config)
    config = env.load()
    if args.school:
        try:
            config.school(args.school)
        except KeyError:
            raise UsageError(f"{config.source}: no school {args.school!r} (known: {', '.join(s.id for s in config.schools)})") from None
    schools = [args.school] if args.school else [s.id for s in config.schools]
    run_id = safe_run_id(f"cli_send_{week}")
    failed = 0
    smtp = smtp_configured()  # once, not once per school
    with SmtpSession() as session:  # one SMTP connection for every school, opened at the first email
        for school in schools:
            try:
                result = deliver_school(school, week, run_id, env, resend=args.resend, smtp=smtp, session=session)
            except (OSError, smtplib.SMTPException) as exc:
                print(f"send: school {school!r}: {type(exc).__name__}: {exc}", file=sys.stderr)
                failed += 1
                continue
            where = {"smtp": "sent to " + ", ".join(result.sent),
                     "outbox": "no SMTP connection 'smtp_default': left in the outbox, nothing sent",
                     "skipped": "already delivered to " + ", ".join(result.already) + " (use --resend to send again)"}
            print(f"{week} {school}: {where[result.transport]}")
            if result.refused:
                print(f"send: school {school!r}: refused by the server: {result.refused}", file=sys.stderr)
                failed += 1
    return EXIT_FAILED if failed else 0



def add_parser(sub: Any) -> None:
    send = sub.add_parser("send", help="deliver a week's emails (SMTP connection smtp_default, else the outbox)")
    send.add_argument("--week", required=True, help="ISO week, e.g. 2026-W47")
    send.add_argument("--school", help="one school id (default: every school)")
    send.add_argument("--resend", action="store_true", help="send again even to recipients already delivered")
    send.set_defaults(func=cmd_send)
