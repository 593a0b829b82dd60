"""Reviewed suppressions: a finding marked "false positive" or "accepted risk" by a named reviewer.

A suppression comes from ``suppressions:`` in the trust config or from the CLI
(``python -m socialaudit suppress add KEY ...``, stored in the store's ``suppressions`` table with
who added it and when; ``revoke`` keeps the row). It names a finding by its key
(``Finding.key``: ``check:school:account:post_id:evidence``) or a prefix of it that ends at a
``:`` boundary, so ``external_links:st-aidans`` matches that school's external-link findings but
not those of ``st-aidans-juniors``. When several match, the longest (most specific) wins.

Applied after the checks run (``pipeline.check_school``):

- a matching finding is *kept* (in the store, exports and every report) with its ``suppression``
  set, and reports show "False positive, reviewed by X on D: reason; until E";
- it no longer counts towards its check's status: the status is recomputed from the findings
  that are not suppressed (pass when none is left), unless the check's status was set by
  something other than its findings (then it stays). ``error``, ``not_evaluated`` and
  ``not_applicable`` never change: a suppression can hide a reviewed finding, never a failure to check;
- an ``accepted_risk`` never suppresses a ``critical`` (safeguarding) finding: a risk to a child is
  not the school's to accept. Only ``false_positive`` can (the finding was wrong);
- expiry is judged against the audited week's end (its Sunday), not the wall clock: a suppression
  with ``expires: 2026-11-22`` covers 2026-W47 and earlier, and the finding comes back in 2026-W48,
  so a rerun of any week gives the same result.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from typing import Any

from checks._base import registry
from socialaudit.config import TrustConfig
from socialaudit.environment import Environment
from socialaudit.errors import UsageError
from socialaudit.models import CheckResult, Finding, Severity, Status, Suppression
from socialaudit.store import Store
from socialaudit.weeks import IsoWeek

KINDS = ("false_positive", "accepted_risk")
KIND_WORDS = {"false_positive": "False positive", "accepted_risk": "Accepted risk"}
_UNCHANGED = (Status.ERROR, Status.NOT_EVALUATED, Status.NOT_APPLICABLE)


@dataclass(frozen=True, slots=True)
class Rule:
    """One suppression, whatever its source."""

    finding: str
    kind: str
    reviewer: str
    reason: str
    expires: date
    reviewed: date | None
    source: str  # "config" or "cli #<id>"

    def covers(self, week: IsoWeek) -> bool:
        """Whether it still applies to ``week`` (the week's last day is not after ``expires``)."""
        return week.sunday <= self.expires

    def matches(self, finding: Finding) -> bool:
        """The key is the rule's, or starts with it at a ``:`` boundary; accepted risk never covers critical."""
        if self.kind == "accepted_risk" and finding.severity is Severity.CRITICAL:
            return False
        key = finding.key
        prefix = self.finding
        return key == prefix or key.startswith(prefix if prefix.endswith(":") else prefix + ":")

    def suppression(self) -> Suppression:
        """What a finding it matches carries."""
        return Suppression(kind=self.kind, reviewer=self.reviewer, reason=self.reason, expires=self.expires.isoformat(),
                           reviewed=self.reviewed.isoformat() if self.reviewed else None, rule=self.finding,
                           source=self.source)


def rules(config: TrustConfig, store: Store | None) -> list[Rule]:
    """The config's suppressions, then the store's active (not revoked) ones."""
    out = [Rule(finding=s.finding, kind=s.kind, reviewer=s.reviewer, reason=s.reason, expires=s.expires,
                reviewed=s.reviewed, source="config") for s in config.suppressions]
    if store is not None:
        for row in store.list_suppressions():
            out.append(Rule(finding=row["finding"], kind=row["kind"], reviewer=row["reviewer"], reason=row["reason"],
                            expires=date.fromisoformat(row["expires"]), reviewed=row["added_at"].date(),
                            source=f"cli #{row['id']}"))
    return out


def rule_for(finding: Finding, candidates: Sequence[Rule], week: IsoWeek) -> Rule | None:
    """The most specific rule that matches ``finding`` and still covers ``week``."""
    found = [r for r in candidates if r.covers(week) and r.matches(finding)]
    return max(found, key=lambda r: len(r.finding)) if found else None


def apply(results: Sequence[CheckResult], candidates: Sequence[Rule], week: IsoWeek) -> list[CheckResult]:
    """Mark suppressed findings and recompute each affected check's status (see the module docstring)."""
    out = []
    for result in results:
        findings = []
        count = 0
        for finding in result.findings:
            rule = rule_for(finding, candidates, week)
            if rule is None:
                findings.append(replace(finding, suppression=None))
                continue
            findings.append(replace(finding, suppression=rule.suppression()))
            count += 1
        if not count:
            out.append(replace(result, findings=tuple(findings)))
            continue
        status = _status_without(result, findings)
        plural = "s" if count != 1 else ""
        summary = f"{result.summary} {count} finding{plural} suppressed after review."
        out.append(replace(result, status=status, summary=summary, findings=tuple(findings),
                           metrics={**result.metrics, "suppressed": count}))
    return out


def _status_without(result: CheckResult, findings: Sequence[Finding]) -> Status:
    if result.status in _UNCHANGED or result.status is Status.PASS:
        return result.status
    driven = max((f.status for f in findings), key=lambda s: s.rank, default=Status.PASS)
    if result.status.rank > driven.rank:
        return result.status  # worse than any finding: set by something else (metrics), not ours to lift
    remaining = [f.status for f in findings if not f.suppressed]
    return max(remaining, key=lambda s: s.rank) if remaining else Status.PASS


def note(suppression: Suppression) -> str:
    """'False positive, reviewed by Ms Patel on 2026-11-20: the child is a fictional character; until 2026-12-31'."""
    words = KIND_WORDS.get(suppression.kind, suppression.kind)
    reviewed = f" on {suppression.reviewed}" if suppression.reviewed else ""
    return f"{words}, reviewed by {suppression.reviewer}{reviewed}: {suppression.reason}; until {suppression.expires}"


# --- CLI ---------------------------------------------------------------------------------------

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
