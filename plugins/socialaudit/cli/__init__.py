"""``python -m socialaudit``: run the weekly audit, collect one account, scan posts from a file, ...

Bad input (malformed JSON line, unknown platform, invalid config) gives one line on stderr naming
what is wrong, and exit code 2. A run or a collection that fails exits 1.

One module per command (``run``, ``collect``, ``scan``, ``send``, ``suppress``, ``history``, ``evaluate``), each with ``add_parser(sub)``,
which adds its sub-command and sets ``func``. ``run_in_airflow`` is not a command: it is the process ``run`` starts
Airflow in (``_child`` starts it and stops it with its parent).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from socialaudit import settings
from socialaudit.cli._common import CONFIG_HELP, EXIT_FAILED, EXIT_USAGE, OUTPUT_HELP
from socialaudit.errors import InputError, UsageError

__all__ = ["EXIT_FAILED", "EXIT_USAGE", "UsageError", "build_parser", "main"]

# Every sub-command, in the order of the help: each module has ``add_parser(sub)``.
COMMANDS: list[str] = ["socialaudit.cli.run", "socialaudit.cli.collect", "socialaudit.cli.scan", "socialaudit.cli.send",
                       "socialaudit.cli.suppress", "socialaudit.cli.history", "socialaudit.cli.evaluate"]


# The options that work before or after any sub-command, at any depth: (flag, dest, metavar, help).
GLOBAL_OPTIONS = (("--config", "config", "CONFIG", CONFIG_HELP), ("--output", "output_dir", "DIR", OUTPUT_HELP))


def _everywhere(parser: argparse.ArgumentParser) -> None:
    """``--config`` and ``--output`` work before or after any sub-command, at any depth. The top parser
    holds the default; every sub-parser's copy defaults to SUPPRESS, so it never overwrites a value
    given before the sub-command (argparse's sub-parsers otherwise reset it to their own default)."""
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        for child in dict.fromkeys(action.choices.values()):
            for flag, dest, metavar, help_text in GLOBAL_OPTIONS:
                own = [a for a in child._actions if flag in a.option_strings]
                for option in own:
                    option.default = argparse.SUPPRESS
                    option.help = option.help or help_text
                if not own:
                    child.add_argument(flag, dest=dest, metavar=metavar, default=argparse.SUPPRESS, help=help_text)
            _everywhere(child)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m socialaudit", description="Audit a trust's school social media accounts.")
    for flag, dest, metavar, help_text in GLOBAL_OPTIONS:
        parser.add_argument(flag, dest=dest, metavar=metavar, help=help_text)
    sub = parser.add_subparsers(dest="command", required=True)
    for module in COMMANDS:
        importlib.import_module(module).add_parser(sub)
    _everywhere(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with settings.cli_output(args.output_dir):
            return int(args.func(args))
    except InputError as exc:  # bad input (a malformed --week, an invalid config): one line, exit 2
        print(f"socialaudit {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
