"""The audit archive: one immutable, hash-chained folder per run, for auditors.

Every run (a failed or partial one too) is sealed into ``archive/<YYYY-Www>/<run-id>/``::

    reports/trust.html, reports/summary.json, reports/schools/<id>.html   what the trust and heads saw
    emails/<id>.eml                      the head's email as written to the outbox
    results.json                         per school: collection status, every check's status and metrics
    findings.json, findings.csv          every finding of the run
    posts.jsonl.gz                       the posts the checks read (gzip, mtime 0)
    raw/<school>/<platform>/<account>/   the raw responses collected (copied from output/raw)
    raw/<school>/calendar/<calendar>/    each calendar the event check read, as it was read
    raw/<school>/links/resolutions/      each link the external_links check judged: chain, every request's answer
    config.yaml                          the trust config used, byte for byte
    rules.json                           the checks (name, clause, source hash) and resolved settings
    code.json                            the code version (git commit, or "unknown")
    manifest.json                        SHA-256 of every file above, and the previous manifest's SHA-256

``manifest.json`` is written last: a folder without one is an unfinished write (a retry may
replace it); a folder with one is sealed and is never written again. Each manifest carries the
SHA-256 of the manifest archived before it (across weeks, in order of archiving), so the runs form a
chain and a changed, removed or inserted run shows when :meth:`Archive.verify` walks it.
The index lists the chain in pages: ``archive/index/000001.json`` holds entries 1-100, and so on;
``archive/index.json`` lists the pages. Archiving a run rewrites only the last page (and the page
list when it starts a new page); past runs and full pages are never re-read or rewritten, so
archiving costs the same with 0 or 500 runs behind it.

The chain alone cannot show that its *latest* run was deleted together with its index entry (what
is left is a shorter, consistent chain), so every sealed run is also recorded in the audit store
(``archive_seals``: folder, position, manifest SHA-256, previous SHA-256, time). Given those seals,
:meth:`Archive.verify` also names a sealed run missing from the archive, a manifest that is not the
one sealed, and a run in the archive the store never sealed (inserted). The anchor means something
only when the store and the archive live on different systems (one writer cannot rewrite both).

A purge (retention) removes files from sealed runs without touching their manifests, and records a
purge entry in the chain (``archive/purges/<time>/manifest.json``) listing each removed file and its
old SHA-256, so ``verify`` still passes and reports what was purged when.

Everything is written through Airflow's ``ObjectStoragePath``: a local folder by default
(``file://``), S3, GCS or Azure by setting ``SOCIALAUDIT_ARCHIVE`` (e.g. ``s3://aws_default@bucket/archive``).
File contents are deterministic (same inputs, same bytes); only the manifest's run id and time
fields vary between two runs over the same data.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import logging
import re
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from checks import _base
from socialaudit import settings
from socialaudit.environment import Environment as Env
from socialaudit.environment import safe_run_id
from socialaudit.models import CollectionStatus, Finding
from socialaudit.store import SealConflict, check_results
from socialaudit.weeks import IsoWeek

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

    from socialaudit.config import TrustConfig
    from socialaudit.environment import Environment

log = logging.getLogger(__name__)

FORMAT = 1
ARCHIVE_ENV = settings.ARCHIVE_ENV
CODE_VERSION_ENV = settings.CODE_VERSION_ENV
INDEX = "index.json"
INDEX_PAGES = "index"
PAGE_SIZE = 100
MANIFEST = "manifest.json"
PURGES = "purges"
WEEK_DIR = re.compile(r"^\d{4}-W\d{2}$")
# Kinds of archived data with their own retention, and which files of a run belong to each.
# The names are those of ``trust.retention`` in the config (socialaudit.config.Retention).
KINDS: dict[str, tuple[str, ...]] = {
    "raw_responses": ("raw/",),
    "post_texts": ("posts.jsonl.gz",),
    "findings": ("findings.json", "findings.csv", "results.json"),
    "reports": ("reports/", "emails/"),
}
# A reviewed suppression (socialaudit.suppressions) in columns of its own: empty when the finding is not suppressed.
SUPPRESSION_COLUMNS = ("suppression_kind", "suppression_reviewer", "suppression_reason", "suppression_expires")
FINDING_COLUMNS = ("week", "school", "check", "policy", "severity", "status", "account", "post_id", "post_url",
                   "message", "evidence", "action", *SUPPRESSION_COLUMNS, "key")


Anchor = Callable[[Mapping[str, Any], Mapping[str, Any]], None]
"""Called with a sealed run's index entry and manifest before the entry joins the index."""


