"""Work spread over worker processes, results in order, memory bounded, ending with its caller.

Loads check records on every core (:mod:`fivesafes.store.chunks`) and synthesis makes people
on every core (:mod:`fivesafes.synth.generator`); both hand out numbered jobs whose results
must come back in order, and both must stay safe on a shared machine:

- **bounded memory**: ``ProcessPoolExecutor.map`` submits every job at once, so when the
  caller takes results more slowly than the workers make them (a store inserting parts, a
  disk taking bytes), finished results pile up without limit; :func:`ordered_map` submits a
  job only when a result has been taken, ``AHEAD_PER_WORKER`` per worker in flight;
- **workers end with the caller**: a pool's workers wait on a queue whose writing end they
  hold themselves, so a caller killed with SIGKILL would leave them (and the forkserver and
  resource tracker their pipes keep alive) waiting for ever; each worker watches the process
  that started it (:func:`_end_with`) and exits the moment it is gone;
- **quick to start**: workers do not re-import the command's main script
  (:func:`_main_not_inherited`), and start from a forkserver with the job's module loaded.
"""

from __future__ import annotations

import os
import select
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from itertools import islice
from multiprocessing import get_context
from typing import TypeVar

J = TypeVar("J")
R = TypeVar("R")

AHEAD_PER_WORKER = 2
"""Jobs running or queued per worker ahead of the result the caller is taking."""
FORKSERVER_TMPDIR_ROOM = 70
"""A forkserver listens on a Unix socket about 32 bytes deeper than the temporary directory, and
a socket's path holds at most 107 bytes; under a more deeply nested TMPDIR, workers are spawned
instead (slower to start, with no socket)."""


def ordered_map(
    run: Callable[[J], R], jobs: Iterable[J], workers: int, preload: str
) -> Iterator[R]:
    """``run(job)`` for every job, results in job order; on ``workers`` processes (which import
    module ``preload`` before their first job) when more than one, else in this process."""
    if workers <= 1:
        yield from map(run, jobs)
        return
    forkserver = len(tempfile.gettempdir()) <= FORKSERVER_TMPDIR_ROOM
    context = get_context("forkserver" if forkserver else "spawn")
    if forkserver:
        context.set_forkserver_preload([preload])
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_end_with, initargs=(os.getpid(),)
    ) as pool:
        pending: deque[Future[R]] = deque()
        queued = iter(jobs)
        with _main_not_inherited():  # the workers start here, as the first jobs are submitted
            for job in islice(queued, AHEAD_PER_WORKER * workers):
                pending.append(pool.submit(run, job))
        while pending:
            result = pending.popleft().result()
            for job in islice(queued, 1):
                pending.append(pool.submit(run, job))
            yield result


def _end_with(pid: int) -> None:
    """Pool initializer: exit this worker as soon as process ``pid`` (its caller) ends.

    A pidfd becomes readable when its process exits, whatever killed it, and names that very
    process (no confusion with a later one given the same number); where there are no pidfds
    (not Linux), the watcher asks every second whether the process is still there.
    """
    try:
        handle = os.pidfd_open(pid) if hasattr(os, "pidfd_open") else None
    except ProcessLookupError:
        os._exit(1)

    def watch() -> None:
        if handle is not None:
            select.select([handle], [], [])
        else:
            while _alive(pid):
                time.sleep(1)
        os._exit(1)

    threading.Thread(target=watch, name="fivesafes-end-with-caller", daemon=True).start()


@contextmanager
def _main_not_inherited() -> Iterator[None]:
    """Start workers that do not re-run the command's main script.

    multiprocessing makes every new worker import the ``__main__`` of the process that starts
    it -- for ``fivesafes load`` the console script, so the whole command line -- before the
    initializer runs: seconds of work per worker during which a killed caller goes unwatched
    (and memory for nothing: what workers run lives in the job's module). With the main
    module's file and spec hidden while the workers are started, they import only what they use.
    """
    main = sys.modules["__main__"]
    saved = dict(vars(main))
    main.__spec__ = None  # multiprocessing reads it, so it must exist
    vars(main).pop("__file__", None)
    try:
        yield
    finally:
        for name in ("__file__", "__spec__"):
            if name in saved:
                setattr(main, name, saved[name])
            else:
                vars(main).pop(name, None)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
