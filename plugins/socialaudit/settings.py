"""Deployment settings: the only module that reads ``os.environ``, and nothing of ours writes it (core: imports
nothing of ours; tests/test_errors_settings.py checks both).

Every value is read when it is asked for, not at import, so a test or a deployment can set the
variable before the call. The CLI passes ``--config`` down as an argument, and for the DAG's tasks that
``dag.test`` runs in the process that calls it, ``--config`` and ``--output`` stand in for
``SOCIALAUDIT_CONFIG`` and ``SOCIALAUDIT_OUTPUT`` (:func:`config_for_this_process`, :func:`cli_output`), never
through the environment. Airflow 3.3 takes its own variables (``AIRFLOW_HOME``, ``AIRFLOW__SECTION__KEY``) only
from the environment, when it is imported, so ``python -m socialaudit run`` runs Airflow in a child process
started with ``env=`` (a copy, :func:`airflow_variables`, with them added: socialaudit.cli.run) rather than
setting them here.

=================================  ===========================================================
``SOCIALAUDIT_CONFIG``             the trust config (default ``config/trust.yaml``)
``SOCIALAUDIT_OUTPUT``             reports, outbox, raw responses (default ``output/``)
``SOCIALAUDIT_DB_URL``             the store (default SQLite in the output folder)
``SOCIALAUDIT_ARCHIVE``            the audit archive, a path or URL (default ``<output>/archive``)
``SOCIALAUDIT_CODE_VERSION``       the commit an image was built from (default: ``git rev-parse``)
``SOCIALAUDIT_<PLATFORM>_TOKEN``   a platform token for ``collect`` on the command line
``SOCIALAUDIT_HTTP_DEADLINE``      seconds one HTTP exchange may take in all (default 60)
``SOCIALAUDIT_ACCOUNT_DEADLINE``   seconds collecting one account may take in all (default 900)
``SOCIALAUDIT_PURE_PYTHON``        ``1``: never load the compiled named_children modules (checks/_native.py)
=================================  ===========================================================

The DAG's scaling knobs (``SOCIALAUDIT_BATCH_SIZE``, ``_COLLECT_POOL``, ``_MAX_ACTIVE_PER_RUN``, ``_RETRIES``,
``_RETRY_DELAY_SECONDS``, ``_TASK_TIMEOUT_MINUTES``; docs/operations.md, "Sizing") are read by :func:`dag_knobs`
when the DAG file is parsed: this module imports only the standard library, so it is the one module of
ours the DAG file loads then (tests/dags/test_integrity.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = PROJECT_ROOT / "config" / "trust.yaml"
DEFAULT_OUTPUT = PROJECT_ROOT / "output"

CONFIG_ENV = "SOCIALAUDIT_CONFIG"
OUTPUT_ENV = "SOCIALAUDIT_OUTPUT"
DB_URL_ENV = "SOCIALAUDIT_DB_URL"
ARCHIVE_ENV = "SOCIALAUDIT_ARCHIVE"
CODE_VERSION_ENV = "SOCIALAUDIT_CODE_VERSION"
HTTP_DEADLINE_ENV = "SOCIALAUDIT_HTTP_DEADLINE"
DEFAULT_HTTP_DEADLINE = 60.0
ACCOUNT_DEADLINE_ENV = "SOCIALAUDIT_ACCOUNT_DEADLINE"
DEFAULT_ACCOUNT_DEADLINE = 900.0
PURE_PYTHON_ENV = "SOCIALAUDIT_PURE_PYTHON"


# The CLI's options that stand in for a variable in this process only (``--output``, and ``run``'s ``--config``
# for the tasks dag.test runs): set for one command (cli_output, config_for_this_process), read before the environment.
_CLI_OVERRIDES: dict[str, str] = {}


def _get(name: str) -> str:
    return _CLI_OVERRIDES.get(name) or os.environ.get(name, "")


@contextmanager
def _override(name: str, value: str | os.PathLike[str] | None) -> Iterator[None]:
    """While the block runs, ``value`` (a path, made absolute) stands in for the variable ``name`` in this
    process; nothing is changed when ``value`` is None or empty. The previous override comes back after."""
    if not value:
        yield
        return
    before = _CLI_OVERRIDES.get(name)
    _CLI_OVERRIDES[name] = str(Path(value).resolve())
    try:
        yield
    finally:
        if before is None:
            _CLI_OVERRIDES.pop(name, None)
        else:
            _CLI_OVERRIDES[name] = before


def cli_output(folder: str | os.PathLike[str] | None) -> AbstractContextManager[None]:
    """The CLI's ``--output DIR``: while the command runs, ``DIR`` stands in for ``$SOCIALAUDIT_OUTPUT``
    (reports, outbox, the default store and archive), in this process (``run``'s Airflow process takes it as
    an argument and runs the DAG's tasks in-process); nothing is changed when ``folder`` is None or empty."""
    return _override(OUTPUT_ENV, folder)


def config_for_this_process(path: str | os.PathLike[str] | None) -> AbstractContextManager[None]:
    """``run --config FILE``: while the block runs, ``FILE`` stands in for ``$SOCIALAUDIT_CONFIG`` in this process;
    nothing is changed when ``path`` is None.

    ``python -m socialaudit run`` runs the DAG with ``dag.test`` in its Airflow process, which runs every task in
    that process (airflow/sdk/definitions/dag.py: ``_run_task`` calls ``run_task_in_process``); the tasks find FILE
    here, as a deployed task finds $SOCIALAUDIT_CONFIG, and the environment is left alone.
    """
    return _override(CONFIG_ENV, path)


def config_file(explicit: str | os.PathLike[str] | None = None) -> Path:
    """--config, else the file :func:`config_for_this_process` set, else $SOCIALAUDIT_CONFIG, else the bundled
    demo trust."""
    if explicit:
        return Path(explicit)
    value = _get(CONFIG_ENV)
    return Path(value) if value else DEFAULT_CONFIG


def output_dir() -> Path:
    """$SOCIALAUDIT_OUTPUT, else ``output/`` in the checkout."""
    return Path(_get(OUTPUT_ENV) or DEFAULT_OUTPUT)


def db_url(output: Path) -> str:
    """$SOCIALAUDIT_DB_URL, else SQLite in the output folder."""
    return _get(DB_URL_ENV) or f"sqlite:///{output / 'socialaudit.db'}"


def http_deadline() -> float:
    """$SOCIALAUDIT_HTTP_DEADLINE: seconds one HTTP exchange (connect, headers, body) may take; default 60.

    ValueError for a value that is not a positive number.
    """
    return _seconds(HTTP_DEADLINE_ENV, DEFAULT_HTTP_DEADLINE)


def account_deadline() -> float:
    """$SOCIALAUDIT_ACCOUNT_DEADLINE: seconds collecting one account may take in all; default 900.

    ValueError for a value that is not a positive number.
    """
    return _seconds(ACCOUNT_DEADLINE_ENV, DEFAULT_ACCOUNT_DEADLINE)


def _seconds(name: str, default: float) -> float:
    raw = _get(name).strip()
    if not raw:
        return default
    try:
        seconds = float(raw)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds <= MAX_SECONDS:
        raise ValueError(f"{name}={raw!r} is not a number of seconds between 0 and {MAX_SECONDS:.0f} (a day)")
    return seconds


MAX_SECONDS = 86_400.0  # no time limit of a weekly run is longer than a day


def archive_location() -> str:
    """$SOCIALAUDIT_ARCHIVE (a URL or a path), or "" for the default ``<output>/archive``."""
    return _get(ARCHIVE_ENV).strip()


def code_version() -> str:
    """$SOCIALAUDIT_CODE_VERSION (set when an image is built), or "" to ask git."""
    return _get(CODE_VERSION_ENV).strip()


def pure_python() -> bool:
    """$SOCIALAUDIT_PURE_PYTHON set (not "" or "0"): the plain Python modules even where a compiled build exists."""
    return _get(PURE_PYTHON_ENV).strip() not in ("", "0")


def native_dir(root: Path = PROJECT_ROOT) -> Path:
    """Where ``scripts/build_native.py`` puts the compiled modules, one folder per digest of their sources."""
    return root / "build" / "native"


def credential_env(platform: str) -> str:
    """The variable the CLI reads a platform's token from."""
    return f"SOCIALAUDIT_{platform.upper()}_TOKEN"


def platform_token(platform: str) -> str:
    """$SOCIALAUDIT_<PLATFORM>_TOKEN, or ""."""
    return _get(credential_env(platform))


def value(name: str) -> str:
    """A platform's documented extra variable (e.g. ``SOCIALAUDIT_IG_USER_ID``), or ""."""
    return _get(name)


def airflow_connection_in_env(conn_id: str) -> bool:
    """Whether Airflow could know connection ``conn_id``: ``AIRFLOW_CONN_<ID>`` or an ``AIRFLOW_HOME``."""
    return bool(_get(f"AIRFLOW_CONN_{conn_id.upper()}") or _get("AIRFLOW_HOME"))


def airflow_home(default: Path) -> Path:
    """$AIRFLOW_HOME, else ``default``."""
    return Path(_get("AIRFLOW_HOME") or default)


def airflow_log_level(default: str = "WARNING") -> str:
    return _get("AIRFLOW__LOGGING__LOGGING_LEVEL") or default


def airflow_variables() -> dict[str, str]:
    """A copy of the environment, for a child process's ``env=`` (Airflow's CLI, ``run``'s Airflow process)."""
    return dict(os.environ)


@dataclass(frozen=True, slots=True)
class DagKnobs:
    """The DAG's deployment settings, read when the DAG file is parsed."""

    batch_size: int  # schools per mapped task; 0 = automatic
    collect_pool: str  # the pool that bounds collect tasks across all runs (config/pools.json)
    max_active_per_run: int  # mapped tasks of each kind running at once in one run
    retries: int
    retry_delay_seconds: float
    task_timeout_minutes: float  # each task attempt is stopped after this long (then retried)


def dag_knobs() -> DagKnobs:
    """``$SOCIALAUDIT_BATCH_SIZE`` (default 0), ``_COLLECT_POOL`` (socialaudit_collect), ``_MAX_ACTIVE_PER_RUN`` (16),
    ``_RETRIES`` (3), ``_RETRY_DELAY_SECONDS`` (120) and ``_TASK_TIMEOUT_MINUTES`` (60). ValueError for a value
    that is not a number (the DAG then fails to import, naming it)."""
    knob = os.environ.get  # not an alias of os.environ itself: the test that nothing writes it sees only reads
    return DagKnobs(batch_size=int(knob("SOCIALAUDIT_BATCH_SIZE", "0")),
                    collect_pool=knob("SOCIALAUDIT_COLLECT_POOL", "socialaudit_collect"),
                    max_active_per_run=int(knob("SOCIALAUDIT_MAX_ACTIVE_PER_RUN", "16")),
                    retries=int(knob("SOCIALAUDIT_RETRIES", "3")),
                    retry_delay_seconds=float(knob("SOCIALAUDIT_RETRY_DELAY_SECONDS", "120")),
                    task_timeout_minutes=float(knob("SOCIALAUDIT_TASK_TIMEOUT_MINUTES", "60")))
