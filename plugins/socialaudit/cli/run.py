"""``python -m socialaudit run``: the weekly audit DAG for a week or a backfill, through Airflow in a child process.

:func:`cmd_run` checks the weeks and the config in this process (a bad one is one line and exit 2, with no Airflow
started), then runs :func:`run_weeks` in a child, ``python -m socialaudit.cli.run_in_airflow``, and returns its exit
status. Why a child: Airflow 3.3 takes ``AIRFLOW_HOME``, its folders, database and logging only from the
environment, when it is imported (``airflow/configuration.py`` ``get_airflow_home``, ``airflow/settings.py``
``configure_vars``; ``conf.set`` comes too late, and ``airflow.cfg`` is found through ``AIRFLOW_HOME`` itself). A
child started with ``env=`` (:func:`child_environment`) gets them without this process's ``os.environ`` being
written, and nothing in ``plugins/`` writes it (tests/test_errors_settings.py). socialaudit's own options travel as
the child's arguments (``--config``, ``--output``). The child streams its output here, is stopped with this process
and never outlives it (:mod:`socialaudit.cli._child`).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
from collections.abc import Sequence
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from checks._base import validate_settings
from socialaudit import settings
from socialaudit.cli._child import run_child
from socialaudit.cli._common import EXIT_FAILED
from socialaudit.config import PROJECT_ROOT, load_config
from socialaudit.errors import UsageError
from socialaudit.weeks import IsoWeek, week_range


def airflow_environment(config: str | None = None) -> dict[str, str]:
    """Project-local Airflow settings (SQLite metadata DB), unless the caller has its own (scripts/airflow_ui.py and
    :func:`child_environment` lay them over a copy of the environment)."""
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


def child_environment() -> dict[str, str]:
    """The environment of ``run``'s Airflow process: a copy of this one, with :func:`airflow_environment`'s variables
    where the caller set none (``AIRFLOW_HOME`` is always the one ``settings.airflow_home`` names), and the folder
    this package is imported from first on ``PYTHONPATH``, so the child imports the same socialaudit."""
    env = settings.airflow_variables()
    for key, value in airflow_environment().items():
        if key == "AIRFLOW_HOME" or key not in env:
            env[key] = value
    plugins = str(Path(__file__).resolve().parents[2])
    paths = [path for path in env.get("PYTHONPATH", "").split(os.pathsep) if path]
    env["PYTHONPATH"] = os.pathsep.join([plugins, *[path for path in paths if path != plugins]])
    return env


def run_week(week: IsoWeek, *, config_file: str | None = None, collect: bool = True) -> Any:
    """Run the trust_weekly_audit DAG for one week through Airflow (``dag.test``) in this process; returns the DagRun.

    ``collect=False`` audits the week from the posts already in the store (DAG param ``collect``).

    Airflow reads its variables from this process's environment when it is imported: ``run`` calls this in the
    child :func:`child_environment` configures, and the tests' conftest sets them for pytest's process. dag.test runs
    the tasks in this process, and they find ``--config`` through ``settings.config_for_this_process``.
    """
    if not settings.value("AIRFLOW__CORE__DAGS_FOLDER"):
        raise RuntimeError("run_week needs Airflow's variables in the environment (python -m socialaudit run sets them "
                           "for its Airflow process: socialaudit.cli.run.child_environment)")
    ensure_airflow_db()
    from airflow.dag_processing.dagbag import DagBag

    config = load_config(config_file)
    bag = DagBag(dag_folder=settings.value("AIRFLOW__CORE__DAGS_FOLDER"))
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    dag = bag.dags["trust_weekly_audit"]
    started = datetime.now(timezone.utc)
    with settings.config_for_this_process(config_file):
        run = dag.test(logical_date=logical_date_for(week, config.trust.timezone),
                       run_conf={"week": str(week), "collect": collect})
    _record_real_start(run, started)
    return run


def run_weeks(weeks: Sequence[IsoWeek], *, config_file: str, from_store: bool = False) -> int:
    """Run the DAG for each week in turn, in this process (``run``'s Airflow process), and print where each week's
    reports, emails and archive are; 0, or EXIT_FAILED when a week's run did not succeed.

    A demo config's simulator is started here, unless one is listening already, and answers each week as of its
    scheduled run.
    """
    config = load_config(config_file)
    tz = config.trust.timezone
    simulator = None
    if config.demo and not from_store and not _listening(config.demo.simulator):
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
            run = run_week(week, config_file=config.source, collect=not from_store)
            state = str(getattr(run, "state", "unknown"))
            state = state.split(".")[-1].lower()
            print(f"{week}: run {state}" + (" (audited from stored posts, nothing collected)" if from_store else ""))
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
    if weeks[-1] > last + 1:  # not even started: there is nothing to audit
        raise UsageError(f"week {weeks[-1]} has not started yet: the last complete week is {last}")
    if weeks[-1] > last and not args.allow_incomplete:  # still running: sealed with part of its posts and its KPIs
        raise UsageError(f"week {weeks[-1]} has not ended yet: the last complete week is {last} "
                         "(--allow-incomplete audits it anyway, and its reports and emails say it is incomplete)")
    if len(weeks) > MAX_BACKFILL_WEEKS:
        raise UsageError(f"{len(weeks)} weeks from {weeks[0]} to {weeks[-1]}: a backfill covers at most "
                         f"{MAX_BACKFILL_WEEKS} weeks (about five years) per command; no platform keeps posts for longer")
    argv = [sys.executable, "-m", "socialaudit.cli.run_in_airflow", "--config", config.source]
    if getattr(args, "output_dir", None):  # --output: the folder, as an argument (settings.cli_output made it absolute)
        argv += ["--output", str(settings.output_dir())]
    if args.from_store:
        argv.append("--from-store")
    return run_child([*argv, *map(str, weeks)], child_environment(), name="socialaudit run")


def add_parser(sub: Any) -> None:
    run = sub.add_parser("run", help="run the weekly audit DAG for a week (default: the last complete week)")
    run.add_argument("--config", help="trust config (default: $SOCIALAUDIT_CONFIG or config/trust.yaml)")
    run.add_argument("--week", help="ISO week, e.g. 2026-W47")
    run.add_argument("--from", dest="from_week", help="first week of a backfill")
    run.add_argument("--to", dest="to_week", help="last week of a backfill")
    run.add_argument("--allow-incomplete", action="store_true",
                     help="audit the week still running (its posts so far); every report and email says it is incomplete")
    run.add_argument("--from-store", action="store_true",
                     help="audit from the posts already stored, without collecting (accounts with none: not evaluated)")
    run.set_defaults(func=cmd_run)
