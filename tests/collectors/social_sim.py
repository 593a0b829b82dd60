"""Helpers for the X, Facebook and Instagram collector tests: fictional profiles, an instant session.

Every test talks to a real :class:`Simulator` over loopback sockets; only sleeping and the clock are
replaced (the session's injectable ``sleep``/``clock``), so back-off is recorded, not waited.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from collectors._http import HttpPolicy, HttpSession, make_session
from socialaudit.simulator.dataset import Profile
from tests.conftest import SIM_NOW


def profile(platform: str, handle: str, *, fault: str = "", per_week: int = 4, names_child: bool = False,
            **extra: str) -> tuple[str, Profile]:
    """A fictional account of a fictional school on one platform (reposting weekly), keyed as the simulator expects."""
    return handle.lower(), Profile(school="st-fict", school_name="St Fiction's Primary (fictional)",
                                   domain="st-fict.example.sch.uk", per_week=per_week, names_child=names_child,
                                   fault=fault, handle=handle, reposts=True, extra={"platform": platform, **extra})


def instant_session(sleeps: list[float] | None = None, *, read_timeout: float = 2.0, allow: tuple[str, ...] = ()) -> HttpSession:
    """The real session on a fake clock starting at SIM_NOW: sleeping is recorded and moves the clock on.

    ``allow``: the simulator's origin (loopback is refused unless named, as in production).
    """
    recorder = sleeps if sleeps is not None else []
    now = [SIM_NOW.timestamp()]

    def sleep(seconds: float) -> None:
        recorder.append(seconds)
        now[0] += seconds

    return make_session(policy=HttpPolicy(connect_timeout=2.0, read_timeout=read_timeout, retries=2, backoff=0.01),
                        sleep=sleep, clock=lambda: now[0], allow=allow)


class Account:
    """The fields of ``socialaudit.config.Account`` a collector reads (handle and key)."""

    def __init__(self, handle: str) -> None:
        self.handle = handle
        self.url = ""
        self.key = handle

    def __repr__(self) -> str:
        return f"Account({self.handle!r})"


def archived_bytes(folder: Path) -> list[tuple[str, bytes]]:
    """Every file the raw archive wrote, bodies decompressed; each page of a ``pages.jsonl.gz`` apart: its
    line as written, and its body decoded (a body kept in base64 is searched as the bytes it holds)."""
    from socialaudit.raw import PAGES, page_body

    out: list[tuple[str, bytes]] = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        if path.name == PAGES:
            for number, line in enumerate(gzip.decompress(data).splitlines()):
                out.append((f"{path}#{number}", line + page_body(json.loads(line))))
            continue
        out.append((str(path), gzip.decompress(data) if path.suffix == ".gz" else data))
    return out


def field_of(post: Any, name: str) -> Any:
    value = getattr(post, name)
    if name == "media":
        return [(m.type, m.url, m.alt) for m in value]
    if name == "created_at":
        return value.isoformat()
    return value
