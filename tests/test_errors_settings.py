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


# What a use of os.environ may do and still be a read: call one of these methods, be indexed, be tested with
# ``in``, or be copied with dict(). Anything else (an assignment, ``del``, update/setdefault/pop/clear, ``|=``, an
# alias such as ``env = os.environ`` through which it could be written, os.putenv/unsetenv, importing environ or
# putenv from os) counts as a write.
_READ_METHODS = {"get", "keys", "values", "items", "copy", "__contains__", "__getitem__", "__iter__", "__len__"}


def _environ_uses(source: str) -> list[tuple[int, str]]:
    tree = ast.parse(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "os":
            found += [(node.lineno, "write") for a in node.names if a.name in ("environ", "putenv", "unsetenv", "*")]
        if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "os"):
            continue
        if node.attr == "getenv":
            found.append((node.lineno, "read"))
        elif node.attr in ("putenv", "unsetenv", "environb"):
            found.append((node.lineno, "write"))
        elif node.attr == "environ":
            found.append((node.lineno, _environ_use(node, parents.get(node))))
    return found


def _environ_use(node: ast.Attribute, parent: ast.AST | None) -> str:
    if not isinstance(node.ctx, ast.Load):  # os.environ = ..., os.environ |= ..., del os.environ
        return "write"
    if isinstance(parent, ast.Subscript) and parent.value is node:
        return "read" if isinstance(parent.ctx, ast.Load) else "write"
    if isinstance(parent, ast.Attribute) and parent.value is node:
        return "read" if parent.attr in _READ_METHODS else "write"
    if isinstance(parent, ast.Compare) and node in parent.comparators and \
            all(isinstance(op, ast.In | ast.NotIn) for op in parent.ops):
        return "read"
    if isinstance(parent, ast.Call) and isinstance(parent.func, ast.Name) and parent.func.id == "dict" and \
            parent.args == [node] and not parent.keywords:
        return "read"
    return "write"


@pytest.mark.parametrize(("source", "expected"), [
    ("import os\nos.environ.get('A', '')", ["read"]),
    ("import os\nx = os.environ['A']; y = 'A' in os.environ; z = dict(os.environ); w = os.getenv('A')",
     ["read", "read", "read", "read"]),
    ("import os\nos.environ['A'] = '1'", ["write"]),
    ("import os\ndel os.environ['A']", ["write"]),
    ("import os\nos.environ.update(A='1')", ["write"]),
    ("import os\nos.environ.setdefault('A', '1')", ["write"]),
    ("import os\nos.environ.pop('A', None)", ["write"]),
    ("import os\nos.environ |= {'A': '1'}", ["write"]),
    ("import os\nenv = os.environ\nenv['A'] = '1'", ["write"]),  # through an alias
    ("import os\nos.putenv('A', '1')", ["write"]),
    ("from os import environ\nenviron['A'] = '1'", ["write"]),
])
def test_the_environment_detector_tells_writes_from_reads(source: str, expected: list[str]) -> None:
    assert [kind for _, kind in _environ_uses(source)] == expected


def test_only_settings_reads_the_environment_and_nothing_writes_it() -> None:
    """plugins/ and dags/: only socialaudit.settings reads os.environ, and no module writes it, settings included
    (``run`` gives Airflow its variables through a child process's ``env=``: tests/test_run_process.py)."""
    offenders = []
    for path in sorted([*(ROOT / "plugins").rglob("*.py"), *(ROOT / "dags").glob("*.py")]):
        rel = path.relative_to(ROOT).as_posix().removeprefix("plugins/")
        for line, kind in _environ_uses(path.read_text(encoding="utf-8")):
            if rel == "socialaudit/settings.py" and kind == "read":
                continue
            offenders.append(f"{rel}:{line} ({kind})")
    assert offenders == []


def test_the_config_for_this_process_wins_over_the_environment_and_is_restored(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("SOCIALAUDIT_CONFIG", str(tmp_path / "env.yaml"))
    with settings.config_for_this_process(tmp_path / "cli.yaml"):
        assert settings.config_file() == (tmp_path / "cli.yaml").resolve()
        assert settings.config_file("given.yaml") == Path("given.yaml")  # an explicit --config still wins
        with settings.config_for_this_process(None):  # no --config: the outer one stays
            assert settings.config_file() == (tmp_path / "cli.yaml").resolve()
    assert settings.config_file() == tmp_path / "env.yaml"
    assert settings.airflow_variables()["SOCIALAUDIT_CONFIG"] == str(tmp_path / "env.yaml")
