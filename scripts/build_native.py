"""Compile the named_children modules with mypyc (``make native``; ``make test``, ``demo`` and ``bench`` run it).

The compiled modules go to ``build/native/<digest>/`` (git-ignored), where ``checks/_native.py`` looks
for a build of the sources as they are now; the plain Python modules stay the fallback. Nothing is done
when that build exists already. Older builds are removed.

Without a C compiler or the Python headers (Debian: ``gcc`` and ``python3-dev``, installed by ``make
system-deps``) the build is skipped with a warning and the check runs as plain Python, at a little
over half the speed. ``SOCIALAUDIT_REQUIRE_NATIVE=1`` (CI) makes that an error instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = ROOT / "plugins"
sys.path.insert(0, str(PLUGINS))

from checks import _native  # noqa: E402  (plugins/ is the import root)
from socialaudit import settings  # noqa: E402

# Run in a child process, in plugins/: mypyc names the modules from their paths and writes there.
_COMPILE = """
import sys
from setuptools import Distribution
from mypyc.build import mypycify
paths, group, out, temp = sys.argv[1].split(","), sys.argv[2], sys.argv[3], sys.argv[4]
dist = Distribution({"name": group, "ext_modules": mypycify(paths, group_name=group, target_dir=temp + "/c")})
cmd = dist.get_command_obj("build_ext")
cmd.build_lib, cmd.build_temp = out, temp + "/o"
dist.run_command("build_ext")
"""


def build(quiet: bool = True) -> Path | None:
    """The folder of the compiled modules for the current sources (built if missing); None when it cannot be built."""
    key = _native.digest()
    target = _native.build_dir(key)
    if (target / "COMPLETE").is_file():
        return target
    native = target.parent
    native.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".building-", dir=native))
    try:
        out = work / "lib"
        paths = ",".join(_native.source_of(m).relative_to(PLUGINS).as_posix() for m in _native.COMPILED)
        env = {**os.environ, "MYPY_CACHE_DIR": str(work / "mypy-cache")}
        done = subprocess.run([sys.executable, "-c", _COMPILE, paths, _native.group_name(key), str(out), str(work)],
                              cwd=PLUGINS, env=env, capture_output=True, text=True, timeout=1800)
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
            print(f"build_native: mypyc could not compile the named_children modules; they run as plain Python.\n{tail}",
                  file=sys.stderr)
            return None
        if _native.digest() != key:  # a source changed while compiling: this build is of neither version
            print("build_native: the sources changed while compiling; run it again.", file=sys.stderr)
            return None
        (out / "COMPLETE").write_text(f"{key}\n{', '.join(_native.DEPENDS)}\n", encoding="utf-8")
        try:
            out.rename(target)
        except OSError:  # another build of the same sources finished first
            if not (target / "COMPLETE").is_file():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for old in native.iterdir():  # builds of other sources; a process that loaded one keeps its mapped copy
        if old != target and not old.name.startswith(".building-"):
            shutil.rmtree(old, ignore_errors=True)
    if not quiet:
        print(f"build_native: compiled {', '.join(_native.COMPILED)} into {target.relative_to(ROOT)}")
    return target


def main() -> int:
    if settings.pure_python():
        print("build_native: SOCIALAUDIT_PURE_PYTHON is set; nothing built.")
        return 0
    required = settings.value("SOCIALAUDIT_REQUIRE_NATIVE").strip() not in ("", "0")
    if shutil.which(os.environ.get("CC", "gcc")) is None and shutil.which("cc") is None:
        print("build_native: no C compiler (Debian: apt-get install gcc python3-dev, or 'sudo make system-deps'); "
              "named_children runs as plain Python.", file=sys.stderr)
        return 1 if required else 0
    return 0 if build(quiet=False) is not None or not required else 1


if __name__ == "__main__":
    sys.exit(main())
