"""The weekly audit's steps, called by the DAG's tasks (which stay a few lines each).

plan -> per school: collect -> check -> render (-> deliver) -> trust report -> fail if a school is missing.

Every step is idempotent for a (week, school): posts are upserted, results and findings replaced,
reports overwritten at paths named by ISO week. Steps exchange small dicts (ids and counts), never
posts; posts live in the store.

Every network read is in the collect step: the accounts' posts, then each school's calendars and
where the links of its posts lead (``fetch_inputs``), kept in the run's raw folder. The check step
reads the store and that folder only, and opens no connection.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from checks._base import needs_of, run_checks, select
from checks.comments import tracking_reach
from checks.event_promotion import lookback_days as event_lookback
from collectors._base import (
    AccountError,
    CollectionResult,
    CollectorError,
    TransientError,
    get_collector,
    load_credentials,
    takes_credentials,
)
from collectors._http import HttpPolicy, HttpSession, make_session, rate_limit_wait_for
from collectors._pool import Job, Outcome, run_bounded
from socialaudit import delivery, mail, reports, settings, suppressions
from socialaudit.config import Account, School, TrustConfig
from socialaudit.environment import Environment, safe_run_id
from socialaudit.inputs import InputRequest, fetch, provide, tracked_comments
from socialaudit.inputs import comment_history as comment_history  # re-exported: the comments check's input
from socialaudit.links import resolver_for
from socialaudit.models import FROM_STORE, AccountCollection, CheckResult, CollectionStatus, Post
from socialaudit.raw import RawArchive as RawArchive  # re-exported: tests and collectors' callers
from socialaudit.store import REFUSED, Store
from socialaudit.weeks import IsoWeek

log = logging.getLogger(__name__)


def week_for(params: Mapping[str, Any] | None, logical_date: datetime | None, run_after: datetime | None,
             tz: str = "Europe/London") -> IsoWeek:
    """The week a run audits: ``params.week`` if given, else the last complete week at the run's date."""
    requested = (params or {}).get("week")
    if requested:
        return IsoWeek.parse(str(requested))
    moment = logical_date or run_after
    if moment is None:
        raise ValueError("the run has neither a logical date nor a run_after date to derive its week from")
    return IsoWeek.last_complete(moment, tz)


MAX_BATCHES = 1000  # below Airflow's [core] max_map_length (1024), with room to spare


