"""Writing the generated data: one NDJSON file per resource type, and CSV tables.

Files are opened once and written a chunk at a time in large blocks. NDJSON lines
are counted as they are written so a fault's 1-based line number is exact.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import orjson

from fivesafes.synth.records import Batch

FHIR_FILES = (
    "Organization",
    "Location",
    "HealthcareService",
    "Patient",
    "EpisodeOfCare",
    "Encounter",
    "Procedure",
    "Condition",
    "Observation",
    "MedicationRequest",
    "Immunization",
    "Appointment",
)
"""Resource types in the order a loader should read them: everything referred to comes first."""
_BUFFER = 1 << 20


class NdjsonFiles:
    """``<ResourceType>.ndjson`` for every type in FHIR_FILES, with their line counts."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.lines = dict.fromkeys(FHIR_FILES, 0)
        self._handles: dict[str, BinaryIO] = {}

    def __enter__(self) -> NdjsonFiles:
        for name in FHIR_FILES:
            self._handles[name] = (self.out / f"{name}.ndjson").open("wb", buffering=_BUFFER)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        for handle in self._handles.values():
            handle.close()

    def write(self, resource_type: str, data: bytes, lines: int) -> None:
        """Append ``lines`` NDJSON lines (``data``, from :func:`ndjson_lines`) to a type's file."""
        self._handles[resource_type].write(data)
        self.lines[resource_type] += lines


def ndjson_lines(batch: Batch, truncated: dict[int, float]) -> bytes:
    """``batch`` as NDJSON; records whose index is in ``truncated`` are cut to that fraction
    of their length (a proper prefix of a JSON object is never valid JSON)."""
    dumps = orjson.dumps
    lines = [dumps(r, option=orjson.OPT_APPEND_NEWLINE) for r in batch.resources]
    for index, fraction in truncated.items():
        text = lines[index]
        cut = min(len(text) - 2, max(1, int(len(text) * fraction)))
        lines[index] = text[:cut] + b"\n"
    return b"".join(lines)


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
    """Write a CSV table with Unix line endings; returns the number of data rows."""
    count = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count
