"""``python -m socialaudit collect`` for the Mastodon, Bluesky, YouTube and RSS collectors against the
simulator, as a person would run it: JSON lines on stdout, one clear line on stderr when it fails."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from socialaudit.simulator.platform_youtube import channel_id
from tests.conftest import ROOT


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "plugins")}
    env.pop("SOCIALAUDIT_YOUTUBE_TOKEN", None)
    return subprocess.run([sys.executable, "-m", "socialaudit", "collect", *args, "--since", "2026-11-16",
                           "--until", "2026-11-23", "--school", "demo"], capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.parametrize("platform, account, base", [
    ("mastodon", "@staidans@mastodon.example", "/mastodon"),
    ("bluesky", "sacred-heart.example.sch.uk", "/bluesky"),
    ("youtube", f"https://www.youtube.com/channel/{channel_id('st-hildas-yt')}", "/youtube"),
    ("rss", "{url}/rss/our-lady/feed/", ""),
])
def test_collect_prints_the_weeks_posts_as_json_lines(simulator, platform, account, base):
    account = account.format(url=simulator.url)
    args = ["--platform", platform, "--account", account, "--allow", simulator.url]
    if base:
        args += ["--base-url", simulator.url + base]
    proc = run_cli(*args)
    assert proc.returncode == 0, proc.stderr
    posts = [json.loads(line) for line in proc.stdout.splitlines()]
    assert posts and all(p["platform"] == platform and p["school"] == "demo" for p in posts)
    assert all("2026-11-16" <= p["created_at"] < "2026-11-23" for p in posts)


def test_a_failed_collection_is_one_line_and_exit_1(simulator):
    proc = run_cli("--platform", "bluesky", "--account", "stjosephs-old.bsky.social", "--base-url", simulator.url + "/bluesky",
                   "--allow", simulator.url)
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0 and "Profile not found" in proc.stderr
