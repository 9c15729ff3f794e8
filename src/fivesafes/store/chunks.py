"""Checking FHIR files in parts, on every core, and handing the store Arrow tables.

Record-level checks are pure Python and dominate a load, so large NDJSON files
are split at line ends into parts that worker processes check independently.
Each part comes back as one Arrow table per resource type plus its rejects;
the loader inserts the parts in file order, so "the first version in a load
wins" means the same thing however many workers ran. Small loads run in the
calling process, where starting workers would cost more than it saves.

Workers end with the load, however it ends. A pool's workers wait on a queue
whose writing end they hold themselves, so a load killed with SIGKILL would
leave them (and the forkserver and resource tracker their pipes keep alive)
waiting for ever. So each worker watches the process that started the pool
(:func:`_end_with`) and exits the moment it is gone.
"""

from __future__ import annotations

import os
import select
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from itertools import islice
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import pyarrow as pa

from fivesafes.ingest.flatten import FLATTENINGS
from fivesafes.ingest.pipeline import check_fhir_file
from fivesafes.ingest.readers import line_ranges
from fivesafes.store.database import identifiable_columns
from fivesafes.store.pseudonym import Pseudonymiser
from fivesafes.store.staging import ARROW_TYPES

PART_BYTES = 4 << 20
PARALLEL_FROM_BYTES = 8 << 20
SEQ_SHIFT = 32
"""seq = part index << 32 | record number in the part: file order across parts."""
AHEAD_PER_WORKER = 2
"""Parts checked or queued per worker ahead of the one the store is taking (see
:func:`_bounded_map`)."""

STAGE_EXTRA = (("seq", "BIGINT"),)
FORKSERVER_TMPDIR_ROOM = 70
"""A forkserver listens on a Unix socket about 32 bytes deeper than the temporary directory, and
a socket's path holds at most 107 bytes; under a more deeply nested TMPDIR, workers are spawned
instead (slower to start, with no socket)."""


def stage_columns(resource_type: str) -> tuple[tuple[str, str], ...]:
    return identifiable_columns(resource_type) + STAGE_EXTRA


_SCHEMAS = {
    rtype: pa.schema([(n, ARROW_TYPES[t]) for n, t in stage_columns(rtype)])
    for rtype in FLATTENINGS
}


@dataclass(frozen=True, slots=True)
class Part:
    index: int
    path: Path
    start: int
    end: int | None
    first_line: int


@dataclass
class PartResult:
    """One part's staged rows (as Arrow), rejects and verdicts."""

    index: int
    path: str
    tables: dict[str, pa.Table] = field(default_factory=dict)
    rejects: list[tuple[Any, ...]] = field(default_factory=list)
    """(file, line, entry, resource type, id, path, rule, message)"""
    quarantined: Counter[str] = field(default_factory=Counter)
    accepted: list[tuple[str, int, int | None, str, str | None]] = field(default_factory=list)
    records: int = 0
    last_part_of_file: bool = False


def plan(files: list[Path]) -> list[Part]:
    """The parts to check, in file order."""
    parts: list[Part] = []
    for path in files:
        if path.suffix.lower() == ".json":
            parts.append(Part(len(parts), path, 0, None, 1))
            continue
        for start, end, line in line_ranges(path, PART_BYTES) or [(0, 0, 1)]:
            parts.append(Part(len(parts), path, start, end, line))
    return parts