def auto_batch_size(schools: int, max_batches: int = MAX_BATCHES) -> int:
    """Schools per mapped task so that a trust of any size maps into at most ``max_batches`` tasks.

    Small trusts get one school per task (a failure names one school); 24,000 schools get 24.
    """
    return max(1, -(-schools // max(1, max_batches)))


def plan(week: IsoWeek, run_id: str, env: Environment | None = None, *, batch_size: int = 0) -> list[dict[str, Any]]:
    """Record the run and return one item per batch of schools, for dynamic task mapping.

    ``batch_size`` 0 (the default) picks ``auto_batch_size``; a positive value is used as given.
    """
    env = env or Environment.from_env()
    config, seal = env.plan_config()  # parsed from the YAML itself: the ids and the sealed snapshot agree
    ids = [s.id for s in config.schools]
    env.store().start_run(run_id, week, config_source=config.source, schools=ids)
    size = batch_size if batch_size > 0 else auto_batch_size(len(ids))
    return [{"week": str(week), "run_id": run_id, "schools": ids[i:i + size], "config": seal}
            for i in range(0, len(ids), size)]


def run_env(items: Sequence[Mapping[str, Any]] | None, env: Environment | None = None) -> Environment:
    """The whole run's environment for the steps after the batches (Trust report, archive): every school
    ``plan`` listed, from the config snapshot it sealed, so an edit of the YAML during the run changes
    nothing of it. Items without a seal (or none): the config as it is now."""
    env = env or Environment.from_env()
    items = [item for item in items or () if isinstance(item, Mapping)]
    seal = items[0].get("config") if items else None
    if not isinstance(seal, str) or not seal:
        return env
    return env.for_batch([str(s) for item in items for s in item.get("schools") or ()], seal)


def batch_env(item: Mapping[str, Any], env: Environment | None = None) -> Environment:
    """A batch task's environment: it loads only the batch's schools, from the config snapshot ``plan``
    sealed (``item["config"]``); an item without a seal loads the whole config."""
    env = env or Environment.from_env()
    seal = item.get("config")
    return env.for_batch([str(s) for s in item["schools"]], seal) if isinstance(seal, str) else env


MAP_INDEX_LABEL_MAX = 250  # Airflow stores the label in task_instance.rendered_map_index, varchar(250) on PostgreSQL


def batch_label(ids: Sequence[str]) -> str:
    """A mapped task's label in Airflow's UI: the school id, or "24 schools: first .. last" for a batch.

    Never longer than Airflow's column: ids joined by commas failed every task of a large batch on
    PostgreSQL ("value too long") after its work was done; SQLite does not enforce the length.
    """
    def cut(text: str, size: int) -> str:
        return text if len(text) <= size else text[: size - 3] + "..."

    if not ids:
        return "no schools"
    if len(ids) == 1:
        return cut(ids[0], MAP_INDEX_LABEL_MAX)
    return cut(f"{len(ids)} schools: {cut(ids[0], 100)} .. {cut(ids[-1], 100)}", MAP_INDEX_LABEL_MAX)


def collect_school(school_id: str, week: IsoWeek, run_id: str, env: Environment | None = None, *,
                   final_attempt: bool = True) -> dict[str, Any]:
    """Collect every account of a school for the week; store posts and each account's status.

    Unavailable accounts and bad credentials are recorded, not retried. A transient failure is
    raised (so Airflow retries) unless this is the final attempt, when it is recorded as an error
    and the school's affected checks become not_evaluated. Any other exception from a collector (a
    parser's RecursionError on hostile input) is that account's error, named in one line: the school
    finishes with its other accounts. Posts from accounts that did succeed are stored before anything
    is raised, so nothing collected is lost.
    """
    return collect_schools([school_id], week, run_id, env, final_attempt=final_attempt)[0]


@dataclass(slots=True)
class _SchoolJobs:
    """One school's part of a batch's collection: its accounts, their sessions and jobs, in order."""

    school_id: str
    accounts: list[Account]
    sessions: list[HttpSession]
    jobs: list[Job[Any]]
    raw: RawArchive  # the run's raw folder for the school: each failure's reason is kept beside the pages


def collect_schools(school_ids: Sequence[str], week: IsoWeek, run_id: str, env: Environment | None = None, *,
                    final_attempt: bool = True) -> list[dict[str, Any]]:
    """Collect every account of every school of a batch through one bounded pool (``collect_school``'s
    rules for each school), then store each school's posts and statuses, in the batch's order.

    The schools of a batch no longer wait for each other: a batch of 24 schools kept at most three
    requests in flight (one school's accounts) while its platforms allowed far more. The per-bucket
    limits of ``collectors._pool`` hold for the whole process, so the platforms see no more than
    before. A transient failure of any school is raised after every school is stored (Airflow then
    retries the batch) unless this is the final attempt.
    """
    env = env or Environment.from_env()
    config = env.load()
    store = env.store()
    # Credentials read once a batch where they are found (BatchCredentials), not once an account: each lookup is
    # an Airflow Connection lookup (an execution-API request), 900 of them for 300 schools' accounts.
    credentials = BatchCredentials()
    parts = [_school_jobs(config, store, config.school(school_id), week, run_id, env, credentials)
             for school_id in school_ids]
    outcomes = iter(run_bounded([job for part in parts for job in part.jobs]))
    out: list[dict[str, Any]] = []
    transient: list[str] = []
    for part in parts:
        problems, summary = _record_school(part, [next(outcomes) for _ in part.jobs], store, week, run_id)
        if problems:
            transient.append(f"school {part.school_id}: " + "; ".join(problems))
        out.append(summary)
    if transient and not final_attempt:
        raise TransientError(" | ".join(transient))  # the retry reads the checks' inputs
    fetch_inputs(config, store, [config.school(s) for s in school_ids], week, run_id, env)
    return out


def fetch_inputs(config: TrustConfig, store: Store, schools: Sequence[School], week: IsoWeek, run_id: str,
                 env: Environment) -> None:
    """The collect step's last part: for each school, read what its checks need from the network besides
    its posts (its calendars; where the links of the posts the checks will read lead) and keep it in the
    run's raw folder (:func:`socialaudit.inputs.fetch`), so that the check step reads only what is kept.
    One resolver serves the batch; a school's failure is its own (its check says what was not read)."""
    resolver = resolver_for(config, store=store)
    try:
        for school in schools:
            posts_since, posts = checked_posts(config, school, week, store)
            request = InputRequest(config=config, school=school, week=week, store=store, run_id=run_id,
                                   posts_since=posts_since, raw=raw_folder(env, week, run_id, school.id),
                                   resolver=resolver)
            fetch(request, posts)
    finally:
        if resolver is not None:
            resolver.close()


def raw_folder(env: Environment, week: IsoWeek, run_id: str, school_id: str) -> RawArchive:
    """Where a run keeps what it read for a school (raw bodies, calendars, link resolutions), to be sealed."""
    return RawArchive(env.output / "raw" / str(week) / safe_run_id(run_id) / school_id)


def checked_posts(config: TrustConfig, school: School, week: IsoWeek, store: Store) -> tuple[datetime, list[Post]]:
    """(from when, the stored posts) the school's checks read for the week: back over the event lead times,
    to a day after the week (those judging the week filter with ``in_week``)."""
    since, until = week.bounds(config.trust.timezone)
    posts_since = since - timedelta(days=lookback_days(config, school))
    return posts_since, list(store.posts_for(school.id, posts_since, until + timedelta(days=1)))


@dataclass(slots=True)
class BatchCredentials:
    """The credentials a batch reads, by platform and connection: each lookup is an Airflow Connection lookup, an
    execution-API request, and each request costs Airflow several milliseconds of CPU.

    Credentials found are kept for the batch, and so is a connection Airflow says is not defined (a public
    Mastodon instance needs none: every account of a 24-school batch asked again, about a third of a run's
    execution-API requests). A lookup that failed (Airflow's API answered with another error) raises
    TransientError and is kept for nothing: that account is retried, and the next account asks again. A
    platform whose collector reads none (``takes_credentials``: website feeds, Bluesky) is never looked up."""

    found: dict[tuple[str, str], dict[str, Any] | None] = field(default_factory=dict)

    def for_account(self, account: Account) -> dict[str, Any] | None:
        if not takes_credentials(account.platform):
            return None
        key = (account.platform, account.connection)
        if key not in self.found:
            self.found[key] = load_credentials(*key)  # raises TransientError when Airflow could not say
        return self.found[key]


def _school_jobs(config: TrustConfig, store: Store, school: School, week: IsoWeek, run_id: str,
                 env: Environment, known: BatchCredentials | None = None) -> _SchoolJobs:
    """The collection jobs of one school's accounts (credentials read here, on the task's thread; ``known``
    keeps those already read for the batch, by platform and connection)."""
    since, until = week.bounds(config.trust.timezone)
    # Collect a little beyond the week on both sides (cross-posts, late-indexed posts), and back over
    # the longest event lead time, so event promotion sees the posts that promoted this week's events.
    window = (since - timedelta(days=lookback_days(config, school)), until + timedelta(days=1))
    # Removal tracking: an account with a flagged comment still open is collected back to its post.
    reach = comment_reach(store, config, school, week)
    archive = raw_folder(env, week, run_id, school.id)
    known = BatchCredentials() if known is None else known
    part = _SchoolJobs(school_id=school.id, accounts=list(school.accounts), sessions=[], jobs=[], raw=archive)
    for account in school.accounts:
        # Credentials are read here, on the task's thread (Airflow's Connection lookup), then handed over. A lookup
        # that failed (Airflow's API, not a connection that is not defined) is that account's transient failure.
        lookup_failed: TransientError | None = None
        try:
            credentials = known.for_account(account)
        except TransientError as exc:
            credentials, lookup_failed = None, exc
        if credentials is None and config.demo is not None:
            # The demo trust talks to the simulator, which accepts the demo tokens its config block lists.
            credentials = config.demo.credentials_for(account.platform)
        secrets = tuple(str(v) for v in (credentials or {}).values() if isinstance(v, str) and v)
        # one session per account: its account_deadline bounds that account alone
        session = make_session(policy=HttpPolicy(account_deadline=settings.account_deadline(),
                                                 max_rate_limit_wait=rate_limit_wait_for(account.platform)), secrets=secrets,
                               allow=config.allowed_origins())
        part.sessions.append(session)
        collector = get_collector(account.platform)

        start = min(window[0], reach.get((account.platform, account.key), window[0]))

        def run(account=account, session=session, collector=collector, credentials=credentials, start=start,  # type: ignore[no-untyped-def]
                failed=lookup_failed):
            if failed is not None:
                raise failed
            return collector(account, school=school.id, session=session, since=start, until=window[1],
                             base_url=account.base_url or None, credentials=credentials,
                             archive=archive.for_account(account.platform, account.key))

        part.jobs.append(Job(platform=account.platform, bucket=rate_bucket(account), run=run))
    return part


def _record_school(part: _SchoolJobs, outcomes: Sequence[Outcome[Any]], store: Store, week: IsoWeek,
                   run_id: str) -> tuple[list[str], dict[str, Any]]:
    """Store one school's posts and each account's status; (its transient problems, its summary)."""
    school_id = part.school_id
    statuses: list[AccountCollection] = []
    collected: list[tuple[int, Account, CollectionResult]] = []  # (its status's place, the account, what came)
    transient: list[str] = []
    stop: BaseException | None = None
    for account, session, outcome in zip(part.accounts, part.sessions, outcomes, strict=True):
        exc = outcome.error
        if isinstance(exc, Exception):  # the raw response kept holds for every failure: why, and what came
            _keep_failure(part.raw, account, session.scrub(one_line(exc) if not isinstance(exc, CollectorError)
                                                           else str(exc)), 0, exc)
        if isinstance(exc, AccountError):
            statuses.append(AccountCollection(school=school_id, platform=account.platform, account=account.key,
                                              status=exc.status, message=session.scrub(str(exc))))
            continue
        if isinstance(exc, TransientError):
            message = session.scrub(str(exc))
            transient.append(f"{account.platform} {account.key}: {message}")
            statuses.append(AccountCollection(school=school_id, platform=account.platform, account=account.key,
                                              status=CollectionStatus.ERROR, message=message))
            continue
        if exc is not None and not isinstance(exc, Exception):
            stop = exc  # KeyboardInterrupt, SystemExit: stop the task, once the posts collected are stored
            break
        if exc is not None:
            # Not a collection error: a collector fault on hostile input (a parser's RecursionError, ...).
            # It is that account's error, in one line; the school's other accounts are kept and checked.
            message = session.scrub(one_line(exc))
            log.warning("school %s: %s %s: not collected: %s", school_id, account.platform, account.key, message)
            log.debug("the collector's traceback", exc_info=exc)
            statuses.append(AccountCollection(school=school_id, platform=account.platform, account=account.key,
                                              status=CollectionStatus.ERROR, message=message))
            continue
        result = outcome.value
        assert result is not None  # a job without an error returned its CollectionResult
        if result.failure is not None:
            _keep_failure(part.raw, account, session.scrub(result.stopped), result.pages, result.failure)
        collected.append((len(statuses), account, result))
        statuses.append(result.summary(school_id, account.platform, account.key))
        if result.retry:  # a later page failed transiently: retried like any transient failure, final attempt aside
            transient.append(f"{account.platform} {account.key}: {session.scrub(result.stopped)}")
    try:
        with store.transaction():  # the school's posts and statuses: one commit, not one per account and one more
            for _, _, result in collected:
                store.upsert_posts(result.posts, run_id=run_id)
            if stop is None:
                store.record_collections(week, school_id, statuses, run_id=run_id)
    except REFUSED:
        # One account's posts the database refused (the transaction is gone with them): each account on its own,
        # so the others' are kept and that one is an error named in one line, as any account's failure is.
        for place, account, result in collected:
            try:
                store.upsert_posts(result.posts, run_id=run_id)
            except REFUSED as exc:
                message = f"its posts could not be stored: {one_line(getattr(exc, 'orig', None) or exc)}"
                log.warning("school %s: %s %s: %s", school_id, account.platform, account.key, message)
                statuses[place] = AccountCollection(school=school_id, platform=account.platform, account=account.key,
                                                    status=CollectionStatus.ERROR, message=message)
        if stop is None:
            store.record_collections(week, school_id, statuses, run_id=run_id)
    if stop is not None:
        raise stop
    return transient, {"school": school_id, "week": str(week), "run_id": run_id,
                       "accounts": {f"{s.platform}:{s.account}": s.status.value for s in statuses},
                       "posts": sum(s.posts for s in statuses)}


def _keep_failure(raw: RawArchive, account: Account, reason: str, pages_kept: int, exc: Exception) -> None:
    """Keep an account's failure in the run's raw folder: its reason, the redirects followed and the start of
    a refused body (``failed.json``, ``failed.body.gz``), beside the pages kept. Never raises: an account's
    record must not fail the school."""
    try:
        raw.for_account(account.platform, account.key).save_refusal(
            platform=account.platform, account=account.key, reason=reason, pages_kept=pages_kept,
            answer=exc.answer if isinstance(exc, CollectorError) else None)
    except OSError as err:
        log.warning("%s %s: its failure could not be kept in raw/: %s", account.platform, account.key, err)


def one_line(exc: BaseException, limit: int = 300) -> str:
    """An unexpected exception as the one line a report shows: its type and the start of its message."""
    text = " ".join(str(exc).split())
    text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def rate_bucket(account: Account) -> str:
    """The rate-limit bucket an account's requests share: its platform and the host they go to.

    API platforms are keyed by their API root (``base_url``; one bucket per Mastodon instance);
    website feeds by the feed's host, so that each school's small web server gets its own few
    connections while two feeds on one site share them.
    """
    from urllib.parse import urlsplit

    where = account.base_url or (urlsplit(account.url).netloc if account.url else "")
    return f"{account.platform}:{where}"


def lookback_days(config: TrustConfig, school: School) -> int:
    """Days before the week that collection and checks reach back: at least 1, and the longest
    event lead time (event_promotion's ``lead_days``, or an event's own)."""
    return max(1, event_lookback(config, school))


def comment_reach(store: Store, config: TrustConfig, school: School, week: IsoWeek) -> dict[tuple[str, str], datetime]:
    """(platform, account) -> how far back to collect so the posts of open flagged comments come again."""
    try:
        return tracking_reach(tracked_comments(store, config, school, week))
    except ValueError:
        return {}  # a bad checks.comments setting: collect as usual; the check task reports the config error


def record_comment_observations(store: Store, week: IsoWeek, school_id: str, results: Iterable[CheckResult], run_id: str) -> None:
    """Store what the comments check saw (flagged comments visible or removed) for the next weeks."""
    for r in results:
        if r.comment_tracking is not None and r.status.value != "error":
            store.record_comment_observations(week, school_id, r.comment_tracking.observations, run_id=run_id,
                                              accounts=r.comment_tracking.evaluated)


def check_school(school_id: str, week: IsoWeek, run_id: str, env: Environment | None = None,
                 *, services: Mapping[str, object] | None = None) -> dict[str, Any]:
    """Run every registered check on the school's stored posts for the week; store the results.

    The check step opens no connection: the calendars and link resolutions the checks judge are the
    ones the collect step kept in the run's raw folder (``fetch_inputs``). Reviewed suppressions
    (config and CLI) are applied to the results before they are stored.
    """
    env = env or Environment.from_env()
    config = env.load()
    school = config.school(school_id)
    store = env.store()
    # The checks get the posts back over the event lead times; those judging the week filter with in_week().
    posts_since, posts = checked_posts(config, school, week, store)
    collections = store.collections_for(week, school_id)
    results = run_school_checks(config, school, posts, week, collections=collections, services=services, store=store,
                                run_id=run_id, posts_since=posts_since, raw=raw_folder(env, week, run_id, school_id))
    with store.transaction():  # the results and what the comments check saw: one commit
        store.save_results(week, school_id, results, run_id=run_id)
        record_comment_observations(store, week, school_id, results, run_id)
    return {"school": school_id, "week": str(week), "run_id": run_id,
            "statuses": {r.check: r.status.value for r in results},
            "findings": sum(len(r.findings) for r in results),
            "suppressed": sum(1 for r in results for f in r.findings if f.suppressed)}


def run_school_checks(config: TrustConfig, school: School, posts: Sequence[Post], week: IsoWeek, *,
                      collections: Sequence[AccountCollection] = (), names: Sequence[str] | None = None,
                      services: Mapping[str, object] | None = None, store: Store | None = None,
                      resolve: bool = True, run_id: str = "", posts_since: datetime | None = None,
                      raw: RawArchive | None = None) -> list[CheckResult]:
    """Run the checks for one school as the DAG does; ``check_school`` and ``scan`` both come here.

    The inputs the selected checks declared (``@check(..., needs=...)``) are provided first, each by
    its provider in :mod:`socialaudit.inputs` (``services`` may give some already: a test's, or the
    CLI's one resolver for every school). Reviewed suppressions are applied after: the config's, and
    the store's CLI ones when there is a store.
    """
    request = InputRequest(config=config, school=school, week=week, store=store, resolve=resolve, run_id=run_id,
                           collections=tuple(collections), posts_since=posts_since, raw=raw)
    services = provide(needs_of(select(names)), request, services)
    results = run_checks(school, posts, week=week, config=config, collections=collections, names=names,
                         services=services)
    return suppressions.apply(results, suppressions.rules(config, store), week)



def wants_collection(params: Mapping[str, Any] | None) -> bool:
    """``params.collect`` (default true); false audits the week from stored posts (a backfill)."""
    value = (params or {}).get("collect", True)
    if isinstance(value, str):
        if value.strip().lower() not in ("true", "false", "1", "0", "yes", "no"):
            raise ValueError(f"param 'collect' must be true or false, not {value!r}")
        return value.strip().lower() in ("true", "1", "yes")
    return True if value is None else bool(value)


def collect_from_store(school_id: str, week: IsoWeek, run_id: str, env: Environment | None = None) -> dict[str, Any]:
    """Audit a past week from stored posts, without collecting again (``{"collect": false}``, ``run --from-store``).

    Each account keeps the collection stored for that week, marked as audited from the store
    (with the run that collected it); an account with no stored collection for the week, or whose
    posts' text was purged under ``trust.retention.post_texts``, is recorded ``not_collected``, so
    the checks that need it are "not evaluated", never "pass".
    """
    env = env or Environment.from_env()
    config = env.load()
    school = config.school(school_id)
    store = env.store()
    since, until = week.bounds(config.trust.timezone)
    stored = {(c.platform, c.account): c for c in store.collections_for(week, school_id)}
    origins = store.collection_runs(week, school_id)
    purged = store.purged_accounts(school_id, since - timedelta(days=1), until + timedelta(days=1))
    statuses: list[AccountCollection] = []
    for account in school.accounts:
        previous = stored.get((account.platform, account.key))
        if (account.platform, account.key) in purged:
            statuses.append(AccountCollection(
                school=school_id, platform=account.platform, account=account.key, status=CollectionStatus.NOT_COLLECTED,
                message=f"{FROM_STORE}: the texts of this week's posts were purged (trust.retention.post_texts)",
                from_store=True))
        elif previous is None:
            statuses.append(AccountCollection(
                school=school_id, platform=account.platform, account=account.key, status=CollectionStatus.NOT_COLLECTED,
                message=f"{FROM_STORE}: no collection of this account is stored for {week}", from_store=True))
        elif previous.from_store:
            statuses.append(previous)  # a rerun from the store: already says where it came from
        else:
            origin = origins.get((account.platform, account.key), "")
            detail = f": {previous.message}" if previous.message else ""
            statuses.append(AccountCollection(
                school=school_id, platform=previous.platform, account=previous.account, status=previous.status,
                message=f"{FROM_STORE} (collected by run {origin}){detail}", posts=previous.posts,
                skipped=previous.skipped, pages=previous.pages, from_store=True))
    store.record_collections(week, school_id, statuses, run_id=run_id)
    fetch_inputs(config, store, [school], week, run_id, env)  # calendars and links are this run's, not the stored run's
    return {"school": school_id, "week": str(week), "run_id": run_id, "from_store": True,
            "accounts": {f"{s.platform}:{s.account}": s.status.value for s in statuses},
            "posts": sum(s.posts for s in statuses if s.status.collected)}


def gather_school(school_id: str, week: IsoWeek, run_id: str, env: Environment | None = None, *,
                  collect: bool = True, final_attempt: bool = True) -> dict[str, Any]:
    """The collect step: collect the school's accounts, or with ``collect=False`` (a backfill) take
    the week's stored collection (``collect_from_store``)."""
    if collect:
        return collect_school(school_id, week, run_id, env, final_attempt=final_attempt)
    return collect_from_store(school_id, week, run_id, env)


def gather_schools(school_ids: Sequence[str], week: IsoWeek, run_id: str, env: Environment | None = None, *,
                   collect: bool = True, final_attempt: bool = True) -> list[dict[str, Any]]:
    """The collect step for a batch: its schools collected together (``collect_schools``; one school
    goes through ``collect_school``), or taken from the store one by one with ``collect=False``."""
    if not collect:
        return [collect_from_store(school_id, week, run_id, env) for school_id in school_ids]
    if len(school_ids) == 1:
        return [collect_school(school_ids[0], week, run_id, env, final_attempt=final_attempt)]
    return collect_schools(school_ids, week, run_id, env, final_attempt=final_attempt)


def render_school(school_id: str, week: IsoWeek, run_id: str, env: Environment | None = None) -> dict[str, Any]:
    """Write the school's HTML report and the head's email to the outbox."""
    env = env or Environment.from_env()
    config = env.load()
    store = env.store()
    view = reports.school_view(config, config.school(school_id), week, store)
    path = reports.write_school_report(view, env.output)
    _message, data = mail.school_email(view, config)
    eml = mail.write_outbox(data, env.output / "outbox" / str(week), school_id)
    return {"school": school_id, "week": str(week), "run_id": run_id, "report": str(path), "email": str(eml),
            "status": view["overall"]["status"]}


def audit_schools(item: Mapping[str, Any], env: Environment | None = None, *, final_attempt: bool = True,
                  collect: bool = True) -> list[dict[str, Any]]:
    """Collect (or, with ``collect=False``, take from the store), check and render each school of a batch."""
    week = IsoWeek.parse(item["week"])
    env = batch_env(item, env)
    gather_schools(item["schools"], week, item["run_id"], env, collect=collect, final_attempt=final_attempt)
    out = []
    for school_id in item["schools"]:
        check_school(school_id, week, item["run_id"], env)
        out.append(render_school(school_id, week, item["run_id"], env))
    return out


def deliver_school(school_id: str, week: IsoWeek, run_id: str, env: Environment | None = None, *,
                   resend: bool = False, conn_id: str = delivery.CONN_ID, smtp: bool | None = None,
                   session: delivery.SmtpSession | None = None) -> delivery.Delivery:
    """Deliver one school's outbox email for the week (rendering it first if the outbox lacks it).

    ``smtp``: whether the SMTP connection exists, when the caller has looked (``deliver_schools``).
    ``session``: the batch's SMTP connection, when the caller sends several (None: one for this email)."""
    env = env or Environment.from_env()
    path = mail.outbox_path(env.output / "outbox" / str(week), school_id)
    if not path.is_file():
        render_school(school_id, week, run_id, env)
    # without SMTP nothing is sent: the headers decide (recipients, Message-ID)
    message = delivery.read_eml(path, headers_only=smtp is False)
    return delivery.deliver(message, week=week, school=school_id, store=env.store(), run_id=run_id,
                            resend=resend, conn_id=conn_id, smtp=smtp, session=session)


def deliver_schools(rendered: Sequence[Mapping[str, Any]], env: Environment | None = None, *,
                    conn_id: str = delivery.CONN_ID) -> list[dict[str, Any]]:
    """The deliver step for a batch: each rendered school's email (``deliver_school``), each entry returned with
    its ``delivery``. The SMTP connection is looked up once for the batch (each look is an Airflow Connection
    lookup, an execution-API request) and opened once for it (``delivery.SmtpSession``), not once per email.

    A school whose email the server did not accept does not stop the others; after the whole batch,
    ``delivery.DeliveryFailed`` names each such school and why, so Airflow retries the task, and the retry sends
    only what was not recorded as sent."""
    if not rendered:
        return []
    env = env or Environment.from_env()
    smtp = delivery.smtp_configured(conn_id)
    out: list[dict[str, Any]] = []
    failures: dict[str, BaseException] = {}
    with delivery.SmtpSession(conn_id) as session:
        for r in rendered:
            school = str(r["school"])
            try:
                done = deliver_school(school, IsoWeek.parse(str(r["week"])), str(r["run_id"]), env,
                                      conn_id=conn_id, smtp=smtp, session=session)
            except (OSError, smtplib.SMTPException) as exc:  # not accepted: this school only
                failures[school] = exc
                continue
            out.append({**r, "delivery": done.to_dict()})
    if failures:
        raise delivery.DeliveryFailed(failures, sent=len(out))
    return out


def trust_report(week: IsoWeek, run_id: str, rendered: Iterable[Any], env: Environment | None = None, *,
                 plan_items: Sequence[Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """Render the Trust report from the schools that finished; name the ones that did not. With ``plan``'s
    items, the run's schools and settings are those plan sealed (``run_env``), not the YAML as it is now."""
    env = run_env(plan_items, env) if plan_items else (env or Environment.from_env())
    config = env.load()
    store = env.store()
    done: set[str] = set()
    for item in rendered or ():  # None, or None items, when no school's audit finished
        for entry in item if isinstance(item, list) else [item]:
            if isinstance(entry, Mapping) and entry.get("school"):
                done.add(str(entry["school"]))
    missing = [s.id for s in config.schools if s.id not in done]
    view = reports.trust_view(config, week, store, missing=missing)
    path = reports.write_trust_report(view, env.output)
    store.finish_run(run_id, state="failed" if missing else "success", missing=missing)
    return {"week": str(week), "run_id": run_id, "report": str(path), "missing": missing,
            "schools": sorted(done)}
