"""The run bundle: every file of a run's archive folder, and :func:`archive_run`, which seals it.

See :mod:`socialaudit.archive` for the layout. File contents are deterministic (same inputs, same
bytes); only the manifest's run id and time fields vary between two runs over the same data.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import logging
import re
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from checks import _base, _native
from checks.event_promotion import lookback_days as event_lookback
from socialaudit import settings
from socialaudit.archive.chain import ArchiveError, canonical_json, open_archive, sha256, utc_stamp
from socialaudit.environment import Environment as Env
from socialaudit.environment import safe_run_id
from socialaudit.models import CollectionStatus, Finding
from socialaudit.store import SealConflict, check_results
from socialaudit.weeks import IsoWeek

if TYPE_CHECKING:
    from socialaudit.config import TrustConfig
    from socialaudit.environment import Environment

log = logging.getLogger(__name__)

CODE_VERSION_ENV = settings.CODE_VERSION_ENV
# A reviewed suppression (socialaudit.suppressions) in columns of its own: empty when the finding is not suppressed.
SUPPRESSION_COLUMNS = ("suppression_kind", "suppression_reviewer", "suppression_reason", "suppression_expires")
FINDING_COLUMNS = ("week", "school", "check", "policy", "severity", "status", "account", "post_id", "post_url",
                   "message", "evidence", "action", *SUPPRESSION_COLUMNS, "key")


def code_version(root: Path | None = None) -> dict[str, Any]:
    """The code that ran: ``$SOCIALAUDIT_CODE_VERSION`` (set when an image is built), else the git
    commit of the checkout, else ``"unknown"`` (no git, not a checkout): never an exception."""
    given = settings.code_version()
    if given:
        return {"commit": given, "source": CODE_VERSION_ENV}
    where = str(root or settings.PROJECT_ROOT)
    try:
        commit = subprocess.run(["git", "-C", where, "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        status = subprocess.run(["git", "-C", where, "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return {"commit": "unknown", "source": "no git checkout found"}
    if not re.fullmatch(r"[0-9a-f]{40,64}", commit):
        return {"commit": "unknown", "source": "no git checkout found"}
    return {"commit": commit, "source": "git", "modified_files": bool(status.strip())}


def rules_version(config: TrustConfig) -> dict[str, Any]:
    """The rules a run applied: every check's name, clause, title and source hash, a hash of the whole checks
    package (helpers, model and tables), the settings it resolved for the trust and each school, and
    ``version``, a hash of all of it."""
    import inspect

    specs = _base.registry()
    checks = []
    for spec in specs.values():
        try:
            source = Path(inspect.getsourcefile(spec.fn) or "").read_bytes()
        except (OSError, TypeError):  # compiled with mypyc: the .py it was built from (the build's digest holds it to it)
            try:
                source = _native.source_of(spec.fn.__module__).read_bytes()
            except OSError:
                source = b""
        checks.append({"name": spec.name, "policy": spec.policy, "title": spec.title, "module": spec.fn.__module__,
                       "source_sha256": sha256(source) if source else "unknown",
                       "trust_settings": spec.resolve_settings(config, None)})
    base_source = Path(inspect.getfile(_base)).read_bytes()
    package = Path(inspect.getfile(_base)).parent
    school_settings: dict[str, dict[str, Any]] = {}
    for school in config.schools:
        for spec in specs.values():
            resolved = spec.resolve_settings(config, school)
            if resolved != spec.resolve_settings(config, None):
                school_settings.setdefault(school.id, {})[spec.name] = resolved
    body = {"checks": checks, "registry_sha256": sha256(base_source), "checks_package_sha256": package_digest(package),
            "school_settings": school_settings}
    return {"version": sha256(canonical_json(body)), **body}


def package_digest(folder: Path) -> str:
    """A hash of every source and data file of the checks package (``folder``): each check's own module is hashed
    above, but a check's decisions also come from its helpers (``_childnames.py``, ``_personal.py``...) and its
    shipped model and tables (``data/``), so the rules' version changes whenever any of them does."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and (p.suffix == ".py" or p.parent.name == "data")
                   and "__pycache__" not in p.parts)
    return sha256(canonical_json({str(p.relative_to(folder)): sha256(p.read_bytes()) for p in files}))


def csv_cell(value: Any) -> Any:
    """A CSV cell that a spreadsheet will not run: text from posts starting with = + - @ (or a tab or
    carriage return) gets a leading apostrophe, as OWASP advises against formula injection."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def suppression_cells(finding: Mapping[str, Any]) -> dict[str, Any]:
    """A finding's suppression as the CSV columns ``suppression_kind``, ``_reviewer``, ``_reason`` and
    ``_expires`` (empty strings when it is not suppressed), as the JSON's ``suppression`` field has them."""
    suppression = finding.get("suppression") or {}
    return {f"suppression_{name}": suppression.get(name) or "" for name in ("kind", "reviewer", "reason", "expires")}


