"""Airflow's cluster policy for socialaudit: a task whose pool does not exist fails at once.

Airflow's scheduler never queues a task instance whose pool is missing: it logs "Tasks using
non-existent pool ... will not be scheduled" and the run waits for ever, with "No Status" in the UI.
A task cannot see the pool table (the Task SDK has no access to the metadata database), so the check
is made here, in ``task_instance_mutation_hook``, which Airflow calls when it creates a task instance
(the scheduler when a run starts and when a mapped task expands; the api-server when a run is
triggered from the UI or the REST API), inside that component's own database transaction.
A new task instance in a pool that does not exist is created failed, with a note (shown in the UI on
the task instance and on the run) saying which pool is missing and how to create it. Its downstream
tasks are then "upstream failed", the Trust report names the schools whose audit did not finish, and
the run fails within seconds instead of waiting.

Airflow imports ``airflow_local_settings`` from ``sys.path`` when it starts (``settings.initialize``);
``plugins/`` is there as the plugins folder (and ``$AIRFLOW_HOME/config`` before it: a deployment that
already has its own ``airflow_local_settings.py`` there should import this hook from it). The plugin
loader skips this file (``plugins/.airflowignore``). Nothing here is imported until the hook runs.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

log = logging.getLogger(__name__)
DEFAULT_POOL = "default_pool"  # Airflow's own pool: it always exists (it cannot be deleted)


def missing_pool_note(pool: str) -> str:
    """What the task instance and the run say when their pool does not exist."""
    return (f"Failed at once: the pool '{pool}' does not exist, so Airflow would never start this task. "
            f"Create it (Admin > Pools, or `airflow pools import config/pools.json`), then clear the failed task.")


def task_instance_mutation_hook(task_instance: Any, dag_run: Any = None) -> None:
    """Fail a new task instance whose pool does not exist, with a note that says so.

    Only a task instance not yet scheduled (no state) is touched, and only when the run is at hand:
    the pool is looked up in the caller's own session (the hook must not open or commit one).
    """
    pool = getattr(task_instance, "pool", None)
    if not pool or pool == DEFAULT_POOL or task_instance.state is not None or dag_run is None:
        return
    from airflow.models.pool import Pool
    from airflow.models.taskinstance import TaskInstanceNote
    from airflow.utils.state import TaskInstanceState
    from sqlalchemy import select
    from sqlalchemy.orm import object_session

    session = object_session(dag_run)
    if session is None:
        return
    with session.no_autoflush:
        if session.scalar(select(Pool.id).where(Pool.pool == pool).limit(1)) is not None:
            return
    note = missing_pool_note(pool)
    log.error("%s (task %s of run %s)", note, task_instance.task_id, dag_run.run_id)
    now = datetime.now(timezone.utc)
    task_instance.state = TaskInstanceState.FAILED
    task_instance.start_date = task_instance.end_date = now
    task_instance.duration = 0.0
    if object_session(task_instance) is not None:
        task_instance.note = note  # a task instance in the session: its note goes with it
    else:
        # A new task instance is inserted with bulk_save_objects, which saves no related row: the note
        # is added on its own, by the task instance's id (inserted after it, in the same flush).
        with session.no_autoflush:
            existing = session.get(TaskInstanceNote, task_instance.id)
        if existing is None:
            row = TaskInstanceNote(content=note)
            row.ti_id = task_instance.id
            session.add(row)
        else:
            existing.content = note
    if not dag_run.note:
        dag_run.note = note
