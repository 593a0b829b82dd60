"""``python -m socialaudit``: run the weekly audit, collect one account, scan posts from a file, ...

Bad input (malformed JSON line, unknown platform, invalid config) gives one line on stderr naming
what is wrong, and exit code 2. A run or a collection that fails exits 1.

One module per command (``run``, ``collect``, ``scan``, ``send``, ``history``), each with ``add_parser(sub)``,
which adds its sub-command and sets ``func``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from socialaudit.cli._common import CONFIG_HELP, EXIT_FAILED, EXIT_USAGE
from socialaudit.errors import InputError, UsageError

__all__ = ["EXIT_FAILED", "EXIT_USAGE", "UsageError", "build_parser", "main"]

# Every sub-command, in the order of the help: each module has ``add_parser(sub)``. Besides this
# package's: reviewed suppressions, the evaluations of the name finder and of the comments reader.
COMMANDS: list[str] = ["socialaudit.cli.run", "socialaudit.cli.collect", "socialaudit.cli.scan", "socialaudit.cli.send",
                       "socialaudit.suppressions", "socialaudit.cli.history", "socialaudit.evaluate",
                       "socialaudit.evaluate_comments"]


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
    for module in COMMANDS:
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
