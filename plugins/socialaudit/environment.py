"""Where a run reads and writes: the config file, the output folder and the store (services layer).

Built from :mod:`socialaudit.settings` (the only reader of the environment) or given explicitly by a
test or by the CLI's ``--config``. Every step and service that opens the store or the output
folder takes an :class:`Environment`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from checks._base import validate_settings
from socialaudit import config as config_module
from socialaudit import settings
from socialaudit.config import ConfigError, TrustConfig, config_path, load_config
from socialaudit.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Environment:
    """Where a run reads and writes; from environment variables with documented defaults.

    A batch task's environment (``for_batch``) also names the batch's schools and the run's config
    snapshot as ``plan`` sealed it: ``load`` then validates only those schools.
    """

    config: Path
    output: Path
    db_url: str
    schools: tuple[str, ...] = ()  # a batch task's schools (``for_batch``); empty: the whole trust
    seal: str = ""  # the run's config snapshot, as ``plan`` sealed it: "<key>:<digest of its header>"

    @classmethod
    def from_env(cls, config: str | os.PathLike[str] | None = None) -> Environment:
        """From the deployment settings; ``config`` (the CLI's ``--config``) overrides ``SOCIALAUDIT_CONFIG``."""
        output = settings.output_dir()
        path = Path(config).resolve() if config else config_path(None)
        return cls(config=path, output=output, db_url=settings.db_url(output))

    def for_batch(self, schools: Sequence[str], seal: str) -> Environment:
        """This environment for a batch task: ``load`` reads only these schools from the sealed snapshot.

        Without a seal (a config JSON cannot hold, an output folder that cannot be written) it is this
        environment: the whole config, as before."""
        return replace(self, schools=tuple(schools), seal=seal) if seal else self

    def load(self) -> TrustConfig:
        """The validated config, parsed once per process while the file is unchanged, and once per
        run across processes through a snapshot (see ``_load_cached``). A batch task's environment
        (``for_batch``) gets only its schools, from the snapshot ``plan`` sealed (``_load_batch``).

        A batch task calls this for every school of its batch; a large trust's config takes seconds
        to parse, so it is cached on (path, modification time, size).
        """
        if self.seal:
            return _load_batch(str(self.config), str(self.output), self.seal, self.schools)
        try:
            stat = self.config.stat()
        except OSError:
            return load_config(self.config)  # raises the one-line ConfigError
        return _load_cached(str(self.config), stat.st_mtime_ns, stat.st_size, str(self.output))

    def seal_config(self) -> str:
        """The seal of ``plan_config`` alone."""
        return self.plan_config()[1]

    def plan_config(self) -> tuple[TrustConfig, str]:
        """``plan``'s: the config parsed from the YAML as it is now, written as the run's snapshot, and the
        seal its batch tasks check that snapshot against: its name and the SHA-256 of its header, which holds
        each school's digest. A snapshot already on disk is never trusted here: whoever can write the output
        folder could have written one whose digests agree with themselves, and plan would have sealed it. It
        is replaced (or removed, when this config cannot be snapshotted). The config is parsed from the bytes
        the seal names: a YAML edited while it is read is read again. The seal is empty when there is no
        snapshot (a config JSON cannot hold, an unwritable output folder): batch tasks then parse the YAML."""
        for _ in range(3):
            try:
                data = self.config.read_bytes()
            except OSError:
                return load_config(self.config), ""  # raises the one-line ConfigError
            config = load_config(self.config)
            try:
                if self.config.read_bytes() == data:
                    break
            except OSError:
                pass
        else:
            raise ConfigError(f"{self.config}: changed three times while plan read it; run again when it is saved")
        validate_settings(config)
        key = _snapshot_key(str(self.config), data)
        snapshot = Path(self.output) / SNAPSHOTS / f"{key}{SNAPSHOT_SUFFIX}"
        if not _write_snapshot(snapshot, config):
            try:
                snapshot.unlink(missing_ok=True)  # never leave a snapshot plan did not write under the run's key
            except OSError:
                pass
            return config, ""
        header = _read_header(snapshot)
        if header is None or header[1].get("source") != config.source:
            return config, ""
        _write_bytes(snapshot.with_suffix(YAML_SUFFIX), data)  # the bytes plan read, for the archive (sealed_yaml)
        return config, f"{key}:{hashlib.sha256(header[0]).hexdigest()}"

    def sealed_yaml(self) -> bytes | None:
        """The config file's bytes as ``plan`` read them for this run (kept beside its sealed snapshot), or None
        when there is no seal, or the copy is gone or is not those bytes (its name is their digest)."""
        key = self.seal.partition(":")[0]
        if re.fullmatch(r"[0-9a-f]{40}", key) is None:
            return None
        try:
            data = (Path(self.output) / SNAPSHOTS / f"{key}{YAML_SUFFIX}").read_bytes()
        except OSError:
            return None
        return data if _snapshot_key(str(self.config), data) == key else None

    def store(self) -> Store:
        return Store(self.db_url)


SNAPSHOTS = ".cache/config"  # under the output folder
SNAPSHOT_VERSION = "2"
SNAPSHOT_SUFFIX = ".jsonl"
YAML_SUFFIX = ".yaml"  # the config file's bytes as plan read them, beside the snapshot
_HEADER_MAX = 64 << 20  # a header line longer than this is no snapshot of ours


@lru_cache(maxsize=4)
def _load_cached(path: str, mtime_ns: int, size: int, output: str) -> TrustConfig:
    """The config from its snapshot when one matches, else parsed from the YAML (and snapshotted).

    Every task process of a run (each Celery task is one) parsed the whole YAML again: 13 s at
    24,000 schools, most of it YAML. The first to parse it writes the validated config as JSON lines
    under ``<output>/.cache/config/``, named by a hash of the YAML's path and bytes, the snapshot
    format and the config model's code; the others validate that (pydantic's own parser), which
    is several times faster. An edited config, or new code, gets a new name; a snapshot that does
    not load (cut short, hand-edited: each school's line must match its digest in the header) is
    ignored and written again. The checks' settings are validated either way.

    The snapshot's first line is its header: the config without its schools, and each school's
    offset, length and SHA-256 in the lines that follow (one school a line). A batch task reads the
    header and its own schools' lines only (``_load_batch``).
    """
    try:
        data = Path(path).read_bytes()
    except OSError:
        data = b""
    snapshot = Path(output) / SNAPSHOTS / f"{_snapshot_key(path, data)}{SNAPSHOT_SUFFIX}" if data else None
    config = _read_snapshot(snapshot, path, None) if snapshot is not None else None
    if config is None:
        config = load_config(path)
        if snapshot is not None:
            _write_snapshot(snapshot, config)
    validate_settings(config)
    return config


@lru_cache(maxsize=8)
def _load_batch(path: str, output: str, seal: str, schools: tuple[str, ...]) -> TrustConfig:
    """A batch task's config: the trust and only the batch's schools, from the snapshot ``plan`` sealed.

    Every task validated the whole snapshot: 1.8 s at 24,000 schools. Now it reads the snapshot's
    header, checks it against the seal (the SHA-256 ``plan`` took of it, which came through Airflow,
    not through the output folder), and validates the batch's lines, each checked against its digest
    in the header. A snapshot that does not match is refused: the task parses the YAML instead while
    its bytes are those ``plan`` sealed, and otherwise fails with a ConfigError naming both.
    ``school()`` stays a dictionary lookup; ``schools`` holds the batch's schools, in the batch's order.
    """
    key, _, digest = seal.partition(":")
    ok = re.fullmatch(r"[0-9a-f]{40}", key) is not None and re.fullmatch(r"[0-9a-f]{64}", digest) is not None
    snapshot = Path(output) / SNAPSHOTS / f"{key}{SNAPSHOT_SUFFIX}"
    config = _read_snapshot(snapshot, path, (digest, schools)) if ok else None
    if config is None:
        try:
            data = Path(path).read_bytes()
        except OSError:
            data = b""
        if not ok or _snapshot_key(path, data) != key:
            raise ConfigError(f"{path}: the run's config snapshot ({snapshot.name}) is missing or does not match "
                              "the one plan sealed, and the config has changed since plan: rerun the whole run")
        log.warning("%s: the run's config snapshot does not match the one plan sealed; the config is parsed again", path)
        config = load_config(path)  # the bytes plan sealed: the whole config, never the refused snapshot
        _write_snapshot(snapshot, config)  # the same bytes as plan's: the same header, the same seal
    validate_settings(config)
    return config


def _write_bytes(path: Path, data: bytes, accept: Callable[[Path], bool] | None = None) -> bool:
    """Write ``data`` to ``path`` whole or not at all: a new temporary file beside it (``mkstemp``: a name of its
    own, created exclusively, so no other process's file or planted link is written through), renamed over it
    only when ``accept``, if given, accepts the temporary file. A folder that cannot be written is no error.
    Whether it was written."""
    tmp: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        tmp = Path(name)
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        if accept is None or accept(tmp):
            os.replace(tmp, path)
            tmp = None
            return True
    except OSError:
        pass
    finally:
        if tmp is not None:  # refused, failed, or accept raised: never left behind
            try:
                tmp.unlink(missing_ok=True)
            except OSError:
                pass
    return False


def _snapshot_key(path: str, data: bytes) -> str:
    import inspect

    digest = hashlib.sha256()
    for part in (SNAPSHOT_VERSION.encode(), path.encode(), inspect.getsource(config_module).encode(), data):
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()[:40]


def _read_header(snapshot: Path) -> tuple[bytes, dict[str, Any]] | None:
    """(the header line's bytes, the header) of a snapshot; None when it has none of ours."""
    try:
        with snapshot.open("rb") as handle:
            line = handle.readline(_HEADER_MAX)
    except OSError:
        return None
    try:
        header = json.loads(line)
    except (ValueError, RecursionError):  # "[[[[..." nests past the decoder's recursion limit
        return None
    if (not isinstance(header, dict) or header.get("version") != SNAPSHOT_VERSION
            or not isinstance(header.get("rest"), dict) or not isinstance(header.get("schools"), dict)):
        return None
    return line, header


def _read_snapshot(snapshot: Path, path: str, sealed: tuple[str, tuple[str, ...]] | None) -> TrustConfig | None:
    """The config a snapshot holds, or None when it does not hold one of ``path``'s (or a line does not
    match its digest). With ``sealed`` (the header's SHA-256, the batch's school ids) only those schools
    are read and validated, and only from a header with that digest."""
    from pydantic import ValidationError

    got = _read_header(snapshot)
    if got is None:
        return None
    line, header = got
    if sealed is not None and hashlib.sha256(line).hexdigest() != sealed[0]:
        return None
    index: dict[str, Any] = header["schools"]
    wanted = list(index) if sealed is None else [s for s in dict.fromkeys(sealed[1]) if s in index]
    lines: list[bytes] = []
    try:
        with snapshot.open("rb") as handle:
            for school in wanted:
                offset, length, digest = index[school]
                handle.seek(len(line) + int(offset))
                body = handle.read(int(length))
                if hashlib.sha256(body).hexdigest() != digest:
                    return None
                lines.append(body)
        rest = json.dumps(header["rest"]).encode()
        if not rest.endswith(b"}") or rest == b"{}":
            return None
        config = TrustConfig.model_validate_json(rest[:-1] + b', "schools": [' + b",".join(lines) + b"]}")
    except (OSError, ValueError, TypeError, ValidationError):
        return None
    return config if config.source == path else None


def _snapshot_bytes(config: TrustConfig) -> bytes:
    """The header line, then one line per school (see ``_load_cached``)."""
    rest = json.loads(config.model_dump_json(by_alias=True, exclude_unset=True, exclude={"schools"}))
    lines = [s.model_dump_json(by_alias=True, exclude_unset=True).encode() for s in config.schools]
    index: dict[str, list[Any]] = {}
    offset = 0
    for school, body in zip(config.schools, lines, strict=True):
        index[school.id] = [offset, len(body), hashlib.sha256(body).hexdigest()]
        offset += len(body) + 1
    header = json.dumps({"version": SNAPSHOT_VERSION, "source": config.source, "rest": rest, "schools": index},
                        separators=(",", ":")).encode()
    return header + b"\n" + b"".join(body + b"\n" for body in lines)


def _write_snapshot(snapshot: Path, config: TrustConfig) -> bool:
    """Write atomically (:func:`_write_bytes`); a folder that cannot be written only costs speed.
    Whether it was written.

    Only a config that reads back equal is snapshotted: the checks' settings are free-form, and JSON
    has no infinity and no dates (``inf`` would come back as the default, a date as a string), so
    such a config is parsed from the YAML by every process instead of changing between them."""
    return _write_bytes(snapshot, _snapshot_bytes(config),
                        accept=lambda tmp: _read_snapshot(tmp, config.source, None) == config)


def safe_run_id(run_id: str) -> str:
    """A run id usable as a folder name (Airflow's contain ':' and '+')."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", run_id).strip("_") or "run"
