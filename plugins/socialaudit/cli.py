"""``python -m socialaudit``: run the weekly audit, collect one account, scan posts from a file.

Bad input (malformed JSON line, unknown platform, invalid config) gives one line on stderr naming
what is wrong, and exit code 2. A run or a collection that fails exits 1.
"""

from __future__ import annotations

import argparse
import json
import os
import smtplib
import socket
import subprocess
import sys
from collections.abc import Iterator, Sequence
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from checks._base import select, validate_settings
from collectors._base import CollectorError, get_collector, load_credentials, platforms
from collectors._http import make_session
from socialaudit import settings
from socialaudit.config import PROJECT_ROOT, Account, School, TrustConfig, load_config
from socialaudit.errors import InputError, UsageError
from socialaudit.links import resolver_for
from socialaudit.models import Post, parse_utc
from socialaudit.pipeline import Environment, deliver_school, one_line, run_school_checks, safe_run_id
from socialaudit.weeks import IsoWeek, week_of, week_range

EXIT_USAGE = 2
EXIT_FAILED = 1

__all__ = ["EXIT_FAILED", "EXIT_USAGE", "UsageError", "build_parser", "main"]


# --- Airflow in-process ----------------------------------------------------------------------

def airflow_environment(config: str | None = None) -> dict[str, str]:
    """Project-local Airflow settings (SQLite metadata DB), unless the caller has its own."""
    home = settings.airflow_home(PROJECT_ROOT / ".airflow")
    env = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": settings.airflow_log_level("WARNING"),
    }
    if config:
        env["SOCIALAUDIT_CONFIG"] = str(Path(config).resolve())
    return env


POOLS_FILE = PROJECT_ROOT / "config" / "pools.json"


def ensure_airflow_db() -> None:
    """Migrate the metadata DB and create the project's pools, once (dag.test needs the first; a run
    started from Airflow's UI on the same database needs the pools, or its collect tasks wait forever)."""
    home = settings.airflow_home(PROJECT_ROOT / ".airflow")
    marker = home / ".migrated-3.3.2+pools"
    if marker.exists():
        return
    home.mkdir(parents=True, exist_ok=True)

    def airflow(*argv: str) -> str:
        proc = subprocess.run([sys.executable, "-m", "airflow", *argv], capture_output=True, text=True,
                              env=settings.airflow_variables())
        if proc.returncode != 0:
            raise RuntimeError(f"airflow {' '.join(argv[:2])} failed:\n" + proc.stderr[-2000:])
        return proc.stdout

    airflow("db", "migrate")
    # Create the pools that are missing; a pool someone resized in the UI keeps its size.
    try:
        existing = {str(p.get("pool")) for p in json.loads(airflow("pools", "list", "--output", "json") or "[]")}
    except ValueError:
        existing = set()
    wanted = json.loads(POOLS_FILE.read_text(encoding="utf-8"))
    missing = {name: spec for name, spec in wanted.items() if name not in existing}
    if missing:
        pools = home / "pools-to-create.json"
        pools.write_text(json.dumps(missing), encoding="utf-8")
        airflow("pools", "import", str(pools))
        pools.unlink()
    marker.write_text("ok\n")