class SafeCsvWriter:
    """``csv.DictWriter`` with "\n" line ends that also quotes a cell holding a bare carriage return.

    Python's writer quotes only the characters of its line terminator, so "a\r=1+1" went out
    unquoted, and spreadsheet readers split the row at the CR and ran the "row" that followed. A
    row with a CR in any cell is written with every cell quoted; every other row is unchanged.
    """

    def __init__(self, buffer: io.StringIO, columns: Sequence[str]) -> None:
        self._minimal = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
        self._quoted = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n",
                                      quoting=csv.QUOTE_ALL)

    def writeheader(self) -> None:
        self._minimal.writeheader()

    def writerow(self, row: Mapping[str, Any]) -> None:
        carriage = any(isinstance(v, str) and "\r" in v for v in row.values())
        (self._quoted if carriage else self._minimal).writerow(row)


def _csv_bytes(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> bytes:
    buffer = io.StringIO()
    writer = SafeCsvWriter(buffer, columns)
    writer.writeheader()
    for row in rows:
        writer.writerow({c: csv_cell(row.get(c, "")) for c in columns})
    return buffer.getvalue().encode("utf-8")


def _local_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.endswith(".tmp")) if folder.is_dir() else []


def run_files(week: IsoWeek, run_id: str, env: Environment, *, missing: Sequence[str] = (),
              trust_report: bool = True) -> dict[str, bytes]:
    """Every file of a run's archive folder except the manifest, as ``{relative path: bytes}``.

    Reports, emails and results of a school in ``missing`` are left out: what the output folder holds
    for it comes from an earlier run of the week, not this one; so is the Trust report when
    ``trust_report`` is false (the run's Trust report step did not finish).
    """
    config = env.load()
    store = env.store()
    since, until = week.bounds(config.trust.timezone)
    files: dict[str, bytes] = {}
    reports = env.output / "reports" / str(week)
    for name, rel in (("index.html", "reports/trust.html"), ("summary.json", "reports/summary.json")):
        if trust_report and (reports / name).is_file():
            files[rel] = (reports / name).read_bytes()
    results = []
    findings: list[dict[str, Any]] = []
    posts = bytearray()
    for school in config.schools:
        if school.id in missing:
            results.append({"school": school.id, "name": school.name, "finished": False,
                            "note": "the school's audit did not finish in this run: not evaluated"})
            continue
        report = reports / "schools" / f"{school.id}.html"
        if report.is_file():
            files[f"reports/schools/{school.id}.html"] = report.read_bytes()
        eml = env.output / "outbox" / str(week) / f"{school.id}.eml"
        if eml.is_file():
            files[f"emails/{school.id}.eml"] = eml.read_bytes()
        collections = store.collections_for(week, school.id)
        checks = sorted(store.results_for(week, school.id), key=lambda r: (r.policy, r.check))
        results.append({
            "school": school.id, "name": school.name, "finished": True,
            "collections": [{k: v for k, v in c.to_dict().items() if k != "school"} for c in collections],
            "not_collected": [f"{c.platform}:{c.account}" for c in collections if c.status not in
                              (CollectionStatus.OK, CollectionStatus.PARTIAL)],
            "checks": [{"check": r.check, "policy": r.policy, "status": r.status.value, "summary": r.summary,
                        "findings": len(r.findings), "metrics": r.recorded_metrics()} for r in checks],
        })
        for result in checks:
            # the key is what a suppression names (python -m socialaudit suppress add KEY ...)
            findings.extend({"week": str(week), **f.to_dict(), "key": f.key} for f in result.findings)
        # the window the checks read (check_school): back over the event lead times, so a replay sees every post
        reach = max(1, event_lookback(config, school))
        for post in store.posts_for(school.id, since - timedelta(days=reach), until + timedelta(days=1)):
            posts += json.dumps(post.to_dict(), ensure_ascii=False, sort_keys=True).encode("utf-8") + b"\n"
    files["results.json"] = canonical_json({"week": str(week), "schools": results})
    files["findings.json"] = canonical_json(findings)
    files["findings.csv"] = _csv_bytes(({**f, **suppression_cells(f)} for f in findings), FINDING_COLUMNS)
    files["posts.jsonl.gz"] = gzip.compress(bytes(posts), mtime=0)
    raw = env.output / "raw" / str(week) / safe_run_id(run_id)
    for path in _local_files(raw):
        files["raw/" + path.relative_to(raw).as_posix()] = path.read_bytes()
    sealed = env.sealed_yaml()  # the bytes plan read for this run, when it sealed them
    try:
        files["config.yaml"] = sealed if sealed is not None else Path(config.source).read_bytes()
    except OSError as exc:
        raise ArchiveError(f"{config.source}: cannot read the config to archive it: {exc.strerror}") from None
    files["rules.json"] = canonical_json(rules_version(config))
    files["code.json"] = canonical_json(code_version())
    return dict(sorted(files.items()))


