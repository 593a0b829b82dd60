"""The one error tree of socialaudit (core: imports nothing of ours).

::

    SocialAuditError                 anything socialaudit raises on purpose
     ├── InputError (ValueError)     bad input from the person running it: one line, exit code 2
     │    ├── UsageError             a bad command line (an unknown school, a malformed date)
     │    ├── ConfigError            the trust config cannot be used (names file, school, field)
     │    └── WeekError              not an ISO week, or a range that runs backwards
     └── ModelFilesError             a shipped model's files do not belong together (an install, not the input)

The CLI maps ``InputError`` to "one line on stderr, exit 2" and nothing else: a bug that raises a
plain ``ValueError`` shows its traceback instead of being blamed on the user. ``InputError`` is also
a ``ValueError`` so code that validated with ``except ValueError`` keeps working.

The collectors' own tree (``collectors._base.CollectorError``) and the archive's
(``socialaudit.archive.ArchiveError``) describe failures of the outside world, not of the input.
"""

from __future__ import annotations


class SocialAuditError(Exception):
    """Base of every error socialaudit raises on purpose."""


class InputError(SocialAuditError, ValueError):
    """Bad input from the person running it: reported as one line, exit code 2."""


class UsageError(InputError):
    """A bad command line: reported as one line, exit code 2."""


class ConfigError(InputError):
    """The configuration cannot be used; the message names file, school and field."""


class WeekError(InputError):
    """Not an ISO week such as 2026-W47, or a range of weeks that runs backwards."""


class ModelFilesError(SocialAuditError):
    """A shipped model's files do not belong together (a table missing or from another build): the install is
    broken, not the input; the check that needs them fails and says which file."""
