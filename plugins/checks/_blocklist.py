"""Domain and URL blocklists for the external_links check, read as strings (never fetched).

Three layouts are read, each entry tagged with its category:

- the UT1 tree (``blacklists/<category>/domains``, ``.../urls``, ``.../usage``), as published by the
  Université Toulouse 1 Capitole and mirrored by ``olbat/ut1-blacklists``;
- the same files flattened into one folder (``<category>_domains.txt``, ``<category>_urls.txt``,
  ``<category>_usage.txt``);
- a plain file: one domain (or ``host/path``) a line, ``#`` comments, its category the file's stem;
  a plain file is the trust's own list, so it is always used, whatever the categories.

``domains`` lines are bare host names or IP addresses and match the host and its subdomains;
``urls`` lines are ``host/path`` without a scheme and match that host with a path starting so. A
category whose ``usage`` file says ``white`` is an allowlist in UT1 and is never used to block.
UT1's ``expressions`` files (regular expressions) are not read. Only the categories selected by the
check's ``blocklist_categories`` setting are loaded (``*`` for every black category).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
MEMO_SIZE = 200_000

__all__ = ["Blocklist", "BlocklistError", "load_blocklists"]


class BlocklistError(ValueError):
    """A configured blocklist cannot be read; the message names the file."""


@dataclass(slots=True)
class Blocklist:
    """Blocked hosts and URL prefixes, each with its category."""

    domains: dict[str, str] = field(default_factory=dict)  # host -> category
    urls: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # host -> [(path prefix, category)]
    sources: list[str] = field(default_factory=list)
    size: int = 0  # entries, counted once loaded
    memo: dict[Any, Any] = field(default_factory=dict)  # the check's per-URL verdicts, shared by every school

    def __len__(self) -> int:
        return self.size

    def remember(self, key: Any, value: T) -> T:
        """Keep a verdict that depends only on this blocklist and the key (bounded)."""
        if len(self.memo) >= MEMO_SIZE:
            self.memo.clear()
        self.memo[key] = value
        return value

    def add_domain(self, entry: str, category: str) -> None:
        """Block a host and its subdomains."""
        host = _host(entry)
        if host:
            self.domains.setdefault(host, category)

    def add_url(self, entry: str, category: str) -> None:
        """Block a ``host/path`` prefix."""
        entry = entry.strip().lower()
        for scheme in ("http://", "https://"):
            entry = entry.removeprefix(scheme)
        host, _, path = entry.partition("/")
        host = _host(host)
        if host:
            self.urls.setdefault(host, []).append(("/" + path, category))

    def match_host(self, host: str) -> tuple[str, str] | None:
        """(category, listed domain) when ``host`` or one of its parent domains is listed."""
        name = _host(host)
        while name:
            category = self.domains.get(name)
            if category is not None:
                return category, name
            dot = name.find(".")
            if dot < 0:
                return None
            name = name[dot + 1:]
        return None

    def match(self, host: str, path: str) -> tuple[str, str] | None:
        """(category, listed entry) for a URL's host and path, or None."""
        found = self.match_host(host)
        if found is not None:
            return found
        if not self.urls:
            return None
        name = _host(host)
        path = path or "/"
        for prefix, category in self.urls.get(name, ()):  # url entries name one host exactly
            if path == prefix or path.startswith(prefix if prefix.endswith("/") else prefix + "/"):
                return category, name + prefix
        return None


def _host(value: str) -> str:
    host = value.strip().lower().rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    if not host or host.startswith("#") or " " in host:
        return ""
    return host


def _lines(path: Path) -> Iterable[str]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise BlocklistError(f"{path}: cannot read blocklist: {exc.strerror}") from None
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            yield line


def _usage_is_white(path: Path) -> bool:
    return path.is_file() and "white" in {line.lower() for line in _lines(path)}


def _wanted(category: str, categories: Sequence[str]) -> bool:
    return "*" in categories or category in categories


def _load_into(blocklist: Blocklist, path: Path, categories: Sequence[str]) -> None:
    if path.is_file():
        category = path.stem
        for line in _lines(path):
            (blocklist.add_url if "/" in line else blocklist.add_domain)(line, category)
        blocklist.sources.append(str(path))
        return
    if not path.is_dir():
        raise BlocklistError(f"{path}: blocklist file or folder not found")
    # The UT1 tree: <category>/{domains,urls,usage}
    for folder in sorted(p for p in path.iterdir() if p.is_dir()):
        if (folder / "domains").is_file() or (folder / "urls").is_file():
            if not _wanted(folder.name, categories) or _usage_is_white(folder / "usage"):
                continue
            for line in _lines(folder / "domains") if (folder / "domains").is_file() else ():
                blocklist.add_domain(line, folder.name)
            for line in _lines(folder / "urls") if (folder / "urls").is_file() else ():
                blocklist.add_url(line, folder.name)
            blocklist.sources.append(str(folder))
    # The flattened sample: <category>_domains.txt, <category>_urls.txt, <category>_usage.txt
    for file in sorted(path.glob("*_domains.txt")) + sorted(path.glob("*_urls.txt")):
        category, _, kind = file.stem.rpartition("_")
        if not _wanted(category, categories) or _usage_is_white(path / f"{category}_usage.txt"):
            continue
        for line in _lines(file):
            (blocklist.add_domain if kind == "domains" else blocklist.add_url)(line, category)
        blocklist.sources.append(str(file))


def load_blocklists(paths: Sequence[str | os.PathLike[str]], categories: Sequence[str]) -> Blocklist:
    """Every configured blocklist merged into one (cached while the files are unchanged)."""
    resolved = tuple(Path(p) for p in paths)
    stamps = []
    for path in resolved:
        try:
            stat = path.stat()
        except OSError:
            raise BlocklistError(f"{path}: blocklist file or folder not found") from None
        stamps.append((str(path), stat.st_mtime_ns, stat.st_size))
    return _load_cached(tuple(stamps), tuple(sorted(categories)))


@lru_cache(maxsize=8)
def _load_cached(stamps: tuple[tuple[str, int, int], ...], categories: tuple[str, ...]) -> Blocklist:
    blocklist = Blocklist()
    for path, _mtime, _size in stamps:
        _load_into(blocklist, Path(path), categories)
    blocklist.size = len(blocklist.domains) + sum(len(v) for v in blocklist.urls.values())
    return blocklist
