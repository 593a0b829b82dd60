"""Retention: what is past ``trust.retention``, its removal, and the purge record sealed into the chain.

A purge removes files from sealed runs without touching their manifests, and records a purge entry
in the chain (``archive/purges/<time>/manifest.json``) listing each removed file and its old SHA-256,
so ``verify`` still passes and reports what was purged when. :func:`purge` is the whole of
``python -m socialaudit history purge``: archived files, old post texts in the store and old working
copies of raw responses.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from socialaudit.archive.chain import MANIFEST, PURGES, Archive, utc_stamp
from socialaudit.store import Store, posts
from socialaudit.weeks import IsoWeek, week_of

if TYPE_CHECKING:
    from socialaudit.config import TrustConfig
    from socialaudit.environment import Environment

# Kinds of archived data with their own retention, and which files of a run belong to each.
# The names are those of ``trust.retention`` in the config (socialaudit.config.Retention).
KINDS: dict[str, tuple[str, ...]] = {
    "raw_responses": ("raw/",),
    "post_texts": ("posts.jsonl.gz",),
    "findings": ("findings.json", "findings.csv", "results.json"),
    "reports": ("reports/", "emails/"),
}


@dataclass
class PurgePlan:
    """Files past retention, per run, and the store's post texts to blank."""

    removed: list[dict[str, Any]] = field(default_factory=list)  # {"folder", "path", "sha256", "kind"}
    posts_before: str | None = None
    posts_blanked: int = 0
    entry: dict[str, Any] | None = None


def retention_days(config: TrustConfig) -> dict[str, int | None]:
    """Days to keep each kind of data after its week ends (``trust.retention``); ``None`` keeps forever."""
    configured = getattr(config.trust, "retention", None)
    values: Mapping[str, Any] = configured.model_dump() if configured is not None else {}
    return {kind: (None if values.get(kind) is None else int(values[kind])) for kind in KINDS}


def plan_purge(archive: Archive, retention: Mapping[str, int | None], now: datetime) -> PurgePlan:
    """The sealed files past retention: a run's data of a kind is kept ``days`` after its week ends."""
    plan = PurgePlan()
    for entry in archive.runs():
        week = IsoWeek.parse(entry["week"])
        week_end = datetime.combine(week.sunday + timedelta(days=1), datetime.min.time(), timezone.utc)
        due = [kind for kind, days in retention.items() if days is not None and week_end + timedelta(days=days) <= now]
        if not due:
            continue
        manifest = archive.read_json(entry["folder"], MANIFEST)
        run_dir = archive.root / entry["folder"]
        for rel, info in sorted(manifest["files"].items()):
            kind = next((k for k in due if any(rel == p or (p.endswith("/") and rel.startswith(p)) for p in KINDS[k])), None)
            if kind and (run_dir / rel).exists():
                plan.removed.append({"folder": entry["folder"], "path": rel, "sha256": info["sha256"], "kind": kind})
    return plan


def record_purge(archive: Archive, plan: PurgePlan, retention: Mapping[str, int | None], as_of: datetime,
                 now: datetime | None = None) -> dict[str, Any]:
    """Remove the planned files and seal a purge record into the chain (written before the removal,
    so an interrupted purge leaves files the record accounts for, never unexplained gaps).

    ``as_of`` is the moment retention was applied for; ``now`` (default: the clock) when it happened.
    """
    count, _ = archive.head()
    moment = now or datetime.now(timezone.utc)
    folder = f"{PURGES}/{moment.astimezone(timezone.utc):%Y%m%dT%H%M%SZ}-{count + 1:06d}"
    entry = archive.append_record(folder, {
        "kind": "purge", "purged_at": utc_stamp(moment), "retention_as_of": utc_stamp(as_of),
        "retention_days": dict(retention), "removed": plan.removed,
        "store": {"posts_created_before": plan.posts_before, "posts_blanked": plan.posts_blanked},
    })
    for item in plan.removed:
        path = archive.root / item["folder"] / item["path"]
        if path.exists():
            path.unlink()
    plan.entry = entry
    return entry


def _count_posts_before(store: Store, cutoff: datetime) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(posts).where(posts.c.created_at < cutoff)).scalar_one())


def _purge_output_raw(output: Path, before: IsoWeek, dry_run: bool) -> list[str]:
    """The working copies of raw responses under ``output/raw/<week>`` for weeks before ``before``."""
    base = output / "raw"
    if not base.is_dir():
        return []
    removed = []
    for folder in sorted(base.iterdir()):
        try:
            week = IsoWeek.parse(folder.name)
        except ValueError:
            continue
        if week < before:
            removed.append(f"raw/{folder.name}")
            if not dry_run:
                shutil.rmtree(folder)
    return removed


def purge(archive: Archive, env: Environment, *, now: datetime, dry_run: bool = False) -> dict[str, Any]:
    """Apply ``trust.retention`` as of ``now``: remove archived files past it, blank old post texts in
    the store, drop old working copies of raw responses, and seal a purge record into the chain."""
    config = env.load()
    retention = retention_days(config)
    plan = plan_purge(archive, retention, now)
    summary: dict[str, Any] = {"retention_days": retention, "files": len(plan.removed), "by_kind": {},
                               "posts_blanked": 0, "output_removed": [], "entry": None}
    for item in plan.removed:
        summary["by_kind"][item["kind"]] = summary["by_kind"].get(item["kind"], 0) + 1
    store = env.store()
    if retention["post_texts"] is not None:
        cutoff = now - timedelta(days=retention["post_texts"])
        plan.posts_before = utc_stamp(cutoff)
        plan.posts_blanked = _count_posts_before(store, cutoff) if dry_run else store.purge_posts_before(cutoff)
        summary["posts_blanked"] = plan.posts_blanked
    if retention["raw_responses"] is not None:
        keep_from = week_of(now - timedelta(days=retention["raw_responses"]), config.trust.timezone)
        summary["output_removed"] = _purge_output_raw(env.output, keep_from, dry_run)
    if not dry_run and (plan.removed or plan.posts_blanked):
        summary["entry"] = record_purge(archive, plan, retention, as_of=now)
    return summary
