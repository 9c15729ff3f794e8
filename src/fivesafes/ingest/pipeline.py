"""The point of entry: every record read, checked and flattened, one at a time.

``check_file`` is what both ``fivesafes validate`` and ``fivesafes load`` run on
each file, so a supplier who validates before sending sees exactly the
findings the environment would quarantine. Checks that need other records
(references, duplicates, dates against birth and death) are made by the store
once the whole load is staged; this module needs nothing but the record.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import orjson

from fivesafes.ingest import social_care
from fivesafes.ingest.checks import TYPE_NOT_LOADED
from fivesafes.ingest.fhir import FhirValidator
from fivesafes.ingest.flatten import FLATTENINGS, PROFILE_EXTENSIONS, flatten
from fivesafes.ingest.readers import (
    FILE_EMPTY,
    TEXT_ENCODING,
    CsvRow,
    RawRecord,
    read_csv,
    read_json,
    read_ndjson,
    text_problem,
)
from fivesafes.ingest.rules import Finding
from fivesafes.ingest.social_care import is_social_care_file
from fivesafes.ingest.sources import CSV_SUFFIXES
from fivesafes.ingest.tabular import (
    CSV_FILE,
    CSV_HEADER,
    CSV_TABLES,
    header_problem,
    parse_row,
    table_for,
)
from fivesafes.model import Table
from fivesafes.model.social_care import social_care_events


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

    @property
    def kind(self) -> str:
        """What the load report counts this record as: its resource type, or why it has none."""
        if self.resource_type is not None:
            return self.resource_type
        rules = {f.rule for f in self.findings}
        if FILE_EMPTY.id in rules:
            return "(empty file)"
        if TEXT_ENCODING.id in rules:
            return "(not UTF-8)"
        return "(not valid JSON)"


@dataclass(frozen=True, slots=True)
class CheckedRow:
    """A CSV data row after checking against its model table."""

    file: str
    line: int
    table: Table | None
    row: tuple[Any, ...] | None
    findings: tuple[Finding, ...]


def identity(resource: Any) -> tuple[str | None, str | None]:
    """A record's resourceType and id, each when it is a string."""
    if not isinstance(resource, dict):
        return None, None
    rtype, rid = resource.get("resourceType"), resource.get("id")
    return (rtype if isinstance(rtype, str) else None), (rid if isinstance(rid, str) else None)


def check_resource(
    file: str,
    line: int,
    entry: int | None,
    resource: Any,
    today: date,
    structural: list[Finding] | None = None,
) -> CheckedResource:
    """Structural FHIR R4 validation, then the environment's rules while flattening.

    ``structural`` is the record's base-R4 findings when they are already known (a Bundle's
    entries are validated with their Bundle).
    """
    rtype, rid = identity(resource)
    findings = VALIDATOR.validate_resource(resource) if structural is None else structural
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


def _rebased(finding: Finding, old: str, new: str) -> Finding:
    """A finding made inside a Bundle, named from its entry's resource (``Patient.birthDate``)."""
    message = (
        new + finding.message[len(old) :] if finding.message.startswith(old) else finding.message
    )
    return Finding(finding.rule, new + finding.path[len(old) :], message)


def _bundle_findings(
    bundle: dict[str, Any], text: bytes | None, entries: list[RawRecord]
) -> tuple[list[Finding], dict[int, list[Finding]]]:
    """Validate a Bundle whole (its own rules: bdl-*, fullUrl) and give each entry its findings."""
    types = {raw.entry: identity(raw.resource)[0] for raw in entries if raw.entry is not None}
    by_entry: dict[int, list[Finding]] = {index: [] for index in types}
    own: list[Finding] = []
    for finding in VALIDATOR.validate_resource(bundle, text):
        index = _entry_index(finding.path)
        if index is None or index not in by_entry:
            own.append(finding)
            continue
        here = f"Bundle.entry[{index}].resource"
        rtype = types[index] or "Resource"
        if finding.path == here or finding.path.startswith((here + ".", here + "[")):
            finding = _rebased(finding, here, rtype)
        by_entry[index].append(finding)
    return own, by_entry


def _entry_index(path: str) -> int | None:
    prefix = "Bundle.entry["
    if not path.startswith(prefix):
        return None
    end = path.find("]", len(prefix))
    digits = path[len(prefix) : end]
    return int(digits) if digits.isascii() and digits.isdigit() else None


