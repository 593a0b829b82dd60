"""The layer test: every first-party import points down (issue 10).

It parses every module under ``plugins/`` and ``dags/`` (function-local imports and ``TYPE_CHECKING``
ones included) and fails on an edge the table forbids:

=============  =================================================================  ==========================
layer          modules                                                            may import
=============  =================================================================  ==========================
core           socialaudit.{models, weeks, config, errors, settings}              nothing of ours
checks         checks.* (one module per check, ``_`` helpers)                     core, own helpers
collectors     collectors.* (one module per platform, ``_`` helpers)              core, own helpers
services       every other socialaudit.* module (store, archive, reports, ...)    core, checks, collectors
steps          socialaudit.pipeline                                               everything below
entry points   dags/*, socialaudit.cli.*, socialaudit.{__main__, webapp}, socialaudit_ui,   anything
               airflow_local_settings
simulator      socialaudit.simulator.*                                            core only
=============  =================================================================  ==========================

Nothing below the entry points imports one, and only the entry points (the CLI's ``run``) and
tests import the simulator. A check never imports another check, nor a platform another platform.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

PLUGINS = ROOT / "plugins"
FIRST_PARTY = ("socialaudit", "socialaudit_ui", "checks", "collectors")
CORE = {"socialaudit", "socialaudit.models", "socialaudit.weeks", "socialaudit.config", "socialaudit.errors",
        "socialaudit.settings"}
STEPS = {"socialaudit.pipeline"}
ENTRY_POINTS = {"socialaudit.cli", "socialaudit.__main__", "socialaudit.webapp", "socialaudit_ui", "airflow_local_settings"}  # and socialaudit.cli.*
RANK = {"core": 0, "checks": 1, "collectors": 1, "services": 2, "steps": 3, "entry": 4}


def layer(module: str) -> str:
    if module.startswith(("dags.", "socialaudit.cli.")) or module in ENTRY_POINTS:
        return "entry"
    if module == "socialaudit.simulator" or module.startswith("socialaudit.simulator."):
        return "simulator"
    if module.split(".")[0] in ("checks", "collectors"):
        return module.split(".")[0]
    if module in CORE:
        return "core"
    if module in STEPS:
        return "steps"
    return "services"


def modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(PLUGINS.rglob("*.py")):
        parts = path.relative_to(PLUGINS).with_suffix("").parts
        found.append((".".join(parts[:-1] if parts[-1] == "__init__" else parts), path))
    found += [(f"dags.{path.stem}", path) for path in sorted((ROOT / "dags").glob("*.py"))]
    return found


def _is_module(name: str) -> bool:
    base = PLUGINS.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def imports(module: str, path: Path) -> list[tuple[int, str, bool]]:
    """(line, imported first-party module, function-local?) for every import in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the importing module's package
                package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            # "from socialaudit import mail" imports the module socialaudit.mail
            targets = [f"{base}.{a.name}" if _is_module(f"{base}.{a.name}") else base for a in node.names]
        else:
            continue
        local, up = False, node
        while up in parents:
            up = parents[up]
            if isinstance(up, (ast.FunctionDef, ast.AsyncFunctionDef)):
                local = True
                break
        out += [(node.lineno, t, local) for t in dict.fromkeys(targets) if t.split(".")[0] in FIRST_PARTY]
    return out


def forbidden(importer: str, imported: str) -> str:
    """Why the edge importer -> imported is forbidden, or "" when the table allows it."""
    a, b = layer(importer), layer(imported)
    if b == "simulator":
        return "" if a in ("simulator", "entry") else "only the CLI's run and tests import the simulator"
    if a == "simulator":
        return "" if b in ("core", "simulator") else "the simulator imports core only"
    if b == "entry" and a != "entry":
        return "nothing imports an entry point"
    if a in ("checks", "collectors") and a == b:
        mine, theirs = importer.split("."), imported.split(".")
        if len(mine) > 1 and len(theirs) > 1 and not mine[1].startswith("_") and not theirs[1].startswith("_") \
                and mine[1] != theirs[1]:
            return f"one {a[:-1]} never imports another (share a _helper instead)"
        return ""
    if a == b:
        return ""
    if {a, b} == {"checks", "collectors"}:
        return "checks and collectors never import each other"
    return "" if RANK[b] < RANK[a] else f"{a} may not import {b} (imports point down)"


EDGES = [(module, line, target, local) for module, path in modules() for line, target, local in imports(module, path)]


def test_every_import_points_down() -> None:
    bad = [f"{module}:{line} -> {target} ({layer(module)} -> {layer(target)}: {why})"
           for module, line, target, _ in EDGES if (why := forbidden(module, target))]
    assert bad == []


def test_the_package_groups_form_no_cycle() -> None:
    groups = {"core": 0, "checks": 1, "collectors": 1, "services": 2, "steps": 3, "entry": 4}
    up = {(layer(m), layer(t)) for m, _, t, _ in EDGES if layer(m) in groups and layer(t) in groups
          and groups[layer(t)] > groups[layer(m)]}
    assert up == set()


@pytest.mark.parametrize(("importer", "imported", "allowed"), [
    ("socialaudit.config", "collectors._base", False),       # core imports nothing of ours
    ("checks.comments", "collectors._http", False),          # checks and collectors never each other
    ("checks.comments", "checks.named_children", False),     # one check never imports another
    ("checks.comments", "checks._lexicon", True),            # its own helper
    ("socialaudit.delivery", "socialaudit.pipeline", False), # a service never calls back into a step
    ("socialaudit.suppressions", "socialaudit.cli", False),  # nothing imports the CLI
    ("socialaudit.links", "socialaudit.simulator.dataset", False),
    ("socialaudit.cli.run", "socialaudit.simulator", True),
    ("socialaudit.archive.retention", "socialaudit.cli.history", False),  # a service never imports a command
    ("socialaudit.pipeline", "checks._base", True),
])
def test_the_rules_themselves(importer: str, imported: str, allowed: bool) -> None:
    assert (forbidden(importer, imported) == "") is allowed