class ArchiveError(Exception):
    """The archive cannot do what was asked; the message is one line naming the run or file."""


class AlreadyArchived(ArchiveError):
    """A sealed run folder exists: an archived run is never overwritten."""


def sha256(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def canonical_json(value: Any) -> bytes:
    """The one JSON form the archive writes: sorted keys, one-space indent, UTF-8, final newline."""
    return (json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False, default=str) + "\n").encode("utf-8")


def utc_stamp(moment: datetime) -> str:
    """``2026-11-30T06:12:00Z``."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def archive_url(output: Path | None = None) -> str:
    """``$SOCIALAUDIT_ARCHIVE`` (a URL or a path), else ``<output>/archive``, as a URL."""
    setting = settings.archive_location()
    if not setting:
        if output is None:
            output = settings.output_dir()
        setting = str(output / "archive")
    return as_url(setting)


def as_url(location: str) -> str:
    """A URL for ``location``: a URL as given, a local path as ``file://`` (absolute)."""
    return location if "://" in location else Path(location).resolve().as_uri()


def open_archive(output: Path | None = None, url: str | None = None) -> Archive:
    """The archive at ``url`` (a URL or a path; default :func:`archive_url`)."""
    from airflow.sdk import ObjectStoragePath

    return Archive(ObjectStoragePath(as_url(url) if url else archive_url(output)))


# --- what a run is made of ---------------------------------------------------------------------

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
    """The rules a run applied: every check's name, clause, title and source hash, the settings it
    resolved for the trust and each school, and ``version``, a hash of all of it."""
    import inspect

    specs = _base.registry()
    checks = []
    for spec in specs.values():
        try:
            source = Path(inspect.getsourcefile(spec.fn) or "").read_bytes()
        except (OSError, TypeError):
            source = b""
        checks.append({"name": spec.name, "policy": spec.policy, "title": spec.title, "module": spec.fn.__module__,
                       "source_sha256": sha256(source) if source else "unknown",
                       "trust_settings": spec.resolve_settings(config, None)})
    base_source = Path(inspect.getfile(_base)).read_bytes()
    school_settings: dict[str, dict[str, Any]] = {}
    for school in config.schools:
        for spec in specs.values():
            resolved = spec.resolve_settings(config, school)
            if resolved != spec.resolve_settings(config, None):
                school_settings.setdefault(school.id, {})[spec.name] = resolved
    body = {"checks": checks, "registry_sha256": sha256(base_source), "school_settings": school_settings}
    return {"version": sha256(canonical_json(body)), **body}


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
                        "findings": len(r.findings), "metrics": r.metrics} for r in checks],
        })
        for result in checks:
            # the key is what a suppression names (python -m socialaudit suppress add KEY ...)
            findings.extend({"week": str(week), **f.to_dict(), "key": f.key} for f in result.findings)
        for post in store.posts_for(school.id, since - timedelta(days=1), until + timedelta(days=1)):
            posts += json.dumps(post.to_dict(), ensure_ascii=False, sort_keys=True).encode("utf-8") + b"\n"
    files["results.json"] = canonical_json({"week": str(week), "schools": results})
    files["findings.json"] = canonical_json(findings)
    files["findings.csv"] = _csv_bytes(({**f, **suppression_cells(f)} for f in findings), FINDING_COLUMNS)
    files["posts.jsonl.gz"] = gzip.compress(bytes(posts), mtime=0)
    raw = env.output / "raw" / str(week) / safe_run_id(run_id)
    for path in _local_files(raw):
        files["raw/" + path.relative_to(raw).as_posix()] = path.read_bytes()
    try:
        files["config.yaml"] = Path(config.source).read_bytes()
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


# --- the archive -------------------------------------------------------------------------------

@dataclass
class Verification:
    """What :meth:`Archive.verify` found: problems fail the verification, notes do not."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # what could not be checked (e.g. no seals in the store)
    runs: int = 0
    files: int = 0
    head: str = ""
    anchored: int | None = None  # runs whose seal in the store matched; None when no seals were checked

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class PurgePlan:
    """Files past retention, per run, and the store's post texts to blank."""

    removed: list[dict[str, Any]] = field(default_factory=list)  # {"folder", "path", "sha256", "kind"}
    posts_before: str | None = None
    posts_blanked: int = 0
    entry: dict[str, Any] | None = None


