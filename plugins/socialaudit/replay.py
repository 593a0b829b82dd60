"""Replay a sealed run: recompute every check of a run from what its archive folder holds alone, with
no network and no store, and say whether the results are the ones sealed.

``python -m socialaudit history replay RUN [--school S]`` (CLI: :mod:`socialaudit.cli.history`).

What a replay reads, all from the run's folder, after checking every file against the run's manifest
(a file that is not the one sealed refuses the replay, naming it):

- ``config.yaml`` (the trust config, byte for byte) and the run's week;
- ``posts.jsonl.gz`` (the posts the checks read) and, from ``results.json``, each account's collection;
- ``raw/<school>/calendar/<calendar>/`` (each calendar body as read, or ``failed.json``: why not);
- ``raw/<school>/links/resolutions/`` (the link resolutions the external_links check judged);
- ``raw/<school>/inputs/comment_history/`` (the flagged comments tracked from earlier weeks);
- the reviewed suppressions the sealed findings carry (a reviewer's decision, not a computation).

It runs today's checks on them and compares, per school and check, the status, the summary, the
metrics and every finding (by its key) with ``results.json`` and ``findings.json``; when nothing
differs for the whole run, it also rebuilds those two files and compares their bytes. A difference
names the school, the check and the finding or field. Blocklist files are read from where the
config points today: they are not archived (``rules.json`` records the settings, not the lists).
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import yaml

from checks._base import run_checks
from checks._calendar import window_for
from checks.event_promotion import lookback_days
from socialaudit import suppressions
from socialaudit.archive.bundle import canonical_json
from socialaudit.archive.chain import MANIFEST, Archive, ArchiveError, sha256
from socialaudit.calendars import kept_reader, load_school_events
from socialaudit.config import School, TrustConfig, parse_config
from socialaudit.errors import ConfigError
from socialaudit.inputs import COMMENT_HISTORY, INPUTS, LINKS, RESOLUTIONS, read_comment_history
from socialaudit.links import KeptLinks, read_kept
from socialaudit.models import AccountCollection, CheckResult, Post
from socialaudit.raw import kept_page
from socialaudit.weeks import IsoWeek


class UnknownSchool(ArchiveError):
    """The run has no such school (a usage error, not a mismatch)."""


@dataclass
class Replay:
    """What a replay found: ``differences`` is empty when every recomputed result is the sealed one."""

    folder: str
    week: str
    run_id: str
    schools: list[str] = field(default_factory=list)  # the schools replayed
    skipped: list[str] = field(default_factory=list)  # schools that did not finish in the run: nothing to replay
    differences: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the reader should know, not a difference
    seconds: float = 0.0

    @property
    def identical(self) -> bool:
        return not self.differences


def sealed_files(archive: Archive, entry: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The run's manifest, and every file it lists, each checked against its sealed SHA-256 (and the
    manifest against the index): ArchiveError naming what does not match, so nothing unsealed is replayed."""
    folder = entry["folder"]
    try:
        data = (archive.root / folder / MANIFEST).read_bytes()
    except FileNotFoundError:
        raise ArchiveError(f"run {folder}: its manifest is missing: not replayed (run 'history verify')") from None
    if sha256(data) != entry.get("manifest_sha256"):
        raise ArchiveError(f"run {folder}: {MANIFEST} is not the one sealed: not replayed (run 'history verify')")
    try:
        manifest = json.loads(data)
        listed = manifest["files"]
    except (ValueError, KeyError, TypeError):
        raise ArchiveError(f"run {folder}: {MANIFEST} lists no files: not replayed") from None
    files: dict[str, bytes] = {}
    problems: list[str] = []
    for rel, info in sorted(listed.items()):
        try:
            body = (archive.root / folder / rel).read_bytes()
        except FileNotFoundError:
            problems.append(f"{rel} is missing (purged under retention, or deleted)")
            continue
        if sha256(body) != info.get("sha256"):
            problems.append(f"{rel} was changed after it was sealed")
            continue
        files[rel] = body
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ArchiveError(f"run {folder}: {problems[0]}{more}: not replayed, the run's seal does not hold "
                           "(run 'history verify')")
    return manifest, files


