"""
### Trust weekly social media audit

Every Monday at 06:00 (Europe/London) this DAG audits the previous ISO week for every school of the
trust against the social media policy (section 4): it collects each official account's public
posts, runs every registered policy check, writes one report per school and the head's email,
sends it (SMTP connection `smtp_default`; without one it stays in the outbox; a retry never sends
a week's email twice), then the Trust report. A school whose audit did not finish is named in the
Trust report and the run is marked **failed** by the last task, so a broken school never hides behind a green run.
Every run, failed or partial ones too, is then sealed into the hash-chained audit archive
(`SOCIALAUDIT_ARCHIVE`, default `<output>/archive`; `python -m socialaudit history verify` checks it).

Trigger with `{"week": "2026-W47"}` to audit a particular week; add `"collect": false` to audit it
from the posts already stored (a backfill: accounts with no stored collection for the week are "not evaluated"). Config: `SOCIALAUDIT_CONFIG`;
output: `SOCIALAUDIT_OUTPUT`; store: `SOCIALAUDIT_DB_URL`. The code lives in `plugins/`.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, get_current_context, task, task_group

# standard library only: the one module of ours the DAG file loads when parsed (tests/dags/test_integrity.py)
from socialaudit import settings

# Deployment settings (environment variables, documented in docs/operations.md, read by settings.dag_knobs).
KNOBS = settings.dag_knobs()
# Schools per mapped task; 0 (default) = automatic: 1 up to 1,000 schools, then ceil(schools / 1000),
# so the map stays under Airflow's 1,024-instance limit.
BATCH_SIZE = KNOBS.batch_size
# Scaling (docs/operations.md, "Sizing"): the pool bounds collect tasks across all runs (config/pools.json),
# max_active_tis_per_dagrun bounds each mapped task within one run.
COLLECT_POOL = KNOBS.collect_pool
MAX_ACTIVE_PER_RUN = KNOBS.max_active_per_run
RETRIES = KNOBS.retries
RETRY_DELAY = timedelta(seconds=KNOBS.retry_delay_seconds)
# No task runs forever: every HTTP exchange has its own total deadline (collectors._http), and each
# task attempt is stopped after this long (then retried like any failure).
TASK_TIMEOUT = timedelta(minutes=KNOBS.task_timeout_minutes)


def _week_and_run(item: dict) -> tuple:
    # local: parsing the DAG file must not load the package
    from socialaudit.weeks import IsoWeek

    return IsoWeek.parse(item["week"]), item["run_id"]


# Every task imports socialaudit inside its body: the DAG file is parsed every 30 s and must not load
# the package (tests/dags/test_integrity.py); these are the function-local imports the layer test allows.
@dag(
    dag_id="trust_weekly_audit",
    schedule="0 6 * * 1",
    start_date=pendulum.datetime(2026, 1, 5, tz="Europe/London"),
    catchup=False,
    max_active_runs=1,
    tags=["socialaudit", "policy-audit", "weekly"],
    doc_md=__doc__,
    params={"week": Param(None, type=["null", "string"], description="ISO week to audit, e.g. 2026-W47"),
            "collect": Param(True, type="boolean",
                             description="false: audit from stored posts without collecting again (backfill)")},
    default_args={
        "owner": "cio",
        "retries": RETRIES,
        "retry_delay": RETRY_DELAY,
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=30),
        "execution_timeout": TASK_TIMEOUT,
    },
)
def trust_weekly_audit():
    @task
    def plan() -> list[dict]:
        """Record the run and list the schools (in batches) to audit."""
        # local: parsing the DAG file must not load the package
        from socialaudit import pipeline

        ctx = get_current_context()
        week = pipeline.week_for(ctx["params"], ctx.get("logical_date"), ctx["dag_run"].run_after)
        return pipeline.plan(week, ctx["run_id"], batch_size=BATCH_SIZE)

    @task(map_index_template="{{ batch_label }}", pool=COLLECT_POOL, max_active_tis_per_dagrun=MAX_ACTIVE_PER_RUN)
    def collect(item: dict) -> dict:
        """Collect every account of the batch's schools together; raise transient errors so Airflow retries."""
        # local: parsing the DAG file must not load the package
        from socialaudit import pipeline

        ctx = get_current_context()
        ctx["batch_label"] = pipeline.batch_label(item["schools"])
        week, run_id = _week_and_run(item)
        final = ctx["ti"].try_number > ctx["ti"].max_tries
        collect = pipeline.wants_collection(ctx["params"])
        env = pipeline.batch_env(item)  # the batch's schools only, from the config snapshot plan sealed
        pipeline.gather_schools(item["schools"], week, run_id, env, collect=collect, final_attempt=final)
        return item

    @task(map_index_template="{{ batch_label }}", max_active_tis_per_dagrun=MAX_ACTIVE_PER_RUN)
    def check(item: dict) -> dict:
        """Run every policy check on the stored posts."""
        # local: parsing the DAG file must not load the package
        from socialaudit import pipeline

        get_current_context()["batch_label"] = pipeline.batch_label(item["schools"])
        week, run_id = _week_and_run(item)
        env = pipeline.batch_env(item)
        for school in item["schools"]:
            pipeline.check_school(school, week, run_id, env)
        return item

    @task(map_index_template="{{ batch_label }}", max_active_tis_per_dagrun=MAX_ACTIVE_PER_RUN)
    def render(item: dict) -> list[dict]:
        """Write each school's report and the head's email."""
        # local: parsing the DAG file must not load the package
        from socialaudit import pipeline

        get_current_context()["batch_label"] = pipeline.batch_label(item["schools"])
        week, run_id = _week_and_run(item)
        env = pipeline.batch_env(item)
        return [pipeline.render_school(school, week, run_id, env) for school in item["schools"]]

    @task(map_index_template="{{ batch_label }}", max_active_tis_per_dagrun=MAX_ACTIVE_PER_RUN)
    def deliver(rendered: list[dict]) -> list[dict]:
        """Send each head's email (SMTP connection smtp_default, else leave it in the outbox), once per week."""
        # local: parsing the DAG file must not load the package
        from socialaudit import pipeline

        get_current_context()["batch_label"] = pipeline.batch_label([r["school"] for r in rendered])
        # an XCom is JSON: each Delivery goes out as its dict
        return pipeline.deliver_schools(rendered)

    @task_group
    def audit(item: dict):
        return deliver(render(check(collect(item))))

    @task(trigger_rule="all_done")
    def trust_report(rendered, items) -> dict:
        """Build the Trust report from the schools that finished, naming any that did not (the schools and
        settings plan sealed for the run)."""
        # local: parsing the DAG file must not load the package
        from socialaudit import pipeline

        ctx = get_current_context()
        week = pipeline.week_for(ctx["params"], ctx.get("logical_date"), ctx["dag_run"].run_after)
        # rendered is None when no school's audit finished: the report then names them all
        return pipeline.trust_report(week, ctx["run_id"], list(rendered) if rendered is not None else [],
                                     plan_items=list(items) if items is not None else None)

    @task(trigger_rule="all_done")
    def archive(items) -> dict:
        """Seal the run (reports, findings, posts, raw responses, config, rules, code) into the hash-chained archive.

        all_done: a failed or partial run is archived too; auditors need it.
        """
        # local: parsing the DAG file must not load the package
        from socialaudit import archive as audit_archive
        from socialaudit import pipeline

        ctx = get_current_context()
        week = pipeline.week_for(ctx["params"], ctx.get("logical_date"), ctx["dag_run"].run_after)
        # the config plan sealed for the run: its bytes are what the archive keeps
        return audit_archive.archive_run(week, ctx["run_id"], pipeline.run_env(list(items) if items is not None else None))

    @task
    def fail_if_missing(summary: dict, archived: dict) -> None:
        """The leaf: fails the run when any school's audit did not finish (or the run was not archived)."""
        from airflow.sdk.exceptions import AirflowFailException

        if summary["missing"]:
            raise AirflowFailException(f"audit incomplete for {len(summary['missing'])} school(s): {', '.join(summary['missing'])}")

    items = plan()
    summary = trust_report(audit.expand(item=items), items)
    archived = archive(items)
    summary >> archived
    fail_if_missing(summary, archived)


trust_weekly_audit()
