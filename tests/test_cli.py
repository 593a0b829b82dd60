"""``python -m socialaudit`` as a user runs it: real subprocesses, the simulator over real sockets."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

ENV = {**os.environ, "PYTHONPATH": str(ROOT / "plugins")}


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "socialaudit", *args], input=stdin, capture_output=True, text=True,
                          env=ENV, cwd=ROOT, timeout=120)


def post_line(**overrides) -> str:
    data = {"platform": "rss", "account": "https://holy-cross.example.sch.uk/feed/", "school": "holy-cross",
            "id": "1", "url": "https://holy-cross.example.sch.uk/news/1/", "created_at": "2026-11-18T10:00:00Z",
            "text": "Harvest donations went to the food bank today.", "media": [], "links": [],
            "is_reply": False, "is_repost": False}
    data.update(overrides)
    return json.dumps(data)


def test_collect_prints_posts_as_json_lines(simulator):
    proc = cli("collect", "--platform", "rss", "--account", f"{simulator.url}/rss/sacred-heart/feed/", "--allow", simulator.url,
               "--since", "2026-11-16", "--until", "2026-11-23", "--school", "sacred-heart")
    assert proc.returncode == 0, proc.stderr
    posts = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(posts) >= 5
    assert all(p["school"] == "sacred-heart" and p["created_at"].startswith("2026-11-") for p in posts)
    assert all("2026-11-16" <= p["created_at"][:10] <= "2026-11-22" for p in posts)


def test_collect_unknown_account_fails_clearly(simulator):
    proc = cli("collect", "--platform", "rss", "--account", f"{simulator.url}/rss/no-such-school/feed/", "--allow", simulator.url)
    assert proc.returncode == 1
    assert "HTTP 404" in proc.stderr and proc.stdout == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["collect", "--platform", "myspace", "--account", "x"], "unknown platform 'myspace'"),
        (["collect", "--platform", "rss", "--account", "http://127.0.0.1:9/f", "--since", "last tuesday"], "--since 'last tuesday'"),
        (["run", "--week", "2026-W99"], "2026-W99"),
        (["scan", "--checks", "no_such_check", "-"], "unknown check 'no_such_check'"),
        (["scan", "missing-file.jsonl"], "missing-file.jsonl: cannot read"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, message):
    proc = cli(*args, stdin="")
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_scan_outputs_findings_as_json_lines():
    proc = cli("scan", "--checks", "post_frequency", "--week", "2026-W47", "-", stdin=post_line() + "\n")
    assert proc.returncode == 0, proc.stderr
    [finding] = [json.loads(line) for line in proc.stdout.splitlines()]
    assert finding["check"] == "post_frequency" and finding["school"] == "holy-cross" and finding["policy"] == "4.3"
    assert "1 original post" in finding["message"]


def test_scan_of_a_school_not_in_the_config_uses_default_settings():
    lines = "\n".join(post_line(school="st-elsewhere", id=str(i), text=f"Different news item number {i} from this week.")
                      for i in range(3))
    proc = cli("scan", "--checks", "post_frequency", "--week", "2026-W47", "-", stdin=lines)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""  # 3 posts meet the default of 3 a week


def test_scan_malformed_json_line_names_file_and_line(tmp_path):
    path = tmp_path / "posts.jsonl"
    path.write_text(post_line() + "\n{not json\n", encoding="utf-8")
    proc = cli("scan", str(path))
    assert proc.returncode == 2
    assert f"{path}:2: invalid JSON" in proc.stderr


def test_scan_invalid_post_names_the_field(tmp_path):
    path = tmp_path / "posts.jsonl"
    path.write_text(post_line(created_at="yesterday") + "\n", encoding="utf-8")
    proc = cli("scan", str(path))
    assert proc.returncode == 2
    assert f"{path}:1: invalid post: field 'created_at'" in proc.stderr


def test_invalid_config_is_one_line_exit_2(tmp_path):
    path = tmp_path / "trust.yaml"
    path.write_text("trust: {name: T}\nschools:\n  - {id: a, name: A, head_email: nope}\n", encoding="utf-8")
    proc = cli("scan", "--config", str(path), "-", stdin="")
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"socialaudit scan: {path}: school 'a': head_email: 'nope' is not an email address"


def test_scan_marks_a_finding_the_config_suppresses(tmp_path):
    """A reviewed false positive in the config is marked in scan's output as in the DAG, until it expires."""
    import yaml

    raw = yaml.safe_load((ROOT / "config" / "trust.yaml").read_text(encoding="utf-8"))
    raw["suppressions"] = [*(raw.get("suppressions") or []),
                           {"finding": "post_frequency:holy-cross", "kind": "false_positive", "reviewer": "Ms Rowan Ashby",
                            "reason": "the newsletter went out by email that week", "expires": "2026-11-22",
                            "reviewed": "2026-11-20"}]
    config = tmp_path / "trust.yaml"
    config.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    lines = post_line() + "\n" + post_line(school="sacred-heart", id="2", account="https://sacred-heart.example.sch.uk/feed/")
    proc = cli("scan", "--config", str(config), "--checks", "post_frequency", "--week", "2026-W47", "-", stdin=lines)
    assert proc.returncode == 0, proc.stderr
    findings = {f["school"]: f for f in map(json.loads, proc.stdout.splitlines())}
    assert set(findings) == {"holy-cross", "sacred-heart"}
    assert findings["holy-cross"]["suppression"] == {
        "kind": "false_positive", "reviewer": "Ms Rowan Ashby", "reason": "the newsletter went out by email that week",
        "expires": "2026-11-22", "reviewed": "2026-11-20", "rule": "post_frequency:holy-cross", "source": "config"}
    assert "1 original post" in findings["holy-cross"]["message"]  # kept, only marked
    assert "suppression" not in findings["sacred-heart"]
    # 2026-W48 ends after the expiry: the finding comes back unmarked
    later = post_line(created_at="2026-11-25T10:00:00Z")
    proc = cli("scan", "--config", str(config), "--checks", "post_frequency", "--week", "2026-W48", "-", stdin=later)
    assert proc.returncode == 0, proc.stderr
    [finding] = [json.loads(line) for line in proc.stdout.splitlines()]
    assert finding["school"] == "holy-cross" and "suppression" not in finding