def _record_real_start(run: Any, started: datetime) -> None:
    """dag.test starts its run "at" the logical date, so Airflow's UI showed CLI runs lasting days (or
    negative bars); record when the run really started (its end is already the real time)."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import update

    run_id = getattr(run, "run_id", None)
    if not run_id:
        return
    with create_session() as session:
        session.execute(update(DagRun).where(DagRun.dag_id == run.dag_id, DagRun.run_id == run_id)
                        .values(start_date=started))
    run.start_date = started


def _listening(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=0.5):
            return True
    except OSError:
        return False


def logical_date_for(week: IsoWeek, tz: str) -> datetime:
    """The scheduled run that audits ``week``: the following Monday at 06:00 local time."""
    return datetime.combine(week.sunday + timedelta(days=1), time(6), ZoneInfo(tz))


def run_week(week: IsoWeek, *, config_file: str | None = None, collect: bool = True) -> Any:
    """Run the trust_weekly_audit DAG for one week through Airflow (``dag.test``); returns the DagRun.

    ``collect=False`` audits the week from the posts already in the store (DAG param ``collect``).

    The one place that writes the environment: Airflow, started here in-process, is configured by
    its variables, and the DAG's tasks find ``--config`` in ``SOCIALAUDIT_CONFIG`` as in production.
    """
    current = settings.airflow_variables()
    for key, value in airflow_environment(config_file).items():
        if key == "AIRFLOW_HOME" or key not in current or key == settings.CONFIG_ENV:
            os.environ[key] = value
    ensure_airflow_db()
    from airflow.dag_processing.dagbag import DagBag

    config = load_config(config_file)
    bag = DagBag(dag_folder=settings.value("AIRFLOW__CORE__DAGS_FOLDER"))
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    dag = bag.dags["trust_weekly_audit"]
    started = datetime.now(timezone.utc)
    run = dag.test(logical_date=logical_date_for(week, config.trust.timezone),
                   run_conf={"week": str(week), "collect": collect})
    _record_real_start(run, started)
    return run


MAX_BACKFILL_WEEKS = 260


def cmd_run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    validate_settings(config)  # a misspelt check or setting stops here, in one line, before Airflow starts
    tz = config.trust.timezone
    last = IsoWeek.last_complete(datetime.now(timezone.utc), tz)
    if args.week:
        weeks = [IsoWeek.parse(args.week)]
    elif args.from_week or args.to_week:
        weeks = week_range(IsoWeek.parse(args.from_week) if args.from_week else last,
                           IsoWeek.parse(args.to_week) if args.to_week else last)
    else:
        weeks = [last]
    if weeks[-1] > last:  # a week still running would be sealed with part of its posts and its KPIs
        raise UsageError(f"week {weeks[-1]} has not ended yet: the last complete week is {last}")
    if len(weeks) > MAX_BACKFILL_WEEKS:
        raise UsageError(f"{len(weeks)} weeks from {weeks[0]} to {weeks[-1]}: a backfill covers at most "
                         f"{MAX_BACKFILL_WEEKS} weeks (about five years) per command; no platform keeps posts for longer")
    simulator = None
    if config.demo and not args.from_store and not _listening(config.demo.simulator):
        # local: only a demo run starts the simulator; production paths never import it (tests/test_layers.py)
        from socialaudit.simulator import Simulator

        parts = urlsplit(config.demo.simulator)
        simulator = Simulator(host=parts.hostname or "127.0.0.1", port=parts.port or 8765,
                              config_path=config.source).start()
        print(f"started the platform simulator on {simulator.url}", file=sys.stderr)
    output = settings.output_dir()
    failed = []
    try:
        for week in weeks:
            if simulator is not None:
                # The demo's own simulator answers as of the week's scheduled run (the Monday after, 06:00),
                # so a demo of any past week sees what that run would have seen (comments not yet removed).
                simulator.fixed_now = logical_date_for(week, tz).astimezone(timezone.utc)
            run = run_week(week, config_file=config.source, collect=not args.from_store)
            state = str(getattr(run, "state", "unknown"))
            state = state.split(".")[-1].lower()
            print(f"{week}: run {state}" + (" (audited from stored posts, nothing collected)" if args.from_store else ""))
            print(f"  Trust report:   {output / 'reports' / str(week) / 'index.html'}")
            print(f"  School reports: {output / 'reports' / str(week) / 'schools'}/")
            print(f"  Emails:         {output / 'outbox' / str(week)}/")
            print(f"  Archive:        {settings.archive_location() or output / 'archive'}/{week}/ "
                  f"(python -m socialaudit history verify)")
            if state != "success":
                failed.append(str(week))
    finally:
        if simulator is not None:
            simulator.stop()
    if failed:
        print(f"run failed for {', '.join(failed)}: see the Trust report for the schools that did not finish", file=sys.stderr)
        return EXIT_FAILED
    return 0


# --- collect ---------------------------------------------------------------------------------

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
    credentials = load_credentials(args.platform)
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


# --- scan ------------------------------------------------------------------------------------

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


# --- send ------------------------------------------------------------------------------------

def cmd_send(args: argparse.Namespace) -> int:
    """Deliver a week's emails from the outbox; already-delivered recipients are skipped unless --resend."""
    week = IsoWeek.parse(args.week)
    env = Environment.from_env(config=args.config)
    config = env.load()
    if args.school:
        try:
            config.school(args.school)
        except KeyError:
            raise UsageError(f"{config.source}: no school {args.school!r} (known: {', '.join(s.id for s in config.schools)})") from None
    schools = [args.school] if args.school else [s.id for s in config.schools]
    run_id = safe_run_id(f"cli_send_{week}")
    failed = 0
    for school in schools:
        try:
            result = deliver_school(school, week, run_id, env, resend=args.resend)
        except (OSError, smtplib.SMTPException) as exc:
            print(f"send: school {school!r}: {type(exc).__name__}: {exc}", file=sys.stderr)
            failed += 1
            continue
        where = {"smtp": "sent to " + ", ".join(result["sent"]),
                 "outbox": "no SMTP connection 'smtp_default': left in the outbox, nothing sent",
                 "skipped": "already delivered to " + ", ".join(result["already"]) + " (use --resend to send again)"}
        print(f"{week} {school}: {where[result['transport']]}")
        if result["refused"]:
            print(f"send: school {school!r}: refused by the server: {result['refused']}", file=sys.stderr)
            failed += 1
    return EXIT_FAILED if failed else 0


