"""Raw responses as they were read, before parsing: what the archive seals with a run, so an auditor
can see the data a finding was made on. ``output/raw/<week>/<run>/<school>/<platform>/<account>/``
holds one file, ``pages.jsonl.gz``: gzip-compressed JSON lines, one per page, each the page's
description (platform, account, page, URL without its query, content type, bytes, when it was saved)
and its body (``body``, the text when it is UTF-8, else ``body_base64``); ``zcat pages.jsonl.gz | jq``
reads it. When the account failed (on its first page or a later one) it also holds ``failed.json``: the
reason, the pages kept, the redirects followed before a refused hop or a loop, and, for a body refused
for its size, its start in ``failed.body.gz`` (64 KiB at most); so the raw response kept holds for every
failure. A school's calendars are kept the same way, under ``calendar/`` (a calendar that could not be
read leaves ``failed.json`` with the reason), and the link resolutions its external_links check judged
under ``links/resolutions/``: one JSON body listing each link's redirect chain and every request's answer.

Runs kept before 2026-12-07 hold two files per page instead (``page-NNNN.body.gz`` and ``page-NNNN.json``);
``kept_page`` reads either, so their replay still works.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from collectors._base import KEPT_BYTES, Answer

FAILED = "failed.json"  # what was tried and why it could not be read (a calendar that is down, an account refused)
FAILED_BODY = "failed.body.gz"  # the start of a body refused for its size (at most collectors' KEPT_BYTES)
PAGES = "pages.jsonl.gz"  # every page kept for an account: one gzip-compressed JSON line each
BODY = "page-0000.body.gz"  # before 2026-12-07: the first page's body, in a file of its own (runs kept then)


class RawArchive:
    """Raw response bodies, gzip-compressed, keyed by run, school, account and page."""

    def __init__(self, base: Path) -> None:
        self.base = base

    def for_account(self, platform: str, account: str) -> _AccountArchive:
        return _AccountArchive(self.base / platform / folder_name(account))

    def read(self, relative: str) -> bytes | None:
        """The bytes of a file kept here (``calendar/<name>/page-0000.body.gz``), or None when there is none."""
        try:
            return (self.base / relative).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None


def folder_name(account: str) -> str:
    """The folder an account's (or a calendar's) raw bodies are kept in: a safe file name."""
    return re.sub(r"[^A-Za-z0-9._@-]+", "_", account)[:120]


def kept_page(get: Callable[[str], bytes | None], folder: str, page: int = 0) -> bytes | None:
    """The body of ``page`` kept in ``folder`` (``"calendar/<name>/"``, ending in ``/``) of a school's raw files,
    ``get(path)`` giving a file's bytes or None; None when the page was not kept. Reads ``pages.jsonl.gz``,
    or a run kept before it (``page-NNNN.body.gz``). A file that cannot be read raises OSError, EOFError or
    ValueError."""
    data = get(folder + PAGES)
    if data is None:
        old = get(f"{folder}page-{page:04d}.body.gz")
        return gzip.decompress(old) if old is not None else None
    for line in gzip.decompress(data).splitlines():
        try:
            item = json.loads(line)
        except RecursionError:  # "[[[[...": nested past the decoder's limit
            raise ValueError("a kept page nested too deeply") from None
        if isinstance(item, dict) and item.get("page") == page:
            return page_body(item)
    return None


def page_body(item: dict[str, object]) -> bytes:
    """A page's body from its line in ``pages.jsonl.gz``; ValueError when it holds none."""
    if isinstance(item.get("body"), str):
        return str(item["body"]).encode("utf-8")
    if isinstance(item.get("body_base64"), str):
        return base64.b64decode(str(item["body_base64"]), validate=True)
    raise ValueError("a kept page without a body")


class _AccountArchive:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()  # a collector may read an account's pages on several threads
        self._started = False  # this attempt's first page starts the file again

    def save_raw(self, *, platform: str, account: str, page: int, url: str, body: bytes, content_type: str) -> None:
        meta: dict[str, object] = {
            "platform": platform, "account": account, "page": page, "url": url.split("?", 1)[0],
            "content_type": content_type, "bytes": len(body),
            "saved_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
        try:
            meta["body"] = body.decode("utf-8")
        except UnicodeDecodeError:
            meta["body_base64"] = base64.b64encode(body).decode("ascii")
        line = json.dumps(meta, ensure_ascii=False).encode("utf-8") + b"\n"
        member = gzip.compress(line, compresslevel=6, mtime=0)  # gzip members concatenated are one gzip file
        with self._lock:
            if not self._started:  # the folder is made once, with the first page (not once a page)
                self.folder.mkdir(parents=True, exist_ok=True)
                for name in (FAILED, FAILED_BODY):
                    (self.folder / name).unlink(missing_ok=True)  # a retried task read it this time
                for old in self.folder.glob("page-*"):
                    old.unlink()  # a folder kept by an earlier version
            with (self.folder / PAGES).open("ab" if self._started else "wb") as handle:
                handle.write(member)
            self._started = True

    def clear(self) -> None:
        """Forget what an earlier attempt kept here: what this attempt keeps (or nothing) is what the run judged."""
        with self._lock:
            for old in (*self.folder.glob("page-*"), self.folder / PAGES, self.folder / FAILED, self.folder / FAILED_BODY):
                old.unlink(missing_ok=True)
            self._started = False

    def save_failure(self, *, platform: str, account: str, url: str, reason: str) -> None:
        """Nothing could be read: keep why (``failed.json``), in place of a body, so the run shows it."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in (*self.folder.glob("page-*"), self.folder / PAGES):
            old.unlink(missing_ok=True)  # an earlier attempt's body is not what this run judged
        meta = {"platform": platform, "account": account, "url": url.split("?", 1)[0], "error": reason,
                "saved_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
        (self.folder / FAILED).write_text(json.dumps(meta, indent=1), encoding="utf-8")

    def save_refusal(self, *, platform: str, account: str, reason: str, pages_kept: int, answer: Answer | None) -> None:
        """An account's collection failed (on its first page, or on a later one after ``pages_kept`` pages):
        keep why (``failed.json``) beside the pages kept, with what was received before the answer was
        refused: the redirects followed, and the start of a body refused for its size (``failed.body.gz``)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / FAILED_BODY).unlink(missing_ok=True)
        meta: dict[str, object] = {"platform": platform, "account": account, "error": reason, "pages_kept": pages_kept,
                                   "saved_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
        if answer is not None:
            head = answer.head[:KEPT_BYTES]
            meta.update(url=answer.url.split("?", 1)[0], status=answer.status, content_type=answer.content_type,
                        redirects=[{"url": u, "status": s, "location": loc} for u, s, loc in answer.hops],
                        body_bytes_kept=len(head))
            if head:
                (self.folder / FAILED_BODY).write_bytes(gzip.compress(head, mtime=0))
        (self.folder / FAILED).write_text(json.dumps(meta, indent=1), encoding="utf-8")
