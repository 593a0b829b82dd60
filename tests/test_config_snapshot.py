"""The config is parsed once per run, not once per task process (issue 12): the first process writes a
validated snapshot under the output folder, the others load it; an edit, a broken snapshot or an
unwritable folder never gives a wrong config."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from socialaudit.config import ConfigError, known_platforms, load_config
from socialaudit.environment import SNAPSHOTS, Environment, _load_batch, _load_cached, _write_bytes
from tests.conftest import ROOT


def _env(tmp_path: Path, text: str | None = None) -> Environment:
    config = tmp_path / "trust.yaml"
    config.write_text(text if text is not None else (ROOT / "config" / "trust.yaml").read_text(encoding="utf-8"),
                      encoding="utf-8")
    return Environment(config=config, output=tmp_path / "out", db_url=f"sqlite:///{tmp_path / 'store.db'}")


def _new_process() -> None:
    """What a new task process starts with: no config parsed yet."""
    _load_cached.cache_clear()
    _load_batch.cache_clear()


def _snapshots(env: Environment) -> list[Path]:
    folder = env.output / SNAPSHOTS
    return sorted(folder.glob("*.jsonl")) if folder.is_dir() else []


def test_a_second_process_loads_the_snapshot_and_gets_the_same_config(tmp_path, monkeypatch):
    env = _env(tmp_path)
    _new_process()
    first = env.load()
    [snapshot] = _snapshots(env)
    assert first == load_config(env.config)

    import socialaudit.environment as environment

    def no_yaml(*_args, **_kwargs):
        raise AssertionError("the YAML was parsed again")

    monkeypatch.setattr(environment, "load_config", no_yaml)
    _new_process()
    second = env.load()
    assert second == first and second.source == str(env.config)
    assert second.school("st-aidans") == first.school("st-aidans")
    assert _snapshots(env) == [snapshot]


def test_an_edited_config_gets_a_new_snapshot(tmp_path):
    env = _env(tmp_path)
    _new_process()
    assert env.load().trust.min_posts_per_week == 3
    text = env.config.read_text(encoding="utf-8").replace("min_posts_per_week: 3", "min_posts_per_week: 5")
    env.config.write_text(text, encoding="utf-8")
    os.utime(env.config, ns=(1, 1))  # even with the old modification time, the bytes decide
    _new_process()
    assert env.load().trust.min_posts_per_week == 5
    assert len(_snapshots(env)) == 2


@pytest.mark.parametrize("content", [b"", b"{broken", b'{"trust": {"name": "forged"}, "schools": []}', b"\xff\xfe", b"[" * 100_000])
def test_a_broken_or_foreign_snapshot_is_ignored_and_written_again(tmp_path, content):
    env = _env(tmp_path)
    _new_process()
    good = env.load()
    [snapshot] = _snapshots(env)
    snapshot.write_bytes(content)
    _new_process()
    assert env.load() == good
    assert snapshot.read_bytes() not in (content,)


def test_a_snapshot_of_another_config_file_is_never_taken(tmp_path):
    """Two config files with the same bytes get two snapshots: a config names its own source."""
    one = _env(tmp_path)
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    other = Environment(config=other_dir / "trust.yaml", output=one.output, db_url=one.db_url)
    other.config.write_bytes(one.config.read_bytes())
    _new_process()
    assert one.load().source == str(one.config)
    _new_process()
    assert other.load().source == str(other.config)
    assert len(_snapshots(one)) == 2


def test_an_output_folder_that_cannot_be_written_only_costs_speed(tmp_path):
    env = _env(tmp_path)
    env.output.parent.mkdir(parents=True, exist_ok=True)
    env.output.write_text("a file where the output folder should be", encoding="utf-8")
    _new_process()
    assert env.load() == load_config(env.config)
    assert _snapshots(env) == []


def test_a_bad_config_is_still_refused_in_one_line(tmp_path):
    env = _env(tmp_path, "trust: {name: x}\nschools:\n  - {id: a, name: A, head_email: nobody}\n")
    _new_process()
    with pytest.raises(ConfigError, match="not an email address"):
        env.load()
    assert _snapshots(env) == []


def test_the_known_platforms_are_listed_once_while_the_folder_is_unchanged():
    assert known_platforms() == known_platforms()
    assert {"rss", "mastodon", "bluesky"} <= set(known_platforms())
    assert not any(name.startswith("_") for name in known_platforms())


def test_a_config_that_json_cannot_hold_is_never_snapshotted(tmp_path):
    """Review finding: settings are free-form, and JSON has no infinity and no dates: a snapshot turned
    ``inf`` into the default and a date into a string, so later processes checked with other settings."""
    text = (ROOT / "config" / "trust.yaml").read_text(encoding="utf-8").replace(
        "    external_links: {blocklists: [config/blocklists/demo]}",
        "    external_links: {blocklists: [config/blocklists/demo]}\n"
        "    named_children: {threshold: .inf, ignore_words: [2026-01-01]}")
    env = _env(tmp_path, text)
    _new_process()
    first = env.load()
    assert first.trust.checks["named_children"]["threshold"] == float("inf")
    assert _snapshots(env) == []  # it would not read back equal: every process parses the YAML
    folder = env.output / SNAPSHOTS
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]  # the refused temporary file is gone
    _new_process()
    assert env.load() == first


# --- a batch task loads only its schools, from the snapshot plan sealed (issue 12) ---

def _sealed(tmp_path: Path) -> tuple[Environment, str]:
    env = _env(tmp_path)
    _new_process()
    seal = env.seal_config()
    assert seal and ":" in seal
    _new_process()
    return env, seal


def _count_accounts_validated(monkeypatch) -> list[int]:
    """Each account validated asks for the known platforms once: a count of the accounts validated."""
    import socialaudit.config as config_module

    counted = [0]
    real = config_module.known_platforms

    def counting() -> list[str]:
        counted[0] += 1
        return real()

    monkeypatch.setattr(config_module, "known_platforms", counting)
    return counted


def test_a_batch_task_validates_only_its_schools_from_the_sealed_snapshot(tmp_path, monkeypatch):
    env, seal = _sealed(tmp_path)
    whole = load_config(env.config)
    import socialaudit.environment as environment

    monkeypatch.setattr(environment, "load_config", lambda *_a, **_k: pytest.fail("the YAML was parsed again"))
    counted = _count_accounts_validated(monkeypatch)
    batch = env.for_batch(["st-hildas", "holy-cross"], seal).load()
    assert [s.id for s in batch.schools] == ["st-hildas", "holy-cross"]
    assert counted[0] == len(whole.school("st-hildas").accounts) + len(whole.school("holy-cross").accounts)
    assert batch.school("holy-cross") == whole.school("holy-cross")
    assert (batch.trust, batch.suppressions, batch.demo, batch.source) == (whole.trust, whole.suppressions,
                                                                           whole.demo, whole.source)
    with pytest.raises(KeyError, match="st-aidans"):
        batch.school("st-aidans")  # not in the batch


def test_plan_gives_each_batch_the_seal_and_a_config_without_one_loads_whole(tmp_path):
    from socialaudit import pipeline
    from socialaudit.weeks import IsoWeek

    env = _env(tmp_path)
    _new_process()
    items = pipeline.plan(IsoWeek.parse("2026-W47"), "run-sealed", env, batch_size=4)
    assert [len(i["schools"]) for i in items] == [4, 2]
    assert {i["config"] for i in items} == {env.seal_config()} and items[0]["config"]
    assert [s.id for s in pipeline.batch_env(items[1], env).load().schools] == items[1]["schools"]
    assert pipeline.batch_env({**items[1], "config": ""}, env).load() == load_config(env.config)


def test_a_school_line_that_does_not_match_its_digest_is_refused(tmp_path, caplog):
    """A byte changed in a school's line (still valid JSON) is refused; the YAML plan sealed is parsed
    instead, and the snapshot written again as plan sealed it."""
    env, seal = _sealed(tmp_path)
    [snapshot] = _snapshots(env)
    good = snapshot.read_bytes()
    snapshot.write_bytes(good.replace(b"head@holy-cross", b"evil@holy-cross"))
    batch = env.for_batch(["holy-cross"], seal).load()
    assert batch.school("holy-cross").head_email.startswith("head@")
    assert "does not match the one plan sealed" in caplog.text
    assert snapshot.read_bytes() == good


def test_a_consistent_forged_snapshot_is_refused_by_the_seal(tmp_path):
    """Whoever can write the output folder can recompute every digest in a header, but not the seal:
    plan's digest of the header came to the task through Airflow."""
    from socialaudit.environment import _snapshot_bytes

    env, seal = _sealed(tmp_path)
    [snapshot] = _snapshots(env)
    whole = load_config(env.config)
    forged = whole.model_copy(update={"schools": [s.model_copy(update={"head_email": "evil@example.org"})
                                                  for s in whole.schools]})
    snapshot.write_bytes(_snapshot_bytes(forged))
    batch = env.for_batch(["holy-cross"], seal).load()
    assert batch.school("holy-cross").head_email == whole.school("holy-cross").head_email