def _counts(files: Mapping[str, bytes]) -> dict[str, Any]:
    results = json.loads(files["results.json"])
    findings = json.loads(files["findings.json"])
    by_severity: dict[str, int] = {}
    for f in findings:
        by_severity[f["severity"]] = by_severity.get(f["severity"], 0) + 1
    schools = results["schools"]
    return {"schools": len(schools), "schools_finished": sum(1 for s in schools if s["finished"]),
            "findings": len(findings), "by_severity": dict(sorted(by_severity.items())),
            "posts": gzip.decompress(files["posts.jsonl.gz"]).count(b"\n"),
            "raw_files": sum(1 for name in files if name.startswith("raw/"))}


def _checked_in_run(env: Environment, week: IsoWeek, run_id: str) -> set[str]:
    """Schools whose check results for ``week`` were saved by ``run_id`` (a read-only store query)."""
    from sqlalchemy import and_, select

    query = select(check_results.c.school).where(and_(check_results.c.week == str(week),
                                                       check_results.c.run_id == run_id)).distinct()
    with env.store().engine.connect() as conn:
        return {str(row.school) for row in conn.execute(query)}


def archive_run(week: IsoWeek, run_id: str, env: Environment | None = None, *, url: str | None = None,
                now: datetime | None = None, again: bool = True) -> dict[str, Any]:
    """Seal this run into the archive and append it to the chain; returns the index entry.

    A rerun of a week is a new run id, hence a new folder. A run id that is already sealed (an
    Airflow run cleared and run again, or ``dag.test`` for the same date, which reuses the id) is
    archived as a new attempt beside it, ``<run-id>.2``, ``.3``...: the sealed folder is never
    touched. With ``again=False`` that case raises :class:`AlreadyArchived` instead.
    """
    env = env or Env.from_env()
    archive = open_archive(env.output, url)
    row = env.store().get_run(run_id) or {}
    missing = list(row.get("missing") or [])
    state = str(row.get("state") or "unknown")
    if state == "running":
        # The Trust report step did not finish, so it named no missing schools: a school finished in
        # this run if its check results carry this run's id.
        state = "incomplete"
        done = _checked_in_run(env, week, run_id)
        missing = [s for s in row.get("schools") or [] if s not in done]
    files = run_files(week, run_id, env, missing=missing, trust_report=state != "incomplete")
    meta = {"week": str(week), "run_id": run_id, "state": state, "missing": missing,
            "started_at": utc_stamp(row["started_at"]) if row.get("started_at") else None,
            "finished_at": utc_stamp(row["finished_at"]) if row.get("finished_at") else None,
            "rules_version": json.loads(files["rules.json"])["version"],
            "code_version": json.loads(files["code.json"])["commit"],
            "counts": _counts(files)}
    folder = f"{week}/{safe_run_id(run_id)}"
    if again:
        attempt = 1
        while archive.is_indexed(folder):
            attempt += 1
            folder = f"{week}/{safe_run_id(run_id)}.{attempt}"
        meta["attempt"] = attempt
    store = env.store()

    def anchor(entry: Mapping[str, Any], manifest: Mapping[str, Any]) -> None:
        link = manifest.get("previous") or {}
        try:
            store.record_seal(archive=archive.location, folder=entry["folder"], seq=entry["seq"], run_id=run_id,
                              week=str(week), manifest_sha256=entry["manifest_sha256"],
                              previous_sha256=link.get("manifest_sha256"),
                              sealed_at=datetime.fromisoformat(str(manifest["archived_at"]).replace("Z", "+00:00")))
        except SealConflict as exc:
            raise ArchiveError(str(exc)) from None

    entry = archive.seal(folder, files, meta, now=now, anchor=anchor)
    log.info("archived %s as %s (manifest sha256 %s, chain position %s)", run_id, entry["folder"],
             entry["manifest_sha256"], entry["seq"])
    return entry


def finding_key(finding: Mapping[str, Any]) -> str:
    """An archived finding's key: as sealed, or (runs archived before findings carried it) as
    ``Finding.key`` computes it from the same fields."""
    if finding.get("key"):
        return str(finding["key"])

    try:
        return Finding.from_dict(dict(finding)).key
    except (KeyError, TypeError, ValueError):
        return ""
