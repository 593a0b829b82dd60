"""Airflow executes every .py it finds under plugins/ at start-up: only the AirflowPlugin module may be
found there, and no module may shadow the standard library."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.conftest import ROOT

PLUGINS = ROOT / "plugins"


def test_airflow_plugin_loader_sees_no_package_module():
    from airflow._shared.module_loading import find_path_from_directory

    found = [Path(p).relative_to(PLUGINS) for p in find_path_from_directory(str(PLUGINS), ".airflowignore", "glob")]
    python_files = [p for p in found if p.suffix == ".py"]
    assert all(len(p.parts) == 1 for p in python_files), python_files
    assert {p.name for p in python_files} <= {"socialaudit_ui.py"}


def test_no_top_level_name_shadows_the_standard_library():
    names = {p.stem for p in PLUGINS.iterdir() if p.suffix == ".py" or (p.is_dir() and (p / "__init__.py").exists())}
    assert names and not names & set(sys.stdlib_module_names)


def test_every_package_has_an_init_so_tests_cannot_shadow_it():
    for folder in [*PLUGINS.rglob("*"), *(ROOT / "tests").rglob("*")]:
        if folder.is_dir() and "__pycache__" not in folder.parts and any(folder.glob("*.py")):
            assert (folder / "__init__.py").exists(), folder