def test_the_airflow_database_the_cli_migrates_has_the_projects_pools():
    """Without the collect pool a run triggered from Airflow's UI waits forever ("No Status")."""
    import json

    from airflow.models.pool import Pool

    from socialaudit.cli.run import POOLS_FILE

    for name, spec in json.loads(POOLS_FILE.read_text(encoding="utf-8")).items():
        pool = Pool.get_pool(name)
        assert pool is not None and pool.slots == spec["slots"], name


def test_config_works_before_or_after_any_sub_command_and_every_option_says_what_it_does():
    import argparse

    from socialaudit.cli import build_parser

    parser = build_parser()
    for argv in (["--config", "F", "suppress", "list"], ["suppress", "--config", "F", "list"],
                 ["suppress", "list", "--config", "F"], ["history", "verify", "--config", "F"],
                 ["--config", "F", "history", "export", "--from", "2026-W45", "--to", "2026-W47"],
                 ["send", "--week", "2026-W47", "--config", "F"], ["scan", "-", "--config", "F"]):
        assert parser.parse_args(argv).config == "F", argv
    assert parser.parse_args(["suppress", "list"]).config is None
    # --output DIR (the output folder) too, at every depth; history export's file is -o/--file
    for argv in (["--output", "D", "suppress", "list"], ["suppress", "--output", "D", "list"],
                 ["suppress", "list", "--output", "D"], ["history", "verify", "--output", "D"],
                 ["--output", "D", "history", "export", "--from", "2026-W45", "--to", "2026-W47", "-o", "f.csv"],
                 ["history", "export", "--from", "2026-W45", "--to", "2026-W47", "--output", "D", "--file", "f.csv"],
                 ["history", "--output", "D", "export", "--from", "2026-W45", "--to", "2026-W47", "-o", "f.csv"],
                 ["run", "--output", "D", "--week", "2026-W47"], ["send", "--week", "2026-W47", "--output", "D"],
                 ["scan", "-", "--output", "D"], ["--config", "F", "--output", "D", "collect", "--platform", "x", "--account", "a"]):
        args = parser.parse_args(argv)
        assert args.output_dir == "D" and ("export" not in argv or args.file == "f.csv"), argv
    assert parser.parse_args(["suppress", "list"]).output_dir is None
    both = parser.parse_args(["--config", "F", "history", "export", "--from", "2026-W45", "--to", "2026-W47",
                              "--output", "D", "-o", "f.csv", "--config", "G"])
    assert (both.config, both.output_dir, both.file) == ("G", "D", "f.csv")  # the last given wins, as argparse does

    def undocumented(p: argparse.ArgumentParser, path: tuple[str, ...]) -> list[str]:
        out = []
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    out += undocumented(child, (*path, name))
            elif action.dest != "help" and not action.help:
                out.append(" ".join((*path, *action.option_strings, action.dest)))
        return out

    assert undocumented(parser, ()) == []
    platform = next(a for a in parser._subparsers._group_actions[0].choices["collect"]._actions if a.dest == "platform")
    assert "one of: bluesky, facebook, instagram, mastodon, rss, x, youtube" in platform.help


@pytest.mark.parametrize("week", ["2026W47", "2026-W7", "47"])
def test_a_week_in_another_form_is_refused_everywhere(capsys, week):
    from socialaudit.cli import main

    for argv in (["run", "--week", week], ["send", "--week", week], ["history", "list", "--from", week],
                 ["suppress", "list", "--week", week]):
        assert main(argv) == 2, argv
        assert "ISO week such as 2026-W47" in capsys.readouterr().err


def test_a_week_that_has_not_ended_and_an_endless_backfill_are_refused(capsys):
    from datetime import datetime, timezone

    from socialaudit.cli import main
    from socialaudit.weeks import IsoWeek

    this_week = IsoWeek.last_complete(datetime.now(timezone.utc)) + 1
    assert main(["run", "--week", str(this_week)]) == 2
    assert f"week {this_week} has not ended yet" in capsys.readouterr().err
    assert main(["run", "--from", "1990-W01", "--to", "2026-W01"]) == 2
    assert "a backfill covers at most 260 weeks" in capsys.readouterr().err


@pytest.mark.parametrize(("content", "message"), [
    (b"[" * 100_000 + b"]" * 100_000 + b"\n", ":1: invalid JSON: nested too deep"),
    (b"\xff\xfe\x00 not text\n", ":1: not UTF-8 text (byte 0xff)"),
    (b'{"platform": "rss", "account": "a", "school": "st-aidans", "id": "1", "url": "https://x.example/1", '
     b'"created_at": "0001-01-01T00:00:00Z", "text": "hi"}\n', "timestamp '0001-01-01T00:00:00Z' is out of range"),
    (b"[1, 2]\n", ":1: invalid post: a JSON object is expected, not list"),
])
def test_hostile_scan_input_is_one_line_and_exit_2(tmp_path, content, message):
    path = tmp_path / "posts.jsonl"
    path.write_bytes(content)
    proc = cli("scan", str(path))
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
