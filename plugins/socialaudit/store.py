"""The audit store: posts, runs, collection status, check results and findings (SQLAlchemy Core).

It also anchors the archive's hash chain: ``archive_seals`` holds every sealed run's manifest
SHA-256, so ``history verify`` can tell when the latest run was deleted together with its index entry.

Everything is keyed so that a rerun overwrites instead of duplicating: posts by
(platform, account, post id); collections by (week, school, platform, account); check results by
(week, school, check); findings are replaced per (week, school, check) in one transaction. Works on
SQLite (default) and PostgreSQL (``SOCIALAUDIT_DB_URL=postgresql+psycopg://...``).
"""

from __future__ import annotations

import json
import os
import threading
import weakref
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    any_,
    bindparam,
    case,
    create_engine,
    delete,
    event,
    false,
    func,
    inspect,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from socialaudit import settings
from socialaudit.models import FROM_STORE, AccountCollection, CheckResult, CommentObservation, Post
from socialaudit.weeks import IsoWeek

metadata = MetaData()

posts = Table(
    "posts",
    metadata,
    Column("platform", String(32), primary_key=True),
    Column("account", String(255), primary_key=True),
    Column("post_id", String(255), primary_key=True),
    Column("school", String(64), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("url", Text, nullable=False),
    Column("data", JSON, nullable=False),  # Post.to_dict()
    Column("first_run", String(128), nullable=False),
    Column("last_run", String(128), nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("run_id", String(128), primary_key=True),
    Column("week", String(8), nullable=False, index=True),
    Column("config_source", Text, nullable=False, default=""),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("state", String(16), nullable=False, default="running"),
    Column("schools", JSON, nullable=False, default=list),
    Column("missing", JSON, nullable=False, default=list),
)

collections = Table(
    "collections",
    metadata,
    Column("week", String(8), primary_key=True),
    Column("school", String(64), primary_key=True),
    Column("platform", String(32), primary_key=True),
    Column("account", String(255), primary_key=True),
    Column("run_id", String(128), nullable=False),
    Column("status", String(16), nullable=False),
    Column("message", Text, nullable=False, default=""),
    Column("posts", Integer, nullable=False, default=0),
    Column("skipped", Integer, nullable=False, default=0),
    Column("pages", Integer, nullable=False, default=0),
    # audited from the store (a backfill), not collected by the run (AccountCollection.from_store); added by
    # _migrate to a database made before it, filled from the message's first words (models.FROM_STORE)
    Column("from_store", Boolean, nullable=False, default=False, server_default=false()),
)

check_results = Table(
    "check_results",
    metadata,
    Column("week", String(8), primary_key=True),
    Column("school", String(64), primary_key=True),
    Column("check_name", String(64), primary_key=True),
    Column("run_id", String(128), nullable=False),
    Column("policy", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("summary", Text, nullable=False),
    Column("metrics", JSON, nullable=False),
)

findings = Table(
    "findings",
    metadata,
    Column("week", String(8), primary_key=True),
    Column("school", String(64), primary_key=True),
    Column("check_name", String(64), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("run_id", String(128), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("finding_key", Text, nullable=False),
    Column("data", JSON, nullable=False),  # Finding.to_dict()
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("week", String(8), primary_key=True),
    Column("school", String(64), primary_key=True),
    Column("recipient", String(255), primary_key=True),
    Column("run_id", String(128), nullable=False),
    Column("message_id", String(255), nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=False),
    Column("transport", String(16), nullable=False),
)

# Reviewed suppressions added through the CLI (config ones live in trust.yaml); never deleted:
# a revoked one keeps who revoked it and when, for the history.
suppressions = Table(
    "suppressions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("finding", Text, nullable=False),  # Finding.key or a prefix of it
    Column("kind", String(32), nullable=False),
    Column("reviewer", String(255), nullable=False),
    Column("reason", Text, nullable=False),
    Column("expires", String(10), nullable=False),  # YYYY-MM-DD, the last day it applies
    Column("added_by", String(255), nullable=False),
    Column("added_at", DateTime(timezone=True), nullable=False),
    Column("revoked_by", String(255)),
    Column("revoked_at", DateTime(timezone=True)),
)

# The archive's anchor: one row per run sealed into an archive (socialaudit.archive), written when the
# run is archived and never changed. Keyed by the archive's location (its URL) and the run's folder,
# so archives elsewhere that share this store never mix. ``history verify`` compares the archive
# with it: a run deleted together with its index entry, a replaced manifest or an inserted run shows.
archive_seals = Table(
    "archive_seals",
    metadata,
    Column("archive", String(1024), primary_key=True),  # Archive.location, e.g. file:///srv/archive
    Column("folder", String(255), primary_key=True),  # <YYYY-Www>/<run-id>
    Column("seq", Integer, nullable=False),  # its position in the chain
    Column("run_id", String(128), nullable=False),
    Column("week", String(8), nullable=False),
    Column("manifest_sha256", String(64), nullable=False),
    Column("previous_sha256", String(64)),  # the chain link; None for the first entry
    Column("sealed_at", DateTime(timezone=True), nullable=False),
)

# The comments check's removal tracking: each flagged comment's state ("visible" or "removed") as
# seen in a week. A rerun replaces the week's rows of the accounts it could collect.
comment_observations = Table(
    "comment_observations",
    metadata,
    Column("week", String(8), primary_key=True),
    Column("school", String(64), primary_key=True),
    Column("platform", String(32), primary_key=True),
    Column("account", String(255), primary_key=True),
    Column("comment_id", String(255), primary_key=True),
    Column("post_id", String(255), nullable=False),
    Column("state", String(16), nullable=False),
    Column("run_id", String(128), nullable=False),
    Column("data", JSON, nullable=False),  # urls, masked evidence, post time, first week
)

# The link resolver's lasting answers (socialaudit.links.StoreCache), shared by a run's retried tasks.
link_resolutions = Table(
    "link_resolutions",
    metadata,
    Column("url", String(2048), primary_key=True),
    Column("resolved_at", DateTime(timezone=True), nullable=False),
    Column("data", JSON, nullable=False),  # LinkResolution.to_dict()
)


def default_url(output_dir: Path) -> str:
    return settings.db_url(output_dir)


# A write the database refuses for what it holds (a value it cannot store), not because it is unreachable.
REFUSED: tuple[type[Exception], ...] = (DataError, IntegrityError)


def _without_nul(value: Any) -> Any:
    """``value`` with every NUL character removed from its strings, at any depth (the same object when it has none)."""
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, dict):
        return {k: _without_nul(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_without_nul(v) for v in value)
    return value


def _aware(value: datetime) -> datetime:
    return value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)


# One engine per database and process: every pipeline step makes a Store, and each engine has its own
# cache of compiled statements (a new engine per Store compiled every statement again: a third of a
# batch's time in the store on SQLite) and its own pool; on PostgreSQL a new pool per Store would open
# connections faster than they are closed. A SQLite engine is kept while its file is the same file
# (device and inode): a file deleted and made again at the same path (a test, an operator starting
# afresh) gets a new engine, never a pooled connection to the old one. (An inode number is freed only
# once no connection holds the old file open, so a new file cannot take it while the pool keeps one.)
_ENGINES: dict[tuple[int, str], Engine] = {}
_SQLITE_FILES: dict[tuple[int, str], tuple[int, int]] = {}  # (pid, url) -> its file's (device, inode)
# SQLite engines whose database this process has seen with every table and column, with the file's schema
# version then (SQLite adds one at every change of a table). Every pipeline step makes a Store, about three a
# school, and the check is two catalogue queries and SQLAlchemy's reflection around them; the version is one.
_READY: weakref.WeakKeyDictionary[Engine, int] = weakref.WeakKeyDictionary()


def _engine_for(url: str) -> Engine:
    key = (os.getpid(), url)
    if url.startswith("sqlite"):
        file = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") and url != "sqlite:///:memory:" else ""
        if not file:  # in memory: the database lives in its engine's connection, so nothing is shared
            return _sqlite_engine(url)
        Path(file).parent.mkdir(parents=True, exist_ok=True)
        try:
            stat = os.stat(file)
            identity: tuple[int, int] | None = (stat.st_dev, stat.st_ino)
        except OSError:
            identity = None
        cached = _ENGINES.get(key)
        if cached is not None and identity is not None and _SQLITE_FILES.get(key) == identity:
            return cached
        if cached is not None:
            cached.dispose()
        cached = _ENGINES[key] = _sqlite_engine(url)
        with cached.connect():
            pass  # the file exists from here on
        stat = os.stat(file)
        _SQLITE_FILES[key] = (stat.st_dev, stat.st_ino)
        return cached
    cached = _ENGINES.get(key)
    if cached is None:
        cached = _ENGINES[key] = create_engine(url, future=True, pool_pre_ping=True)
    return cached


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(url, future=True)
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def dispose_engines() -> None:
    """Close every pooled connection this process holds (tests, before dropping a database)."""
    for engine in _ENGINES.values():
        engine.dispose()
    _ENGINES.clear()
    _SQLITE_FILES.clear()
    _READY.clear()


@lru_cache(maxsize=None)
def _upsert_statement(dialect: str, table: Table) -> Any:
    """INSERT ... ON CONFLICT (the primary key) DO UPDATE every other column, built once per dialect and table:
    building it (``excluded`` and the SET clause) took longer than SQLite took to run it, about 2,000 times a
    run of 300 schools. A statement is immutable, so threads and Stores share it."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    keys = [c.name for c in table.primary_key.columns]
    stmt = insert(table)
    update = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys}
    # first_run records when a post was first seen; it never changes on later upserts.
    update.pop("first_run", None)
    return stmt.on_conflict_do_update(index_elements=keys, set_=update)


class SealConflict(Exception):
    """The store already holds a different seal for an archived run folder (one line naming it)."""


class Store:
    """Thin façade over the tables; every write is idempotent."""

    def __init__(self, url: str, *, engine: Engine | None = None) -> None:
        self.url = url
        self.engine = engine if engine is not None else _engine_for(url)
        self._held = threading.local()  # .conn: this thread's open ``transaction``, if any
        version = self._schema_version()
        if version is not None and _READY.get(self.engine) == version:
            return
        if not self._schema_ready():
            metadata.create_all(self.engine)
            self._migrate()
        version = self._schema_version()
        if version is not None:
            _READY[self.engine] = version

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """This thread's writes inside the block (``upsert_posts``, ``record_collections``, ``save_results``,
        ``record_comment_observations``) in one transaction: one commit, which on SQLite is one sync of the
        log to disk, instead of one each (a school's collection made four, its checks two). Nested blocks
        join the outer one; other threads keep their own transactions."""
        held = self._held
        if getattr(held, "conn", None) is not None:
            yield
            return
        with self.engine.begin() as conn:
            held.conn = conn
            try:
                yield
            finally:
                held.conn = None

    def _begin(self) -> AbstractContextManager[Connection]:
        """A write's connection: this thread's ``transaction``, else a transaction of its own."""
        conn = getattr(self._held, "conn", None)
        if conn is not None:
            return nullcontext(conn)
        return self.engine.begin()

    def _schema_version(self) -> int | None:
        """SQLite's schema version of the database (None on PostgreSQL, which is checked every time)."""
        if self.engine.dialect.name != "sqlite":
            return None
        with self.engine.connect() as conn:
            return int(conn.exec_driver_sql("PRAGMA schema_version").scalar() or 0)

    def _schema_ready(self) -> bool:
        """Every table there, and the latest column added: two catalogue queries instead of create_all's one
        per table and the migration's, for each of the several Stores a batch task makes."""
        with self.engine.connect() as conn:
            found = inspect(conn)
            if not set(metadata.tables) <= set(found.get_table_names()):
                return False
            return "from_store" in {c["name"] for c in found.get_columns("collections")}

    def _migrate(self) -> None:
        """Bring a database made by an earlier version up to these tables (create_all adds missing tables, never
        a column). Each step checks first and may run in several processes at once (a cluster's workers)."""
        if "from_store" not in {c["name"] for c in inspect(self.engine).get_columns("collections")}:
            add = ("ALTER TABLE collections ADD COLUMN IF NOT EXISTS from_store BOOLEAN NOT NULL DEFAULT false"
                   if self.engine.dialect.name == "postgresql" else
                   "ALTER TABLE collections ADD COLUMN from_store BOOLEAN NOT NULL DEFAULT 0")
            try:
                with self.engine.begin() as conn:
                    conn.execute(text(add))
            except OperationalError as exc:  # SQLite: another process added it in between
                if "duplicate column" not in str(exc):
                    raise
            with self.engine.begin() as conn:
                conn.execute(collections.update().where(collections.c.message.startswith(FROM_STORE, autoescape=True))
                             .values(from_store=True))

    def _upsert(self, conn: Any, table: Table, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        conn.execute(_upsert_statement(self.engine.dialect.name, table), list(rows))

    # --- runs -------------------------------------------------------------------------------
    def start_run(self, run_id: str, week: IsoWeek, *, config_source: str, schools: Sequence[str]) -> None:
        row = {"run_id": run_id, "week": str(week), "config_source": config_source,
               "started_at": datetime.now(timezone.utc), "finished_at": None, "state": "running",
               "schools": list(schools), "missing": []}
        with self.engine.begin() as conn:
            self._upsert(conn, runs, [row])

    def finish_run(self, run_id: str, *, state: str, missing: Sequence[str]) -> None:
        with self.engine.begin() as conn:
            conn.execute(runs.update().where(runs.c.run_id == run_id).values(
                state=state, missing=list(missing), finished_at=datetime.now(timezone.utc)))

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(runs).where(runs.c.run_id == run_id)).mappings().first()
        return _run_row(row) if row else None

    def list_runs(self, week: IsoWeek | None = None) -> list[dict[str, Any]]:
        query = select(runs).order_by(runs.c.week, runs.c.started_at)
        if week is not None:
            query = query.where(runs.c.week == str(week))
        with self.engine.connect() as conn:
            return [_run_row(r) for r in conn.execute(query).mappings()]

    # --- posts ------------------------------------------------------------------------------
    def upsert_posts(self, items: Iterable[Post], *, run_id: str) -> int:
        """Store posts (a NUL character, which PostgreSQL refuses in text and hostile input may carry, is dropped)."""
        rows = [_without_nul({"platform": p.platform, "account": p.account, "post_id": p.id, "school": p.school,
                              "created_at": p.created_at, "url": p.url, "data": p.to_dict(), "first_run": run_id,
                              "last_run": run_id}) for p in items]
        with self._begin() as conn:
            for start in range(0, len(rows), 500):
                self._upsert(conn, posts, rows[start:start + 500])
        return len(rows)

    def posts_for(self, school: str, since: datetime, until: datetime) -> list[Post]:
        query = (select(posts.c.data).where(and_(posts.c.school == school, posts.c.created_at >= since,
                                                 posts.c.created_at < until))
                 .order_by(posts.c.created_at, posts.c.platform, posts.c.post_id))
        with self.engine.connect() as conn:
            return [Post.from_dict(_json(row.data)) for row in conn.execute(query)]

    def purge_posts_before(self, cutoff: datetime, *, batch: int = 500) -> int:
        """Blank the text of posts created before ``cutoff`` (retention of post texts).

        Kept: platform, account, id, permalink, timestamps, media types and URLs, flags, so a
        finding's permalink still resolves and weekly counts still add up. Blanked: the text, every
        media alt text and the comments' text and author. Returns how many posts were blanked now
        (a post already blanked is not counted again), so a purge is idempotent.
        """
        cutoff = _aware(cutoff)
        keys = [posts.c.platform, posts.c.account, posts.c.post_id]
        query = select(*keys, posts.c.data).where(posts.c.created_at < cutoff).order_by(*keys)
        changed = 0
        with self.engine.begin() as conn:
            pending: list[dict[str, Any]] = []
            for row in conn.execute(query).all():
                data = _json(row.data)
                blanked = _blank_post(data)
                if blanked == data:
                    continue
                pending.append({"k_platform": row.platform, "k_account": row.account, "k_post_id": row.post_id,
                                "data": blanked})
            if pending:
                stmt = (posts.update()
                        .where(and_(posts.c.platform == bindparam("k_platform"), posts.c.account == bindparam("k_account"),
                                    posts.c.post_id == bindparam("k_post_id")))
                        .values(data=bindparam("data")))
                for start in range(0, len(pending), batch):
                    conn.execute(stmt, pending[start:start + batch])
            changed = len(pending)
        return changed

    def purged_accounts(self, school: str, since: datetime, until: datetime) -> set[tuple[str, str]]:
        """(platform, account) of the school's posts in the window whose text was purged (retention)."""
        query = select(posts.c.platform, posts.c.account, posts.c.data).where(and_(
            posts.c.school == school, posts.c.created_at >= since, posts.c.created_at < until))
        with self.engine.connect() as conn:
            return {(r.platform, r.account) for r in conn.execute(query) if _json(r.data).get("text_purged")}

    def count_posts(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(posts)).scalar_one())

    # --- collections ------------------------------------------------------------------------
    def record_collections(self, week: IsoWeek, school: str, items: Sequence[AccountCollection], *, run_id: str) -> None:
        rows = [{"week": str(week), "run_id": run_id, **c.to_dict(), "from_store": c.from_store} for c in items]
        for row in rows:
            row["school"] = school
        with self._begin() as conn:
            conn.execute(delete(collections).where(and_(collections.c.week == str(week), collections.c.school == school)))
            self._upsert(conn, collections, rows)

    def collections_for(self, week: IsoWeek, school: str) -> list[AccountCollection]:
        query = (select(collections).where(and_(collections.c.week == str(week), collections.c.school == school))
                 .order_by(collections.c.platform, collections.c.account))
        with self.engine.connect() as conn:
            return [AccountCollection.from_dict(dict(r)) for r in conn.execute(query).mappings()]

    def collections_for_week(self, week: IsoWeek) -> dict[str, list[AccountCollection]]:
        """Every school's collections for a week, by school id, in one query."""
        query = (select(collections).where(collections.c.week == str(week))
                 .order_by(collections.c.school, collections.c.platform, collections.c.account))
        out: dict[str, list[AccountCollection]] = {}
        with self.engine.connect() as conn:
            for r in conn.execute(query).mappings():
                out.setdefault(r["school"], []).append(AccountCollection.from_dict(dict(r)))
        return out

    def collection_runs(self, week: IsoWeek, school: str) -> dict[tuple[str, str], str]:
        """The run that recorded each (platform, account) collection of a school for a week."""
        query = select(collections.c.platform, collections.c.account, collections.c.run_id).where(
            and_(collections.c.week == str(week), collections.c.school == school))
        with self.engine.connect() as conn:
            return {(r.platform, r.account): r.run_id for r in conn.execute(query)}

    # --- results ----------------------------------------------------------------------------
    def save_results(self, week: IsoWeek, school: str, results: Sequence[CheckResult], *, run_id: str) -> None:
        """Replace this school's results and findings for the week, atomically."""
        result_rows = [{"week": str(week), "school": school, "check_name": r.check, "run_id": run_id,
                        "policy": r.policy, "status": r.status.value, "summary": r.summary, "metrics": r.recorded_metrics()}
                       for r in results]
        finding_rows = []
        for r in results:
            for seq, f in enumerate(r.findings):
                finding_rows.append({"week": str(week), "school": school, "check_name": r.check, "seq": seq,
                                     "run_id": run_id, "severity": f.severity.value, "status": f.status.value,
                                     "finding_key": f.key, "data": f.to_dict()})
        with self._begin() as conn:
            where_week = and_(check_results.c.week == str(week), check_results.c.school == school)
            conn.execute(delete(check_results).where(where_week))
            conn.execute(delete(findings).where(and_(findings.c.week == str(week), findings.c.school == school)))
            self._upsert(conn, check_results, result_rows)
            self._upsert(conn, findings, finding_rows)

    def results_for(self, week: IsoWeek, school: str) -> list[CheckResult]:
        return self.results_for_week(week, school).get(school, [])

    def results_for_week(self, week: IsoWeek, school: str | None = None) -> dict[str, list[CheckResult]]:
        """Every school's results and findings for a week (or one school's), by school id, in two
        queries whatever the number of schools: the Trust report reads a week at once."""
        where = [check_results.c.week == str(week)] + ([check_results.c.school == school] if school else [])
        fwhere = [findings.c.week == str(week)] + ([findings.c.school == school] if school else [])
        query = select(check_results).where(and_(*where)).order_by(check_results.c.school, check_results.c.check_name)
        fquery = select(findings).where(and_(*fwhere)).order_by(findings.c.school, findings.c.check_name, findings.c.seq)
        with self.engine.connect() as conn:
            rows = list(conn.execute(query).mappings())
            frows = list(conn.execute(fquery).mappings())
        by_check: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for f in frows:
            by_check.setdefault((f["school"], f["check_name"]), []).append(_json(f["data"]))
        out: dict[str, list[CheckResult]] = {}
        for r in rows:
            out.setdefault(r["school"], []).append(CheckResult.from_dict({
                "check": r["check_name"], "policy": r["policy"], "school": r["school"], "status": r["status"],
                "summary": r["summary"], "metrics": _json(r["metrics"]), "findings": by_check.get((r["school"], r["check_name"]), [])}))
        return out

    def week_totals(self, weeks: Sequence[IsoWeek], schools: Sequence[str], *, frequency_check: str,
                    events_clause: str, promoted_keys: Sequence[str], due_keys: Sequence[str],
                    collected: Sequence[str]) -> dict[str, dict[str, int]]:
        """The Trust report's figures per week, summed over ``schools`` by the database: three queries whatever
        the number of schools or weeks (each grouped by week), never one per school.

        Per week that has a result for one of ``schools``: ``results``; ``frequency_known`` and
        ``meeting_frequency`` (``frequency_check``'s results that passed, failed or did not apply, and those
        that passed or did not apply); ``event_results`` (results of ``events_clause``, "4.4" or "4.4.x") and
        the sums of their figures (the first of ``promoted_keys`` / ``due_keys`` that holds a value);
        ``findings`` and ``critical`` (findings to act on, neither reviewed nor notes: the copies of one
        incident once per school, as ``Finding.incident_key`` groups them, every other finding each time); ``accounts_collected``
        (collections whose status is in ``collected``). The schools go to the database as one parameter (_among).
        """
        names = [str(w) for w in weeks]
        r, f, c = check_results.c, findings.c, collections.c
        in_clause = or_(r.policy == events_clause, r.policy.startswith(events_clause + ".", autoescape=True))

        def figure(keys: Sequence[str]) -> Any:
            return func.coalesce(*[r.metrics[k].as_integer() for k in keys], 0)

        def count_if(condition: Any) -> Any:
            return func.sum(case((condition, 1), else_=0))

        frequency = r.check_name == frequency_check
        results_query = (select(r.week, func.count().label("results"),
                                count_if(and_(frequency, r.status.in_(("pass", "fail", "not_applicable")))).label("frequency_known"),
                                count_if(and_(frequency, r.status.in_(("pass", "not_applicable")))).label("meeting_frequency"),
                                count_if(in_clause).label("event_results"),
                                func.sum(case((in_clause, figure(promoted_keys)), else_=0)).label("events_promoted"),
                                func.sum(case((in_clause, figure(due_keys)), else_=0)).label("events_due"))
                         .where(r.week.in_(names), self._among(r.school, schools)).group_by(r.week))
        reviewed = f.data["suppression"].as_string().is_not(None)
        shared, key = _incident_key()
        acted = (select(f.week, f.severity, shared.label("shared"), key.label("key")).select_from(_findings_of_results())
                 .where(f.week.in_(names), self._among(f.school, schools), f.severity != "info", ~reviewed)
                 .subquery())
        a = acted.c
        findings_query = (select(a.week, _count_incidents(a.shared, a.key, true()).label("findings"),
                                 _count_incidents(a.shared, a.key, a.severity == "critical").label("critical"))
                          .group_by(a.week))
        collections_query = (select(c.week, count_if(c.status.in_(list(collected))).label("accounts_collected"))
                             .where(c.week.in_(names), self._among(c.school, schools)).group_by(c.week))
        out: dict[str, dict[str, int]] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(results_query).mappings():
                out[row["week"]] = {k: int(v or 0) for k, v in row.items() if k != "week"}
            for query in (findings_query, collections_query):
                for row in conn.execute(query).mappings():
                    if row["week"] in out:
                        out[row["week"]].update({k: int(v or 0) for k, v in row.items() if k != "week"})
        for totals in out.values():
            for name in ("findings", "critical", "accounts_collected"):
                totals.setdefault(name, 0)
        return out

    def week_matrix(self, week: IsoWeek, *, figure_check: str, figure_key: str) -> dict[str, dict[str, Any]]:
        """What the Trust report's matrix shows of each school for a week, in three queries, without decoding
        any result's figures or findings: school id -> ``checks`` (check -> (status, summary)), ``figure``
        (``figure_key`` of ``figure_check``'s result, 0 when absent; None without that result), ``findings`` and
        ``critical`` (to act on: neither reviewed nor notes) and ``reviewed`` (reviewed findings of any severity),
        each counting the copies of one incident once; and ``reviewed_findings``, those findings' JSON forms in
        the order the school's results list them."""
        r, f = check_results.c, findings.c
        figure = case((r.check_name == figure_check, func.coalesce(r.metrics[figure_key].as_integer(), 0)))
        out: dict[str, dict[str, Any]] = {}
        reviewed = f.data["suppression"].as_string().is_not(None)
        counts = (select(f.school, _incidents(and_(f.severity != "info", ~reviewed)).label("findings"),
                         _incidents(and_(f.severity == "critical", ~reviewed)).label("critical"),
                         _incidents(reviewed).label("reviewed"))
                  .select_from(_findings_of_results()).where(f.week == str(week)).group_by(f.school))
        listed = (select(f.school, f.data).select_from(_findings_of_results())
                  .where(f.week == str(week), reviewed).order_by(f.school, f.check_name, f.seq))
        with self.engine.connect() as conn:
            query = select(r.school, r.check_name, r.status, r.summary, figure.label("figure")).where(r.week == str(week))
            for row in conn.execute(query):
                entry = out.setdefault(row.school, {"checks": {}, "figure": None, "findings": 0, "critical": 0,
                                                    "reviewed": 0, "reviewed_findings": []})
                entry["checks"][row.check_name] = (row.status, row.summary)
                if row.check_name == figure_check:
                    entry["figure"] = int(row.figure or 0)
            for counted in conn.execute(counts):
                if counted.school in out:
                    out[counted.school].update(findings=int(counted.findings or 0), critical=int(counted.critical or 0),
                                               reviewed=int(counted.reviewed or 0))
            for found in conn.execute(listed):
                if found.school in out:
                    out[found.school]["reviewed_findings"].append(_json(found.data))
        return out

    def _among(self, column: Any, ids: Sequence[str]) -> Any:
        """``column`` is one of ``ids``, which go to the database as one parameter, not one each: an array on
        PostgreSQL (``= ANY``, which it hashes, and whose length its planner sees), a JSON list on SQLite
        (``IN (SELECT value FROM json_each(?))``)."""
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import ARRAY

            return column == any_(bindparam(None, list(ids), type_=ARRAY(String), unique=True))
        param = bindparam(None, json.dumps(list(ids)), type_=String, unique=True)
        return column.in_(select(func.json_each(param).table_valued("value").c.value))

    def metric_history(self, school: str, check: str, weeks: Sequence[IsoWeek]) -> dict[str, dict[str, Any]]:
        """metrics of one check for one school over several weeks, keyed by week string."""
        names = [str(w) for w in weeks]
        query = select(check_results.c.week, check_results.c.status, check_results.c.metrics).where(and_(
            check_results.c.school == school, check_results.c.check_name == check, check_results.c.week.in_(names)))
        with self.engine.connect() as conn:
            return {r.week: {"status": r.status, **_json(r.metrics)} for r in conn.execute(query)}

    def findings_between(self, first: IsoWeek, last: IsoWeek, school: str | None = None) -> list[dict[str, Any]]:
        query = select(findings.c.week, findings.c.data).where(and_(findings.c.week >= str(first), findings.c.week <= str(last)))
        if school:
            query = query.where(findings.c.school == school)
        with self.engine.connect() as conn:
            order = (findings.c.week, findings.c.school, findings.c.check_name, findings.c.seq)
            return [{"week": r.week, **_json(r.data)} for r in conn.execute(query.order_by(*order))]

    # --- link resolutions (the resolver's cache) ----------------------------------------------
    def link_resolutions_since(self, urls: Sequence[str], cutoff: datetime) -> dict[str, dict[str, Any]]:
        """url -> the stored resolution (as a dict) of those ``urls`` resolved at or after ``cutoff``."""
        out: dict[str, dict[str, Any]] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(urls), 500):
                chunk = list(urls[start:start + 500])
                query = select(link_resolutions.c.url, link_resolutions.c.resolved_at, link_resolutions.c.data).where(
                    and_(link_resolutions.c.url.in_(chunk)))
                for row in conn.execute(query):
                    if _aware(row.resolved_at) < cutoff:
                        continue
                    out[row.url] = _json(row.data)
        return out

    def save_link_resolutions(self, rows: Sequence[dict[str, Any]]) -> None:
        """Upsert ``{"url", "resolved_at", "data"}`` rows, 500 at a time."""
        with self.engine.begin() as conn:
            for start in range(0, len(rows), 500):
                self._upsert(conn, link_resolutions, rows[start:start + 500])

    # --- comment observations (removal tracking) --------------------------------------------
    def record_comment_observations(self, week: IsoWeek, school: str, seen: Sequence[CommentObservation], *, run_id: str,
                                    accounts: Iterable[tuple[str, str]]) -> None:
        """Replace the week's observations of the given (platform, account)s with ``rows``, atomically.

        Only the accounts the check could evaluate are replaced, so a rerun whose collection of one
        account failed keeps what an earlier run saw there.
        """
        keys = {"week", "school", "platform", "account", "comment_id", "post_id", "state", "run_id"}
        out = [{"week": str(week), "school": school, "platform": o.platform, "account": o.account,
                "comment_id": o.comment_id, "post_id": o.post_id, "state": o.state, "run_id": run_id,
                "data": {k: v for k, v in o.to_dict().items() if k not in keys}} for o in seen]
        with self._begin() as conn:
            for platform, account in sorted(set(accounts) | {(r["platform"], r["account"]) for r in out}):
                conn.execute(delete(comment_observations).where(and_(
                    comment_observations.c.week == str(week), comment_observations.c.school == school,
                    comment_observations.c.platform == platform, comment_observations.c.account == account)))
            self._upsert(conn, comment_observations, out)

    def comment_observations_for(self, school: str, first: IsoWeek, before: IsoWeek) -> list[dict[str, Any]]:
        """The school's observations from week ``first`` up to, not including, week ``before``."""
        c = comment_observations.c
        query = (select(comment_observations).where(and_(c.school == school, c.week >= str(first), c.week < str(before)))
                 .order_by(c.week, c.platform, c.account, c.comment_id))
        with self.engine.connect() as conn:
            return [{**dict(r), "data": _json(r["data"])} for r in conn.execute(query).mappings()]

    def post_keys_of_run(self, school: str, run_id: str) -> set[tuple[str, str, str]]:
        """(platform, account, post id) of the school's posts that ``run_id`` stored or refreshed."""
        query = select(posts.c.platform, posts.c.account, posts.c.post_id).where(
            and_(posts.c.school == school, posts.c.last_run == run_id))
        with self.engine.connect() as conn:
            return {(r.platform, r.account, r.post_id) for r in conn.execute(query)}

    # --- suppressions -----------------------------------------------------------------------
    def add_suppression(self, *, finding: str, kind: str, reviewer: str, reason: str, expires: str,
                        added_by: str) -> int:
        """Record a reviewed suppression; returns its id."""
        row = {"finding": finding, "kind": kind, "reviewer": reviewer, "reason": reason, "expires": expires,
               "added_by": added_by, "added_at": datetime.now(timezone.utc)}
        with self.engine.begin() as conn:
            key = conn.execute(suppressions.insert().values(**row)).inserted_primary_key
        assert key is not None  # an insert with an autoincrement primary key
        return int(key[0])

    def list_suppressions(self, *, include_revoked: bool = False) -> list[dict[str, Any]]:
        """Suppressions added through the CLI, oldest first, with aware UTC timestamps."""
        query = select(suppressions).order_by(suppressions.c.id)
        if not include_revoked:
            query = query.where(suppressions.c.revoked_at.is_(None))
        with self.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(query).mappings()]
        for row in rows:
            for name in ("added_at", "revoked_at"):
                if row[name] is not None:
                    row[name] = _aware(row[name])
        return rows

    def revoke_suppression(self, suppression_id: int, *, revoked_by: str) -> bool:
        """Mark a suppression revoked (kept for the history); False if there is no such active one."""
        with self.engine.begin() as conn:
            done = conn.execute(suppressions.update()
                                .where(and_(suppressions.c.id == suppression_id, suppressions.c.revoked_at.is_(None)))
                                .values(revoked_by=revoked_by, revoked_at=datetime.now(timezone.utc)))
        return bool(done.rowcount)

    # --- archive seals (the chain's anchor) --------------------------------------------------
    def record_seal(self, *, archive: str, folder: str, seq: int, run_id: str, week: str, manifest_sha256: str,
                    previous_sha256: str | None, sealed_at: datetime) -> None:
        """Record that ``folder`` was sealed into ``archive`` with this manifest hash.

        Idempotent for the same seal (an archive task retried after the manifest was written); a
        different seal for a folder already recorded raises :class:`SealConflict`: a seal is never replaced.
        """
        row = {"archive": archive, "folder": folder, "seq": seq, "run_id": run_id, "week": week,
               "manifest_sha256": manifest_sha256, "previous_sha256": previous_sha256, "sealed_at": _aware(sealed_at)}
        key = and_(archive_seals.c.archive == archive, archive_seals.c.folder == folder)
        with self.engine.begin() as conn:
            found = conn.execute(select(archive_seals.c.manifest_sha256, archive_seals.c.seq).where(key)).first()
            if found is None:
                conn.execute(archive_seals.insert().values(**row))
            elif (found.manifest_sha256, found.seq) != (manifest_sha256, seq):
                raise SealConflict(f"{archive}: the store already holds a different seal for {folder} (position "
                                   f"{found.seq}, manifest sha256 {found.manifest_sha256[:16]}...); a seal is never replaced")

    def seals_for(self, archive: str) -> list[dict[str, Any]]:
        """The seals recorded for ``archive``, in chain order, with aware UTC ``sealed_at``."""
        query = select(archive_seals).where(archive_seals.c.archive == archive).order_by(archive_seals.c.seq)
        with self.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(query).mappings()]
        for row in rows:
            row["sealed_at"] = _aware(row["sealed_at"])
        return rows

    def sealed_archives(self) -> list[str]:
        """Every archive location the store holds seals for (to name them when one has none)."""
        with self.engine.connect() as conn:
            return sorted(str(r.archive) for r in conn.execute(select(archive_seals.c.archive).distinct()))

    # --- deliveries -------------------------------------------------------------------------
    def delivered(self, week: IsoWeek, school: str, recipient: str) -> bool:
        query = select(deliveries.c.message_id).where(and_(deliveries.c.week == str(week), deliveries.c.school == school,
                                                           deliveries.c.recipient == recipient))
        with self.engine.connect() as conn:
            return conn.execute(query).first() is not None

    def record_delivery(self, week: IsoWeek, school: str, recipient: str, *, run_id: str, message_id: str,
                        transport: str) -> None:
        with self.engine.begin() as conn:
            self._upsert(conn, deliveries, [{"week": str(week), "school": school, "recipient": recipient,
                                             "run_id": run_id, "message_id": message_id,
                                             "sent_at": datetime.now(timezone.utc), "transport": transport}])


