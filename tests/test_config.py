"""The trust config loads, and every invalid one fails with one line naming file, school and field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from socialaudit.config import DEFAULT_CONFIG, ConfigError, load_config


def test_demo_config_loads():
    config = load_config(DEFAULT_CONFIG)
    assert len(config.schools) == 6
    assert config.trust.timezone == "Europe/London"
    assert config.school("st-aidans").accounts


def _write(tmp_path: Path, raw: object) -> Path:
    path = tmp_path / "trust.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def _raw() -> dict:
    return yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda r: r["schools"][0]["accounts"][0].update(platform="myspace"),
         "school 'st-aidans': accounts[0].platform: unknown platform 'myspace'"),
        (lambda r: r["schools"][2].pop("head_email"), "school 'st-hildas': head_email: Field required"),
        (lambda r: r["schools"][1].update(head_email="not-an-email"), "school 'holy-cross': head_email: 'not-an-email' is not an email"),
        (lambda r: r["schools"][0]["events"][0].update(date="next week"), "school 'st-aidans': events[0].date"),
        (lambda r: r["schools"][0]["events"][0].update(kind="disco"), "school 'st-aidans': events[0].kind"),
        (lambda r: r["trust"].update(timezone="Mars/Olympus"), "trust.timezone: unknown timezone 'Mars/Olympus'"),
        (lambda r: r["schools"][3].update(id="Our Lady"), "school 'Our Lady': id"),
        (lambda r: r["schools"].append(dict(r["schools"][0])), "duplicate school id 'st-aidans'"),
        (lambda r: r["schools"][0]["accounts"].append({"platform": "rss"}), "an account needs a handle or a url"),
        (lambda r: r["schools"][0].update(colour="blue"), "school 'st-aidans': colour: Extra inputs are not permitted"),
    ],
)
def test_invalid_config_names_file_school_and_field(tmp_path, edit, expected):
    raw = _raw()
    edit(raw)
    path = _write(tmp_path, raw)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(str(path)), message
    assert expected in message
    assert "\n" not in message


def test_every_problem_of_a_config_is_listed_not_counted(tmp_path):
    raw = _raw()
    raw["schools"][0]["accounts"][0].update(platform="myspace")
    raw["schools"][2].pop("head_email")
    raw["trust"].update(timezone="Mars/Olympus")
    path = _write(tmp_path, raw)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}: 3 problems: "), message
    for expected in ("school 'st-aidans': accounts[0].platform: unknown platform 'myspace'",
                     "school 'st-hildas': head_email: Field required", "trust.timezone: unknown timezone 'Mars/Olympus'"):
        assert expected in message
    assert "more problem" not in message and "\n" not in message


def test_a_config_with_very_many_problems_lists_twenty_and_counts_the_rest(tmp_path):
    raw = _raw()
    raw["schools"][0]["accounts"] = [{"platform": "myspace", "url": f"https://example.org/{n}"} for n in range(25)]
    path = _write(tmp_path, raw)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}: 25 problems: ") and message.endswith("; and 5 more"), message
    assert message.count("unknown platform 'myspace'") == 20 and "accounts[19].platform" in message


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = tmp_path / "trust.yaml"
    path.write_text("trust:\n  name: x\nschools: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"trust\.yaml: line \d+ invalid YAML"):
        load_config(path)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "nope.yaml")


def test_env_var_selects_the_config(tmp_path, monkeypatch):
    raw = _raw()
    raw["trust"]["name"] = "Another Trust (fictional)"
    monkeypatch.setenv("SOCIALAUDIT_CONFIG", str(_write(tmp_path, raw)))
    assert load_config().trust.name == "Another Trust (fictional)"


def test_check_settings_merge_trust_then_school(tmp_path):
    raw = _raw()
    raw["trust"]["checks"] = {"post_frequency": {"min_posts_per_week": 4}}
    raw["schools"][1]["checks"] = {"post_frequency": {"min_posts_per_week": 2}}
    config = load_config(_write(tmp_path, raw))
    assert config.check_settings("post_frequency", config.school("st-aidans")) == {"min_posts_per_week": 4}
    assert config.check_settings("post_frequency", config.school("holy-cross")) == {"min_posts_per_week": 2}


def test_school_lookup_is_by_id_and_follows_a_copy_with_other_schools():
    from socialaudit.config import DEFAULT_CONFIG, load_config

    config = load_config(DEFAULT_CONFIG)
    assert [config.school(s.id) for s in config.schools] == config.schools
    fewer = config.model_copy(update={"schools": config.schools[:2]})
    assert fewer.school(config.schools[1].id) is config.schools[1]
    with pytest.raises(KeyError, match="no school 'st-hildas'"):
        fewer.school("st-hildas")
    assert config.school("st-hildas").id == "st-hildas"  # the original's index is its own
    assert load_config(DEFAULT_CONFIG) == config  # looking schools up leaves a config equal to a fresh one


@pytest.mark.parametrize(("block", "message"), [
    ("    named_childern: {threshold: 0.5}\n", "trust: checks.named_childern: unknown check 'named_childern'"),
    ("    named_children: {treshold: 0.5}\n", "trust: checks.named_children: unknown setting 'treshold'"),
])
def test_a_misspelt_check_or_setting_is_refused_in_one_line(tmp_path, block, message):
    """Accepted silently before: a misspelt check name was ignored, a misspelt setting failed the run later."""
    import os
    import subprocess
    import sys

    from socialaudit.cli import main

    root = Path(__file__).resolve().parents[1]
    source = (root / "config" / "trust.yaml").read_text(encoding="utf-8")
    assert "\n  checks:\n" in source
    bad = tmp_path / "trust.yaml"
    bad.write_text(source.replace("\n  checks:\n", "\n  checks:\n" + block, 1), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "socialaudit", "run", "--config", str(bad), "--week", "2026-W47"],
                          capture_output=True, text=True, cwd=root, env={**os.environ, "PYTHONPATH": str(root / "plugins")},
                          timeout=120)
    assert proc.returncode == 2 and message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert main(["scan", "--config", str(bad), "-"]) == 2


def test_the_pipeline_refuses_a_misspelt_check_when_it_loads_the_config(tmp_path):
    from socialaudit.environment import Environment

    root = Path(__file__).resolve().parents[1]
    source = (root / "config" / "trust.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "trust.yaml"
    bad.write_text(source.replace("\n  checks:\n", "\n  checks:\n    comment: {}\n", 1), encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown check 'comment' \\(known: comments, "):
        Environment(config=bad, output=tmp_path / "out", db_url=f"sqlite:///{tmp_path / 'db'}").load()


@pytest.mark.parametrize(("field", "value", "message"), [
    ("head_email", "head@school.example\r\nBcc: everyone@example.org", "is not one email address"),
    ("dsl_email", "a@school.example, b@school.example", "is not one email address"),
    ("id", "s" * 65, "at most 64 characters"),
])
def test_a_school_field_that_would_break_a_header_or_a_file_name_is_refused(tmp_path, field, value, message):
    source = yaml.safe_load((Path(__file__).resolve().parents[1] / "config" / "trust.yaml").read_text(encoding="utf-8"))
    source["schools"][0][field] = value
    bad = tmp_path / "trust.yaml"
    bad.write_text(yaml.safe_dump(source), encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_config(bad)


@pytest.mark.parametrize(("change", "message"), [
    (lambda t: t.replace("date: 2026-10-08", "date: 2026-02-30", 1), r"line \d+: 2026-02-30: day is out of range for month"),
    (lambda t: t.replace("expires: 2027-07-31", "expires: 2027-13-01", 1), r"line \d+: 2027-13-01: month must be in 1\.\.12"),
    (lambda t: b"\x7fELF\x02\x01\x01\x00" + bytes(range(128, 256)), r"line 1: not UTF-8 text \(byte 0x80\)"),
])
def test_an_impossible_date_or_a_binary_file_names_the_file_and_the_line(tmp_path, change, message):
    source = (Path(__file__).resolve().parents[1] / "config" / "trust.yaml").read_text(encoding="utf-8")
    changed = change(source)
    bad = tmp_path / "trust.yaml"
    bad.write_bytes(changed if isinstance(changed, bytes) else changed.encode("utf-8"))
    assert changed != source
    with pytest.raises(ConfigError, match=f"{re.escape(str(bad))}: {message}"):
        load_config(bad)


def test_a_schools_local_authority_phase_and_group_are_optional_one_line_texts(tmp_path):
    raw = _raw()
    raw["schools"][0].update(local_authority="  Northmoor   (fictional) ", phase="Primary", group="Hub 1")
    config = load_config(_write(tmp_path, raw))
    first, second = config.schools[0], config.schools[1]
    assert (first.local_authority, first.phase, first.group) == ("Northmoor (fictional)", "Primary", "Hub 1")
    assert (second.local_authority, second.phase, second.group) == ("", "", "")
    for value, message in (("North\nmoor", "must be one line of text"), ("x" * 101, "at most 100 characters")):
        raw["schools"][0]["local_authority"] = value
        with pytest.raises(ConfigError, match=f"school 'st-aidans': local_authority: .*{message}"):
            load_config(_write(tmp_path, raw))
