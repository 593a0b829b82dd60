"""A synthetic audit store: N generated schools x W weeks of results, written in bulk (for the Trust report at scale).

The trust is the simulator's generated one (``simulator.dataset.generated_trust`` / ``generated_config``: a
website feed, a Mastodon and a Bluesky account per school, fictional names), with a local authority and a
phase per school so the dashboard's aggregates show. The store gets, per school and week, one result per
registered check with figures shaped as the checks record them, the findings of some schools (critical
ones cross-posted to two accounts, reviewed ones, notes), and one collection per account. The edge cases the
Trust report must count right are there on purpose:

- a school with no results in some weeks (not evaluated), and a whole week with no data at all;
- a school whose results lack a check, collections that failed, findings that are reviewed (suppressed);
- results for a school that is no longer in the config (the report ignores them).

Rows go in with one executemany per table and chunk (SQLAlchemy's insertmanyvalues on both backends), not
through ``Store.save_results`` per school. Deterministic for a seed.

Run: ``PYTHONPATH=plugins .venv/bin/python scripts/synthetic_store.py N --url sqlite:///out/s.db --config out/trust.yaml``
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "plugins") not in sys.path:
    sys.path.insert(0, str(ROOT / "plugins"))

from sqlalchemy import text  # noqa: E402 - after the path set-up

from socialaudit import store as store_module  # noqa: E402
from socialaudit.simulator.dataset import generated_config, generated_trust  # noqa: E402
from socialaudit.store import Store  # noqa: E402
from socialaudit.weeks import IsoWeek  # noqa: E402

SIMULATOR = "http://127.0.0.1:8765"
AUTHORITIES = ("Northmoor", "Eastvale", "Southbridge", "Westfield", "Kingsmere", "Ashdown", "Fenwick", "Harrowgate",
               "Lowmarsh", "Redcliffe", "Stonebury", "Wexley")  # fictional local authorities
PHASES = ("Primary", "Primary", "Primary", "Secondary", "All-through", "Nursery", "Special")
EMPTY_WEEK_OFFSET = 6  # weeks before the last: this one has no data at all
CHUNK = 5000


def trust_config(count: int, *, seed: int = 0) -> dict[str, Any]:
    """The generated trust's config (as YAML would load it), each school with a local authority and a phase."""
    schools, _ = generated_trust(count, seed=seed)
    config = generated_config(schools, SIMULATOR)
    rng = random.Random(f"synthetic-config-{seed}")
    for n, school in enumerate(config["schools"]):  # type: ignore[union-attr]
        school["local_authority"] = AUTHORITIES[n % len(AUTHORITIES)]
        school["phase"] = rng.choice(PHASES)
        if n % 50 == 0:
            school["group"] = f"Cluster {n // 500 + 1}"
    return config


