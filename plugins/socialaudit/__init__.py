"""socialaudit: the audit's core, services, steps and entry points (the layers: tests/test_layers.py)."""

from __future__ import annotations

import os
import pkgutil
from collections.abc import Iterable
from functools import lru_cache


def plugin_modules(folders: Iterable[str]) -> tuple[str, ...]:
    """The non-underscore modules of a plugin package (``checks``, ``collectors``), by name, given its
    ``__path__``. The folders are listed again only when one changed (a module added or removed changes its
    folder's mtime): a run asks for the checks and platforms several times a school or account, and each
    listing read the folders from disk."""
    stamps = []
    for folder in folders:
        try:
            stamps.append((folder, os.stat(folder).st_mtime_ns))
        except OSError:
            stamps.append((folder, -1))
    return _modules_in(tuple(stamps))


@lru_cache(maxsize=16)
def _modules_in(stamps: tuple[tuple[str, int], ...]) -> tuple[str, ...]:
    folders = [folder for folder, _mtime in stamps]
    return tuple(sorted(m.name for m in pkgutil.iter_modules(folders) if not m.name.startswith("_")))
