"""``python -m socialaudit``: see :mod:`socialaudit.cli`."""

import sys

from socialaudit.cli import main

if __name__ == "__main__":
    sys.exit(main())
