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
        """The validated config, parsed once per process while the file is unchanged.

        A batch task calls this for every school of its batch; a large trust's config takes seconds
        to parse, so it is cached on (path, modification time, size).
        """
        try:
            stat = self.config.stat()
        except OSError:
            return load_config(self.config)  # raises the one-line ConfigError
        return _load_cached(str(self.config), stat.st_mtime_ns, stat.st_size)

    def store(self) -> Store:
        return Store(self.db_url)


@lru_cache(maxsize=4)
def _load_cached(path: str, mtime_ns: int, size: int) -> TrustConfig:
    config = load_config(path)
    validate_settings(config)
    return config


def safe_run_id(run_id: str) -> str:
    """A run id usable as a folder name (Airflow's contain ':' and '+')."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", run_id).strip("_") or "run"
