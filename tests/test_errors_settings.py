"""The error tree and the one reader of the environment (issue 10, step 1)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from socialaudit import cli, settings
from socialaudit.cli import scan as scan_command
from socialaudit.config import ConfigError
from socialaudit.errors import InputError, SocialAuditError, UsageError, WeekError
from socialaudit.weeks import IsoWeek
from tests.conftest import ROOT


def test_every_input_error_is_one_tree_and_still_a_value_error() -> None:
    for error in (UsageError, ConfigError, WeekError):
        assert issubclass(error, InputError) and issubclass(error, SocialAuditError) and issubclass(error, ValueError)
    with pytest.raises(WeekError, match="2026 has no week 54"):
        IsoWeek.parse("2026-W54")


def test_input_errors_exit_2_but_a_bug_is_not_blamed_on_the_user(monkeypatch, capsys) -> None:
    def bad_input(args):
        raise UsageError("no school 'x'")

    def bug(args):
        raise ValueError("a bug: int('x')")

    monkeypatch.setattr(scan_command, "cmd_scan", bad_input)
    assert cli.main(["scan", "-"]) == cli.EXIT_USAGE
    assert capsys.readouterr().err.strip() == "socialaudit scan: no school 'x'"
    monkeypatch.setattr(scan_command, "cmd_scan", bug)
    with pytest.raises(ValueError, match="a bug"):
        cli.main(["scan", "-"])


def test_settings_are_read_when_asked(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("SOCIALAUDIT_OUTPUT", str(tmp_path))
    monkeypatch.delenv("SOCIALAUDIT_DB_URL", raising=False)
    assert settings.output_dir() == tmp_path
    assert settings.db_url(tmp_path) == f"sqlite:///{tmp_path / 'socialaudit.db'}"
    monkeypatch.setenv("SOCIALAUDIT_CONFIG", str(tmp_path / "t.yaml"))
    assert settings.config_file() == tmp_path / "t.yaml" and settings.config_file("x.yaml").name == "x.yaml"


def _environ_uses(path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    writes = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Subscript) and isinstance(n.ctx, ast.Store)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv") and \
                isinstance(node.value, ast.Name) and node.value.id == "os":
            found.append((node.lineno, "write" if id(node) in writes else "read"))
    return found


def test_only_settings_reads_the_environment() -> None:
    """plugins/ and dags/: only socialaudit.settings reads os.environ, and writes it only in export_airflow_variables."""
    offenders = []
    for path in sorted([*(ROOT / "plugins").rglob("*.py"), *(ROOT / "dags").glob("*.py")]):
        rel = path.relative_to(ROOT).as_posix().removeprefix("plugins/")
        for line, kind in _environ_uses(path):
            if rel == "socialaudit/settings.py" and (kind == "read" or line in _lines_of(path, "export_airflow_variables")):
                continue
            offenders.append(f"{rel}:{line} ({kind})")
    assert offenders == []


def _lines_of(path, function: str) -> range:
    node = next(n for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                if isinstance(n, ast.FunctionDef) and n.name == function)
    return range(node.lineno, (node.end_lineno or node.lineno) + 1)


def test_only_airflows_own_variables_are_written(monkeypatch) -> None:
    monkeypatch.delenv("SOCIALAUDIT_CONFIG", raising=False)
    with pytest.raises(ValueError, match="SOCIALAUDIT_CONFIG: only Airflow's own variables"):
        settings.export_airflow_variables({"SOCIALAUDIT_CONFIG": "x.yaml"})
    assert "SOCIALAUDIT_CONFIG" not in settings.airflow_variables()
    monkeypatch.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "True")  # restored by monkeypatch after the test
    settings.export_airflow_variables({"AIRFLOW__CORE__LOAD_EXAMPLES": "False"})
    assert settings.value("AIRFLOW__CORE__LOAD_EXAMPLES") == "False"


def test_the_config_for_this_process_wins_over_the_environment_and_is_restored(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("SOCIALAUDIT_CONFIG", str(tmp_path / "env.yaml"))
    with settings.config_for_this_process(tmp_path / "cli.yaml"):
        assert settings.config_file() == (tmp_path / "cli.yaml").resolve()
        assert settings.config_file("given.yaml") == Path("given.yaml")  # an explicit --config still wins
        with settings.config_for_this_process(None):  # no --config: the outer one stays
            assert settings.config_file() == (tmp_path / "cli.yaml").resolve()
    assert settings.config_file() == tmp_path / "env.yaml"
    assert settings.airflow_variables()["SOCIALAUDIT_CONFIG"] == str(tmp_path / "env.yaml")
