"""The named_children modules compiled with mypyc, when a build of exactly these sources exists.

The check runs as plain Python everywhere. ``make`` also compiles its hot modules (:data:`COMPILED`)
with mypyc (``scripts/build_native.py``) into ``build/native/<digest>/``, outside the source tree and
ignored by git. The digest is a SHA-256 of the Python version and of every source file the compiled
code was built from (:data:`DEPENDS`: the compiled modules and the modules of ours they import).

When one of those modules is first imported, :class:`_Finder` hashes the sources as they are now (one
read of about ten small files, about a millisecond) and loads the compiled module only from the folder
of that digest. An edited ``.py`` has another digest, so a stale build is never loaded: the plain
module is, until ``make`` builds again. ``SOCIALAUDIT_PURE_PYTHON=1`` always loads the plain modules
(the tests compare both: tests/checks/test_native.py). The compiled code makes the same decisions,
bit for bit: it runs the same operations in the same order.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from socialaudit import settings

PLUGINS = Path(__file__).resolve().parents[1]
FORMAT = "1"  # the build's layout; a new layout gets new digests
COMPILED = ("checks._names", "checks._welsh", "checks._childnames", "checks._personal", "checks.named_children")
# the compiled modules and every module of ours they import, directly or not (tests/checks/test_native.py)
DEPENDS = (*COMPILED, "checks", "checks._base", "checks._native", "socialaudit", "socialaudit.config", "socialaudit.errors",
           "socialaudit.models", "socialaudit.settings", "socialaudit.weeks")


def source_of(module: str, plugins: Path = PLUGINS) -> Path:
    base = plugins.joinpath(*module.split("."))
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


def digest(plugins: Path = PLUGINS) -> str:
    """The build's key: the Python version, the extension suffix and the bytes of every source in DEPENDS."""
    h = hashlib.sha256(f"{FORMAT}\n{sys.version}\n{importlib.machinery.EXTENSION_SUFFIXES[0]}\n".encode())
    for module in sorted(DEPENDS):
        h.update(f"{module}\n".encode())
        h.update(source_of(module, plugins).read_bytes())
        h.update(b"\0")
    return h.hexdigest()[:24]


def group_name(key: str) -> str:
    """The top-level name of the shared library mypyc builds for the group (unique to the digest)."""
    return f"socialaudit_native_{key}"


def build_dir(key: str, plugins: Path = PLUGINS) -> Path:
    return settings.native_dir(plugins.parent) / key


@functools.cache
def _built() -> tuple[str, Path] | None:
    """The digest and folder of a complete build of the sources as they are now, or None (plain Python)."""
    if settings.pure_python():
        return None
    try:
        key = digest()
    except OSError:  # a source missing or unreadable: nothing to compare the build with
        return None
    folder = build_dir(key)
    return (key, folder) if (folder / "COMPLETE").is_file() else None


def _extension(folder: Path, module: str) -> Path | None:
    base = folder.joinpath(*module.split("."))
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = base.with_name(base.name + suffix)
        if path.is_file():
            return path
    return None


class _Finder(importlib.abc.MetaPathFinder):
    """Finds the compiled modules (and their shared library) in the build of the current sources."""

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in COMPILED and not fullname.startswith("socialaudit_native_"):
            return None
        built = _built()
        if built is None:
            return None
        key, folder = built
        if fullname.startswith("socialaudit_native_") and fullname != group_name(key) + "__mypyc":
            return None
        file = _extension(folder, fullname)
        if file is None:
            return None
        loader = importlib.machinery.ExtensionFileLoader(fullname, str(file))
        return importlib.util.spec_from_file_location(fullname, file, loader=loader)


_FINDER = _Finder()


def install() -> None:
    """Put the finder first on ``sys.meta_path`` (once): called when the ``checks`` package is imported."""
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


def compiled(module: ModuleType) -> bool:
    """Whether ``module`` was loaded from a compiled build."""
    return not str(getattr(module, "__file__", "") or "").endswith(".py")