def _findings_of_results() -> Any:
    """Findings joined to their check result: a finding counts only with the result that lists it."""
    r, f = check_results.c, findings.c
    return findings.join(check_results, and_(r.week == f.week, r.school == f.school, r.check_name == f.check_name))


def _incident_key() -> tuple[Any, Any]:
    """(whether a finding is a copy of an incident, the incident's key within the store) as SQL expressions: the
    copies of one incident share the check, the school and a non-empty ``incident`` (Finding.incident_key)."""
    f = findings.c
    incident = f.data["incident"].as_string()
    shared = func.coalesce(incident, "") != ""
    key = f.school + "\x1f" + f.data["check"].as_string() + ":" + f.data["school"].as_string() + ":incident:" + incident
    return shared, key


def _count_incidents(shared: Any, key: Any, condition: Any) -> Any:
    """How many incidents among the findings that meet ``condition``, per group, as reports count them: the
    copies of one incident once, any other finding each time."""
    return func.count(case((and_(condition, shared), key)).distinct()) + func.sum(case((and_(condition, ~shared), 1), else_=0))


def _incidents(condition: Any) -> Any:
    """``_count_incidents`` straight over the findings table."""
    shared, key = _incident_key()
    return _count_incidents(shared, key, condition)


def _blank_post(data: dict[str, Any]) -> dict[str, Any]:
    """A post's JSON form with the text, alt texts and comment texts and authors blanked."""
    out = dict(data)
    out["text"] = ""
    out["text_purged"] = True  # Post.from_dict ignores it; purged_accounts() reads it
    out["media"] = [{**m, "alt": None if m.get("alt") is None else ""} for m in data.get("media") or ()]
    if data.get("comments"):
        out["comments"] = [{**c, "text": "", "author": ""} for c in data["comments"]]
    return out


def _run_row(row: Any) -> dict[str, Any]:
    """A runs row with aware UTC timestamps and decoded JSON on every backend (SQLite drops the zone)."""
    out = dict(row)
    for name in ("started_at", "finished_at"):
        if out.get(name) is not None:
            out[name] = _aware(out[name])
    for name in ("schools", "missing"):
        out[name] = _json(out[name])
    return out


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