def check_part(part: Part, today: date, key: bytes, collect: bool) -> PartResult:
    """Check one part; runs in a worker process (or in the caller for small loads)."""
    pseudonymise = Pseudonymiser(key)
    result = PartResult(part.index, str(part.path))
    rows: dict[str, list[tuple[Any, ...]]] = {}
    base = part.index << SEQ_SHIFT
    for n, res in enumerate(
        check_fhir_file(part.path, today, part.start, part.end, part.first_line), start=1
    ):
        result.records = n
        if res.findings:
            result.quarantined[res.kind] += 1
            for f in res.findings:
                result.rejects.append(
                    (
                        res.file,
                        res.line,
                        res.entry,
                        res.resource_type,
                        res.resource_id,
                        f.path,
                        f.rule,
                        f.message,
                    )
                )
            continue
        assert res.row is not None and res.resource_type is not None and res.canonical
        provenance = (
            res.resource_id,
            res.content_hash,
            res.canonical.decode(),
            res.file,
            res.line,
            res.entry,
        )
        if res.resource_type == "Patient":
            row = (*provenance, pseudonymise(res.row[0]), *res.row, base + n)
        else:
            row = (*provenance, *res.row, base + n)
        rows.setdefault(res.resource_type, []).append(row)
        if collect:
            result.accepted.append(
                (res.file, res.line, res.entry, res.resource_type, res.resource_id)
            )
    for rtype, typed_rows in rows.items():
        schema = _SCHEMAS[rtype]
        columns = zip(*typed_rows, strict=True)
        result.tables[rtype] = pa.Table.from_arrays(
            [pa.array(list(c), type=f.type) for c, f in zip(columns, schema, strict=True)],
            schema=schema,
        )
    return result


def _check_part_star(args: tuple[Part, date, bytes, bool]) -> PartResult:
    return check_part(*args)


def _end_with(pid: int) -> None:
    """Pool initializer: exit this worker as soon as process ``pid`` (the load) ends.

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

    threading.Thread(target=watch, name="fivesafes-end-with-load", daemon=True).start()


@contextmanager
def _main_not_inherited() -> Iterator[None]:
    """Start workers that do not re-run the command's main script.

    multiprocessing makes every new worker import the ``__main__`` of the process that starts
    it -- for ``fivesafes load`` the console script, so the whole command line -- before the
    initializer runs: seconds of work per worker during which a killed load goes unwatched
    (and memory for nothing: what workers run lives in this module). With the main module's
    file and spec hidden while the workers are started, they import only what they use.
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


def check_parts(
    files: list[Path], today: date, key: bytes, collect: bool, workers: int | None = None
) -> Iterator[PartResult]:
    """Every part's result, in file order; on several processes when the load is large."""
    parts = plan(files)
    total = sum(p.stat().st_size for p in files)
    if workers is None:
        workers = (os.cpu_count() or 1) if total >= PARALLEL_FROM_BYTES else 1
    last = {}
    for part in parts:
        last[part.path] = part.index
    jobs = [(part, today, key, collect) for part in parts]
    if workers <= 1:
        results: Iterator[PartResult] = map(_check_part_star, jobs)
        for result in results:
            result.last_part_of_file = last[Path(result.path)] == result.index
            yield result
        return
    forkserver = len(tempfile.gettempdir()) <= FORKSERVER_TMPDIR_ROOM
    context = get_context("forkserver" if forkserver else "spawn")
    if forkserver:
        context.set_forkserver_preload([__name__])  # workers start with the checkers imported
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_end_with, initargs=(os.getpid(),)
    ) as pool:
        for result in _bounded_map(pool, jobs, AHEAD_PER_WORKER * workers):
            result.last_part_of_file = last[Path(result.path)] == result.index
            yield result


def _bounded_map(
    pool: ProcessPoolExecutor, jobs: list[tuple[Part, date, bytes, bool]], ahead: int
) -> Iterator[PartResult]:
    """``pool.map`` in order, with at most ``ahead`` parts submitted and not yet taken.

    ``pool.map`` submits every part at once, so when the store takes parts more slowly than
    the workers check them, finished parts (a few megabytes of Arrow each) pile up in this
    process without limit; here a part is submitted only when one has been taken, and the
    memory of a load stays that of ``ahead`` parts however large the files.
    """
    pending: deque[Future[PartResult]] = deque()
    queued = iter(jobs)
    with _main_not_inherited():  # the workers start here, as the first parts are submitted
        for job in islice(queued, ahead):
            pending.append(pool.submit(_check_part_star, job))
    while pending:
        result = pending.popleft().result()
        for job in islice(queued, 1):
            pending.append(pool.submit(_check_part_star, job))
        yield result