def replay(archive: Archive, ref: str, *, school: str | None = None) -> Replay:
    """Replay the archived run ``ref`` (run id, folder or ``latest``), or one school of it."""
    started = time.perf_counter()
    entry = archive.find(ref)
    if entry.get("kind", "run") != "run":
        raise ArchiveError(f"{entry['folder']} is not a run")
    manifest, files = sealed_files(archive, entry)
    for needed in ("config.yaml", "results.json", "findings.json", "posts.jsonl.gz"):
        if needed not in files:
            raise ArchiveError(f"run {entry['folder']}: it has no {needed}: not replayed")
    out = Replay(folder=entry["folder"], week=str(entry["week"]), run_id=str(entry["run_id"]))
    week = IsoWeek.parse(out.week)
    if int(manifest.get("format") or 1) < 2:
        out.notes.append(f"run {out.folder} was sealed in archive format {manifest.get('format') or 1}, before a run "
                         "kept its checks' inputs: what it did not keep shows as differences")
    source = f"{archive.root / entry['folder'] / 'config.yaml'}"
    try:
        config = parse_config(yaml.safe_load(files["config.yaml"]), source)
    except (ConfigError, yaml.YAMLError, ValueError) as exc:
        raise ArchiveError(f"run {entry['folder']}: its config.yaml does not load with today's code: {exc}") from None
    sealed = json.loads(files["results.json"])["schools"]
    findings = json.loads(files["findings.json"])
    if school is not None and school not in {s["school"] for s in sealed}:
        raise UnknownSchool(f"run {entry['folder']} has no school {school!r}")
    posts: dict[str, list[Post]] = {}
    try:
        for line in gzip.decompress(files["posts.jsonl.gz"]).splitlines():
            if line.strip():
                post = Post.from_dict(json.loads(line))
                posts.setdefault(post.school, []).append(post)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ArchiveError(f"run {entry['folder']}: posts.jsonl.gz cannot be read: {type(exc).__name__}: {exc}") from None
    rules = _rules(config, findings)
    rebuilt_results: list[dict[str, Any]] = []
    rebuilt_findings: list[dict[str, Any]] = []
    for item in sealed:
        if school is not None and item["school"] != school:
            continue
        if not item.get("finished"):
            out.skipped.append(item["school"])
            rebuilt_results.append(item)
            continue
        try:
            target = config.school(item["school"])
        except (KeyError, ValueError):
            out.differences.append(f"school {item['school']}: not in the run's config")
            continue
        out.schools.append(target.id)
        try:
            results = _replay_school(config, target, week, item, posts.get(target.id, []), files, rules)
        except (OSError, ValueError, KeyError, TypeError) as exc:  # a kept input sealed in a form this code cannot read
            out.differences.append(f"school {target.id}: its kept inputs cannot be read: {type(exc).__name__}: {exc}")
            continue
        results = sorted(results, key=lambda r: (r.policy, r.check))
        mine = [f for f in findings if f.get("school") == target.id]
        out.differences.extend(_compare(target.id, item, mine, results, out.week))
        rebuilt_results.append({**item, "checks": [_result_row(r) for r in results]})
        rebuilt_findings.extend({"week": out.week, **f.to_dict(), "key": f.key} for r in results for f in r.findings)
    if school is None and not out.differences:
        # nothing differs finding by finding: the files themselves must then be the ones sealed, byte for byte
        if canonical_json({"week": out.week, "schools": rebuilt_results}) != files["results.json"]:
            out.differences.append("results.json: the same results, but the rebuilt file's bytes differ from the sealed one")
        if canonical_json(rebuilt_findings) != files["findings.json"]:
            out.differences.append("findings.json: the same findings, but the rebuilt file's bytes differ from the sealed one")
    out.seconds = time.perf_counter() - started
    return out


def _replay_school(config: TrustConfig, school: School, week: IsoWeek, sealed: Mapping[str, Any], posts: list[Post],
                   files: Mapping[str, bytes], rules: Sequence[suppressions.Rule]) -> list[CheckResult]:
    """Today's checks on what the run kept for ``school``, its suppressions applied as they were."""
    since, until = week.bounds(config.trust.timezone)
    posts_since = since - timedelta(days=max(1, lookback_days(config, school)))
    posts = [p for p in posts if posts_since <= p.created_at < until + timedelta(days=1)]
    collections = [AccountCollection.from_dict({**c, "school": school.id}) for c in sealed.get("collections", [])]
    raw = f"raw/{school.id}/"
    def get(path: str) -> bytes | None:
        return files.get(raw + path)

    kept = kept_page(get, f"{LINKS}/{RESOLUTIONS}/")
    given: dict[str, Any] = {"links": KeptLinks(read_kept(kept) if kept else {})}
    if school.calendars or config.trust.calendars:
        start, end = window_for(week.monday, week.sunday)
        read = kept_reader(get, missing="not kept with the run, so it cannot be replayed")
        given["events"] = {school.id: load_school_events(config, school, start, end, read=read)}
    history = kept_page(get, f"{INPUTS}/{COMMENT_HISTORY}/")
    if history is not None:
        given["comment_history"] = read_comment_history(history)
    results = run_checks(school, posts, week=week, config=config, collections=collections, services=given)
    return suppressions.apply(results, rules, week)


