"""Run one command under resource limits, and measure what it used.

Limits are set with ``setrlimit`` in the child before it executes anything, so they
bind the command and everything it starts (bubblewrap included): address space
(``RLIMIT_AS``), CPU seconds (``RLIMIT_CPU``), the size of any file it writes
(``RLIMIT_FSIZE``), no core dumps. The wall-clock limit is kept here: on timeout the
whole process group is killed. Resources used come from ``wait4``, which reports the
child and every descendant it waited for.

rlimits bind each process on its own; limits on a sandboxed job's processes together (how many,
how much memory, how many cores) are control groups, set up by :mod:`.cgroups` and joined by
the child through the ``before_exec`` hook.

:func:`stop_running` kills every command this process is running (each is its own process
group): how a job's worker stops a job that was cancelled while one of its actions ran.
"""

from __future__ import annotations

import contextlib
import os
import resource
import select
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

GIB = 1024**3

_running: set[int] = set()
"""The process groups of the commands this process is running now (one per thread at most)."""
_running_lock = threading.Lock()
"""Held to kill and to stop counting a command, so a kill never reaches a reaped pid's heir."""


@dataclass(frozen=True, slots=True)
class Limits:
    """What one action may use. Defaults suit a study on one machine's worth of data."""

    memory_bytes: int = 8 * GIB
    cpu_seconds: int = 4 * 3600
    wall_seconds: float = 6 * 3600
    file_bytes: int = 64 * GIB
    tmp_bytes: int = 1 * GIB
    processes: int = 1024
    """Processes and threads of a sandboxed job together (threads count: DuckDB and BLAS
    start one a core); a fork bomb stops here instead of filling the host's process table."""
    cpu_cores: float = 4.0
    """Cores' worth of CPU time a sandboxed job may use at once (cgroup ``cpu.max``)."""

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


def _set_limits(limits: Limits, before_exec: Callable[[], None] | None) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if before_exec is not None:
            before_exec()

    return apply


def run_limited(
    argv: Sequence[str],
    cwd: Path,
    env: Mapping[str, str],
    log: Path,
    limits: Limits,
    before_exec: Callable[[], None] | None = None,
    pass_fds: Sequence[int] = (),
) -> Finished:
    """Run ``argv`` with stdout and stderr to ``log``, under ``limits``; wait for it to end.

    ``before_exec`` runs in the child after the rlimits are set, before ``argv`` starts (joining
    the job's control group), so nothing the command does escapes it. ``pass_fds`` are left
    open in the child (the descriptors of inputs the sandbox binds)."""
    started = time.monotonic()
    with log.open("ab") as out:
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=_set_limits(limits, before_exec),
            start_new_session=True,
            pass_fds=tuple(pass_fds),
        )
    pidfd = os.pidfd_open(proc.pid)
    _running.add(proc.pid)
    try:
        ready, _, _ = select.select([pidfd], [], [], limits.wall_seconds)
    except BaseException:  # interrupted (Ctrl-C): leave nothing running behind us
        _kill_group(proc.pid)
        os.wait4(proc.pid, 0)
        proc.returncode = -signal.SIGKILL
        raise
    finally:
        with _running_lock:  # before it is reaped, so its pid is never reused meanwhile
            _running.discard(proc.pid)
        os.close(pidfd)
    timed_out = not ready
    if timed_out:
        _kill_group(proc.pid)
    _, status, rusage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    usage = Usage(rusage.ru_utime, rusage.ru_stime, rusage.ru_maxrss)
    return Finished(proc.returncode, timed_out, time.monotonic() - started, usage)


def stop_running() -> int:
    """Kill every command this process is running now, with all they started; how many."""
    with _running_lock:
        for pid in _running:
            _kill_group(pid)
        return len(_running)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
