"""``python -m socialaudit.cli.run_in_airflow``: the Airflow process ``python -m socialaudit run`` starts (not a command).

``run`` has checked the weeks and the config and passes them as arguments, with ``--output`` when it was given; its
environment carries Airflow's variables (socialaudit.cli.run says why a child). Here :func:`socialaudit.cli.run.run_weeks`
runs the DAG for each week; the exit status is ``run``'s. The process dies with its parent (``--lifeline-fd``:
socialaudit.cli._child).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence

from socialaudit import settings
from socialaudit.cli._child import LIFELINE_OPTION, die_with_parent
from socialaudit.cli._common import EXIT_USAGE
from socialaudit.cli.run import run_weeks
from socialaudit.errors import InputError
from socialaudit.weeks import IsoWeek

STOPPED = 130  # main's status when the parent's Ctrl-C stopped the work


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m socialaudit.cli.run_in_airflow",
                                     description="The Airflow process of 'python -m socialaudit run'.")
    parser.add_argument("--config", required=True, help="the trust config run checked")
    parser.add_argument("--output", help="run's --output, when it was given")
    parser.add_argument("--from-store", action="store_true", help="audit from the posts already stored")
    parser.add_argument(LIFELINE_OPTION, dest="lifeline", type=int, help="the read end of the parent's lifeline pipe")
    parser.add_argument("weeks", nargs="+", help="ISO weeks, in order")
    args = parser.parse_args(argv)
    if args.lifeline is not None:
        die_with_parent(args.lifeline)
    try:
        weeks = [IsoWeek.parse(week) for week in args.weeks]
        with settings.cli_output(args.output):
            return run_weeks(weeks, config_file=args.config, from_store=args.from_store)
    except InputError as exc:  # the config changed since run read it: one line, exit 2, as run says it
        print(f"socialaudit run: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:  # the parent's Ctrl-C, sent on: the parent says it in one line
        return STOPPED


def ignore_late_signals() -> None:
    """Once the work is over, a Ctrl-C or SIGTERM the parent sends on as the run ends is ignored: raised inside
    Airflow's own exit handlers (``dispose_orm``) it printed a traceback. The parent still says in one line what
    happened, and kills the group after its grace period if the process is still there."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)


def exit_stopped() -> None:
    """Exit at once after a Ctrl-C stopped the work, without the interpreter's exit handlers: the interrupt may have
    come inside a database commit, and Airflow's own handler (``dispose_orm``) then fails to close that session and
    prints a traceback. What was committed stays committed; a commit cut short is rolled back by the database."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(STOPPED)


if __name__ == "__main__":
    try:
        status = main()
    finally:
        ignore_late_signals()
    if status == STOPPED:
        exit_stopped()
    sys.exit(status)