def test_a_forged_snapshot_written_before_plan_is_replaced_not_sealed(tmp_path):
    """plan never trusts a snapshot already on disk: one forged under the YAML's key, its digests agreeing
    with its own schools, is replaced by the config parsed from the YAML, and that is what plan seals."""
    from socialaudit import pipeline
    from socialaudit.environment import SNAPSHOT_SUFFIX, SNAPSHOTS, _snapshot_bytes, _snapshot_key
    from socialaudit.weeks import IsoWeek

    env = _env(tmp_path)
    whole = load_config(env.config)
    forged = whole.model_copy(update={"schools": [s.model_copy(update={"head_email": "evil@example.org"})
                                                  for s in whole.schools]})
    key = _snapshot_key(str(env.config), env.config.read_bytes())
    snapshot = Path(env.output) / SNAPSHOTS / f"{key}{SNAPSHOT_SUFFIX}"
    snapshot.parent.mkdir(parents=True)
    snapshot.write_bytes(_snapshot_bytes(forged))
    _new_process()
    items = pipeline.plan(IsoWeek.parse("2026-W47"), "run-forged", env, batch_size=4)
    _new_process()
    for item in items:
        for school in pipeline.batch_env(item, env).load().schools:
            assert school.head_email == whole.school(school.id).head_email != "evil@example.org"
    assert b"evil@example.org" not in snapshot.read_bytes()


