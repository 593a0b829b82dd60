"""Scale by configuration: schools are mapped in batches so a trust of any size stays under Airflow's
1,024-instance map limit; the collect task runs in a pool declared in config/pools.json and every
mapped task is bounded by ``max_active_tis_per_dagrun``."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml

from socialaudit.pipeline import MAP_INDEX_LABEL_MAX, MAX_BATCHES, Environment, auto_batch_size, batch_label, plan
from socialaudit.weeks import IsoWeek
from tests.conftest import ROOT, SHARED_DATA

ENGLAND = SHARED_DATA / "schools-england" / "schools_2015.tsv"


@pytest.mark.parametrize(("schools", "expected"), [
    (1, 1), (6, 1), (1000, 1), (1001, 2), (10_000, 10), (24_000, 24), (30_000, 30), (1_024_000, 1024),
])
def test_auto_batch_size(schools, expected):
    assert auto_batch_size(schools) == expected
    assert -(-schools // expected) <= MAX_BATCHES


def _school_names(count: int) -> list[str]:
    """Names for a generated trust: England's school names when the shared data set is present."""
    names: list[str] = []
    if ENGLAND.exists():
        with ENGLAND.open(encoding="utf-8", newline="") as handle:
            names = [row["name"] for row in csv.DictReader(handle, delimiter="\t") if row.get("name")]
    names = names[:count]
    names += [f"Generated School {i}" for i in range(len(names), count)]
    return names


def write_large_config(count: int, target: Path) -> Path:
    """A valid trust config with ``count`` schools, one RSS account each on fictional hosts."""
    schools = [{"id": f"school-{i:05d}", "name": name, "head_email": f"head@school-{i:05d}.example.sch.uk",
                "accounts": [{"platform": "rss", "url": f"https://school-{i:05d}.example.sch.uk/feed/"}]}
               for i, name in enumerate(_school_names(count))]
    raw = {"trust": {"name": "Generated Trust (fictional)", "timezone": "Europe/London"}, "schools": schools}
    target.write_text(yaml.dump(raw, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=False), encoding="utf-8")
    return target


@pytest.mark.slow
def test_thirty_thousand_schools_plan_into_at_most_1024_batches(tmp_path):
    from airflow.configuration import conf

    config = write_large_config(30_000, tmp_path / "england.yaml")
    env = Environment(config=config, output=tmp_path / "out", db_url=f"sqlite:///{tmp_path / 'store.db'}")
    items = plan(IsoWeek.parse("2026-W47"), "scale-test", env)
    assert len(items) <= conf.getint("core", "max_map_length") == 1024
    assert len(items) == 1000 and {len(i["schools"]) for i in items} == {30}
    flat = [s for item in items for s in item["schools"]]
    assert flat == [f"school-{i:05d}" for i in range(30_000)]  # each school once, in config order
    # What the mapped tasks receive through XCom stays small: ids, never school records.
    assert len(json.dumps(items)) < 1_500_000


@pytest.mark.parametrize(("ids", "expected"), [
    (["st-aidans"], "st-aidans"),
    (["st-aidans", "holy-cross", "st-hildas"], "3 schools: st-aidans .. st-hildas"),
    ([f"school-{i:05d}" for i in range(30)], "30 schools: school-00000 .. school-00029"),
])
def test_a_batch_label_names_the_batch_briefly(ids, expected):
    assert batch_label(ids) == expected


@pytest.mark.parametrize("ids", [["x" * 300], ["a" * 64] * 1000, [f"school-{i:05d}-" + "long" * 40 for i in range(24)]])
def test_a_batch_label_always_fits_airflows_map_index_column(ids):
    """rendered_map_index is varchar(250) on PostgreSQL: a longer label failed every task of the batch there."""
    label = batch_label(ids)
    assert 0 < len(label) <= MAP_INDEX_LABEL_MAX == 250


def test_an_explicit_batch_size_wins(tmp_path):
    config = write_large_config(25, tmp_path / "t.yaml")
    env = Environment(config=config, output=tmp_path / "out", db_url=f"sqlite:///{tmp_path / 'store.db'}")
    items = plan(IsoWeek.parse("2026-W47"), "explicit", env, batch_size=10)
    assert [len(i["schools"]) for i in items] == [10, 10, 5]


def test_collect_runs_in_a_declared_pool_and_mapped_tasks_are_bounded():
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=ROOT / "dags").dags["trust_weekly_audit"]
    pools = json.loads((ROOT / "config" / "pools.json").read_text(encoding="utf-8"))
    collect = dag.get_task("audit.collect")
    assert collect.pool in pools
    for task_id in [t.task_id for t in dag.tasks if t.task_id.startswith("audit.")]:
        limit = dag.get_task(task_id).max_active_tis_per_dagrun
        assert limit is not None and limit >= 1, task_id