def test_the_readme_map_names_real_files() -> None:
    """The architecture map (docs/architecture.md) stays accurate: every path it names exists, and its layer table
    lists the same core and steps modules as this test."""

    readme = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = readme[readme.index("## How it is built"):readme.index("### Adding a check")]
    for path in re.findall(r"`((?:plugins|dags|config|templates)/[^`<>]+?)`", section):
        assert (ROOT / path).exists(), path
    core_row = next(line for line in section.splitlines() if line.startswith("| core |"))
    assert set(re.findall(r"`(\w+)\.py`", core_row)) == {m.split(".")[-1] for m in CORE if m != "socialaudit"}
    steps_row = next(line for line in section.splitlines() if line.startswith("| steps |"))
    assert {f"socialaudit.{m}" for m in re.findall(r"socialaudit/(\w+)\.py", steps_row)} == STEPS


def test_reports_never_read_a_checks_metric_keys() -> None:
    """A check's figures come from the check module (post_frequency.week_figures, event_promotion.calendar_errors,
    ...), so renaming a metric key is a change to one check, not to the reports or the pipeline."""
    for module in ("reports.py", "mail.py", "pipeline.py", "advice.py"):
        tree = ast.parse((PLUGINS / "socialaudit" / module).read_text(encoding="utf-8"))
        reads = [node.lineno for node in ast.walk(tree)
                 if isinstance(node, ast.Subscript | ast.Call)
                 and "metrics" in ast.unparse(node.value if isinstance(node, ast.Subscript) else node.func).split(".")[-2:-1]]
        assert reads == [], f"socialaudit/{module} reads metric keys at lines {reads}"


# Function-local first-party imports hide cycles. Two kinds stay and are not counted: a DAG task's
# imports (the DAG file is parsed every 30 s and must not load the package: tests/dags/test_integrity.py)
# and imports of the simulator (demo only; production never loads it). Every other one has a reason
# (an optional dependency, a plugin Airflow loads in every process), and their number may only go
# down: lower MAX_LOCAL_IMPORTS when you remove one.
MAX_LOCAL_IMPORTS = 1


def local_imports() -> list[str]:
    return [f"{module}:{line} -> {target}" for module, line, target, local in EDGES
            if local and not module.startswith("dags.") and layer(target) != "simulator"]


def test_function_local_imports_only_go_down() -> None:
    found = local_imports()
    assert len(found) <= MAX_LOCAL_IMPORTS, "a new function-local first-party import (import at the top):\n" + "\n".join(found)


# Every function-local first-party import (the DAG's and the simulator's included) says why it is not at
# the top: a comment on its line, or in the comment and import lines right above it (one comment may
# explain a group of imports). UNEXPLAINED_LEFT is what is still open; it may only shrink.
UNEXPLAINED_LEFT: set[tuple[str, str]] = set()  # every function-local import says why


def _explained(lines: list[str], line: int) -> bool:
    if "#" in lines[line - 1]:
        return True
    for above in reversed(lines[: line - 1]):
        text = above.strip()
        if text.startswith("#"):
            return True
        if not text.startswith(("import ", "from ")):
            return False
    return False


def test_every_function_local_import_says_why() -> None:
    unexplained: dict[tuple[str, str], list[str]] = {}
    paths = dict(modules())
    for module, line, target, local in EDGES:
        if local and not _explained(paths[module].read_text(encoding="utf-8").splitlines(), line):
            unexplained.setdefault((module, target), []).append(f"{module}:{line} -> {target}")
    assert [e for key, entries in sorted(unexplained.items()) if key not in UNEXPLAINED_LEFT for e in entries] == [], \
        "a function-local import without a comment saying why it is not at the top"
    assert sorted(UNEXPLAINED_LEFT - set(unexplained)) == [], "explained: take it out of UNEXPLAINED_LEFT"


# The boundaries between layers carry real types: a parameter or a field with one of these names is
# never annotated with ``Any`` (there were ``store: Any``, ``school: Any``, ``env: Any``). ANY_LEFT is
# what is still open (issue 10); it may only shrink, and an entry that is fixed must leave it.
TYPED_NAMES = {"store", "school", "env", "config", "week", "archive", "services", "collections", "results", "posts",
               "request", "resolver", "delivery", "suppression", "engine"}
ANY_LEFT: set[tuple[str, str]] = set()


def _annotations(tree: ast.AST) -> list[tuple[int, str, ast.expr]]:
    out: list[tuple[int, str, ast.expr]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            args = node.args
            out += [(a.lineno, a.arg, a.annotation) for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)
                    if a.annotation is not None]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            out.append((node.lineno, node.target.id, node.annotation))
    return out


def test_no_any_at_a_layer_boundary() -> None:
    found: dict[tuple[str, str], list[str]] = {}
    for module, path in modules():
        if layer(module) == "simulator":
            continue
        for line, name, annotation in _annotations(ast.parse(path.read_text(encoding="utf-8"))):
            text = ast.unparse(annotation)
            if name in TYPED_NAMES and re.search(r"\bAny\b", text):
                found.setdefault((module, name), []).append(f"{module}:{line} {name}: {text}")
    assert [line for key, lines in sorted(found.items()) if key not in ANY_LEFT for line in lines] == []
    assert sorted(ANY_LEFT - set(found)) == [], "fixed: take it out of ANY_LEFT"
