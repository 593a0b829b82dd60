"""``python -m socialaudit suppress add|list|revoke``: reviewed suppressions of findings (the rules and
how they apply are ``socialaudit.suppressions``)."""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import date, datetime, timezone
from typing import Any

from checks._base import registry
from socialaudit.environment import Environment
from socialaudit.errors import UsageError
from socialaudit.suppressions import KIND_WORDS, KINDS
from socialaudit.weeks import IsoWeek


def add_parser(sub: Any) -> None:
    """``suppress add|list|revoke`` (listed in cli.COMMANDS)."""
    parser = sub.add_parser("suppress", help="reviewed suppressions of findings (false positive, accepted risk)")
    parser.add_argument("--config", help="trust config (default: $SOCIALAUDIT_CONFIG or config/trust.yaml)")
    actions = parser.add_subparsers(dest="action", required=True)

    add = actions.add_parser("add", help="suppress a finding (its key, or a prefix of it) until a date")
    add.add_argument("key", help="the finding's key (check:school:account:post_id:evidence) or a prefix ending at ':'")
    add.add_argument("--kind", required=True, choices=KINDS, help="%(choices)s")
    add.add_argument("--reviewer", required=True, help="who reviewed the finding")
    add.add_argument("--reason", required=True, help="why it is a false positive or an accepted risk")
    add.add_argument("--expires", required=True, help="last day it applies, YYYY-MM-DD (judged against the audited week's Sunday)")
    add.add_argument("--by", default="", help="who is recording it (default: the login name)")
    add.set_defaults(func=cmd_add)

    listing = actions.add_parser("list", help="config and CLI suppressions, and whether they cover a week")
    listing.add_argument("--week", help="ISO week to judge expiry against (default: the last complete week)")
    listing.add_argument("--all", action="store_true", help="include revoked ones")
    listing.set_defaults(func=cmd_list)

    revoke = actions.add_parser("revoke", help="revoke a CLI suppression by its id (kept in the history)")
    revoke.add_argument("id", type=int, help="the suppression's id, as `suppress list` shows it")
    revoke.add_argument("--by", default="", help="who is revoking it (default: the login name)")
    revoke.set_defaults(func=cmd_revoke)


def _env(args: argparse.Namespace) -> Environment:
    return Environment.from_env(config=args.config)


def _who(value: str) -> str:
    if value.strip():
        return value.strip()
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def cmd_add(args: argparse.Namespace) -> int:
    """Validate and record a suppression; prints its id."""
    key = args.key.strip()
    check_name = key.split(":", 1)[0]
    known = registry()
    if check_name not in known:
        raise UsageError(f"finding key {key!r}: unknown check {check_name!r} (known: {', '.join(known)})")
    if key == check_name:
        raise UsageError(f"finding key {key!r}: name at least the school (e.g. {check_name}:<school-id>)")
    for name in ("reviewer", "reason"):
        if not getattr(args, name).strip():
            raise UsageError(f"--{name} must not be empty")
    try:
        expires = date.fromisoformat(args.expires)
    except ValueError:
        raise UsageError(f"--expires {args.expires!r} is not a date in the form YYYY-MM-DD") from None
    env = _env(args)
    config = env.load()
    school_id = key.split(":")[1] if key.count(":") >= 1 else ""
    if school_id and school_id not in {s.id for s in config.schools}:
        raise UsageError(f"finding key {key!r}: no school {school_id!r} in {config.source}")
    store = env.store()
    new_id = store.add_suppression(finding=key, kind=args.kind, reviewer=args.reviewer.strip(),
                                   reason=args.reason.strip(), expires=expires.isoformat(), added_by=_who(args.by))
    print(f"suppression #{new_id}: {KIND_WORDS[args.kind]} for {key!r} until {expires.isoformat()}, "
          f"reviewed by {args.reviewer.strip()}; applied from the next audit (or rerun) of a week it covers")
    if expires < datetime.now(timezone.utc).date():
        print(f"suppress: note: {expires.isoformat()} is in the past; it only covers weeks that ended by then",
              file=sys.stderr)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """One line per suppression: id/source, kind, key, reviewer, expiry and whether it covers the week."""
    env = _env(args)
    config = env.load()
    week = IsoWeek.parse(args.week) if args.week else IsoWeek.last_complete(datetime.now(timezone.utc), config.trust.timezone)
    store = env.store()
    lines = []
    for s in config.suppressions:
        state = "active" if week.sunday <= s.expires else "expired"
        lines.append(f"config\t{s.kind}\t{s.finding}\t{s.reviewer}\tuntil {s.expires.isoformat()}\t{state} for {week}")
    for row in store.list_suppressions(include_revoked=args.all):
        if row["revoked_at"] is not None:
            state = f"revoked by {row['revoked_by']} on {row['revoked_at']:%Y-%m-%d}"
        else:
            state = ("active" if week.sunday <= date.fromisoformat(row["expires"]) else "expired") + f" for {week}"
        lines.append(f"#{row['id']}\t{row['kind']}\t{row['finding']}\t{row['reviewer']}\tuntil {row['expires']}\t{state}"
                     f"\tadded by {row['added_by']} on {row['added_at']:%Y-%m-%d}")
    for line in lines:
        print(line)
    if not lines:
        print("no suppressions", file=sys.stderr)
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    """Revoke a CLI suppression; config ones are removed from the config file instead."""
    store = _env(args).store()
    if not store.revoke_suppression(args.id, revoked_by=_who(args.by)):
        raise UsageError(f"no active suppression #{args.id} (see 'suppress list --all')")
    print(f"suppression #{args.id} revoked; the finding is shown again from the next audit (or rerun) of a week")
    return 0