def _finding(school: str, check: str, policy: str, severity: str, *, account: str, post: str, message: str,
             evidence: str = "", incident: str = "", suppressed: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {"check": check, "severity": severity, "status": "fail" if severity != "info" else "warn",
                            "school": school, "account": account, "post_id": post,
                            "post_url": f"https://{school}.example.sch.uk/news/{post}/", "policy": policy,
                            "message": message, "evidence": evidence, "action": "Edit the post."}
    if incident:
        data["incident"] = incident
    if suppressed:
        data["suppression"] = {"kind": "accepted_risk", "reviewer": "Head of IT (fictional)", "reason": "Reviewed.",
                               "expires": "2099-12-31", "reviewed": None, "rule": f"{check}:{school}", "source": "config"}
    return data


def _school_week(rng: random.Random, school: str, accounts: Sequence[tuple[str, str]], checks: Sequence[tuple[str, str]],
                 week: str, run_id: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """(result rows, finding rows, collection rows) of one school's week."""
    results, found, collected = [], [], []
    statuses = {}
    for platform, account in accounts:
        status = rng.choices(["ok", "partial", "unavailable", "error", "auth_failed"], [90, 4, 3, 2, 1])[0]
        statuses[(platform, account)] = status
        collected.append({"week": week, "school": school, "platform": platform, "account": account, "run_id": run_id,
                          "status": status, "message": "" if status in ("ok", "partial") else "synthetic failure",
                          "posts": rng.randint(0, 6), "skipped": 1 if status == "partial" else 0, "pages": 1,
                          "from_store": False})
    per_account = {f"{p}:{a}": rng.randint(0, 3) for p, a in accounts}
    posts = sum(per_account.values())
    for check, policy in checks:
        if rng.random() < 0.01:  # a check with no result this week (a newer check, a failed task)
            continue
        findings: list[dict[str, Any]] = []
        if check == "post_frequency":
            status = rng.choices(["pass", "fail", "not_applicable", "not_evaluated"], [70, 22, 4, 4])[0]
            metrics: dict[str, Any] = {"posts": posts, "minimum": 3, "originals_all_accounts": posts, "crossposts_merged": 0,
                                       "per_account": per_account, "per_day": {"Mon": posts}, "school_days": 5}
        elif check == "event_promotion":
            due = rng.choice([0, 0, 1, 2, 3])
            promoted = rng.randint(0, due)
            status = "not_applicable" if not due else ("pass" if promoted == due else "fail")
            metrics = {"events": [{"title": f"Event {i}", "kind": "other", "date": "2026-11-25", "lead_days": 14,
                                   "source": "config", "state": "promoted" if i < promoted else "not_promoted",
                                   "in_week": True, "post_url": "", "promoted_on": ""} for i in range(due)],
                       "promoted": promoted, "due": due}
            if rng.random() < 0.05:  # an older result: the figure under its former key
                metrics["events_due"] = metrics.pop("due")
        elif check == "named_children":
            status = "pass"
            metrics = {"posts": posts, "findings": 0, "critical": 0, "with_media": 1}
            if rng.random() < 0.03:  # a child named under a photo, cross-posted to the website and Mastodon
                status = "fail"
                incident = f"post-{rng.randint(1, 10**6)}"
                for platform, account in accounts[:2]:
                    findings.append(_finding(school, check, policy, "critical", account=f"{platform}:{account}",
                                             post=incident, message="A child is named under a photo: A*** H***.",
                                             evidence="A*** H***", incident=incident, suppressed=rng.random() < 0.1))
            elif rng.random() < 0.02:  # the same photo posted twice on one account: two critical findings, one key
                status = "fail"
                for _ in range(2):
                    findings.append(_finding(school, check, policy, "critical", account=accounts[0][1], post="photo",
                                             message="A child is named under a photo: B*** C***.", evidence="B*** C***"))
        elif check == "external_links":
            status = "pass"
            metrics = {"links": 2, "allowlisted": 1, "resolved": 1, "expanded": 0, "by_state": {}, "unresolved": 0}
            for n in range(rng.choice([0, 0, 0, 1, 2])):
                status = "warn"
                if n and rng.random() < 0.5:  # the same link twice: two findings with one key, each counted
                    findings.append(dict(findings[-1]))
                    continue
                findings.append(_finding(school, check, policy, rng.choice(["warning", "breach"]),
                                         account=accounts[0][1], post=f"link-{n}", message="A link <b>goes</b> nowhere.",
                                         suppressed=rng.random() < 0.2))
            if rng.random() < 0.1:
                findings.append(_finding(school, check, policy, "info", account=accounts[0][1], post="note",
                                         message="A shortened link was expanded."))
        else:
            status = rng.choices(["pass", "warn", "error", "not_evaluated"], [85, 8, 2, 5])[0]
            metrics = {"accounts_judged": len(accounts)}
        if any(s not in ("ok", "partial") for s in statuses.values()) and rng.random() < 0.5:
            status = "not_evaluated"
        results.append({"week": week, "school": school, "check_name": check, "run_id": run_id, "policy": policy,
                        "status": status, "summary": f"Synthetic {check} result: {status}.", "metrics": metrics})
        for seq, data in enumerate(findings):
            key = f"{data['check']}:{data['school']}:{data['account']}:{data['post_id']}:{data['evidence']}"
            found.append({"week": week, "school": school, "check_name": check, "seq": seq, "run_id": run_id,
                          "severity": data["severity"], "status": data["status"], "finding_key": key, "data": data})
    return results, found, collected


def fill(url: str, config: dict[str, Any], last: IsoWeek, *, weeks: int = 10, seed: int = 0) -> dict[str, Any]:
    """Write ``weeks`` weeks up to ``last`` for every school of ``config`` into the store at ``url``; return counts."""
    from checks._base import registry  # the checks' names and clauses, as the runs record them

    store = Store(url)
    checks = sorted((spec.name, spec.policy) for spec in registry().values())
    rng = random.Random(f"synthetic-store-{seed}")
    run_id = "synthetic__" + last.monday.isoformat()
    started = time.perf_counter()
    counts = {"check_results": 0, "findings": 0, "collections": 0}
    tables = {"check_results": store_module.check_results, "findings": store_module.findings,
              "collections": store_module.collections}
    pending: dict[str, list[dict[str, Any]]] = {name: [] for name in tables}

    def flush(force: bool = False) -> None:
        for name, rows in pending.items():
            if rows and (force or len(rows) >= CHUNK):
                with store.engine.begin() as conn:
                    conn.execute(tables[name].insert(), rows)
                counts[name] += len(rows)
                rows.clear()

    schools = [(s["id"], [(a["platform"], a.get("handle") or a.get("url")) for a in s["accounts"]])
               for s in config["schools"]]
    schools.append(("gen-removed", [("rss", "https://removed.example.sch.uk/feed/")]))  # no longer in the config
    for offset in range(weeks - 1, -1, -1):
        week = last - offset
        if offset == EMPTY_WEEK_OFFSET:
            continue
        for n, (school, accounts) in enumerate(schools):
            if (n + offset) % 97 == 0:  # not evaluated this week: no results, no collections
                continue
            results, found, collected = _school_week(rng, school, accounts, checks, str(week), run_id)
            pending["check_results"] += results
            pending["findings"] += found
            pending["collections"] += collected
            flush()
    flush(force=True)
    if store.engine.dialect.name == "postgresql":  # what autovacuum does after a bulk load, so plans see the tables
        with store.engine.begin() as conn:
            conn.execute(text("ANALYZE check_results, findings, collections"))
    store.start_run(run_id, last, config_source="synthetic", schools=[s for s, _ in schools])
    return {**counts, "seconds": round(time.perf_counter() - started, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("schools", type=int)
    parser.add_argument("--url", required=True, help="the store's SQLAlchemy URL (sqlite:///FILE or postgresql+psycopg://...)")
    parser.add_argument("--config", required=True, type=Path, help="where to write the trust's YAML")
    parser.add_argument("--week", default="2026-W47")
    parser.add_argument("--weeks", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    import yaml

    config = trust_config(args.schools, seed=args.seed)
    args.config.parent.mkdir(parents=True, exist_ok=True)
    args.config.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    print(fill(args.url, config, IsoWeek.parse(args.week), weeks=args.weeks, seed=args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
