"""``history replay``: a sealed run's checks recomputed from its archive folder alone (config, posts,
calendars, link resolutions, comment history), with no network and no store.

Two demo weeks are collected from the simulator, checked and sealed as the DAG does (each archived
as soon as it finished). Replaying them gives "identical", byte for byte; a check whose default has
changed since is named with the school and the findings that differ; a file changed after sealing
refuses the replay.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from socialaudit.weeks import IsoWeek
from tests.conftest import ROOT, write_demo_config
from tests.reports.conftest import render_week

WEEKS = (IsoWeek.parse("2026-W46"), IsoWeek.parse("2026-W47"))


@pytest.fixture(scope="module")
def sealed(simulator: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo trust's two weeks, each sealed into the archive right after its run (as the DAG does)."""
    from socialaudit import archive
    from socialaudit.pipeline import Environment

    base = tmp_path_factory.mktemp("replay")
    config = write_demo_config(simulator.url, base / "trust.yaml")
    env = Environment(config=config, output=base / "output", db_url=f"sqlite:///{base / 'output' / 'socialaudit.db'}")
    for week in WEEKS:
        render_week(env, week, run_id=f"run-{week}")
        archive.archive_run(week, f"run-{week}", env)
    return base


@pytest.fixture
def copy(sealed: Path, tmp_path: Path) -> Path:
    """A private copy of the sealed archive (tests may tamper with it)."""
    shutil.copytree(sealed / "output" / "archive", tmp_path / "archive")
    return tmp_path / "archive"


def replay(where: Path, ref: str, **options: Any) -> Any:
    from socialaudit.archive import open_archive
    from socialaudit.replay import replay as run_replay

    return run_replay(open_archive(url=str(where)), ref, **options)


def test_each_demo_week_replays_identical_with_no_network(sealed: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[Any] = []

    def refuse(self: socket.socket, address: Any) -> None:
        opened.append(address)
        raise OSError("a replay opens no connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    for week in WEEKS:
        result = replay(sealed / "output" / "archive", f"run-{week}")
        assert result.differences == [] and result.identical, result.differences
        assert sorted(result.schools) == sorted(["st-aidans", "holy-cross", "st-hildas", "our-lady", "st-josephs",
                                                 "sacred-heart"])
    assert opened == []


def test_the_inputs_the_checks_were_given_are_in_the_sealed_run(sealed: Path) -> None:
    """What makes W47 replayable: its calendars (or why not), its link resolutions, its comment
    history, and the posts back over the 14-day event lead time."""
    from socialaudit.archive import MANIFEST

    [run] = (sealed / "output" / "archive" / str(WEEKS[1])).iterdir()
    names = json.loads((run / MANIFEST).read_bytes())["files"]
    assert any(n.startswith("raw/holy-cross/calendar/") and n.endswith("/pages.jsonl.gz") for n in names)
    assert any(n.startswith("raw/st-josephs/calendar/") and n.endswith("failed.json") for n in names)
    assert "raw/sacred-heart/links/resolutions/pages.jsonl.gz" in names
    assert "raw/st-hildas/inputs/comment_history/pages.jsonl.gz" in names
    posts = [json.loads(line) for line in gzip.decompress((run / "posts.jsonl.gz").read_bytes()).splitlines()]
    # the archive kept one day before the week; the event check reads back over 14 days
    assert min(p["created_at"] for p in posts) < (WEEKS[1].monday - timedelta(days=7)).isoformat()


def test_a_check_whose_behaviour_changed_is_named_with_the_school_and_findings(copy: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A default changed since the run (plain-http links no longer flagged): the replay names the
    school, the check, what its summary and metrics became, and each finding the run had and the
    replay does not."""
    from checks._base import Setting, registry

    spec = registry()["external_links"]
    monkeypatch.setitem(spec.settings, "require_https", Setting(False, "a default changed since the run"))
    result = replay(copy, f"run-{WEEKS[1]}")
    assert not result.identical
    assert all(d.startswith("school sacred-heart: check external_links: ") for d in result.differences), result.differences
    gone = [d for d in result.differences if d.endswith("in the sealed run, not in the replay (\"A link to "
                                                              "short.demo.example uses http:// rather than https://, so "
                                                              "it can be intercepted or altered.\")")
            or "northmoor-scouts.demo.example uses http://" in d]
    assert len(gone) == 2 and all(": finding external_links:sacred-heart:" in d for d in gone), result.differences
    # the casino link had two problems (one incident); with one left, the incident is gone from that finding
    assert any(": incident was " in d and d.endswith("replay gives null") for d in result.differences), result.differences
    assert len(result.differences) == 3, result.differences


def test_one_school_can_be_replayed(copy: Path) -> None:
    result = replay(copy, f"run-{WEEKS[1]}", school="sacred-heart")
    assert result.identical and result.schools == ["sacred-heart"]


@pytest.mark.parametrize("target", ["raw/sacred-heart/links/resolutions/pages.jsonl.gz", "posts.jsonl.gz",
                                    "config.yaml"])
def test_a_file_changed_after_sealing_refuses_the_replay(copy: Path, target: str) -> None:
    from socialaudit.archive import ArchiveError

    [run] = (copy / str(WEEKS[1])).iterdir()
    path = run / target
    data = path.read_bytes()
    path.write_bytes(gzip.compress(gzip.decompress(data).replace(b"301", b"200"), mtime=0) if target.endswith(".gz")
                     else data.replace(b"min_posts_per_week: 3", b"min_posts_per_week: 1"))
    assert path.read_bytes() != data
    with pytest.raises(ArchiveError, match=f"{target} was changed after it was sealed: not replayed"):
        replay(copy, f"run-{WEEKS[1]}")


def cli(*args: str, archive: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "plugins"), "SOCIALAUDIT_ARCHIVE": str(archive)}
    return subprocess.run([sys.executable, "-m", "socialaudit", "history", "replay", *args], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=300, check=False)


def test_the_cli_prints_identical_or_each_difference(copy: Path) -> None:
    done = cli(f"run-{WEEKS[0]}", archive=copy)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "identical"
    [run] = (copy / str(WEEKS[0])).iterdir()
    body = next((run / "raw").rglob("pages.jsonl.gz"))
    body.write_bytes(body.read_bytes() + b"\0")
    done = cli(f"run-{WEEKS[0]}", archive=copy)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "was changed after it was sealed: not replayed" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    done = cli("no-such-run", archive=copy)
    assert done.returncode == 2 and "no archived run 'no-such-run'" in done.stderr