class Archive:
    """An archive root (an ``ObjectStoragePath``): its index, its sealed runs and its chain."""

    def __init__(self, root: ObjectStoragePath) -> None:
        self.root = root

    def __str__(self) -> str:
        return str(self.root)

    @property
    def location(self) -> str:
        """The archive's URL without a trailing slash: the key of its seals in the store."""
        return str(self.root).rstrip("/")

    # index --------------------------------------------------------------------------------
    # The index is paged so that appending never grows with history: index.json lists the pages,
    # each page (index/000001.json, ...) holds PAGE_SIZE entries; an append rewrites only the last
    # page, and index.json only when a page is added.
    def _pages(self) -> tuple[int, list[str]]:
        path = self.root / INDEX
        if not path.exists():
            return PAGE_SIZE, []
        try:
            data = json.loads(path.read_bytes())
            return int(data["page_size"]), [str(p) for p in data["pages"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise ArchiveError(f"{path}: not a valid archive index: {exc}") from None

    def _page(self, rel: str) -> list[dict[str, Any]]:
        path = self.root / rel
        try:
            return list(json.loads(path.read_bytes())["entries"])
        except FileNotFoundError:
            raise ArchiveError(f"{path}: index page missing (index.json lists it)") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise ArchiveError(f"{path}: not a valid index page: {exc}") from None

    def index(self) -> list[dict[str, Any]]:
        """The chain's entries in order of archiving (empty for a new archive)."""
        entries: list[dict[str, Any]] = []
        for rel in self._pages()[1]:
            entries.extend(self._page(rel))
        return entries

    def head(self) -> tuple[int, dict[str, Any] | None]:
        """How many entries the chain has and its last one, reading only the last index page."""
        size, pages = self._pages()
        if not pages:
            return 0, None
        last = self._page(pages[-1])
        return (len(pages) - 1) * size + len(last), (last[-1] if last else None)

    def entry_at(self, seq: int) -> dict[str, Any] | None:
        """The index entry at chain position ``seq`` (1-based), reading one page."""
        size, pages = self._pages()
        page = (seq - 1) // size
        if seq < 1 or page >= len(pages):
            return None
        entries = self._page(pages[page])
        offset = (seq - 1) % size
        return entries[offset] if offset < len(entries) else None

    def _append(self, entry: dict[str, Any]) -> None:
        size, pages = self._pages()
        last = self._page(pages[-1]) if pages else []
        if not pages or len(last) >= size:
            pages, last = [*pages, f"{INDEX_PAGES}/{len(pages) + 1:06d}.json"], []
            self._write(pages[-1], canonical_json({"entries": [entry]}), atomic=True)
            self._write(INDEX, canonical_json({"format": FORMAT, "page_size": size, "pages": pages}), atomic=True)
        else:
            self._write(pages[-1], canonical_json({"entries": [*last, entry]}), atomic=True)

    def is_indexed(self, folder: str) -> bool:
        """Whether ``folder`` is sealed and in the chain (its manifest's position holds it)."""
        path = self.root / folder / MANIFEST
        if not path.exists():
            return False
        try:
            seq = int(json.loads(path.read_bytes())["sequence"])
        except (ValueError, KeyError, TypeError):
            return True  # a damaged manifest: never write over it
        entry = self.entry_at(seq)
        return entry is not None and entry["folder"] == folder

    def _write(self, rel: str, data: bytes, *, atomic: bool = False, made: set[str] | None = None) -> None:
        target = self.root / rel
        parent = rel.rpartition("/")[0]
        if made is None or parent not in made:
            target.parent.mkdir(parents=True, exist_ok=True)
            if made is not None:
                made.add(parent)
        if atomic:
            tmp = self.root / (rel + ".tmp")
            tmp.write_bytes(data)
            tmp.replace(target)
        else:
            target.write_bytes(data)

    def runs(self) -> list[dict[str, Any]]:
        """The run entries of the index (purge records left out)."""
        return [e for e in self.index() if e.get("kind") == "run"]

    def find(self, ref: str) -> dict[str, Any]:
        """A run entry by run id, folder name, ``<week>/<folder>`` or ``latest``; ArchiveError if unknown."""
        runs = self.runs()
        if ref == "latest" and runs:
            return runs[-1]
        for entry in reversed(runs):
            name = entry["folder"].split("/", 1)[1]
            if ref in (entry["run_id"], entry["folder"], name) or safe_run_id(ref) == name:
                return entry
        raise ArchiveError(f"{self.root}: no archived run {ref!r} ({len(runs)} runs archived; see 'history list')")

    def read_json(self, folder: str, rel: str) -> Any:
        """A JSON file of an archived run; ArchiveError names it if it is missing or purged."""
        path = self.root / folder / rel
        try:
            return json.loads(path.read_bytes())
        except FileNotFoundError:
            raise ArchiveError(f"{path}: missing (purged by retention, or deleted: run 'history verify')") from None
        except ValueError as exc:
            raise ArchiveError(f"{path}: not valid JSON: {exc}") from None

    # sealing ------------------------------------------------------------------------------
    def seal(self, folder: str, files: Mapping[str, bytes], meta: Mapping[str, Any], *,
             now: datetime | None = None, anchor: Anchor | None = None) -> dict[str, Any]:
        """Write ``files`` into ``folder``, then its manifest (chained to the last entry), then the index.

        ``anchor(entry, manifest)`` is called between the manifest and the index (archive_run records
        the seal in the store there): if it fails, the retry finds the run sealed but not indexed,
        anchors it again (idempotent) and links it, so a run is never in the index without its seal.
        """
        run_dir = self.root / folder
        count, previous = self.head()
        if (run_dir / MANIFEST).exists():
            if self.is_indexed(folder):
                raise AlreadyArchived(f"{run_dir}: run {meta.get('run_id', folder)!r} is already archived "
                                      "(sealed and in the chain); an archived run is never overwritten: "
                                      "rerun the week for a new run id")
            # Sealed but not indexed: the previous attempt stopped between manifest and index.
            data = (run_dir / MANIFEST).read_bytes()
            manifest = json.loads(data)
            entry = self._entry(manifest, sha256(data))
            link = {"folder": previous["folder"], "manifest_sha256": previous["manifest_sha256"]} if previous else None
            if manifest.get("sequence") != count + 1 or manifest.get("previous") != link:
                raise ArchiveError(f"{run_dir}: sealed, but not as the next link of the chain (position "
                                   f"{manifest.get('sequence')}, the index has {count} entries); run 'history verify'")
            if anchor is not None:
                anchor(entry, manifest)
            self._append(entry)
            return entry
        stray = [p for p in run_dir.rglob("*") if p.is_file()] if run_dir.exists() else []
        if stray:
            # An unfinished write from a failed attempt (no manifest): nothing was sealed, start over.
            for path in stray:
                path.unlink()
        moment = now or datetime.now(timezone.utc)
        made: set[str] = set()
        for rel, data in files.items():
            self._write(f"{folder}/{rel}", data, made=made)
        manifest = {
            "format": FORMAT, "kind": "run", "folder": folder, "sequence": count + 1,
            "archived_at": utc_stamp(moment), **meta,
            "previous": ({"folder": previous["folder"], "manifest_sha256": previous["manifest_sha256"]}
                         if previous else None),
            "files": {rel: {"sha256": sha256(data), "bytes": len(data)} for rel, data in files.items()},
        }
        data = canonical_json(manifest)
        self._write(f"{folder}/{MANIFEST}", data)
        entry = self._entry(manifest, sha256(data))
        if anchor is not None:
            anchor(entry, manifest)
        self._append(entry)
        return entry

    @staticmethod
    def _entry(manifest: Mapping[str, Any], digest: str) -> dict[str, Any]:
        entry = {"seq": manifest["sequence"], "kind": manifest["kind"], "folder": manifest["folder"],
                 "manifest_sha256": digest}
        if manifest["kind"] == "run":
            entry.update({k: manifest.get(k) for k in ("week", "run_id", "state", "missing", "archived_at",
                                                         "rules_version", "code_version", "counts", "attempt")})
        else:
            entry.update({"purged_at": manifest["purged_at"], "removed": len(manifest["removed"]),
                          "posts_blanked": manifest.get("store", {}).get("posts_blanked", 0)})
        return entry

    # verification -------------------------------------------------------------------------
    def _on_disk(self) -> set[str]:
        found: set[str] = set()
        if not self.root.exists():
            return found
        for week in self.root.iterdir():
            if week.is_dir() and (WEEK_DIR.match(week.name) or week.name == PURGES):
                found.update(f"{week.name}/{run.name}" for run in week.iterdir() if run.is_dir())
        return found

    def verify(self, first: IsoWeek | None = None, last: IsoWeek | None = None, *,
               seals: Sequence[Mapping[str, Any]] | None = None) -> Verification:
        """Recompute every hash and walk the chain; every mismatch is a problem naming the file or run.

        ``first``/``last`` limit the file checks to runs of those weeks; the chain is walked whole
        (each link needs only the manifest before it). ``seals`` (the store's ``archive_seals`` rows
        for this archive) anchor the chain: see :meth:`_check_seals`. ``None`` skips that check.
        """
        report = Verification()
        try:
            entries = self.index()
        except ArchiveError as exc:
            report.problems.append(str(exc))
            return report
        on_disk = self._on_disk()
        manifests: dict[str, dict[str, Any]] = {}
        actual: dict[str, str] = {}
        for entry in entries:
            path = self.root / entry["folder"] / MANIFEST
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                continue
            actual[entry["folder"]] = sha256(data)
            try:
                manifests[entry["folder"]] = json.loads(data)
            except ValueError:
                report.problems.append(f"{entry['folder']}/{MANIFEST}: edited (not valid JSON any more)")
        # Purge records first: a file a purge removed (with the hash it had) is not a problem.
        purged: dict[tuple[str, str], dict[str, Any]] = {}
        for entry in entries:
            manifest = manifests.get(entry["folder"])
            if entry.get("kind") == "purge" and manifest:
                for item in manifest.get("removed", []):
                    purged[(item["folder"], item["path"])] = {**item, "when": manifest["purged_at"]}
        previous: dict[str, Any] | None = None
        purge_notes: dict[str, dict[str, Any]] = {}
        for position, entry in enumerate(entries, start=1):
            folder = entry["folder"]
            name = f"run {folder}" if entry.get("kind") == "run" else f"purge record {folder}"
            if entry.get("seq") != position:
                report.problems.append(f"index.json: entry {position} ({folder}) says chain position {entry.get('seq')}")
            if folder not in on_disk:
                report.problems.append(f"{name} (chain position {position}): deleted: the index lists it but its folder is gone")
            elif folder not in actual:
                report.problems.append(f"{folder}/{MANIFEST}: deleted")
            elif actual[folder] != entry["manifest_sha256"]:
                report.problems.append(f"{folder}/{MANIFEST}: edited (sha256 {actual[folder][:16]}..., "
                                       f"sealed as {entry['manifest_sha256'][:16]}...)")
            manifest = manifests.get(folder)
            if manifest is not None:
                self._check_link(manifest, previous, actual, position, report)
                # What 'history list' shows comes from the index: it must say what the manifest says.
                try:
                    sealed = self._entry(manifest, entry["manifest_sha256"])
                except (KeyError, TypeError):
                    sealed = {}
                differs = sorted(k for k in set(sealed) | set(entry) if sealed.get(k) != entry.get(k))
                if differs and actual.get(folder) == entry["manifest_sha256"]:
                    report.problems.append(f"index entry {position} ({folder}): {', '.join(differs)} differ from its manifest")
                in_range = entry.get("kind") != "run" or _in_range(entry.get("week"), first, last)
                if in_range:
                    report.runs += entry.get("kind") == "run"
                    self._check_files(folder, manifest, purged, purge_notes, report)
            previous = entry
        for folder in sorted(on_disk - {e["folder"] for e in entries}):
            report.problems.append(f"run {folder}: not in the chain (inserted, or archived outside the index)")
        for folder, note in sorted(purge_notes.items()):
            kinds = ", ".join(sorted(note["kinds"]))
            report.notes.append(f"{folder}: {note['files']} file(s) purged ({kinds}) on {', '.join(sorted(note['when']))}")
        report.head = entries[-1]["manifest_sha256"] if entries else ""
        if seals is not None:
            self._check_seals(entries, actual, seals, report)
        return report

    def _check_seals(self, entries: Sequence[Mapping[str, Any]], actual: Mapping[str, str],
                     seals: Sequence[Mapping[str, Any]], report: Verification) -> None:
        """Compare the chain with the store's seals: every sealed run must be in the index at its position
        with the manifest it was sealed with; every run from the first sealed position on must be sealed.

        Runs before the first seal were archived before seals were recorded: a warning, not a problem.
        Purge records are not sealed in the store; the runs they accounted for still are.
        """
        if not seals:
            report.warnings.append(f"the store holds no seals for {self.location}: the runs were archived before seals "
                                   "were recorded (or the store is another one), so deleting the latest run together "
                                   "with its index entry cannot be detected")
            report.anchored = 0
            return
        runs = {e["folder"]: e for e in entries if e.get("kind") == "run"}
        sealed = {str(s["folder"]): s for s in seals}
        start = min(int(s["seq"]) for s in seals)
        matched = 0
        for seal in sorted(seals, key=lambda s: int(s["seq"])):
            folder, digest = str(seal["folder"]), str(seal["manifest_sha256"])
            when = utc_stamp(seal["sealed_at"]) if isinstance(seal["sealed_at"], datetime) else str(seal["sealed_at"])
            entry = runs.get(folder)
            if entry is None:
                report.problems.append(f"run {folder}: sealed in the store at chain position {seal['seq']} on {when} "
                                       f"(manifest sha256 {digest[:16]}...) but not in the archive's index: deleted")
                continue
            found = actual.get(folder, entry["manifest_sha256"])
            ok = True
            # The index agreeing with the seal but not the file is the chain check's "edited" already.
            if entry["manifest_sha256"] != digest:
                report.problems.append(f"run {folder}: manifest sha256 {found[:16]}... is not the one sealed in the "
                                       f"store on {when} ({digest[:16]}...): the manifest was replaced")
                ok = False
            if entry.get("seq") != seal["seq"]:
                report.problems.append(f"run {folder}: sealed in the store at chain position {seal['seq']}, found at "
                                       f"{entry.get('seq')} in the index")
                ok = False
            matched += ok
        legacy = 0
        for folder, entry in runs.items():
            if folder in sealed:
                continue
            if int(entry.get("seq") or 0) < start:
                legacy += 1
            else:
                report.problems.append(f"run {folder} (chain position {entry.get('seq')}): in the archive but never "
                                       "sealed in the store (inserted run)")
        if legacy:
            report.warnings.append(f"{legacy} run(s) before chain position {start} were archived before seals were "
                                   "recorded in the store: only the chain protects them")
        report.anchored = matched

    @staticmethod
    def _check_link(manifest: Mapping[str, Any], previous: Mapping[str, Any] | None, actual: Mapping[str, str],
                    position: int, report: Verification) -> None:
        folder = manifest.get("folder")
        if manifest.get("sequence") != position:
            report.problems.append(f"run {folder}: sealed at chain position {manifest.get('sequence')} but found at "
                                   f"{position} (a run before it was deleted or inserted)")
        link = manifest.get("previous")
        if previous is None:
            if link is not None:
                report.problems.append(f"run {folder}: chain broken: it was archived after {link.get('folder')}, "
                                       "which is no longer in the archive (deleted run)")
            return
        expected = actual.get(previous["folder"], previous["manifest_sha256"])
        if link is None:
            report.problems.append(f"run {folder}: chain broken: it was archived first, but {previous['folder']} now comes before it (inserted run)")
        elif link.get("manifest_sha256") != expected:
            if link.get("folder") != previous["folder"]:
                report.problems.append(f"run {folder}: chain broken: it was archived after {link.get('folder')}, "
                                       f"but {previous['folder']} now comes before it (a run was deleted or inserted)")
            else:
                report.problems.append(f"run {folder}: chain broken: the manifest of {previous['folder']} is not the "
                                       "one it was chained to (that manifest was edited)")

    def _check_files(self, folder: str, manifest: Mapping[str, Any], purged: Mapping[tuple[str, str], Mapping[str, Any]],
                     purge_notes: dict[str, dict[str, Any]], report: Verification) -> None:
        run_dir = self.root / folder
        base = run_dir.path.rstrip("/")
        # Relative names by slicing the path string: UPath's relative_to costs a millisecond a file.
        present = {p.path[len(base) + 1:]: p for p in run_dir.rglob("*") if p.is_file()}
        listed: Mapping[str, Mapping[str, Any]] = manifest.get("files", {})
        for rel, info in sorted(listed.items()):
            report.files += 1
            path = present.get(rel)
            if path is None:
                record = purged.get((folder, rel))
                if record and record.get("sha256") == info.get("sha256"):
                    note = purge_notes.setdefault(folder, {"files": 0, "kinds": set(), "when": set()})
                    note["files"] += 1
                    note["kinds"].add(record.get("kind", "?"))
                    note["when"].add(record["when"])
                else:
                    report.problems.append(f"{folder}/{rel}: deleted")
                continue
            digest = sha256(path.read_bytes())
            if digest != info.get("sha256"):
                report.problems.append(f"{folder}/{rel}: changed (sha256 {digest[:16]}..., sealed as {str(info.get('sha256'))[:16]}...)")
        for rel in sorted(set(present) - set(listed) - {MANIFEST}):
            report.problems.append(f"{folder}/{rel}: extra file, not in the manifest")

    # retention ----------------------------------------------------------------------------
    def plan_purge(self, retention: Mapping[str, int | None], now: datetime) -> PurgePlan:
        """The sealed files past retention: a run's data of a kind is kept ``days`` after its week ends."""
        plan = PurgePlan()
        for entry in self.runs():
            week = IsoWeek.parse(entry["week"])
            week_end = datetime.combine(week.sunday + timedelta(days=1), datetime.min.time(), timezone.utc)
            due = [kind for kind, days in retention.items() if days is not None and week_end + timedelta(days=days) <= now]
            if not due:
                continue
            manifest = self.read_json(entry["folder"], MANIFEST)
            run_dir = self.root / entry["folder"]
            for rel, info in sorted(manifest["files"].items()):
                kind = next((k for k in due if any(rel == p or (p.endswith("/") and rel.startswith(p)) for p in KINDS[k])), None)
                if kind and (run_dir / rel).exists():
                    plan.removed.append({"folder": entry["folder"], "path": rel, "sha256": info["sha256"], "kind": kind})
        return plan

    def record_purge(self, plan: PurgePlan, retention: Mapping[str, int | None], as_of: datetime,
                     now: datetime | None = None) -> dict[str, Any]:
        """Remove the planned files and seal a purge record into the chain (written before the removal,
        so an interrupted purge leaves files the record accounts for, never unexplained gaps).

        ``as_of`` is the moment retention was applied for; ``now`` (default: the clock) when it happened.
        """
        count, previous = self.head()
        moment = now or datetime.now(timezone.utc)
        folder = f"{PURGES}/{moment.astimezone(timezone.utc):%Y%m%dT%H%M%SZ}-{count + 1:06d}"
        manifest = {
            "format": FORMAT, "kind": "purge", "folder": folder, "sequence": count + 1,
            "purged_at": utc_stamp(moment), "retention_as_of": utc_stamp(as_of), "retention_days": dict(retention),
            "removed": plan.removed,
            "store": {"posts_created_before": plan.posts_before, "posts_blanked": plan.posts_blanked},
            "previous": ({"folder": previous["folder"], "manifest_sha256": previous["manifest_sha256"]}
                         if previous else None),
            "files": {},
        }
        data = canonical_json(manifest)
        self._write(f"{folder}/{MANIFEST}", data)
        entry = self._entry(manifest, sha256(data))
        self._append(entry)
        for item in plan.removed:
            path = self.root / item["folder"] / item["path"]
            if path.exists():
                path.unlink()
        plan.entry = entry
        return entry


def _in_range(week: str | None, first: IsoWeek | None, last: IsoWeek | None) -> bool:
    if week is None:
        return True
    value = IsoWeek.parse(week)
    return (first is None or value >= first) and (last is None or value <= last)


def retention_days(config: TrustConfig) -> dict[str, int | None]:
    """Days to keep each kind of data after its week ends (``trust.retention``); ``None`` keeps forever."""
    configured = getattr(config.trust, "retention", None)
    values: Mapping[str, Any] = configured.model_dump() if configured is not None else {}
    return {kind: (None if values.get(kind) is None else int(values[kind])) for kind in KINDS}


def finding_key(finding: Mapping[str, Any]) -> str:
    """An archived finding's key: as sealed, or (runs archived before findings carried it) as
    ``Finding.key`` computes it from the same fields."""
    if finding.get("key"):
        return str(finding["key"])

    try:
        return Finding.from_dict(dict(finding)).key
    except (KeyError, TypeError, ValueError):
        return ""