# --- entry point -----------------------------------------------------------------------------

# Sub-command modules (see build_parser): reviewed suppressions, the auditors' history, the
# evaluations of the name finder and of the comments reader.
EXTRA_COMMANDS: list[str] = ["socialaudit.suppressions", "socialaudit.history", "socialaudit.evaluate",
                             "socialaudit.evaluate_comments"]


CONFIG_HELP = "trust config (default: $SOCIALAUDIT_CONFIG or config/trust.yaml); before or after the command"


def _config_everywhere(parser: argparse.ArgumentParser) -> None:
    """``--config`` works before or after any sub-command, at any depth. The top parser holds the
    default; every sub-parser's copy defaults to SUPPRESS, so it never overwrites a value given before
    the sub-command (argparse's sub-parsers otherwise reset it to their own default)."""
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        for child in dict.fromkeys(action.choices.values()):
            own = [a for a in child._actions if "--config" in a.option_strings]
            for option in own:
                option.default = argparse.SUPPRESS
                option.help = option.help or CONFIG_HELP
            if not own:
                child.add_argument("--config", default=argparse.SUPPRESS, help=CONFIG_HELP)
            _config_everywhere(child)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m socialaudit", description="Audit a trust's school social media accounts.")
    parser.add_argument("--config", help=CONFIG_HELP)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the weekly audit DAG for a week (default: the last complete week)")
    run.add_argument("--config", help="trust config (default: $SOCIALAUDIT_CONFIG or config/trust.yaml)")
    run.add_argument("--week", help="ISO week, e.g. 2026-W47")
    run.add_argument("--from", dest="from_week", help="first week of a backfill")
    run.add_argument("--to", dest="to_week", help="last week of a backfill")
    run.add_argument("--from-store", action="store_true",
                     help="audit from the posts already stored, without collecting (accounts with none: not evaluated)")
    run.set_defaults(func=cmd_run)

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

    scan = sub.add_parser("scan", help="run checks on posts given as JSON lines; print findings as JSON lines")
    scan.add_argument("file", help="JSON lines file, or - for stdin")
    scan.add_argument("--checks", help="comma-separated check names (default: all)")
    scan.add_argument("--week", help="ISO week the posts are judged in (default: the week of the newest post)")
    scan.add_argument("--no-resolve", action="store_true",
                      help="do not open links (offline): external_links reports where they lead as not evaluated")
    scan.set_defaults(func=cmd_scan)

    send = sub.add_parser("send", help="deliver a week's emails (SMTP connection smtp_default, else the outbox)")
    send.add_argument("--week", required=True, help="ISO week, e.g. 2026-W47")
    send.add_argument("--school", help="one school id (default: every school)")
    send.add_argument("--resend", action="store_true", help="send again even to recipients already delivered")
    send.set_defaults(func=cmd_send)

    # Commands that live in their own modules: each module has ``add_parser(sub)`` which adds its
    # sub-command and sets ``func`` (imported lazily so ``run`` stays fast to start).
    import importlib

    for module in EXTRA_COMMANDS:
        importlib.import_module(module).add_parser(sub)
    _config_everywhere(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except InputError as exc:  # bad input (a malformed --week, an invalid config): one line, exit 2
        print(f"socialaudit {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
