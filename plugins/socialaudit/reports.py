"""HTML reports: one per school (for its head) and the Trust report (the CIO's dashboard).

One Jinja2 Environment with ``autoescape=True`` (posts and comments are untrusted input) and
``StrictUndefined`` (a renamed field fails a test instead of rendering blank); templates live in
``templates/reports`` and are found from this file's location, never the working directory. Views
are built here, already grouped and sorted; templates only loop and branch. Reports carry the week
and the run's data, never the wall-clock time, so a rerun gives byte-identical files.

The reports folder is a static site that works from disk and offline::

    reports/index.html                  every week that has a Trust report, newest first
    reports/<week>/index.html           the Trust report (KPIs, schools x checks matrix, trends)
    reports/<week>/summary.json         that week's KPIs (read back by reports/index.html)
    reports/<week>/schools-<n>.html     the matrix's further pages, 50 schools each (for a reader without JavaScript)
    reports/<week>/schools/<id>.html    one report per school

Pages carry a Content-Security-Policy that allows nothing external; the one inline script is
allowed by its SHA-256 hash, so an injected ``<script>`` would not run even if escaping failed. The Trust
report carries every school's matrix row as JSON in a ``<script type="application/json">`` element (data, never
run), from which that script searches, sorts and pages the matrix.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterable
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from checks import event_promotion, post_frequency
from checks._base import registry
from socialaudit import advice
from socialaudit.config import PROJECT_ROOT, School, TrustConfig
from socialaudit.models import AccountCollection, CheckResult, CollectionStatus, Finding, Severity, Status
from socialaudit.store import Store
from socialaudit.suppressions import note
from socialaudit.weeks import IsoWeek

TEMPLATES = PROJECT_ROOT / "templates" / "reports"
TREND_WEEKS = 8
CLAUSES = {
    "4.1": "Safe, professional content",
    "4.2": "Handles in the form @schoolname",
    "4.3": "At least {target}",  # post_frequency's target in words, from the configured minimum
    "4.4": "Promoting events",
}
COLLECTION_WORDS = {
    CollectionStatus.OK: "Collected",
    CollectionStatus.PARTIAL: "Collected, some items skipped",
    CollectionStatus.UNAVAILABLE: "Not collected: account unavailable",
    CollectionStatus.AUTH_FAILED: "Not collected: credentials rejected",
    CollectionStatus.ERROR: "Not collected: platform error",
    CollectionStatus.NOT_COLLECTED: "Not collected this week: audited from stored posts, none stored",
}
# Plain words for a head, and a symbol so the status reads without colour (print, colour blindness).
CLAUSE_WORDS = {
    "pass": "Met",
    "warn": "Needs attention",
    "fail": "Not met",
    "error": "Could not be checked (error)",
    "not_evaluated": "Not evaluated",
    "not_applicable": "Not applicable this week",
    "not_checked": "Not checked yet",
}
SYMBOLS = {
    "pass": "\u2713",  # check mark
    "warn": "!",
    "fail": "\u2717",  # ballot x
    "error": "\u26a0",  # warning sign
    "not_evaluated": "?",
    "not_applicable": "\u2013",  # en dash
    "not_checked": "\u2013",
    "no_data": "\u2013",
}
# Colours (background, text) chosen for 4.5:1 contrast; the symbol and the word carry the meaning.
COLOURS = {
    "pass": ("#dff3e4", "#14532d"),
    "warn": ("#fff4ce", "#713f12"),
    "fail": ("#fde2e1", "#7f1d1d"),
    "error": ("#ede9fe", "#4c1d95"),
    "not_evaluated": ("#e5e7eb", "#374151"),
    "not_applicable": ("#f3f4f6", "#4b5563"),
    "not_checked": ("#f3f4f6", "#4b5563"),
    "no_data": ("#f3f4f6", "#4b5563"),
}
EMAIL_BAR_CELLS = 12
PAGE_SIZE = 50  # schools per page of the Trust report's matrix (with and without the script)
MISSING_LISTED = 50  # schools named in the "did not finish" banner; the rest are counted
SUPPRESSED_LISTED = 500  # reviewed findings listed on the Trust report; each school's report lists all of its own
GROUPINGS = (("local_authority", "Local authority"), ("phase", "Phase"), ("group", "Group"))
MATRIX_STATUSES = ("pass", "warn", "fail", "error", "not_evaluated", "not_applicable")
_WEEK_DIR = re.compile(r"^\d{4}-W\d{2}$")


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The one Jinja2 environment: autoescaped (untrusted post text) and strict (no silent blanks)."""
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(enabled_extensions=("html", "htm", "xml"), default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["status_label"] = lambda value: Status(value).label
    env.filters["symbol"] = lambda value: SYMBOLS.get(str(value), "")
    env.filters["bg"] = lambda value: COLOURS.get(str(value), COLOURS["no_data"])[0]
    env.filters["fg"] = lambda value: COLOURS.get(str(value), COLOURS["no_data"])[1]
    env.globals["matrix_rows"] = matrix_rows
    return env


def render(template: str, **context: Any) -> str:
    """Render one template from ``templates/reports`` with an already-built view."""
    return environment().get_template(template).render(**context)


def safe_link(url: str) -> str:
    """The URL if it may become a clickable link (absolute http or https), else ''.

    Permalinks come from platforms and posts, so they are untrusted: ``javascript:``, ``data:``
    and anything odd stays visible as text and is never linked.
    """
    text = (url or "").strip()
    if not text or any(ch.isspace() or ord(ch) < 32 for ch in text):
        return ""
    try:
        parts = urlsplit(text)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return ""
    # Percent-encode what a URL may not contain raw (quotes, angle brackets, non-ASCII), so the
    # href is a clean URL whatever the HTML serialiser (css-inline re-serialises) does with it.
    return quote(text, safe=":/?#[]@!$&()*+,;=%~-._")


def script_hash(script: str) -> str:
    """The CSP source expression allowing exactly this inline script."""
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def _worst(statuses: list[Status]) -> Status:
    return max(statuses, key=lambda s: s.rank) if statuses else Status.NOT_EVALUATED


def week_label(week: IsoWeek) -> str:
    """'Monday 16 November to Sunday 22 November 2026'."""
    monday, sunday = week.monday, week.sunday
    return f"{monday.strftime('%A')} {monday.day} {monday.strftime('%B')} to {sunday.strftime('%A')} {sunday.day} {sunday.strftime('%B %Y')}"


def _check_rows(results: list[CheckResult]) -> list[dict[str, Any]]:
    specs = registry()
    rows = []
    for result in sorted(results, key=lambda r: (r.policy, r.check)):
        spec = specs.get(result.check)
        rows.append({
            "name": result.check,
            "title": spec.title if spec else result.check,
            "policy": result.policy,
            "status": result.status.value,
            "status_label": result.status.label,
            "summary": result.summary,
            "how_to_fix": spec.doc_section("How to fix") if spec else "",
            "findings": len(result.findings),
        })
    return rows


def _findings(results: list[CheckResult]) -> list[dict[str, Any]]:
    """Findings as dicts, worst first. Only the permalink and the (already masked) evidence of a
    flagged post are carried: reports never show anything else of a post."""
    items = [f for r in results for f in r.findings]
    items.sort(key=lambda f: (-f.severity.rank, f.policy, f.check, f.post_url, f.message))
    out: list[dict[str, Any]] = []
    incidents: dict[tuple[str, bool], dict[str, Any]] = {}
    for f in items:
        copy = {"link": safe_link(f.post_url), "post_url": f.post_url, "where": _where(f)}
        first = incidents.get((f.incident_key, f.suppressed)) if f.incident else None
        if first is not None:  # one incident: every copy's link, every further problem with the same link
            if f.post_url not in {c["post_url"] for c in first["copies"]}:
                first["copies"].append(copy)
            if f.message != first["message"]:
                first["also"].append({"severity_label": f.severity.value.capitalize(), "message": f.message,
                                      "evidence": f.evidence, "action": f.action if f.action != first["action"] else ""})
            continue
        item = {**f.to_dict(), "severity_label": f.severity.value.capitalize(), "link": copy["link"], "copies": [copy],
                "also": [], "details": "",
                "suppressed": f.suppressed, "suppression_note": note(f.suppression) if f.suppression else ""}
        if f.incident:
            incidents[(f.incident_key, f.suppressed)] = item
        out.append(item)
    return out


def _where(finding: Finding) -> str:
    """Where a copy of a post is, for a reader: the host of its address, else the account."""
    try:
        host = urlsplit(finding.post_url).hostname if finding.post_url.startswith(("http://", "https://")) else None
    except ValueError:  # a malformed address ("http://[x"): the account says where
        host = None
    return (host or finding.account or "post").removeprefix("www.")


def _incidents(findings: Iterable[Finding]) -> int:
    """How many incidents: the cross-posted copies of one post count once."""
    findings = list(findings)
    return len({f.incident_key for f in findings if f.incident}) + sum(1 for f in findings if not f.incident)


def _clause_of(policy: str) -> str:
    return ".".join(policy.split(".")[:2])


_UNREAD_PHRASES = ("could not be collected", "could not be found on the platform")  # the checks' own words


def _say_unread_once(checks: list[dict[str, Any]], results: list[CheckResult],
                     collections: Iterable[AccountCollection]) -> None:
    """A check not evaluated because an account or a calendar could not be read says so in a few words and
    points at the actions that name them (listed first), instead of naming every account again."""
    unread = [c.account for c in collections if not c.status.collected and c.account]
    calendars = {r.check for r in results if r.check == "event_promotion" and event_promotion.calendar_errors(r.metrics or {})}
    for row in checks:
        summary = row["summary"]
        # an unread account named where the check says it could not be read: never a check not evaluated for
        # another reason whose summary happens to contain an account's name
        said = any(a in summary for a in unread) and any(p in summary for p in _UNREAD_PHRASES)
        if row["status"] == Status.NOT_EVALUATED.value and (row["name"] in calendars or said):
            row["summary"] = "Accounts or calendars not read: the first actions above say which."


def unfinished(config: TrustConfig, week: IsoWeek, now: datetime | None = None) -> bool:
    """Whether ``week`` had not ended (in the trust's time zone) when the report was made: a run given
    ``--allow-incomplete``. Its posts and figures are partial, and every report and email says so."""
    return week > IsoWeek.last_complete(now or datetime.now(timezone.utc), config.trust.timezone)


def school_view(config: TrustConfig, school: School, week: IsoWeek, store: Store) -> dict[str, Any]:
    """Everything the school report and the head's email show, grouped and sorted."""
    results = store.results_for(week, school.id)
    collections = store.collections_for(week, school.id)
    checks = _check_rows(results)
    cannot_read = advice.unread(collections, results, config.trust.calendars)
    _say_unread_once(checks, results, collections)
    clauses = []
    for clause, template in CLAUSES.items():
        words = template.format(target=post_frequency.target_words(config.trust.min_posts_per_week))
        mine = [r for r in results if _clause_of(r.policy) == clause]
        status = _worst([r.status for r in mine]).value if mine else "not_checked"
        summary = " ".join(r.summary for r in sorted(mine, key=lambda r: r.check))
        if status == "not_evaluated" and cannot_read:  # said once, in the actions, not again in every clause
            summary = (f"Not evaluated: {len(cannot_read)} of the school's accounts or calendars could not be read; "
                       "the first actions below say which, and who can fix them.")
        clauses.append({"policy": clause, "words": words, "status": status,
                        "status_label": CLAUSE_WORDS[status], "summary": summary})
    weeks = week.previous(TREND_WEEKS)
    history = store.metric_history(school.id, "post_frequency", weeks)
    per_account = post_frequency.week_figures(history.get(str(week), {}), config.trust.min_posts_per_week).per_account
    minimum = config.trust.min_posts_per_week
    trend = []
    counts = [post_frequency.week_figures(history[str(w)], minimum).posts for w in weeks if str(w) in history]
    top = max([minimum + 1, *counts])
    for w in weeks:
        entry = history.get(str(w))
        figures = post_frequency.week_figures(entry, minimum) if entry else None
        posts = figures.posts if figures else None
        status = str(entry["status"]) if entry else "no_data"
        # a holiday week has no target; a week partly in a holiday has a smaller one (post_frequency's figures)
        target = figures.target if figures else minimum
        trend.append({"week": str(w), "posts": posts, "status": status, "holiday": status == "not_applicable",
                      "target": target, "met": posts is not None and posts >= target,
                      "width": round(100 * (posts or 0) / top), "minimum_width": round(100 * minimum / top),
                      # email bars: one table cell per post, capped so the table stays narrow
                      "cells": min(posts or 0, EMAIL_BAR_CELLS)})
    findings = _findings(results)
    overall = _worst([r.status for r in results])
    # A reviewed (suppressed) finding is listed on its own, never as an action or a safeguarding alert.
    suppressed = [f for f in findings if f["suppressed"]]
    findings = [f for f in findings if not f["suppressed"]]
    # what could not be read comes first: until it is fixed, the checks that need it are "not evaluated"
    unread = [{"severity": "not_evaluated", "severity_label": "Not checked", "policy": a.policy, "message": a.what,
               "evidence": "", "action": a.action, "details": a.details, "link": "", "post_url": "", "copies": [],
               "also": []}
              for a in cannot_read]
    actions = unread + [f for f in findings if f["severity"] != Severity.INFO.value]
    return {
        "trust": {"name": config.trust.name, "report_url": config.trust.report_url, "contact": config.trust.contact},
        "school": {"id": school.id, "name": school.name, "head_email": school.head_email, "dsl_email": school.dsl_email},
        "week": str(week),
        "week_label": week_label(week),
        "unfinished": unfinished(config, week),
        "overall": {"status": overall.value, "status_label": overall.label},
        "clauses": clauses,
        "checks": checks,
        "findings": findings,
        "actions": actions,
        "notes": [f for f in findings if f["severity"] == Severity.INFO.value],
        "critical": [f for f in findings if f["severity"] == Severity.CRITICAL.value],
        "suppressed": suppressed,
        "collections": [{"platform": c.platform, "account": c.account, "status": c.status.value,
                         "collected": c.status.collected, "words": COLLECTION_WORDS[c.status], "message": c.message,
                         "posts": c.posts, "skipped": c.skipped,
                         # this week's original posts on the account (post_frequency), not all it collected
                         "week_posts": int(per_account.get(f"{c.platform}:{c.account}", 0))} for c in collections],
        "not_collected": [c for c in collections if not c.status.collected],
        "nothing_collected": bool(collections) and not any(c.status.collected for c in collections),
        "trend": trend,
        "minimum": minimum,
        # columns of the email's bar chart: one per post, one past the target so its line shows
        "bar_cells": min(EMAIL_BAR_CELLS, max([minimum + 1, *[t["posts"] or 0 for t in trend]])),
    }


def _kpis(config: TrustConfig, weeks: Iterable[IsoWeek], store: Store, *, missing: Iterable[str] = (),
          missing_week: IsoWeek | None = None) -> dict[str, dict[str, Any] | None]:
    """The headline figures of each week (None for a week with no results), summed by the store: a few
    queries for all the weeks, whatever the number of schools (Store.week_totals). The schools in ``missing``
    (their audit did not finish) are left out of ``missing_week``'s figures but their accounts still count."""
    weeks = list(weeks)
    everyone = [s.id for s in config.schools]
    absent = set(missing)
    finished = [s for s in everyone if s not in absent]
    accounts = sum(len(s.accounts) for s in config.schools)
    collected = [s.value for s in CollectionStatus if s.collected]

    def totals(chosen: list[IsoWeek], schools: list[str]) -> dict[str, dict[str, int]]:
        if not chosen:
            return {}
        return store.week_totals(chosen, schools, frequency_check="post_frequency", events_clause="4.4",
                                 promoted_keys=event_promotion.PROMOTED_KEYS, due_keys=event_promotion.DUE_KEYS,
                                 collected=collected)

    apart = [w for w in weeks if missing_week is not None and w == missing_week and absent]
    found = {**totals([w for w in weeks if w not in apart], everyone), **totals(apart, finished)}
    out: dict[str, dict[str, Any] | None] = {}
    for week in weeks:
        t = found.get(str(week))
        if not t or not t["results"]:
            out[str(week)] = None
            continue
        out[str(week)] = {
            "schools": len(config.schools), "meeting_frequency": t["meeting_frequency"],
            "frequency_known": t["frequency_known"], "critical": t["critical"], "findings": t["findings"],
            "events_promoted": t["events_promoted"], "events_due": t["events_due"],
            "events_known": t["event_results"] > 0, "accounts": accounts,
            "accounts_collected": t["accounts_collected"],
            "missing": len(absent) if week == missing_week else 0,
            "coverage": round(100 * t["accounts_collected"] / accounts) if accounts else 0}
    return out


def _compare(now: int, before: int | None, *, better: str) -> dict[str, Any]:
    """'up 2 on last week' with a symbol and whether the change is good, bad or neutral."""
    if before is None:
        return {"text": "no figures for last week", "tone": "neutral", "symbol": ""}
    delta = now - before
    if delta == 0:
        return {"text": "same as last week", "tone": "neutral", "symbol": "="}
    good = (delta > 0) == (better == "up")
    return {"text": f"{'up' if delta > 0 else 'down'} {abs(delta)} on last week ({before})",
            "tone": "good" if good else "bad", "symbol": "\u25b2" if delta > 0 else "\u25bc"}


def trust_view(config: TrustConfig, week: IsoWeek, store: Store, *, missing: list[str]) -> dict[str, Any]:
    """The CIO's view: KPIs against last week, a schools x checks matrix, trends, unfinished schools."""
    specs = registry()

    columns = [{"name": s.name, "title": s.title, "short_title": s.short_title, "policy": s.policy} for s in specs.values()]
    rows = []
    suppressed: list[dict[str, Any]] = []
    matrix = store.week_matrix(week, figure_check="post_frequency", figure_key=post_frequency.POSTS_KEY)
    absent = set(missing)
    nothing: dict[str, Any] = {"checks": {}, "figure": None, "findings": 0, "critical": 0, "reviewed": 0,
                               "reviewed_findings": []}
    for school in config.schools:
        gone = school.id in absent
        entry = matrix.get(school.id, nothing) if not gone else nothing
        results = entry["checks"]
        cells = []
        for column in columns:
            result = results.get(column["name"])
            status = Status(result[0]) if result else (Status.ERROR if gone else Status.NOT_EVALUATED)
            summary = result[1] if result else (
                "The audit of this school did not finish." if gone else "This check has no result for the week.")
            cells.append({"check": column["name"], "status": status.value, "status_label": status.label,
                          "rank": status.rank, "summary": summary})
        reviewed_once, listed = [], set()  # one row per incident, as the school report lists them
        for f in map(Finding.from_dict, entry["reviewed_findings"]):
            if f.incident and f.incident_key in listed:
                continue
            listed.add(f.incident_key)
            reviewed_once.append(f)
        suppressed.extend({"school": school.name, "school_id": school.id, "check": f.check, "policy": f.policy,
                           "severity": f.severity.value, "severity_label": f.severity.value.capitalize(),
                           "message": f.message, "link": safe_link(f.post_url), "post_url": f.post_url,
                           "note": note(f.suppression) if f.suppression else ""} for f in reviewed_once)
        overall = Status.ERROR if gone else _worst([Status(status) for status, _ in results.values()])
        rows.append({"id": school.id, "name": school.name, "cells": cells, "missing": gone,
                     "overall": overall.value, "overall_label": overall.label, "overall_rank": overall.rank,
                     "findings": entry["findings"], "suppressed": entry["reviewed"], "critical": entry["critical"],
                     "posts": entry["figure"]})
    by_week = _kpis(config, dict.fromkeys([*week.previous(TREND_WEEKS), week - 1, week]), store, missing=missing, missing_week=week)
    now = by_week[str(week)] or _kpis_empty(config, missing)
    before = by_week[str(week - 1)]
    kpis = [
        {"id": "frequency", "title": f"Schools meeting {post_frequency.target_words(config.trust.min_posts_per_week)}", "value": f"{now['meeting_frequency']} of {now['schools']}",
         "compare": _compare(now["meeting_frequency"], before["meeting_frequency"] if before else None, better="up")},
        {"id": "critical", "title": "Open critical findings", "value": str(now["critical"]),
         "compare": _compare(now["critical"], before["critical"] if before else None, better="down")},
        {"id": "events", "title": "Events promoted",
         "value": f"{now['events_promoted']} of {now['events_due']} event{'s' if now['events_due'] != 1 else ''}"
                  if now["events_known"] else "not checked yet",
         "compare": _compare(now["events_promoted"], before["events_promoted"] if before and before["events_known"] else None,
                             better="up") if now["events_known"] else {"text": "", "tone": "neutral", "symbol": ""}},
        {"id": "coverage", "title": "Collection coverage", "value": f"{now['coverage']}% ({now['accounts_collected']} of {now['accounts']} accounts)",
         "compare": _compare(now["coverage"], before["coverage"] if before else None, better="up")},
    ]
    trends = _trends(config, week, by_week)
    view = {"trust": {"name": config.trust.name}, "week": str(week), "week_label": week_label(week),
            "unfinished": unfinished(config, week), "columns": columns, "rows": rows, "kpi": now, "kpis": kpis, "missing": missing, "suppressed": suppressed,
            "statuses": [{"value": s, "label": Status(s).label} for s in MATRIX_STATUSES],
            "trends": trends, "groupings": _groupings(config, rows), "page_size": PAGE_SIZE,
            "page_count": max(1, -(-len(rows) // PAGE_SIZE)),
            "missing_listed": MISSING_LISTED, "suppressed_listed": SUPPRESSED_LISTED}
    view["data"] = matrix_data(view)
    return view


def _groupings(config: TrustConfig, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """This week's figures totalled by each grouping the config gives (a school's local authority, phase,
    group): schools, not finished, meeting the posting target, failing, critical and findings. A grouping no
    school has is left out; schools without one are totalled as "(none given)"."""
    out: list[dict[str, Any]] = []
    by_id = {r["id"]: r for r in rows}
    frequency = {r["id"]: next((c["status"] for c in r["cells"] if c["check"] == "post_frequency"), "") for r in rows}
    for key, title in GROUPINGS:
        if not any(getattr(s, key) for s in config.schools):
            continue
        totals: dict[str, dict[str, Any]] = {}
        for school in config.schools:
            row = by_id[school.id]
            name = getattr(school, key) or "(none given)"
            t = totals.setdefault(name, {"name": name, "schools": 0, "missing": 0, "meeting": 0, "failing": 0,
                                         "critical": 0, "findings": 0})
            t["schools"] += 1
            t["missing"] += row["missing"]
            t["meeting"] += frequency[school.id] in (Status.PASS.value, Status.NOT_APPLICABLE.value) and not row["missing"]
            t["failing"] += row["overall"] == Status.FAIL.value
            t["critical"] += row["critical"]
            t["findings"] += row["findings"]
        ordered = sorted(totals.values(), key=lambda t: (t["name"] == "(none given)", str(t["name"]).lower()))
        out.append({"key": key, "title": title, "rows": ordered})
    return out


def matrix_rows(columns: list[dict[str, Any]], rows: list[dict[str, Any]]) -> Markup:
    """The matrix's table rows as HTML, every text escaped. Built here rather than by a template macro: a
    macro took about 8 s for 24,000 schools (Jinja's attribute lookups and an escape per value), this about 1 s.
    The page's script draws the same markup (``_matrix.js``), so a row looks the same with it or without."""
    labels = [escape(f"{c['short_title']} ({c['policy']})") for c in columns]
    names = [escape(c["name"]) for c in columns]
    words = {s.value: escape(f"{SYMBOLS.get(s.value, '')} {s.label}") for s in Status}
    summaries: dict[str, Markup] = {}
    out = []
    for r in rows:
        lower, name, school = escape(r["name"].lower()), escape(r["name"]), escape(r["id"])
        missing = r["missing"]
        statuses = escape(" ".join([r["overall"], *(c["status"] for c in r["cells"])]))
        cells = []
        for i, c in enumerate(r["cells"]):
            summary = summaries.get(c["summary"])
            if summary is None:
                summary = summaries[c["summary"]] = escape(c["summary"])
            status = escape(c["status"])
            inner = (f'<span class="status status-{status}">{words[c["status"]]}</span>' if missing else
                     f'<a class="status status-{status}" href="schools/{school}.html#check-{names[i]}">{words[c["status"]]}</a>')
            cells.append(f'<td data-value="{c["rank"]}" title="{summary}" data-label="{labels[i]}">{inner}</td>')
        link = name if missing else f'<a href="schools/{school}.html">{name}</a>'
        posts = r["posts"]
        extra = (f' <span class="sev-critical">({r["critical"]} critical)</span>' if r["critical"] else "") + (
            f' <span class="muted">+{r["suppressed"]} reviewed</span>' if r["suppressed"] else "")
        out.append(f'<tr data-name="{lower}" data-statuses="{statuses}">\n'
                   f'<td data-value="{lower}" data-label="School">{link}</td>\n'
                   f'<td data-value="{r["overall_rank"]}" data-label="Overall"><span class="status status-{escape(r["overall"])}">'
                   f'{words[r["overall"]]}</span></td>\n{"".join(cells)}\n'
                   f'<td data-value="{-1 if posts is None else int(posts)}" data-label="Posts">{"&ndash;" if posts is None else int(posts)}</td>\n'
                   f'<td data-value="{int(r["findings"])}" data-label="Findings">{int(r["findings"])}{extra}</td>\n</tr>\n')
    return Markup("".join(out))


def matrix_data(view: dict[str, Any]) -> str:
    """Every school's row of the matrix as compact JSON for the page's script (search, sort and pages at any
    number of schools), safe inside a ``<script type="application/json">`` element: ``<``, ``>`` and ``&`` are
    escaped, so no text can close the element. Cell summaries are listed once and referred to by number."""
    statuses = [s.value for s in Status]
    strings: dict[str, int] = {}
    rows = []
    for r in view["rows"]:
        rows.append([r["id"], r["name"], statuses.index(r["overall"]), int(r["missing"]),
                     [statuses.index(c["status"]) for c in r["cells"]],
                     [strings.setdefault(c["summary"], len(strings)) for c in r["cells"]],
                     -1 if r["posts"] is None else r["posts"], r["findings"], r["critical"], r["suppressed"]])
    data = {"columns": [{"name": c["name"], "label": f"{c['short_title']} ({c['policy']})"} for c in view["columns"]],
            "statuses": [[s.value, SYMBOLS.get(s.value, ""), s.label, s.rank] for s in Status],
            "strings": list(strings), "rows": rows, "page_size": view["page_size"]}
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _kpis_empty(config: TrustConfig, missing: list[str]) -> dict[str, Any]:
    accounts = sum(len(s.accounts) for s in config.schools)
    return {"schools": len(config.schools), "meeting_frequency": 0, "frequency_known": 0, "critical": 0, "findings": 0,
            "events_promoted": 0, "events_due": 0, "events_known": False, "accounts": accounts,
            "accounts_collected": 0, "missing": len(missing), "coverage": 0}


def _trends(config: TrustConfig, week: IsoWeek, by_week: dict[str, dict[str, Any] | None]) -> list[dict[str, Any]]:
    """Small line charts (inline SVG geometry) of three KPIs over the last weeks that have data; this
    week's point leaves out the schools whose audit did not finish, as the KPI tiles do."""
    weeks = week.previous(TREND_WEEKS)
    series = [(w, by_week[str(w)]) for w in weeks]
    points = [(str(w), k) for w, k in series if k is not None]
    charts = []
    target = post_frequency.target_words(config.trust.min_posts_per_week)
    for key, title, unit, top in (("meeting_frequency", f"Schools meeting {target}", "", len(config.schools)),
                                  ("critical", "Critical findings", "", None),
                                  ("coverage", "Collection coverage", "%", 100)):
        values = [int(k[key]) for _, k in points]
        ceiling = top if top else max([1, *values])
        width, height, pad = 320, 120, 24
        step = (width - 2 * pad) / max(1, len(weeks) - 1)
        coords = []
        for index, w in enumerate(weeks):
            found = next((k for name, k in points if name == str(w)), None)
            if found is None:
                continue
            x = pad + index * step
            y = height - pad - (height - 2 * pad) * int(found[key]) / ceiling
            coords.append({"x": round(x, 1), "y": round(y, 1), "week": str(w), "value": int(found[key])})
        charts.append({"key": key, "title": title, "unit": unit, "width": width, "height": height, "pad": pad,
                       "ceiling": ceiling, "points": coords,
                       "polyline": " ".join(f"{c['x']},{c['y']}" for c in coords),
                       "first": str(weeks[0]), "last": str(weeks[-1])})
    return charts


def week_folders(output: Path) -> list[str]:
    """Weeks that have a Trust report under ``output/reports``, oldest first (from the folder, not the store)."""
    base = output / "reports"
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir() if _WEEK_DIR.match(p.name) and (p / "index.html").is_file())


def write_school_report(view: dict[str, Any], output: Path) -> Path:
    """Write ``reports/<week>/schools/<id>.html``."""
    path = output / "reports" / view["week"] / "schools" / f"{view['school']['id']}.html"
    _write(path, render("school.html", **view))
    return path


def write_trust_report(view: dict[str, Any], output: Path) -> Path:
    """Write the Trust report, its ``summary.json`` and refresh ``reports/index.html``.

    Navigation lists only *earlier* weeks found in the reports folder, so rendering a later week
    never changes this week's page: a rerun stays byte-identical.
    """
    path = output / "reports" / view["week"] / "index.html"
    earlier = [w for w in week_folders(output) if w < view["week"]]
    script = render("_matrix.js")
    page = render("trust.html", **view, earlier=list(reversed(earlier)), script=script,
                  script_hash=script_hash(script))
    _write(path, page)
    # the matrix's further pages, for a reader without the script: schools-2.html, schools-3.html, ...
    size, rows = view["page_size"], view["rows"]
    for number in range(2, view["page_count"] + 1):
        _write(path.parent / f"schools-{number}.html",
               render("trust_page.html", **view, page=number, page_rows=rows[(number - 1) * size:number * size]))
    for stale in path.parent.glob("schools-*.html"):  # pages of a larger trust rendered before
        number_text = stale.stem.removeprefix("schools-")
        if not number_text.isdigit() or not 2 <= int(number_text) <= view["page_count"]:
            stale.unlink()
    summary = {"week": view["week"], "week_label": view["week_label"], "missing": view["missing"],
               "kpis": [{"id": k["id"], "title": k["title"], "value": k["value"]} for k in view["kpis"]]}
    _write(path.parent / "summary.json", json.dumps(summary, indent=1, sort_keys=True) + "\n")
    write_weeks_index(output, trust_name=view["trust"]["name"])
    return path


def write_weeks_index(output: Path, *, trust_name: str) -> Path:
    """``reports/index.html``: every week with a Trust report, newest first, with its KPIs."""
    weeks = []
    for name in reversed(week_folders(output)):
        summary_path = output / "reports" / name / "summary.json"
        try:
            summary = json.loads(summary_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            summary = {"week_label": "", "kpis": [], "missing": []}
        weeks.append({"week": name, "label": summary.get("week_label", ""), "kpis": summary.get("kpis", []),
                      "missing": summary.get("missing", [])})
    path = output / "reports" / "index.html"
    _write(path, render("weeks.html", trust={"name": trust_name}, weeks=weeks))
    return path


def _write(path: Path, text: str) -> None:
    """Write atomically, so a reader never sees half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