def _rules(config: TrustConfig, findings: Iterable[Mapping[str, Any]]) -> list[suppressions.Rule]:
    """The config's suppressions, and the CLI ones the sealed findings carry (the store is not read)."""
    out = suppressions.rules(config, None)
    seen = {rule.source for rule in out}
    for finding in findings:
        given = finding.get("suppression")
        if not isinstance(given, dict) or given.get("source") in seen:
            continue
        try:
            out.append(suppressions.Rule(
                finding=str(given["rule"]), kind=str(given["kind"]), reviewer=str(given["reviewer"]),
                reason=str(given["reason"]), expires=date.fromisoformat(str(given["expires"])),
                reviewed=date.fromisoformat(str(given["reviewed"])) if given.get("reviewed") else None,
                source=str(given["source"])))
        except (KeyError, ValueError):
            continue  # a suppression sealed in an older form: the replay names the finding if it differs
        seen.add(str(given["source"]))
    return out


def _result_row(result: CheckResult) -> dict[str, Any]:
    """A check's row of ``results.json``, as the archive writes it."""
    return {"check": result.check, "policy": result.policy, "status": result.status.value, "summary": result.summary,
            "findings": len(result.findings), "metrics": result.recorded_metrics()}


def _plain(value: Any) -> Any:
    """``value`` as the archive's JSON reads back (tuples as lists, dates as text)."""
    return json.loads(canonical_json(value))


def _show(value: Any, limit: int = 120) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _first_difference(was: Any, now: Any, path: str = "") -> tuple[str, Any, Any]:
    """Where two JSON values first differ: (path such as "[0].post_url", the sealed value, the replayed one)."""
    if isinstance(was, dict) and isinstance(now, dict):
        for key in sorted(set(was) | set(now)):
            if was.get(key) != now.get(key):
                return _first_difference(was.get(key), now.get(key), f"{path}.{key}")
    if isinstance(was, list) and isinstance(now, list) and len(was) == len(now):
        for index, (a, b) in enumerate(zip(was, now, strict=True)):
            if a != b:
                return _first_difference(a, b, f"{path}[{index}]")
    return path, was, now


def _changed(where: str, what: str, was: Any, now: Any) -> str:
    path, a, b = _first_difference(was, now)
    return f"{where}: {what}{path} was {_show(a)}, replay gives {_show(b)}"


def _compare(school: str, sealed: Mapping[str, Any], sealed_findings: Sequence[Mapping[str, Any]],
             results: Sequence[CheckResult], week: str) -> list[str]:
    """Each difference between a school's sealed results and the replayed ones, one line each."""
    out: list[str] = []
    was = {c["check"]: c for c in sealed.get("checks", [])}
    now = {r.check: _plain(_result_row(r)) for r in results}
    for name in sorted(set(was) | set(now)):
        where = f"school {school}: check {name}"
        if name not in now:
            out.append(f"{where}: in the sealed run, not run by today's code")
            continue
        if name not in was:
            out.append(f"{where}: run by today's code, not in the sealed run")
            continue
        for part in ("status", "summary"):
            if was[name].get(part) != now[name][part]:
                out.append(_changed(where, part, was[name].get(part), now[name][part]))
        before, after = was[name].get("metrics") or {}, now[name]["metrics"]
        for metric in sorted(set(before) | set(after)):
            if before.get(metric) != after.get(metric):
                out.append(_changed(where, f"metric {metric}", before.get(metric), after.get(metric)))
    replayed = [_plain({"week": week, **f.to_dict(), "key": f.key}) for r in results for f in r.findings]
    out.extend(_compare_findings(school, list(sealed_findings), replayed))
    return out


def _compare_findings(school: str, sealed: list[Mapping[str, Any]], replayed: list[Mapping[str, Any]]) -> list[str]:
    out: list[str] = []

    def by_key(items: list[Mapping[str, Any]]) -> dict[tuple[str, int], Mapping[str, Any]]:
        counts: dict[str, int] = {}
        keyed = {}
        for f in items:
            key = str(f.get("key") or "")
            counts[key] = counts.get(key, 0) + 1
            keyed[(key, counts[key])] = f
        return keyed

    was, now = by_key(sealed), by_key(replayed)
    for key in sorted(set(was) | set(now)):
        name = key[0] + (f" (#{key[1]})" if key[1] > 1 else "")
        where = f"school {school}: check {(was.get(key) or now.get(key) or {}).get('check')}: finding {name}"
        if key not in now:
            out.append(f"{where}: in the sealed run, not in the replay ({_show(was[key].get('message'))})")
        elif key not in was:
            out.append(f"{where}: in the replay, not in the sealed run ({_show(now[key].get('message'))})")
        else:
            for part in sorted(set(was[key]) | set(now[key])):
                if was[key].get(part) != now[key].get(part):
                    out.append(_changed(where, part, was[key].get(part), now[key].get(part)))
    return out
