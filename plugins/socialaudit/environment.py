"""Where a run reads and writes: the config file, the output folder and the store (services layer).

Built from :mod:`socialaudit.settings` (the only reader of the environment) or given explicitly by a
test or by the CLI's ``--config``. Every step and service that opens the store or the output
folder takes an :class:`Environment`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from checks._base import validate_settings
from socialaudit import config as config_module
from socialaudit import settings
from socialaudit.config import TrustConfig, config_path, load_config
from socialaudit.store import Store


@dataclass(frozen=True, slots=True)
class Environment:
    """Where a run reads and writes; from environment variables with documented defaults."""

    config: Path
    output: Path
    db_url: str

    @classmethod
    def from_env(cls, config: str | os.PathLike[str] | None = None) -> Environment:
        """From the deployment settings; ``config`` (the CLI's ``--config``) overrides ``SOCIALAUDIT_CONFIG``."""
        output = settings.output_dir()
        path = Path(config).resolve() if config else config_path(None)
        return cls(config=path, output=output, db_url=settings.db_url(output))

    def load(self) -> TrustConfig:
        """The validated config, parsed once per process while the file is unchanged, and once per
        run across processes through a snapshot (see ``_load_cached``).

        A batch task calls this for every school of its batch; a large trust's config takes seconds
        to parse, so it is cached on (path, modification time, size).
        """
        try:
            stat = self.config.stat()
        except OSError:
            return load_config(self.config)  # raises the one-line ConfigError
        return _load_cached(str(self.config), stat.st_mtime_ns, stat.st_size, str(self.output))

    def store(self) -> Store:
        return Store(self.db_url)


SNAPSHOTS = ".cache/config"  # under the output folder
SNAPSHOT_VERSION = "1"


@lru_cache(maxsize=4)
def _load_cached(path: str, mtime_ns: int, size: int, output: str) -> TrustConfig:
    """The config from its snapshot when one matches, else parsed from the YAML (and snapshotted).

    Every task process of a run (each Celery task is one) parsed the whole YAML again: 13 s at
    24,000 schools, most of it YAML. The first to parse it writes the validated config as JSON
    under ``<output>/.cache/config/``, named by a hash of the YAML's path and bytes, the snapshot
    format and the config model's code; the others validate that JSON (pydantic's own parser), which
    is several times faster. An edited config, or new code, gets a new name; a snapshot that does
    not load (cut short, hand-edited) is ignored and written again. The checks' settings are
    validated either way.
    """
    try:
        data = Path(path).read_bytes()
    except OSError:
        data = b""
    snapshot = Path(output) / SNAPSHOTS / f"{_snapshot_key(path, data)}.json" if data else None
    config = _read_snapshot(snapshot, path) if snapshot is not None else None
    if config is None:
        config = load_config(path)
        if snapshot is not None:
            _write_snapshot(snapshot, config)
    validate_settings(config)
    return config


def _snapshot_key(path: str, data: bytes) -> str:
    import hashlib
    import inspect

    digest = hashlib.sha256()
    for part in (SNAPSHOT_VERSION.encode(), path.encode(), inspect.getsource(config_module).encode(), data):
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()[:40]


def _read_snapshot(snapshot: Path, path: str) -> TrustConfig | None:
    from pydantic import ValidationError

    try:
        config = TrustConfig.model_validate_json(snapshot.read_bytes())
    except (OSError, ValueError, ValidationError):
        return None
    return config if config.source == path else None


def _write_snapshot(snapshot: Path, config: TrustConfig) -> None:
    """Write atomically (a temporary file renamed); a folder that cannot be written only costs speed.

    Only a config that reads back equal is snapshotted: the checks' settings are free-form, and JSON
    has no infinity and no dates (``inf`` would come back as the default, a date as a string), so
    such a config is parsed from the YAML by every process instead of changing between them."""
    import tempfile

    from pydantic import ValidationError

    payload = config.model_dump_json(by_alias=True, exclude_unset=True)
    try:
        if TrustConfig.model_validate_json(payload) != config:
            return
    except (ValueError, ValidationError):
        return
    try:
        snapshot.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("wb", dir=snapshot.parent, suffix=".tmp", delete=False) as handle:
            handle.write(payload.encode())
        os.replace(handle.name, snapshot)
    except OSError:
        return


def safe_run_id(run_id: str) -> str:
    """A run id usable as a folder name (Airflow's contain ':' and '+')."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", run_id).strip("_") or "run"
