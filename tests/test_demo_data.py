"""Demo values are data: the ``demo:`` block carries them, and production code never imports the simulator."""

from __future__ import annotations

import ast

from socialaudit.config import load_config
from socialaudit.simulator import credentialed, dataset
from tests.conftest import ROOT

# Only the CLI's ``run`` (the demo starts its own simulator) and the simulator itself import it.
MAY_IMPORT_SIMULATOR = {"socialaudit/cli/run.py", "socialaudit/simulator"}


def test_the_simulator_and_the_pipeline_read_the_same_demo_block() -> None:
    demo = load_config().demo
    assert demo is not None
    assert credentialed.DEMO_TOKENS == demo.credentials and set(demo.credentials) == {"x", "facebook", "instagram"}
    assert dataset.DEMO_WEB_HOSTS == tuple(demo.web_hosts)
    assert demo.credentials_for("x") == {"token": demo.credentials["x"]} and demo.credentials_for("rss") is None


def test_production_code_never_imports_the_simulator() -> None:
    offenders = []
    for path in sorted([*(ROOT / "plugins").rglob("*.py"), *(ROOT / "dags").rglob("*.py")]):
        rel = path.relative_to(ROOT / ("dags" if path.is_relative_to(ROOT / "dags") else "plugins")).as_posix()
        if rel in MAY_IMPORT_SIMULATOR or rel.startswith("socialaudit/simulator/"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{rel}:{node.lineno} {n}" for n in names if n.startswith("socialaudit.simulator")]
    assert offenders == []
