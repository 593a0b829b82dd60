"""The scale benchmark's parts that are logic, not timings: the cluster's scale mode options
(``scripts/cluster_test.py --schools N``), its batch size from N and the slots, the CPU it reads
from /proc, and the simulator's request counts per rate-limit bucket and its generate options."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from types import ModuleType
from zoneinfo import ZoneInfo

import pytest
import yaml

from socialaudit.cli.run import logical_date_for
from socialaudit.simulator.dataset import generated_trust
from socialaudit.simulator.server import STATS_PATH, Simulator, bucket_of
from socialaudit.weeks import IsoWeek
from tests.conftest import ROOT


def _cluster_test() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cluster_test", ROOT / "scripts" / "cluster_test.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


cluster_test = _cluster_test()


@pytest.mark.parametrize(("schools", "slots", "expected"), [
    (6, 2, 1), (24, 4, 2), (300, 8, 10), (2_400, 8, 75), (2_400, 2, 300), (24_000, 2, 3_000), (1, 8, 1)])
def test_scale_batch_size_gives_about_four_batches_a_slot(schools: int, slots: int, expected: int) -> None:
    size = cluster_test.scale_batch_size(schools, slots)
    assert size == expected
    batches = -(-schools // size)
    assert batches <= 4 * slots and batches <= 1000
    assert size * batches >= schools


def test_scale_batch_size_never_maps_more_than_airflow_allows() -> None:
    # a thousand slots would give 4,000 tasks of 1 school: capped at 1,000 tasks
    assert cluster_test.scale_batch_size(24_000, 1_000) == 24
    assert cluster_test.scale_batch_size(0, 0) == 1  # nonsense in, one school a task out


def test_a_runs_task_instances_are_checked_in_one_place() -> None:
    """Both cluster runs (the demo's good run and a scale run) check their task instances with one function:
    every one in success, both workers used; it names the first 20 that are not."""
    one, two = cluster_test.WORKERS
    tis = [{"task_id": "collect", "map_index": i, "state": "success", "hostname": (one, two)[i % 2]} for i in range(5)]
    assert cluster_test.check_task_instances("r1", tis) == {one: 3, two: 2}
    failed = [*tis, *({"task_id": "check", "map_index": i, "state": "failed", "hostname": one} for i in range(25))]
    with pytest.raises(cluster_test.ClusterError, match=r"run r1 has .*'check\[0\]=failed'.*'check\[19\]=failed'\]$"):
        cluster_test.check_task_instances("r1", failed)
    with pytest.raises(cluster_test.ClusterError, match="expected both of"):
        cluster_test.check_task_instances("r1", [t for t in tis if t["hostname"] == one])


@pytest.mark.parametrize("week", ["2026-W47", "2026-W01", "2020-W53", "2026-W13"])
def test_the_simulators_clock_is_the_scheduled_run_of_the_week(week: str) -> None:
    assert cluster_test.logical_date(week) == logical_date_for(IsoWeek.parse(week), "Europe/London")
    assert cluster_test.logical_date("2026-W47") == datetime(2026, 11, 23, 6, tzinfo=ZoneInfo("Europe/London"))


@pytest.mark.parametrize("argv", [["--schools", "-1"], ["--concurrency", "0"], ["--batch-size", "-2"],
                                  ["--latency", "-0.1"], ["--week", "2026-W99"], ["--week", "last week"],
                                  ["--schools", "many"]])
def test_bad_options_are_refused_before_anything_starts(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cluster_test.main(argv)
    assert exit_.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_session_usage_counts_the_cpu_of_children_a_process_has_reaped(tmp_path: Path) -> None:
    """A shell leads its session; its busy Python child ends and is reaped: the CPU stays in the count."""
    busy = "import time\nend = time.process_time() + 0.4\nwhile time.process_time() < end: pass\n"
    marker = tmp_path / "done"
    proc = subprocess.Popen(["sh", "-c", f'"{sys.executable}" -c "$0" && touch "{marker}" && sleep 30', busy],
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists()
        cpu, memory = cluster_test.session_usage([proc.pid], memory=True)
        assert cpu >= 0.35  # the child's 0.4 s, counted in the shell's children's time
        assert memory > 0  # the shell and its sleep are alive
        assert cluster_test.session_usage([proc.pid + 10**7]) == (0.0, 0)  # no such session
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def test_output_sizes_by_part(tmp_path: Path) -> None:
    (tmp_path / "raw" / "a").mkdir(parents=True)
    (tmp_path / "raw" / "a" / "x.gz").write_bytes(b"12345")
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "r.html").write_bytes(b"12")
    (tmp_path / "reports" / "s.html").write_bytes(b"")
    assert cluster_test.output_sizes(tmp_path) == ({"raw": 5, "reports": 2}, {"raw": 1, "reports": 2})
    assert cluster_test.output_sizes(tmp_path / "absent") == ({}, {})


@pytest.mark.parametrize(("path", "bucket"), [
    ("/mastodon/i-gen-3/api/v1/accounts/lookup?acct=x", "mastodon:i-gen-3"),
    ("/mastodon/api/v1/accounts/1/statuses", "mastodon:default"),
    ("/bluesky/xrpc/app.bsky.feed.getAuthorFeed?actor=a", "bluesky"),
    ("/rss/some-school/feed/", "rss"), ("/", "(root)"), ("", "(root)"), ("/mastodon", "mastodon:default")])
def test_bucket_of_a_path(path: str, bucket: str) -> None:
    assert bucket_of(path) == bucket


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_the_simulator_counts_requests_per_bucket_and_not_its_own_stats() -> None:
    schools, profiles = generated_trust(3, seed=1)
    with Simulator(port=0, profiles=profiles) as sim:
        assert json.loads(_get(sim.url + STATS_PATH)[1]) == {"requests": 0, "buckets": {}, "rate_limited": {}}
        for school in schools:
            _get(f"{sim.url}/rss/{school.rss}/feed/")
        _get(f"{sim.url}/bluesky/xrpc/app.bsky.actor.getProfile?actor=nobody.example")
        _get(f"{sim.url}/nowhere")
        stats = json.loads(_get(sim.url + STATS_PATH)[1])
    assert stats["buckets"] == {"rss": 3, "bluesky": 1, "nowhere": 1}
    assert stats["requests"] == 5


def test_the_simulator_cli_serves_a_generated_trust_with_given_names_and_clock(tmp_path: Path) -> None:
    names = tmp_path / "names.txt"
    names.write_text("St Aidan's Primary (fictional)\n\n<script>alert(1)</script> Academy\n", encoding="utf-8")
    config = tmp_path / "trust.yaml"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "plugins")}
    proc = subprocess.Popen([sys.executable, "-m", "socialaudit.simulator", "--port", "0", "--generate", "3",
                             "--names", str(names), "--now", "2026-11-23T06:00:00+00:00", "--write-config", str(config)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        while line and "listening on" not in line:
            line = proc.stdout.readline()
        url = line.rsplit(" ", 1)[-1].strip()
        raw = yaml.safe_load(config.read_text(encoding="utf-8"))
        assert [s["name"] for s in raw["schools"]][:2] == ["St Aidan's Primary (fictional)",
                                                           "<script>alert(1)</script> Academy"]
        assert len(raw["schools"]) == 3
        status, _body = _get(raw["schools"][0]["accounts"][0]["url"])
        assert status == 200
        assert json.loads(_get(url + STATS_PATH)[1])["buckets"] == {"rss": 1}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)


@pytest.mark.parametrize("argv", [["--now", "yesterday"], ["--now", "2026-11-23T06:00:00"], ["--names", "x.txt"],
                                  ["--generate", "2", "--names", "/nonexistent/names.txt"]])
def test_the_simulator_cli_refuses_bad_options_in_one_line(argv: list[str]) -> None:
    done = subprocess.run([sys.executable, "-m", "socialaudit.simulator", "--port", "0", *argv], capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(ROOT / "plugins")}, timeout=60)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "error:" in done.stderr