def test_a_config_edited_after_plan_keeps_the_runs_config_and_a_broken_one_then_fails(tmp_path):
    env, seal = _sealed(tmp_path)
    text = env.config.read_text(encoding="utf-8")
    env.config.write_text(text.replace("min_posts_per_week: 3", "min_posts_per_week: 5"), encoding="utf-8")
    assert env.for_batch(["st-aidans"], seal).load().trust.min_posts_per_week == 3  # the run's, as plan saw it
    [snapshot] = _snapshots(env)
    snapshot.write_bytes(snapshot.read_bytes().replace(b"head@st-aidans", b"evil@st-aidans"))
    _new_process()
    with pytest.raises(ConfigError, match="does not match the one plan sealed"):
        env.for_batch(["st-aidans"], seal).load()


@pytest.mark.parametrize("seal", ["x", ":", "../../etc/passwd:" + "0" * 64, "a" * 40 + ":" + "b" * 64, "\x00:\n"])
def test_a_hostile_seal_is_one_config_error(tmp_path, seal):
    env = _env(tmp_path)
    _new_process()
    env.seal_config()
    with pytest.raises(ConfigError, match="plan sealed"):
        env.for_batch(["st-aidans"], seal).load()


def test_the_steps_after_the_batches_read_the_config_plan_sealed_and_the_archive_keeps_its_bytes(tmp_path):
    """The Trust report and the archive run after every batch: a YAML edited meanwhile (a school removed, a
    setting changed) changes nothing of the run (``run_env``), and the archive keeps the bytes plan read
    (``sealed_yaml``), never a copy that is not those bytes."""
    from socialaudit import pipeline
    from socialaudit.weeks import IsoWeek

    env = _env(tmp_path)
    planned = env.config.read_bytes()
    _new_process()
    items = pipeline.plan(IsoWeek.parse("2026-W47"), "run-sealed", env, batch_size=4)
    text = env.config.read_text(encoding="utf-8")
    env.config.write_text(text.replace("min_posts_per_week: 3", "min_posts_per_week: 5") + "\n# edited\n",
                          encoding="utf-8")
    _new_process()
    run = pipeline.run_env(items, env)
    assert [s.id for s in run.load().schools] == [s for item in items for s in item["schools"]]
    assert run.load().trust.min_posts_per_week == 3
    assert run.sealed_yaml() == planned and env.config.read_bytes() != planned
    assert env.sealed_yaml() is None  # no seal: the archive reads the config file as it is
    assert pipeline.run_env(None, env) is env and pipeline.run_env([{**items[0], "config": ""}], env) is env
    [copy] = (env.output / SNAPSHOTS).glob("*.yaml")
    copy.write_bytes(planned + b"# forged\n")
    assert run.sealed_yaml() is None  # not the bytes the seal names


def test_a_write_is_whole_or_nothing_and_leaves_no_temporary_file(tmp_path):
    """Review findings: the atomic write must not leave its temporary file when the check of what was written
    refuses it or raises, and must not write through a link planted where it writes (its name is its own)."""
    target = tmp_path / "snap" / "config.jsonl"
    assert _write_bytes(target, b"first\n") and target.read_bytes() == b"first\n"
    assert not _write_bytes(target, b"second\n", accept=lambda tmp: tmp.read_bytes() == b"other\n")
    assert target.read_bytes() == b"first\n"

    def broken(tmp: Path) -> bool:
        raise ValueError("a reader that fails")

    with pytest.raises(ValueError):
        _write_bytes(target, b"third\n", accept=broken)
    assert target.read_bytes() == b"first\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["config.jsonl"]
    victim = tmp_path / "victim"
    victim.write_bytes(b"untouched")
    for pid_name in (f".config.jsonl.{os.getpid()}.tmp", ".config.jsonl.tmp"):  # the names an older version used
        (target.parent / pid_name).symlink_to(victim)
    assert _write_bytes(target, b"fourth\n") and target.read_bytes() == b"fourth\n"
    assert victim.read_bytes() == b"untouched"
