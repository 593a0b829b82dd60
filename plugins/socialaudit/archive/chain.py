"""The hash chain: an archive root, its paged index, sealing a run and verifying the chain.

See :mod:`socialaudit.archive` for the layout. ``manifest.json`` is written last: a folder without one
is an unfinished write; a folder with one is sealed and is never written again.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from socialaudit import settings
from socialaudit.environment import safe_run_id
from socialaudit.weeks import IsoWeek

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

# 2: a run also keeps what its checks were given besides the posts (calendars, link resolutions, comment
# history) and its posts back over the event lead times, so ``history replay`` can recompute it. Runs of
# format 1 verify as before; their replay names what they did not keep.
FORMAT = 2
INDEX_FORMAT = 1  # the index's own layout (index.json and its pages): unchanged
ARCHIVE_ENV = settings.ARCHIVE_ENV
INDEX = "index.json"
INDEX_PAGES = "index"
PAGE_SIZE = 100
MANIFEST = "manifest.json"
PURGES = "purges"
WEEK_DIR = re.compile(r"^\d{4}-W\d{2}$")


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
            self._write(INDEX, canonical_json({"format": INDEX_FORMAT, "page_size": size, "pages": pages}), atomic=True)
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

    def append_record(self, folder: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Seal a record that holds no files (a purge) as the next link of the chain: its manifest is
        ``body`` with the chain's fields; returns its index entry."""
        count, previous = self.head()
        manifest = {
            "format": FORMAT, "folder": folder, "sequence": count + 1, **body,
            "previous": ({"folder": previous["folder"], "manifest_sha256": previous["manifest_sha256"]}
                         if previous else None),
            "files": {},
        }
        data = canonical_json(manifest)
        self._write(f"{folder}/{MANIFEST}", data)
        entry = self._entry(manifest, sha256(data))
        self._append(entry)
        return entry


def _in_range(week: str | None, first: IsoWeek | None, last: IsoWeek | None) -> bool:
    if week is None:
        return True
    value = IsoWeek.parse(week)
    return (first is None or value >= first) and (last is None or value <= last)
