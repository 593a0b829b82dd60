"""Raw responses as they were read, before parsing: what the archive seals with a run, so an auditor
can see the data a finding was made on. ``output/raw/<week>/<run>/<school>/<platform>/<account>/``
holds one gzip body and one JSON description per page, and, when the account failed (on its first
page or a later one), ``failed.json``: the reason, the pages kept, the redirects followed before a
refused hop or a loop, and, for a body refused for its size, its start in ``failed.body.gz`` (64 KiB
at most); so the raw response kept holds for every failure. A school's calendars are kept the same way,
under ``calendar/`` (a calendar that could not be read leaves ``failed.json`` with the reason), and
the link resolutions its external_links check judged under ``links/resolutions/``: one JSON body
listing each link's redirect chain and every request's answer.
"""

from __future__ import annotations

import gzip
import json
import re
from datetime import datetime, timezone
from pathlib import Path

from collectors._base import KEPT_BYTES, Answer

FAILED = "failed.json"  # what was tried and why it could not be read (a calendar that is down, an account refused)
FAILED_BODY = "failed.body.gz"  # the start of a body refused for its size (at most collectors' KEPT_BYTES)
BODY = "page-0000.body.gz"  # the first (for a calendar or the link resolutions, the only) body kept


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


class _AccountArchive:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def save_raw(self, *, platform: str, account: str, page: int, url: str, body: bytes, content_type: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in (FAILED, FAILED_BODY):
            (self.folder / old).unlink(missing_ok=True)  # a retried task read it this time
        stem = f"page-{page:04d}"
        (self.folder / f"{stem}.body.gz").write_bytes(gzip.compress(body, mtime=0))
        meta = {"platform": platform, "account": account, "page": page, "url": url.split("?", 1)[0],
                "content_type": content_type, "bytes": len(body),
                "saved_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
        (self.folder / f"{stem}.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")

    def clear(self) -> None:
        """Forget what an earlier attempt kept here: what this attempt keeps (or nothing) is what the run judged."""
        for old in (*self.folder.glob("page-*"), self.folder / FAILED, self.folder / FAILED_BODY):
            old.unlink(missing_ok=True)

    def save_failure(self, *, platform: str, account: str, url: str, reason: str) -> None:
        """Nothing could be read: keep why (``failed.json``), in place of a body, so the run shows it."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("page-*"):
            old.unlink()  # an earlier attempt's body is not what this run judged
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
