"""Discovery of the checks and the platforms lists their packages' folders again only when one changed: a
module added after the first listing (its folder's mtime changes) is found, in the same process."""

from __future__ import annotations

import os
import sys

import pytest

import checks
import collectors
from checks import _base
from checks._base import registry
from collectors._base import platforms

PROBE_CHECK = '''"""A check added while the process runs (a test's probe)."""
from checks._base import check
from socialaudit.models import CheckResult, Status


@check("zz_probe_added_later", policy="9.9")
def zz_probe_added_later(school, posts, ctx):
    return CheckResult(check="zz_probe_added_later", policy="9.9", school=school.id, status=Status.PASS, summary="probe")
'''


def _touch(folder, step: int) -> None:
    """Move the folder's mtime on (a file system may keep it to the second)."""
    stamp = os.stat(folder).st_mtime_ns + step * 2_000_000_000
    os.utime(folder, ns=(stamp, stamp))


@pytest.fixture
def extra_folder(tmp_path, monkeypatch):
    """A second folder on a package's path, empty at first."""
    def add(package) -> object:
        folder = tmp_path / package.__name__
        folder.mkdir()
        monkeypatch.setattr(package, "__path__", [*package.__path__, str(folder)])
        return folder
    return add


def test_a_check_module_added_later_is_discovered(extra_folder):
    folder = extra_folder(checks)
    before = registry()
    assert "zz_probe_added_later" not in before
    assert registry() == before  # unchanged folders: the same checks
    (folder / "zz_probe_check.py").write_text(PROBE_CHECK, encoding="utf-8")
    _touch(folder, 1)
    try:
        assert "zz_probe_added_later" in registry()
    finally:
        _base._REGISTRY.pop("zz_probe_added_later", None)
        sys.modules.pop("checks.zz_probe_check", None)


def test_a_platform_module_added_or_removed_later_is_listed(extra_folder):
    folder = extra_folder(collectors)
    before = platforms()
    assert "zz_probe_platform" not in before and {"rss", "mastodon", "bluesky"} <= set(before)
    assert platforms() == before
    (folder / "zz_probe_platform.py").write_text('"""A platform added while the process runs."""\n', encoding="utf-8")
    (folder / "_zz_private.py").write_text('"""Infrastructure: never a platform."""\n', encoding="utf-8")
    _touch(folder, 1)
    assert platforms() == sorted([*before, "zz_probe_platform"])
    (folder / "zz_probe_platform.py").unlink()
    _touch(folder, 2)
    assert platforms() == before
