"""Reading records out of the files suppliers send: NDJSON, JSON (a resource or a Bundle), CSV.

A reader never stops at a bad record: it yields it with the reason it could not
be read, so one truncated line costs one record, not the file. Positions are
1-based lines, plus the entry index inside a Bundle, so a data manager can open
the file at the right place.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

FHIR_SUFFIXES = (".ndjson", ".jsonl", ".json")
CSV_SUFFIXES = (".csv",)


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One record as read: where it came from and either its parsed JSON or why not."""

    file: str
    line: int
    entry: int | None
    resource: Any
    error: str | None = None

    @property
    def position(self) -> str:
        return f"line {self.line}" + (f", entry {self.entry}" if self.entry is not None else "")


def discover(paths: Iterable[Path]) -> list[Path]:
    """Every loadable file under ``paths``, in a stable order (files, then folders' contents).

    Inside a folder, names starting with ``_`` or ``.`` are skipped: that is where suppliers
    keep manifests and notes beside the data (the synthetic generator's ``_faults.json``).
    """
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.is_file()
                    and p.suffix.lower() in FHIR_SUFFIXES + CSV_SUFFIXES
                    and not p.name.startswith(("_", "."))
                )
            )
        else:
            found.append(path)
    return found


def _json_error(exc: orjson.JSONDecodeError) -> str:
    return f"not valid JSON: {exc.msg} at character {exc.pos} (the record may be truncated)"


def read_ndjson(
    path: Path, start: int = 0, end: int | None = None, first_line: int = 1
) -> Iterator[RawRecord]:
    """One record a non-blank line, for the whole file or the byte range [start, end).

    A range must start at the beginning of a line; ``first_line`` is that line's number.
    Ranges let several processes check one large file, each its own part.
    """
    name = str(path)
    with path.open("rb") as handle:
        handle.seek(start)
        data = handle.read() if end is None else handle.read(end - start)
    for number, line in enumerate(data.split(b"\n"), start=first_line):
        if not line.strip():
            continue
        try:
            yield RawRecord(name, number, None, orjson.loads(line))
        except orjson.JSONDecodeError as exc:
            yield RawRecord(name, number, None, None, _json_error(exc))


def line_ranges(path: Path, target_bytes: int) -> list[tuple[int, int, int]]:
    """(start, end, first line number) ranges of about ``target_bytes``, split at line ends."""
    data = path.read_bytes()
    ranges = []
    start, line = 0, 1
    while start < len(data):
        end = data.find(b"\n", min(start + target_bytes, len(data)) - 1)
        end = len(data) if end < 0 else end + 1
        ranges.append((start, end, line))
        line += data.count(b"\n", start, end)
        start = end
    return ranges


def read_json(path: Path) -> Iterator[RawRecord]:
    """A single resource, or each entry's resource of a Bundle (the Bundle itself is a wrapper)."""
    name = str(path)
    try:
        document = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        line = path.read_bytes()[: exc.pos].count(b"\n") + 1
        yield RawRecord(name, line, None, None, _json_error(exc))
        return
    entries = document.get("entry") if isinstance(document, dict) else None
    if (
        isinstance(document, dict)
        and document.get("resourceType") == "Bundle"
        and document.get("type") in ("transaction", "batch", "collection")
        and isinstance(entries, list)
    ):
        for index, entry in enumerate(entries):
            resource = entry.get("resource") if isinstance(entry, dict) else None
            yield RawRecord(name, 1, index, resource)
        return
    yield RawRecord(name, 1, None, document)


def read_csv(path: Path) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The header and (line, values) of each data row; lines count the header as line 1."""
    handle = io.TextIOWrapper(path.open("rb"), encoding="utf-8-sig", newline="")
    reader = csv.reader(handle)
    header = next(reader, [])

    def rows() -> Iterator[tuple[int, list[str]]]:
        with handle:
            for values in reader:
                if values:
                    yield reader.line_num, values

    return [h.strip() for h in header], rows()
