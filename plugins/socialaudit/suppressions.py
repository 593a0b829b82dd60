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

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

from socialaudit.config import TrustConfig
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
