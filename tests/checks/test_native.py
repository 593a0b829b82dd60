"""The compiled named_children modules (checks/_native.py, scripts/build_native.py) decide exactly as the
plain Python ones, and a build is never loaded for sources it was not built from.

``make test`` builds them first (``make native``) and runs the suite on them; these tests run the plain
modules beside them in child processes. Where no build exists (no C compiler) the comparison skips,
unless ``SOCIALAUDIT_REQUIRE_NATIVE=1`` (CI) makes that a failure.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from checks import _native
from socialaudit import settings
from tests.conftest import ROOT
from tests.test_layers import imports, modules

PLUGINS = ROOT / "plugins"
DATA = ROOT / "tests" / "data"

# Every decision of the check on the labelled posts: each mention's probability (repr: bit for bit), the
# names found with their cues, the personal data, and which modules ran.
_DECISIONS = r"""
import json, sys
from pathlib import Path
from checks import _native
import checks._childnames as cn
import checks.named_children as nc
from checks._childnames import NameContext, load_model, read_post, score_post
from checks._personal import OwnDetails
names = NameContext.build(staff=["Mrs Anna Kowalczyk", "Mr Tom Reid"])
own = OwnDetails.build(domains=["example.sch.uk"])
model = load_model()
out = {"compiled": [_native.compiled(m) for m in (cn, nc)], "posts": []}
for path in sys.argv[1:]:
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        r = json.loads(line)
        alts = [m.get("alt") or "" for m in r.get("media") or []] if "media" in r else list(r.get("alt") or [])
        segments = [("text", r["text"])] + [("alt text", a) for a in alts if a]
        read = read_post(segments, model, names)
        probs = [sorted((i, repr(p)) for i, p in seg.items()) for seg in score_post(read, model)]
        found = nc.analyse(segments, names, own)
        out["posts"].append([r["id"], probs, [[n.given, n.surname, n.where, n.year, repr(n.probability), n.cue]
                                              for n in found.names], [[p.kind, p.shown] for p in found.pii]])
print(json.dumps(out))
"""


def _run(code: str, *args: str, pure: bool, plugins: Path = PLUGINS) -> subprocess.CompletedProcess[str]:
    env = {**settings.airflow_variables(), "PYTHONPATH": str(plugins), "PYTHONHASHSEED": "0"}
    env.pop("SOCIALAUDIT_PURE_PYTHON", None)
    if pure:
        env["SOCIALAUDIT_PURE_PYTHON"] = "1"
    return subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=600,
                          cwd=ROOT)


def _require_build() -> Path:
    built = _native.build_dir(_native.digest())
    if not (built / "COMPLETE").is_file():
        if settings.value("SOCIALAUDIT_REQUIRE_NATIVE").strip() not in ("", "0"):
            pytest.fail(f"no compiled build of the current sources ({built}): run make native")
        pytest.skip("no compiled build of the current sources (make native; needs gcc and the Python headers)")
    return built


def test_compiled_and_plain_modules_decide_the_same_bit_for_bit() -> None:
    _require_build()
    files = [str(DATA / "named_children_posts.jsonl"), *map(str, sorted((DATA / "school_posts_by_author").glob("*.jsonl")))]
    pure, fast = (_run(_DECISIONS, *files, pure=p) for p in (True, False))
    assert pure.returncode == 0, pure.stderr
    assert fast.returncode == 0, fast.stderr
    a, b = json.loads(pure.stdout), json.loads(fast.stdout)
    assert a["compiled"] == [False, False] and b["compiled"] == [True, True]
    assert len(a["posts"]) > 5000 and sum(bool(p[2]) for p in a["posts"]) > 1000  # many posts, many names found
    diff = [x[0] for x, y in zip(a["posts"], b["posts"], strict=True) if x != y]
    assert diff == []


def test_a_build_is_never_loaded_for_edited_sources(tmp_path: Path) -> None:
    """A copy of the checkout with the build of the current sources: loaded as they are, not once one is edited."""
    built = _require_build()
    plugins = tmp_path / "plugins"
    shutil.copytree(PLUGINS, plugins, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(built, settings.native_dir(tmp_path) / built.name)
    probe = "import checks._childnames as m, checks._native as n; print(n.compiled(m), m.__file__)"
    got = _run(probe, pure=False, plugins=plugins)
    assert got.returncode == 0 and got.stdout.startswith("True ") and str(tmp_path) in got.stdout, got.stderr
    assert _run(probe, pure=True, plugins=plugins).stdout.startswith("False ")
    for module in _native.DEPENDS:  # any source the build depends on, even one that is not compiled
        source = _native.source_of(module, plugins)
        before = source.read_bytes()
        source.write_bytes(before + b"\n# edited\n")
        got = _run(probe, pure=False, plugins=plugins)
        assert got.returncode == 0 and got.stdout == f"False {plugins / 'checks' / '_childnames.py'}\n", (module, got.stderr)
        source.write_bytes(before)


def test_the_digest_follows_every_source_and_nothing_else(tmp_path: Path) -> None:
    plugins = tmp_path / "plugins"
    for module in _native.DEPENDS:
        path = plugins / _native.source_of(module).relative_to(PLUGINS)
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_native.source_of(module), path)
    key = _native.digest(plugins)
    assert key == _native.digest()
    (plugins / "checks" / "comments.py").write_text("# another check\n", encoding="utf-8")
    assert _native.digest(plugins) == key
    path = _native.source_of("checks._personal", plugins)
    path.write_text(path.read_text(encoding="utf-8").replace("(", "( ", 1), encoding="utf-8")
    assert _native.digest(plugins) != key


def test_depends_holds_every_module_of_ours_the_compiled_ones_import() -> None:
    found = dict(modules())
    todo, seen = list(_native.COMPILED), set()
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        for _, target, _ in imports(module, found[module]):
            while target not in found and "." in target:
                target = target.rsplit(".", 1)[0]
            todo += [target, target.split(".")[0]]  # the module, and its package's __init__ (run first)
    assert seen <= set(_native.DEPENDS), sorted(seen - set(_native.DEPENDS))


def test_the_check_keeps_its_documentation_when_compiled() -> None:
    from checks._base import registry

    spec = registry()["named_children"]
    assert spec.doc_section("What it checks").startswith("no post with photographs")
    assert spec.doc_section("How to fix")


def test_pure_python_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    for value, pure in (("", False), ("0", False), ("1", True), ("yes", True)):
        monkeypatch.setenv("SOCIALAUDIT_PURE_PYTHON", value)
        assert settings.pure_python() is pure
