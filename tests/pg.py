"""A throwaway PostgreSQL server on loopback for the tests (the approach of scripts/cluster_test.py).

``start_server(workdir)`` runs Debian's ``initdb`` and ``postgres`` from ``/usr/lib/postgresql/<v>/bin``
on a free port bound to 127.0.0.1, as the ``postgres`` user when we are root (initdb refuses root),
with trust authentication and fsync off (the data is thrown away). The server is stopped by its
process id (``PgServer.stop``). ``create_database`` gives each test a fresh, empty database.

Environment:
  SOCIALAUDIT_TEST_PG_URL   use this server instead of starting one, e.g.
                            ``postgresql+psycopg://user@127.0.0.1:5432/postgres`` (a maintenance DB
                            the user may ``CREATE DATABASE`` from)
  SOCIALAUDIT_REQUIRE_PG=1  a PostgreSQL case fails, rather than skips, when no server can be had
  SOCIALAUDIT_TEST_PG_ROOT  where to look for ``<version>/bin/initdb`` (default /usr/lib/postgresql)
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

PG_ROOT = Path(os.environ.get("SOCIALAUDIT_TEST_PG_ROOT") or "/usr/lib/postgresql")  # where Debian installs servers


class PgUnavailable(RuntimeError):
    """No PostgreSQL server can be started or reached; the message (one line) says why."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))


def find_pg_bin() -> Path:
    """The newest installed server's bin folder (the one that holds initdb)."""
    candidates = sorted(PG_ROOT.glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0)
    if not candidates:
        raise PgUnavailable(f"PostgreSQL server binaries not found under {PG_ROOT} (apt-get install postgresql, "
                            "or set SOCIALAUDIT_TEST_PG_URL)")
    return candidates[-1].parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PgServer:
    """A running server: its SQLAlchemy URL for the maintenance database, and the process we started."""

    url: str  # postgresql+psycopg://user@host:port/postgres
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    def url_for(self, database: str) -> str:
        return self.url.rsplit("/", 1)[0] + "/" + database

    def stop(self) -> None:
        """Stop the server we started (by its pid): SIGINT is PostgreSQL's fast shutdown."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def start_server(workdir: Path, *, timeout: float = 60.0) -> PgServer:
    """initdb + postgres on a free loopback port inside ``workdir``; raises PgUnavailable if it cannot."""
    pg_bin = find_pg_bin()
    as_user = "postgres" if os.geteuid() == 0 else None
    workdir.mkdir(parents=True, exist_ok=True)
    os.chmod(workdir, 0o755)
    data = workdir / "data"
    if as_user:
        shutil.chown(workdir, as_user, as_user)  # the caller puts workdir where postgres can reach it (/tmp)
    user_kwargs: dict[str, object] = {"user": as_user, "group": as_user, "extra_groups": []} if as_user else {}
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    init = subprocess.run([str(pg_bin / "initdb"), "-D", str(data), "-U", "socialaudit", "-A", "trust", "-E", "UTF8",
                           "--locale=C", "--no-sync"], capture_output=True, env=env, cwd=workdir, **user_kwargs)  # type: ignore[call-overload]
    if init.returncode != 0:
        raise PgUnavailable(f"initdb failed: {(init.stderr or init.stdout).decode(errors='replace')[-500:]}")
    port = _free_port()
    log = workdir / "postgres.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [str(pg_bin / "postgres"), "-D", str(data), "-p", str(port), "-c", "listen_addresses=127.0.0.1",
             "-c", f"unix_socket_directories={workdir}", "-c", "fsync=off", "-c", "synchronous_commit=off",
             "-c", "full_page_writes=off", "-c", "max_connections=200"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=workdir,
            start_new_session=True, **user_kwargs)  # type: ignore[call-overload]
    server = PgServer(url=f"postgresql+psycopg://socialaudit@127.0.0.1:{port}/postgres", process=process, log=log)
    import psycopg

    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise PgUnavailable(f"postgres exited with code {process.returncode}: {log.read_text(errors='replace')[-500:]}")
        try:
            _connect_and_close(server.url)
            return server
        except psycopg.OperationalError as exc:  # not accepting connections yet
            last = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            time.sleep(0.2)
    server.stop()
    raise PgUnavailable(f"postgres did not accept connections within {timeout:.0f}s ({last})")


def _connect_and_close(url: str) -> None:
    import psycopg

    with psycopg.connect(_libpq(url), connect_timeout=2):
        pass


def _libpq(url: str) -> str:
    """A psycopg connection string from a SQLAlchemy URL."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    parts = {"host": parsed.host or "127.0.0.1", "port": parsed.port or 5432, "user": parsed.username or "",
             "password": parsed.password or "", "dbname": parsed.database or "postgres"}
    return " ".join(f"{k}={v}" for k, v in parts.items() if v != "")


def create_database(server: PgServer, prefix: str = "t") -> str:
    """A fresh, empty database on ``server``; returns its SQLAlchemy URL."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq(server.url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server.url_for(name)


def drop_database(server: PgServer, url: str) -> None:
    """Drop a database made by ``create_database`` (closing its other sessions first)."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    with psycopg.connect(_libpq(server.url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
