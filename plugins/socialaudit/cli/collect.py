"""``python -m socialaudit collect``: collect one account and print its posts as JSON lines."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

from collectors._base import CollectorError, get_collector, load_credentials, platforms
from collectors._http import make_session
from socialaudit.cli._common import EXIT_FAILED
from socialaudit.config import Account, load_config
from socialaudit.errors import UsageError
from socialaudit.models import parse_utc
from socialaudit.pipeline import one_line


def _parse_time(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        if len(value) == 10:
            value += "T00:00:00Z"
        return parse_utc(value)
    except ValueError:
        raise UsageError(f"{name} {value!r} is not an ISO 8601 date or time (e.g. 2026-11-16 or 2026-11-16T00:00:00Z)") from None


def cmd_collect(args: argparse.Namespace) -> int:
    try:
        collector = get_collector(args.platform)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    until = _parse_time(args.until, "--until") or datetime.now(timezone.utc)
    since = _parse_time(args.since, "--since") or until - timedelta(days=7)
    if since >= until:
        raise UsageError(f"--since {since:%Y-%m-%dT%H:%M:%SZ} is not before --until {until:%Y-%m-%dT%H:%M:%SZ}")
    is_url = args.account.startswith(("http://", "https://"))
    account = Account(platform=args.platform, handle="" if is_url else args.account, url=args.account if is_url else "",
                      base_url=args.base_url or "")
    try:
        credentials = load_credentials(args.platform)
    except CollectorError as exc:  # Airflow could not say whether the connection exists
        print(f"collect: {args.platform} {args.account}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    allow = list(args.allow)
    if args.config:
        allow += load_config(args.config).allowed_origins()
    for item in allow:
        if not item.startswith(("http://", "https://")) or not urlsplit(item).hostname:
            raise UsageError(f"--allow {item!r} is not an http(s) origin such as http://127.0.0.1:8765")
    session = make_session(secrets=tuple(v for v in (credentials or {}).values() if isinstance(v, str) and v),
                           allow=allow)
    try:
        result = collector(account, school=args.school, session=session, since=since, until=until,
                           base_url=args.base_url or None, credentials=credentials)
    except CollectorError as exc:
        print(f"collect: {args.platform} {args.account}: {session.scrub(str(exc))}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:  # noqa: BLE001 - a collector fault on hostile input: one line, as in the pipeline
        print(f"collect: {args.platform} {args.account}: not collected: {session.scrub(one_line(exc))}", file=sys.stderr)
        return EXIT_FAILED
    for post in result.posts:
        sys.stdout.write(json.dumps(post.to_dict(), ensure_ascii=False) + "\n")
    if result.stopped:
        print(f"collect: partly collected ({result.pages} page(s) kept): {session.scrub(result.stopped)}",
              file=sys.stderr)
    if result.skipped:
        print(f"collect: {result.skipped} malformed item(s) skipped: {'; '.join(result.problems[:3])}", file=sys.stderr)
    return 0



def add_parser(sub: Any) -> None:
    collect = sub.add_parser("collect", help="collect one account and print its posts as JSON lines")
    collect.add_argument("--platform", required=True, help=f"the platform, one of: {', '.join(platforms())}")
    collect.add_argument("--account", required=True, help="handle, or feed URL for rss")
    collect.add_argument("--base-url", help="API root or feed URL override (e.g. the simulator)")
    collect.add_argument("--since", help="ISO 8601 start (default: 7 days before --until)")
    collect.add_argument("--until", help="ISO 8601 end (default: now)")
    collect.add_argument("--school", default="unknown", help="school id to stamp on the posts")
    collect.add_argument("--allow", action="append", default=[], metavar="ORIGIN",
                         help="an internal origin that may be opened, e.g. the simulator's http://127.0.0.1:8765 "
                              "(repeatable; every other internal, loopback or link-local address is refused)")
    collect.add_argument("--config", help="trust config whose demo: block names the simulator to allow")
    collect.set_defaults(func=cmd_collect)
