"""Checking FHIR files in parts, on every core, and handing the store Arrow tables.

Record-level checks are pure Python and dominate a load, so large NDJSON files
are split at line ends into parts that worker processes check independently.
Each part comes back as one Arrow table per resource type plus its rejects;
the loader inserts the parts in file order, so "the first version in a load
wins" means the same thing however many workers ran. Small loads run in the
calling process, where starting workers would cost more than it saves.

The workers (:mod:`fivesafes.workers`) end with the load, however it ends, and
hold at most a few parts each in flight, so a load's memory is that of a few parts
however large its files.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa

from fivesafes.ingest.flatten import FLATTENINGS
from fivesafes.ingest.pipeline import check_fhir_file
from fivesafes.ingest.readers import line_ranges
from fivesafes.store.database import identifiable_columns
from fivesafes.store.pseudonym import Pseudonymiser
from fivesafes.store.staging import ARROW_TYPES
from fivesafes.workers import ordered_map

PART_BYTES = 4 << 20
PARALLEL_FROM_BYTES = 8 << 20
SEQ_SHIFT = 32
"""seq = part index << 32 | record number in the part: file order across parts."""

STAGE_EXTRA = (("seq", "BIGINT"),)


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
    for result in ordered_map(_check_part_star, jobs, workers, __name__):
        result.last_part_of_file = last[Path(result.path)] == result.index
        yield result
