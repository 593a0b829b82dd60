"""collectors/_guard's deadlines: one watchdog thread expires them all, and nothing one deadline does stops it."""

from __future__ import annotations

import socket
import time

from collectors import _guard
from collectors._guard import Deadline


def _pair_expires(deadline: Deadline) -> bool:
    """Whether a blocked read on a socket attached to ``deadline`` is woken by its expiry (within 10 s)."""
    left, right = socket.socketpair()
    try:
        left.settimeout(10)
        deadline.attach(left)
        started = time.monotonic()
        data = left.recv(1)  # nothing is ever sent: only the shutdown wakes it
        return data == b"" and time.monotonic() - started < 9
    finally:
        left.close()
        right.close()


def test_a_deadline_that_fails_to_expire_does_not_end_the_others(monkeypatch):
    class Broken(Deadline):
        def _expire(self) -> None:
            raise RuntimeError("a deadline that cannot expire")

    Broken(0.01)
    time.sleep(0.1)  # the watchdog has met the broken one
    assert _pair_expires(Deadline(0.2))


def test_a_dead_watchdog_thread_is_started_again():
    Deadline(0.01)  # the thread exists
    watchdog = _guard._WATCHDOG
    old = watchdog._thread
    assert old is not None and old.is_alive()
    with watchdog._ready:  # stand in for a thread that died: one that is not alive
        watchdog._thread = type("Dead", (), {"is_alive": lambda self: False})()  # type: ignore[assignment]
    assert _pair_expires(Deadline(0.2))
    assert watchdog._thread is not old and watchdog._thread.is_alive()


def test_a_huge_deadline_does_not_stop_the_watchdog():
    Deadline(1e10)  # Condition.wait(1e10) overflows: the watchdog waits at most MAX_WAIT_SECONDS at a time
    time.sleep(0.05)
    assert _pair_expires(Deadline(0.2))
