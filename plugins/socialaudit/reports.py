"""HTML reports: one per school (for its head) and the Trust report (the CIO's dashboard).

One Jinja2 Environment with ``autoescape=True`` (posts and comments are untrusted input) and
``StrictUndefined`` (a renamed field fails a test instead of rendering blank); templates live in
``templates/reports`` and are found from this file's location, never the working directory. Views
are built here, already grouped and sorted; templates only loop and branch. Reports carry the week
and the run's data, never the wall-clock time, so a rerun gives byte-identical files.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from socialaudit.config import PROJECT_ROOT, School, TrustConfig
from socialaudit.models import CheckResult, CollectionStatus, Severity, Status
from socialaudit.weeks import IsoWeek

TEMPLATES = PROJECT_ROOT / "templates" / "reports"
TREND_WEEKS = 8
CLAUSES = {
    "4.1": "Safe, professional content",
    "4.2": "Handles in the form @schoolname",
    "4.3": "At least 3 posts a week",
    "4.4": "Promoting events",
}
COLLECTION_WORDS = {
    CollectionStatus.OK: "Collected",
    CollectionStatus.PARTIAL: "Collected, some items skipped",
    CollectionStatus.UNAVAILABLE: "Not collected: account unavailable",
    CollectionStatus.AUTH_FAILED: "Not collected: credentials rejected",
    CollectionStatus.ERROR: "Not collected: platform error",
}


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(enabled_extensions=("html", "htm", "xml"), default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["status_label"] = lambda value: Status(value).label
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


def _worst(statuses: list[Status]) -> Status:
    return max(statuses, key=lambda s: s.rank) if statuses else Status.NOT_EVALUATED


def week_label(week: IsoWeek) -> str:
    monday, sunday = week.monday, week.sunday
    return f"{monday.strftime('%A')} {monday.day} {monday.strftime('%B')} to {sunday.strftime('%A')} {sunday.day} {sunday.strftime('%B %Y')}"


def _check_rows(results: list[CheckResult]) -> list[dict[str, Any]]:
    from checks._base import registry

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
    items = [f for r in results for f in r.findings]
    items.sort(key=lambda f: (-f.severity.rank, f.policy, f.check, f.post_url, f.message))
    return [{**f.to_dict(), "severity_label": f.severity.value.capitalize()} for f in items]


def school_view(config: TrustConfig, school: School, week: IsoWeek, store: Any) -> dict[str, Any]:
    """Everything the school report and the head's email show, grouped and sorted."""
    results = store.results_for(week, school.id)
    collections = store.collections_for(week, school.id)
    checks = _check_rows(results)
    clauses = []
    for clause, words in CLAUSES.items():
        statuses = [r.status for r in results if r.policy.split(".")[:2] == clause.split(".")]
        status = _worst(statuses) if statuses else None
        clauses.append({"policy": clause, "words": words,
                        "status": status.value if status else "not_checked",
                        "status_label": status.label if status else "Not yet checked"})
    weeks = week.previous(TREND_WEEKS)
    history = store.metric_history(school.id, "post_frequency", weeks)
    minimum = config.trust.min_posts_per_week
    trend = []
    top = max([minimum, *[int(history.get(str(w), {}).get("posts", 0) or 0) for w in weeks]]) or 1
    for w in weeks:
        entry = history.get(str(w))
        posts = int(entry.get("posts", 0) or 0) if entry else None
        trend.append({"week": str(w), "posts": posts, "status": entry["status"] if entry else "no_data",
                      "width": round(100 * (posts or 0) / top), "minimum_width": round(100 * minimum / top)})
    findings = _findings(results)
    overall = _worst([r.status for r in results])
    return {
        "trust": {"name": config.trust.name, "report_url": config.trust.report_url},
        "school": {"id": school.id, "name": school.name, "head_email": school.head_email, "dsl_email": school.dsl_email},
        "week": str(week),
        "week_label": week_label(week),
        "overall": {"status": overall.value, "status_label": overall.label},
        "clauses": clauses,
        "checks": checks,
        "findings": findings,
        "actions": [f for f in findings if f["severity"] != Severity.INFO.value],
        "critical": [f for f in findings if f["severity"] == Severity.CRITICAL.value],
        "collections": [{"platform": c.platform, "account": c.account, "status": c.status.value,
                         "collected": c.status.collected, "words": COLLECTION_WORDS[c.status], "message": c.message,
                         "posts": c.posts, "skipped": c.skipped} for c in collections],
        "trend": trend,
        "minimum": minimum,
    }


def trust_view(config: TrustConfig, week: IsoWeek, store: Any, *, missing: list[str]) -> dict[str, Any]:
    """The CIO's view: a schools x checks matrix, KPIs, and the schools whose audit did not finish."""
    from checks._base import registry

    specs = registry()
    columns = [{"name": s.name, "title": s.title, "policy": s.policy} for s in specs.values()]
    rows = []
    kpi = {"schools": len(config.schools), "meeting_frequency": 0, "critical": 0, "findings": 0,
           "accounts": 0, "accounts_collected": 0, "missing": len(missing)}
    for school in config.schools:
        results = {r.check: r for r in store.results_for(week, school.id)} if school.id not in missing else {}
        collections = store.collections_for(week, school.id) if school.id not in missing else []
        cells = []
        for column in columns:
            result = results.get(column["name"])
            status = result.status if result else (Status.ERROR if school.id in missing else Status.NOT_EVALUATED)
            cells.append({"check": column["name"], "status": status.value, "status_label": status.label,
                          "summary": result.summary if result else "The audit of this school did not finish."})
        findings = [f for r in results.values() for f in r.findings]
        frequency = results.get("post_frequency")
        if frequency and frequency.status in (Status.PASS, Status.NOT_APPLICABLE):
            kpi["meeting_frequency"] += 1
        kpi["critical"] += sum(1 for f in findings if f.severity == Severity.CRITICAL)
        kpi["findings"] += len(findings)
        kpi["accounts"] += len(school.accounts)
        kpi["accounts_collected"] += sum(1 for c in collections if c.status.collected)
        overall = Status.ERROR if school.id in missing else _worst([r.status for r in results.values()])
        rows.append({"id": school.id, "name": school.name, "cells": cells, "missing": school.id in missing,
                     "overall": overall.value, "overall_label": overall.label, "findings": len(findings),
                     "critical": sum(1 for f in findings if f.severity == Severity.CRITICAL),
                     "posts": int(frequency.metrics.get("posts", 0)) if frequency else None})
    return {"trust": {"name": config.trust.name}, "week": str(week), "week_label": week_label(week),
            "columns": columns, "rows": rows, "kpi": kpi, "missing": missing}


def write_school_report(view: dict[str, Any], output: Path) -> Path:
    path = output / "reports" / view["week"] / "schools" / f"{view['school']['id']}.html"
    _write(path, render("school.html", **view))
    return path


def write_trust_report(view: dict[str, Any], output: Path) -> Path:
    path = output / "reports" / view["week"] / "index.html"
    _write(path, render("trust.html", **view))
    return path


def _write(path: Path, text: str) -> None:
    """Write atomically, so a reader never sees half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
