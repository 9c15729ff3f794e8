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
    """Every loadable file under ``paths``, in a stable order (files, then folders' contents)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.is_file() and p.suffix.lower() in FHIR_SUFFIXES + CSV_SUFFIXES
                )
            )
        else:
            found.append(path)
    return found


def _json_error(exc: orjson.JSONDecodeError) -> str:
    return f"not valid JSON: {exc.msg} at character {exc.pos} (the record may be truncated)"


def read_ndjson(path: Path) -> Iterator[RawRecord]:
    """One record a non-blank line."""
    name = str(path)
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield RawRecord(name, number, None, orjson.loads(line))
            except orjson.JSONDecodeError as exc:
                yield RawRecord(name, number, None, None, _json_error(exc))


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


def read_fhir(path: Path) -> Iterator[RawRecord]:
    """Records of an NDJSON or JSON file, chosen by suffix."""
    if path.suffix.lower() == ".json":
        return read_json(path)
    return read_ndjson(path)


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
