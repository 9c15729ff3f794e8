"""Run one command under resource limits, and measure what it used.

Limits are set with ``setrlimit`` in the child before it executes anything, so they
bind the command and everything it starts (bubblewrap included): address space
(``RLIMIT_AS``), CPU seconds (``RLIMIT_CPU``), the size of any file it writes
(``RLIMIT_FSIZE``), no core dumps. The wall-clock limit is kept here: on timeout the
whole process group is killed. Resources used come from ``wait4``, which reports the
child and every descendant it waited for.
"""

from __future__ import annotations

import contextlib
import os
import resource
import select
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

GIB = 1024**3


@dataclass(frozen=True, slots=True)
class Limits:
    """What one action may use. Defaults suit a study on one machine's worth of data."""

    memory_bytes: int = 8 * GIB
    cpu_seconds: int = 4 * 3600
    wall_seconds: float = 6 * 3600
    file_bytes: int = 64 * GIB
    tmp_bytes: int = 1 * GIB

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Usage:
    """Resources a finished command used (``getrusage`` of it and its descendants)."""

    cpu_user_s: float
    cpu_system_s: float
    max_rss_kib: int

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Finished:
    """How a command ended: exit code (negative: killed by that signal), and what it took."""

    exit_code: int
    timed_out: bool
    duration_s: float
    usage: Usage


def _set_limits(limits: Limits) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


def run_limited(
    argv: Sequence[str], cwd: Path, env: Mapping[str, str], log: Path, limits: Limits
) -> Finished:
    """Run ``argv`` with stdout and stderr to ``log``, under ``limits``; wait for it to end."""
    started = time.monotonic()
    with log.open("ab") as out:
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=_set_limits(limits),
            start_new_session=True,
        )
    pidfd = os.pidfd_open(proc.pid)
    try:
        ready, _, _ = select.select([pidfd], [], [], limits.wall_seconds)
    except BaseException:  # interrupted (Ctrl-C): leave nothing running behind us
        _kill_group(proc.pid)
        os.wait4(proc.pid, 0)
        proc.returncode = -signal.SIGKILL
        raise
    finally:
        os.close(pidfd)
    timed_out = not ready
    if timed_out:
        _kill_group(proc.pid)
    _, status, rusage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    usage = Usage(rusage.ru_utime, rusage.ru_stime, rusage.ru_maxrss)
    return Finished(proc.returncode, timed_out, time.monotonic() - started, usage)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
