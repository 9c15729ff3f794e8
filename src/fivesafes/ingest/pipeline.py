"""The point of entry: every record read, checked and flattened, one at a time.

``check_file`` is what both ``fivesafes validate`` and ``fivesafes load`` run on
each file, so a supplier who validates before sending sees exactly the
findings the environment would quarantine. Checks that need other records
(references, duplicates, dates against birth and death) are made by the store
once the whole load is staged; this module needs nothing but the record.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import orjson

from fivesafes.ingest.checks import JSON_MALFORMED, TYPE_NOT_LOADED
from fivesafes.ingest.fhir import FhirValidator
from fivesafes.ingest.flatten import FLATTENINGS, PROFILE_EXTENSIONS, flatten
from fivesafes.ingest.readers import CSV_SUFFIXES, read_csv, read_json, read_ndjson
from fivesafes.ingest.rules import Finding
from fivesafes.ingest.tabular import (
    CSV_FILE,
    CSV_HEADER,
    CSV_TABLES,
    header_problem,
    parse_row,
    table_for,
)
from fivesafes.model import Table


def _profile_validator() -> FhirValidator:
    validator = FhirValidator()
    for url, value_types in PROFILE_EXTENSIONS.items():
        validator.register_extension(url, value_types)
    return validator


VALIDATOR = _profile_validator()
"""Base R4 validation that also knows the extensions of docs/fhir-profile.md."""


@dataclass(frozen=True, slots=True)
class CheckedResource:
    """A FHIR record after the record-level checks: its row when accepted, findings when not."""

    file: str
    line: int
    entry: int | None
    resource_type: str | None
    resource_id: str | None
    row: tuple[Any, ...] | None
    canonical: bytes | None
    content_hash: str | None
    findings: tuple[Finding, ...]


@dataclass(frozen=True, slots=True)
class CheckedRow:
    """A CSV data row after checking against its model table."""

    file: str
    line: int
    table: Table | None
    row: tuple[Any, ...] | None
    findings: tuple[Finding, ...]


def _identity(resource: Any) -> tuple[str | None, str | None]:
    if not isinstance(resource, dict):
        return None, None
    rtype, rid = resource.get("resourceType"), resource.get("id")
    return (rtype if isinstance(rtype, str) else None), (rid if isinstance(rid, str) else None)


def check_resource(
    file: str, line: int, entry: int | None, resource: Any, today: date
) -> CheckedResource:
    """Structural FHIR R4 validation, then the environment's rules while flattening."""
    rtype, rid = _identity(resource)
    findings = VALIDATOR.validate_resource(resource)
    if findings:
        return CheckedResource(file, line, entry, rtype, rid, None, None, None, tuple(findings))
    if rtype not in FLATTENINGS:
        finding = Finding(
            TYPE_NOT_LOADED.id,
            str(rtype),
            f"fivesafes does not load {rtype} resources (see docs/fhir-profile.md)",
        )
        return CheckedResource(file, line, entry, rtype, rid, None, None, None, (finding,))
    row, checker = flatten(resource, today)
    if checker.findings or rid is None:
        found = checker.findings or [Finding("fhir.id", rtype, "a resource to load needs an id")]
        return CheckedResource(file, line, entry, rtype, rid, None, None, None, tuple(found))
    canonical = orjson.dumps(resource, option=orjson.OPT_SORT_KEYS)
    digest = hashlib.sha256(canonical).hexdigest()
    return CheckedResource(file, line, entry, rtype, rid, row, canonical, digest, ())


def check_fhir_file(
    path: Path, today: date, start: int = 0, end: int | None = None, first_line: int = 1
) -> Iterator[CheckedResource]:
    """Every record of one NDJSON/JSON file (or of a line range of an NDJSON file), checked."""
    raws = (
        read_json(path)
        if path.suffix.lower() == ".json"
        else read_ndjson(path, start, end, first_line)
    )
    for raw in raws:
        if raw.error is not None:
            finding = Finding(JSON_MALFORMED.id, raw.position, raw.error)
            yield CheckedResource(
                raw.file, raw.line, raw.entry, None, None, None, None, None, (finding,)
            )
        else:
            yield check_resource(raw.file, raw.line, raw.entry, raw.resource, today)


def check_csv_file(path: Path) -> Iterator[CheckedRow]:
    """Every data row of one CSV file, checked against the model table its name gives."""
    name = str(path)
    table = table_for(path)
    if table is None:
        message = f"the file name must start with one of: {', '.join(CSV_TABLES)}"
        yield CheckedRow(name, 1, None, None, (Finding(CSV_FILE.id, path.name, message),))
        return
    header, rows = read_csv(path)
    problem = header_problem(table, header)
    if problem is not None:
        yield CheckedRow(name, 1, table, None, (Finding(CSV_HEADER.id, table.name, problem),))
        return
    for line, values in rows:
        row, findings = parse_row(table, header, values)
        yield CheckedRow(name, line, table, row, tuple(findings))


def is_csv(path: Path) -> bool:
    return path.suffix.lower() in CSV_SUFFIXES
