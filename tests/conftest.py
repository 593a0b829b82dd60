"""Shared fixtures: a valid post factory, the platform simulator on a free port, a demo config pointing
at it, a temporary store, and a project-local Airflow metadata DB for DagBag and dag.test()."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

ROOT = Path(__file__).resolve().parents[1]

# Property-based tests: derandomised by default, so `make test` and CI are reproducible (the same
# examples every run); HYPOTHESIS_PROFILE=explore draws fresh random examples (keep any failure it
# finds as an explicit @example). Loaded here, before any test module creates its @settings.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
hypothesis_settings.register_profile("explore", derandomize=False, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
SHARED_DATA = ROOT.parent / "shared" / "data"
# The simulator's clock in tests: a Wednesday, so 2026-W47 is the last complete week.
SIM_NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)


def pytest_configure(config: pytest.Config) -> None:
    home = ROOT / ".pytest-airflow"
    os.environ.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(ROOT / "plugins"),
        AIRFLOW__LOGGING__LOGGING_LEVEL="WARNING",
    )
    from socialaudit.cli.run import ensure_airflow_db

    ensure_airflow_db()  # as the CLI does: migrate, and create the project's pools


@pytest.fixture
def make_post():
    """A valid post; override only the fields a test is about."""
    from socialaudit.models import Post

    def factory(**overrides: Any) -> Post:
        values: dict[str, Any] = {
            "platform": "rss",
            "account": "https://st-aidans.example.sch.uk/feed/",
            "school": "st-aidans",
            "id": "post-1",
            "url": "https://st-aidans.example.sch.uk/news/post-1/",
            "created_at": datetime(2026, 11, 18, 10, 0, tzinfo=timezone.utc),
            "text": "Year 3 built Roman shields from cardboard today.",
        }
        values.update(overrides)
        return Post(**values)

    return factory


@pytest.fixture(scope="session")
def simulator() -> Iterator[Any]:
    """The platform simulator on a free loopback port, its clock fixed at SIM_NOW."""
    from socialaudit.simulator import Simulator

    sim = Simulator(port=0, now=SIM_NOW, config_path=str(ROOT / "config" / "trust.yaml")).start()
    yield sim
    sim.stop()


def write_demo_config(simulator_url: str, target: Path, *, edit: Any = None) -> Path:
    """The demo trust config with its accounts pointed at ``simulator_url``; ``edit(raw)`` may change it."""
    import yaml

    text = (ROOT / "config" / "trust.yaml").read_text(encoding="utf-8").replace("http://127.0.0.1:8765", simulator_url)
    raw = yaml.safe_load(text)
    if edit is not None:
        edit(raw)
    target.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return target


@pytest.fixture
def demo_config(simulator: Any, tmp_path: Path) -> Path:
    return write_demo_config(simulator.url, tmp_path / "trust.yaml")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Any]:
    """A PostgreSQL server for the session: $SOCIALAUDIT_TEST_PG_URL, else a throwaway one on loopback.

    Without PostgreSQL the cases that need it skip, naming why; with SOCIALAUDIT_REQUIRE_PG=1
    (``make test``, ``.ci/run``) they fail instead, so CI can never pass by skipping them.
    """
    import shutil
    import tempfile

    from tests import pg

    given = os.environ.get("SOCIALAUDIT_TEST_PG_URL")
    if given:
        yield pg.PgServer(url=given)
        return
    workdir = Path(tempfile.mkdtemp(prefix="socialaudit-pg-"))
    os.chmod(workdir, 0o755)  # under /tmp and traversable: the server runs as the postgres user when we are root
    try:
        server = pg.start_server(workdir / "pg")
    except pg.PgUnavailable as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        if os.environ.get("SOCIALAUDIT_REQUIRE_PG") == "1":
            pytest.fail(f"PostgreSQL required (SOCIALAUDIT_REQUIRE_PG=1) but unavailable: {exc}", pytrace=False)
        pytest.skip(f"PostgreSQL unavailable: {exc}")
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A store on a fresh database, once on SQLite and once on PostgreSQL."""
    from socialaudit.store import Store

    yield Store(_db_url(request, request.param, tmp_path))


def _db_url(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> str:
    """A fresh database URL for ``backend``; a PostgreSQL database is dropped after the test."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    from tests import pg

    server = request.getfixturevalue("pg_server")
    url = pg.create_database(server)

    def drop() -> None:
        from socialaudit.store import dispose_engines

        dispose_engines()
        pg.drop_database(server, url)

    request.addfinalizer(drop)
    return url


@pytest.fixture
def audit_env(request: pytest.FixtureRequest, demo_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Environment for pipeline steps and DAG runs: demo config on the simulator, temp output and store.

    The store is SQLite; ``@pytest.mark.parametrize("audit_env", ["sqlite", "postgresql"], indirect=True)``
    runs a test on both (or use ``pg_audit_env``).
    """
    from socialaudit.pipeline import Environment

    output = tmp_path / "output"
    backend = getattr(request, "param", "sqlite")
    url = f"sqlite:///{output / 'socialaudit.db'}" if backend == "sqlite" else _db_url(request, backend, tmp_path)
    monkeypatch.setenv("SOCIALAUDIT_CONFIG", str(demo_config))
    monkeypatch.setenv("SOCIALAUDIT_OUTPUT", str(output))
    monkeypatch.setenv("SOCIALAUDIT_DB_URL", url)
    return Environment.from_env()


@pytest.fixture
def pg_audit_env(request: pytest.FixtureRequest, demo_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``audit_env`` with its store on a fresh PostgreSQL database."""
    from socialaudit.pipeline import Environment

    output = tmp_path / "output"
    monkeypatch.setenv("SOCIALAUDIT_CONFIG", str(demo_config))
    monkeypatch.setenv("SOCIALAUDIT_OUTPUT", str(output))
    monkeypatch.setenv("SOCIALAUDIT_DB_URL", _db_url(request, "postgresql", tmp_path))
    return Environment.from_env()
