"""A command's work in a child process that never outlives it: ``run`` starts Airflow this way.

The parent side, :func:`run_child`, starts the child with its own environment (``env=``: the variables a library
takes only from the environment, so this process's ``os.environ`` is never written), streams its output, returns
its exit status, and stops it with the parent:

- **Ctrl-C or SIGTERM** to the parent is sent on to the child's process group; a child still there
  :data:`STOP_GRACE_SECONDS` later is killed (Airflow's in-process task runner keeps SIGTERM for the task's
  ``on_kill`` and its retries outlast a Ctrl-C, so a polite signal alone may not stop ``dag.test``). A second
  signal kills at once. The parent then says so in one line and exits 128 + the signal's number, unless the
  child exited 0 all the same (the signal came as it finished): then the run stands, the line says so and the
  parent exits 0.
- **A parent that is killed** (SIGKILL, or a crash) cannot pass anything on: the child holds the read end of a pipe
  whose only write end the parent holds, the *lifeline*; :func:`die_with_parent` waits on it and kills the child's
  process group when it reads end-of-file, which the kernel gives as soon as the parent is gone. A pipe, not
  Linux's ``PR_SET_PDEATHSIG``, because it also takes the child's own children (the group) and is plain POSIX.

The child gets its own process group, so a terminal's Ctrl-C reaches the parent only and the child gets it once,
from the parent; its standard input is ``/dev/null`` (nothing in a run reads it, and a background group reading a
terminal would be stopped). Its output goes straight to the parent's stdout and stderr (a terminal stays a terminal,
and the two keep their order) unless one is not a real file, as under pytest's ``capsys``; then it is relayed.
"""

from __future__ import annotations

import codecs
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import IO

STOP_GRACE_SECONDS = 5.0
LIFELINE_OPTION = "--lifeline-fd"  # the option the child takes the lifeline's file descriptor in


def run_child(argv: Sequence[str], env: Mapping[str, str], *, name: str) -> int:
    """Run ``argv`` (a Python child that calls :func:`die_with_parent` on the descriptor given after
    :data:`LIFELINE_OPTION`, which is appended) in ``env``; its exit status, or 128 + N when it was stopped by signal
    N (``name`` prefixes the one line that says so)."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    outputs = [_file_descriptor(sys.stdout), _file_descriptor(sys.stderr)]
    lifeline, keep = os.pipe()  # both ends are not inherited; only `lifeline` is passed on, by pass_fds
    try:
        child = subprocess.Popen([*argv, LIFELINE_OPTION, str(lifeline)], env=dict(env), stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE if outputs[0] is None else outputs[0],
                                 stderr=subprocess.PIPE if outputs[1] is None else outputs[1],
                                 pass_fds=(lifeline,), process_group=0)
    except BaseException:
        os.close(keep)
        raise
    finally:
        os.close(lifeline)
    relays = [threading.Thread(target=_relay, args=(pipe, stream), daemon=True)
              for pipe, stream in ((child.stdout, sys.stdout), (child.stderr, sys.stderr)) if pipe is not None]
    for relay in relays:
        relay.start()
    stopped: list[int] = []
    try:
        with _forwarding_signals(child, stopped):
            code = child.wait()
    except BaseException:  # the parent itself failed while waiting: the child does not outlive it
        _signal_group(child, signal.SIGKILL)
        child.wait()
        raise
    finally:
        os.close(keep)
        for relay in relays:
            relay.join(STOP_GRACE_SECONDS)
    if stopped and code == 0:  # it had finished, or finished its work in the grace period: the run stands
        print(f"{name}: {_signal_name(stopped[0])} came as it finished; it finished", file=sys.stderr)
        return 0
    if stopped:
        print(f"{name}: stopped by {_signal_name(stopped[0])} before it finished", file=sys.stderr)
        return 128 + stopped[0]
    if code < 0:  # killed from outside (the OOM killer, an operator): say so, as a shell would
        print(f"{name}: its process was killed by {_signal_name(-code)}", file=sys.stderr)
        return 128 - code
    return code


def die_with_parent(lifeline: int) -> None:
    """In the child: kill this process's group (this process and anything it started) when the parent is gone, that
    is when ``lifeline`` reads end-of-file. The group is this process alone if it leads none (started by hand)."""

    def watch() -> None:
        try:
            while os.read(lifeline, 1):
                pass
        except OSError:
            pass
        if os.getpgrp() == os.getpid():
            os.killpg(os.getpid(), signal.SIGKILL)
        else:
            os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="lifeline", daemon=True).start()


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:  # a real-time signal has no name
        return f"signal {signum}"


def _file_descriptor(stream: IO[str]) -> int | None:
    """The descriptor under ``stream``, or None for a stream in memory (pytest's ``capsys``, an embedding)."""
    try:
        return stream.fileno()
    except (AttributeError, OSError, ValueError):
        return None


def _relay(pipe: IO[bytes], stream: IO[str]) -> None:
    """Copy the child's output to ``stream`` as it comes (UTF-8; a byte that is not becomes U+FFFD)."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    with pipe:
        while chunk := os.read(pipe.fileno(), 65536):
            stream.write(decoder.decode(chunk))
            stream.flush()
    stream.write(decoder.decode(b"", final=True))
    stream.flush()


@contextmanager
def _forwarding_signals(child: subprocess.Popen[bytes], stopped: list[int]) -> Iterator[None]:
    """While the parent waits: SIGINT and SIGTERM go on to the child's group (``stopped`` records the first), a
    timer kills the group :data:`STOP_GRACE_SECONDS` later, a second signal kills it at once. Handlers can only be
    set in the main thread; elsewhere (an embedding) the signals keep their own meaning."""
    timers: list[threading.Timer] = []

    def on_signal(signum: int, _frame: object) -> None:
        if stopped:
            _signal_group(child, signal.SIGKILL)
            return
        stopped.append(signum)
        _signal_group(child, signum)
        timer = threading.Timer(STOP_GRACE_SECONDS, _signal_group, (child, signal.SIGKILL))
        timer.daemon = True
        timer.start()
        timers.append(timer)

    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {signum: signal.signal(signum, on_signal) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for timer in timers:
            timer.cancel()


def _signal_group(child: subprocess.Popen[bytes], signum: int) -> None:
    """Send ``signum`` to the child's process group (the child leads it), unless the child has been reaped."""
    if child.returncode is None:
        try:
            os.killpg(child.pid, signum)
        except ProcessLookupError:  # already gone
            pass
