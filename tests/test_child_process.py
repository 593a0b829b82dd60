"""cli/_child.run_child: what the parent says and returns when it is signalled while its child runs."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from socialaudit.cli._child import run_child

# A child that says when it is ready, then waits; on SIGTERM it exits with the status given as its first argument.
CHILD = """import pathlib, signal, sys, time
status = int(sys.argv[1])
signal.signal(signal.SIGTERM, lambda *_: sys.exit(status))
pathlib.Path(sys.argv[2]).write_text("ready")
time.sleep(60)
"""


def _signal_when_ready(flag: Path) -> threading.Thread:
    def send() -> None:
        deadline = time.monotonic() + 30
        while not flag.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        if flag.exists():  # never signal this process unless the child is there to take it (the test then fails)
            os.kill(os.getpid(), signal.SIGTERM)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize(("status", "returned", "line"), [
    (0, 0, "child: SIGTERM came as it finished; it finished"),  # exited 0 after the signal: the run stands
    (3, 128 + signal.SIGTERM, "child: stopped by SIGTERM before it finished"),
])
def test_the_parent_reports_how_its_signalled_child_ended(tmp_path, capfd, status, returned, line):
    flag = tmp_path / "ready"
    sender = _signal_when_ready(flag)
    code = run_child([sys.executable, "-c", CHILD, str(status), str(flag)], os.environ, name="child")
    sender.join()
    assert code == returned
    assert capfd.readouterr().err.strip().splitlines()[-1] == line
