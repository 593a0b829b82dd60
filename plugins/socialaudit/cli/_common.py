"""What every command of the CLI shares: its exit codes and the help of ``--config``."""

from __future__ import annotations

EXIT_USAGE = 2  # bad input: one line on stderr naming what is wrong
EXIT_FAILED = 1  # a run, a collection or a verification that failed

CONFIG_HELP = "trust config (default: $SOCIALAUDIT_CONFIG or config/trust.yaml); before or after the command"
OUTPUT_HELP = ("output folder: reports, outbox, and the store and archive unless set apart "
               "(default: $SOCIALAUDIT_OUTPUT or output/); before or after the command")