def structural_records(
    path: Path, start: int = 0, end: int | None = None, first_line: int = 1
) -> Iterator[tuple[RawRecord, list[Finding]]]:
    """Every record of one FHIR file with its base-R4 findings (or its read error).

    A Bundle that the loader unwraps is validated whole, so its own rules are checked; its
    findings that are not about one entry come first, as a record for the whole file.
    """
    if path.suffix.lower() != ".json":
        for raw in read_ndjson(path, start, end, first_line):
            yield raw, [] if raw.error else VALIDATOR.validate_resource(raw.resource, raw.text)
        return
    records = list(read_json(path))
    wrapper = records[0] if records and records[0].whole_file and records[0].error is None else None
    if wrapper is None:
        for raw in records:
            yield raw, [] if raw.error else VALIDATOR.validate_resource(raw.resource, raw.text)
        return
    entries = records[1:]
    own, by_entry = _bundle_findings(wrapper.resource, wrapper.text, entries)
    if own:
        yield wrapper, own
    for raw in entries:
        if raw.error is not None:
            yield raw, []
        elif raw.resource is None:
            where = f"Bundle.entry[{raw.entry}]"
            message = (
                f"{where}: the entry holds no resource (requests such as DELETE are not loaded)"
            )
            yield raw, [Finding(TYPE_NOT_LOADED.id, where, message)]
        else:
            yield raw, by_entry.get(raw.entry or 0, [])


def check_fhir_file(
    path: Path, today: date, start: int = 0, end: int | None = None, first_line: int = 1
) -> Iterator[CheckedResource]:
    """Every record of one NDJSON/JSON file (or of a line range of an NDJSON file), checked."""
    for raw, structural in structural_records(path, start, end, first_line):
        if raw.error is not None:
            finding = Finding(raw.rule, raw.position, raw.error)
            yield CheckedResource(
                raw.file, raw.line, raw.entry, None, None, None, None, None, (finding,)
            )
        elif raw.whole_file:
            bundle = CheckedResource(
                raw.file, raw.line, None, "Bundle", None, None, None, None, tuple(structural)
            )
            yield bundle
        else:
            yield check_resource(raw.file, raw.line, raw.entry, raw.resource, today, structural)


def check_csv_file(
    path: Path, hash_id: Callable[[str], int] | None = None, today: date | None = None
) -> Iterator[CheckedRow]:
    """Every data row of one CSV file, checked against the model table its name gives.

    A social care file's NHS numbers become ``patient_id`` with ``hash_id``, the store's
    pseudonymiser; without one (when only validating, and the rows are not kept) every id is
    0."""
    name = str(path)
    if is_social_care_file(path.name):
        yield from check_social_care_file(path, hash_id or _no_ids, today)
        return
    table = table_for(path)
    if table is None:
        message = f"the file name must start with one of: {', '.join(CSV_TABLES)}"
        yield CheckedRow(name, 1, None, None, (Finding(CSV_FILE.id, path.name, message),))
        return
    header, rows = read_csv(path)
    problem = _header_problem(table.name, header, lambda h: header_problem(table, h))
    if problem is not None:
        yield CheckedRow(name, 1, table, None, (problem,))
        return
    assert isinstance(header, tuple)
    yield from _checked_rows(name, table, rows, lambda values: parse_row(table, header, values))


def _checked_rows(
    name: str,
    table: Table,
    rows: Iterator[CsvRow],
    parse: Callable[[tuple[str, ...]], tuple[Any, list[Finding]]],
) -> Iterator[CheckedRow]:
    """Each record read, as a row or the findings that reject it; a header alone is a finding."""
    read = 0
    for record in rows:
        read += 1
        if record.error is not None:
            finding = Finding(record.rule, table.name, record.error)
            yield CheckedRow(name, record.line, table, None, (finding,))
            continue
        row, findings = parse(record.values)
        yield CheckedRow(name, record.line, table, row, tuple(findings))
    if read == 0:
        finding = Finding(FILE_EMPTY.id, table.name, "the file has a header but no rows")
        yield CheckedRow(name, 1, table, None, (finding,))


def _header_problem(
    table: str,
    header: tuple[str, ...] | CsvRow | None,
    columns_problem: Callable[[tuple[str, ...]], str | None],
) -> Finding | None:
    """What stops a CSV file at its first line: no line at all, unreadable, or not the table's."""
    if header is None:
        return Finding(FILE_EMPTY.id, table, "the file holds no records (not even a header)")
    if isinstance(header, CsvRow):
        whole = header.rule == TEXT_ENCODING.id  # about the file, not its first line
        return Finding(header.rule, table, str(header.error) if whole else f"line 1 {header.error}")
    encoding = text_problem("".join(header))
    if encoding is not None:
        return Finding(TEXT_ENCODING.id, table, f"the header: {encoding}")
    problem = columns_problem(header)
    return None if problem is None else Finding(CSV_HEADER.id, table, problem)


def _no_ids(_: str) -> int:
    return 0


def check_social_care_file(
    path: Path, hash_id: Callable[[str], int], today: date | None = None
) -> Iterator[CheckedRow]:
    """Every row of a local authority's client level data file, checked and pseudonymised,
    read with the same reader and the same file-level rules as every other CSV source."""
    name = str(path)
    header, rows = read_csv(path)
    problem = _header_problem(social_care_events.name, header, social_care.header_problem)
    if problem is not None:
        yield CheckedRow(name, 1, social_care_events, None, (problem,))
        return
    assert isinstance(header, tuple)
    day = today or date.today()
    yield from _checked_rows(
        name,
        social_care_events,
        rows,
        lambda values: social_care.check_row(header, values, hash_id, day),
    )


def is_csv(path: Path) -> bool:
    return path.suffix.lower() in CSV_SUFFIXES
