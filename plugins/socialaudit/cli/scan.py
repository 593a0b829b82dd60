"""``python -m socialaudit scan``: run checks on posts given as JSON lines; print findings as JSON lines."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from typing import Any, TextIO

from checks._base import select, validate_settings
from socialaudit.config import School, TrustConfig, load_config
from socialaudit.errors import UsageError
from socialaudit.links import resolver_for
from socialaudit.models import Post
from socialaudit.pipeline import run_school_checks
from socialaudit.weeks import IsoWeek, week_of


def _lines(stream: TextIO, name: str) -> Iterator[tuple[int, str]]:
    number = 0
    try:
        for number, line in enumerate(stream, start=1):  # noqa: B007 - read after the loop when decoding fails
            yield number, line
    except UnicodeDecodeError as exc:
        raise UsageError(f"{name}:{number + 1}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x})") from None


def read_posts(stream: TextIO, name: str) -> Iterator[Post]:
    """Posts from JSON lines; UsageError names the file, the line and the field."""
    for number, line in _lines(stream, name):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{name}:{number}: invalid JSON: {exc.msg} (column {exc.colno})") from None
        except RecursionError:
            raise UsageError(f"{name}:{number}: invalid JSON: nested too deep") from None
        if not isinstance(data, dict):
            raise UsageError(f"{name}:{number}: invalid post: a JSON object is expected, not {type(data).__name__}")
        try:
            yield Post.from_dict(data)
        except ValueError as exc:
            raise UsageError(f"{name}:{number}: invalid post: {exc}") from None


def default_school(school_id: str) -> School:
    return School(id=school_id if _valid_id(school_id) else "unknown", name=school_id, head_email="unknown@invalid.example")


def _valid_id(value: str) -> bool:
    import re

    return bool(re.fullmatch(r"[a-z0-9][a-z0-9-]*", value))


def cmd_scan(args: argparse.Namespace) -> int:
    """Run the checks on posts from JSON lines; print each finding as a JSON line.

    The config's reviewed suppressions are applied as in the DAG (a suppressed finding is printed
    with its ``suppression``); the store's CLI suppressions are not: scan reads no store.
    """
    try:
        select(args.checks.split(",") if args.checks else None)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    config: TrustConfig = load_config(args.config)
    validate_settings(config)
    if args.file == "-":
        posts = list(read_posts(sys.stdin, "<stdin>"))
    else:
        try:
            with open(args.file, encoding="utf-8") as handle:
                posts = list(read_posts(handle, args.file))
        except OSError as exc:
            raise UsageError(f"{args.file}: cannot read: {exc.strerror}") from None
    tz = config.trust.timezone
    if args.week:
        week = IsoWeek.parse(args.week)
    elif posts:
        week = week_of(max(p.created_at for p in posts), tz)
    else:
        return 0
    by_school: dict[str, list[Post]] = {}
    for post in posts:
        by_school.setdefault(post.school, []).append(post)
    known = {s.id: s for s in config.schools}
    names = args.checks.split(",") if args.checks else None
    # --no-resolve: links are judged offline (blocklists, lookalikes, https); where they lead is "not evaluated".
    # One resolver (and its cache) for every school; no store, so only the config's suppressions apply.
    services = {"links": resolver_for(config, resolve=not args.no_resolve)}
    for school_id, school_posts in sorted(by_school.items()):
        school = known.get(school_id) or default_school(school_id)
        for result in run_school_checks(config, school, school_posts, week, names=names, services=services):
            for finding in result.findings:
                sys.stdout.write(json.dumps(finding.to_dict(), ensure_ascii=False) + "\n")
    return 0



def add_parser(sub: Any) -> None:
    scan = sub.add_parser("scan", help="run checks on posts given as JSON lines; print findings as JSON lines")
    scan.add_argument("file", help="JSON lines file, or - for stdin")
    scan.add_argument("--checks", help="comma-separated check names (default: all)")
    scan.add_argument("--week", help="ISO week the posts are judged in (default: the week of the newest post)")
    scan.add_argument("--no-resolve", action="store_true",
                      help="do not open links (offline): external_links reports where they lead as not evaluated")
    scan.set_defaults(func=cmd_scan)
