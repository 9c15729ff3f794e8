"""Reading records out of the files suppliers send: NDJSON, JSON (a resource or a Bundle), CSV.

A reader never stops at a bad record: it yields it with the reason it could not be read, so
one truncated line, one stray byte or one oversized CSV field costs one record, not the file.
What concerns the whole file (it is empty, or written in UTF-16) is one finding for the file.
Positions are 1-based lines, plus the entry index inside a Bundle, so a data manager can open
the file at the right place. A file that cannot be opened or read at all is not a finding but a
refusal (:class:`~fivesafes.ingest.sources.UnreadableSource`): the load stops and says so.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from fivesafes.ingest.rules import rule
from fivesafes.ingest.sources import SourceProblem, UnreadableSource, os_reason

JSON_MALFORMED = rule(
    "json.malformed",
    "Each record is well-formed JSON",
    "A record that cannot be parsed cannot be checked or loaded; the rest of the file still is.",
    "line 17: not valid JSON: unexpected character at character 212 (the record may be truncated)",
)
FILE_EMPTY = rule(
    "file.empty",
    "A file holds at least one record",
    "An empty file is almost always a failed or truncated export: loading it would report "
    "success while the records the supplier meant to send never arrived.",
    "Patient.ndjson: the file holds no records",
)
TEXT_ENCODING = rule(
    "text.encoding",
    "Files are UTF-8 text, without control characters in values",
    "Bytes that are not UTF-8 (a file saved as Windows-1252 or UTF-16) are read differently by "
    "every program, so the value the supplier meant cannot be known; control characters are "
    "binary data, not text.",
    "workforce.csv line 3, workforce.organisation_code: byte 0xff is not UTF-8 text; save the "
    "file as UTF-8",
)
CSV_SYNTAX = rule(
    "csv.syntax",
    "Each CSV line can be read as CSV",
    "A line the CSV reader cannot read (a field longer than 131,072 characters, a stray quote) "
    "has no values to check; the rest of the file still is.",
    "workforce.csv line 12: a field is longer than 131,072 characters",
)

_UTF8_BOM = codecs.BOM_UTF8
_OTHER_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)
# Lone surrogates stand for bytes that were not UTF-8 (decoded with surrogateescape); the
# control characters are C0 less tab, line feed and carriage return.
_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\udc80-\udcff]")
_PLAN_BLOCK = 1 << 20


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One record as read: where it came from and either its parsed JSON or why not."""

    file: str
    line: int
    entry: int | None
    resource: Any
    error: str | None = None
    rule: str = JSON_MALFORMED.id
    whole_file: bool = False
    text: bytes | None = None
    """The JSON the resource was parsed from (None for a Bundle's entries: see the Bundle's)."""

    @property
    def position(self) -> str:
        """Where the error is: the file's name for the whole file, else its line (and entry)."""
        if self.whole_file:
            return Path(self.file).name
        return f"line {self.line}" + (f", entry {self.entry}" if self.entry is not None else "")


@dataclass(frozen=True, slots=True)
class CsvRow:
    """One CSV record: its values, or why the line could not be read (``rule``, ``error``)."""

    line: int
    values: tuple[str, ...]
    error: str | None = None
    rule: str = CSV_SYNTAX.id


def _refuse(path: Path, error: OSError) -> UnreadableSource:
    return UnreadableSource([SourceProblem(str(path), os_reason(error))])


def _read(path: Path, start: int = 0, end: int | None = None) -> bytes:
    """The bytes of ``path`` (or of [start, end)); an unreadable file refuses the load."""
    try:
        with path.open("rb") as handle:
            handle.seek(start)
            return handle.read() if end is None else handle.read(end - start)
    except OSError as error:
        raise _refuse(path, error) from None


def wrong_encoding(head: bytes) -> str | None:
    """Why a file's first bytes say it is not UTF-8 (a UTF-16 or UTF-32 byte order mark)."""
    for bom, name in _OTHER_BOMS:
        if head.startswith(bom):
            return f"the file is {name} (it starts with a {name} byte order mark); save it as UTF-8"
    return None


def text_problem(value: str) -> str | None:
    """Why a decoded value is not text: a byte that was not UTF-8, or a control character."""
    found = _NOT_TEXT.search(value)
    if found is None:
        return None
    char = found.group()
    if "\udc80" <= char <= "\udcff":
        return f"byte 0x{ord(char) - 0xDC00:02x} is not UTF-8 text; save the file as UTF-8"
    return f"contains the control character U+{ord(char):04X}, which is not text"


def _json_error(line: bytes, exc: orjson.JSONDecodeError) -> tuple[str, str]:
    """(rule, message) for a record orjson could not parse; bytes that are not UTF-8 say so."""
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as bad:
        byte = line[bad.start]
        return TEXT_ENCODING.id, (
            f"byte 0x{byte:02x} at byte {bad.start + 1} is not UTF-8 text; save the file as UTF-8"
        )
    message = f"not valid JSON: {exc.msg} at character {exc.pos}"
    if exc.msg.startswith("unexpected end of data"):
        message += " (the record may be truncated)"
    return JSON_MALFORMED.id, message


def _utf8_body(name: str, data: bytes) -> bytes | RawRecord:
    """A file's bytes without a UTF-8 byte order mark, or the finding that it is not UTF-8."""
    problem = wrong_encoding(data[:4])
    if problem is not None:
        return _file_record(name, problem, TEXT_ENCODING.id)
    return data[len(_UTF8_BOM) :] if data.startswith(_UTF8_BOM) else data


def _file_record(name: str, message: str, rule_id: str) -> RawRecord:
    """A finding about the whole file, at its first line."""
    return RawRecord(name, 1, None, None, message, rule_id, whole_file=True)


def read_ndjson(
    path: Path, start: int = 0, end: int | None = None, first_line: int = 1
) -> Iterator[RawRecord]:
    """One record a non-blank line, for the whole file or the byte range [start, end).

    A range must start at the beginning of a line; ``first_line`` is that line's number.
    Ranges let several processes check one large file, each its own part; the part that
    starts the file also speaks for the file (empty, or not UTF-8).
    """
    name = str(path)
    data = _read(path, start, end)
    if start == 0:
        body = _utf8_body(name, data)
        if isinstance(body, RawRecord):
            yield body
            return
        data = body
    records = 0
    for number, line in enumerate(data.split(b"\n"), start=first_line):
        if not line.strip():
            continue
        records += 1
        try:
            yield RawRecord(name, number, None, orjson.loads(line), text=line)
        except orjson.JSONDecodeError as exc:
            rule_id, message = _json_error(line, exc)
            yield RawRecord(name, number, None, None, message, rule_id)
    if records == 0 and start == 0 and (end is None or end >= _size(path)):
        yield _file_record(name, "the file holds no records", FILE_EMPTY.id)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError as error:
        raise _refuse(path, error) from None


def line_ranges(path: Path, target_bytes: int) -> list[tuple[int, int, int]]:
    """(start, end, first line number) ranges of about ``target_bytes``, split at line ends.

    The file is read once, a block at a time, and never held whole: a national extract's
    largest file is tens of gigabytes, and planning its parts must cost no more memory
    than checking one of them. A file with no records, or not in UTF-8, is one range: its
    first part speaks for it.
    """
    try:
        return _plan_ranges(path, target_bytes)
    except OSError as error:
        raise _refuse(path, error) from None


def _plan_ranges(path: Path, target_bytes: int) -> list[tuple[int, int, int]]:
    ranges: list[tuple[int, int, int]] = []
    start = position = 0
    line = newlines = 1
    blank = True
    with path.open("rb") as handle:
        if wrong_encoding(handle.read(4)):
            return [(0, path.stat().st_size, 1)]
        handle.seek(0)
        while block := handle.read(_PLAN_BLOCK):
            blank = blank and not block.strip()
            offset = 0
            while offset < len(block):
                cut = start + target_bytes - 1 - position
                found = block.find(b"\n", max(cut, offset))
                if found < 0:
                    newlines += block.count(b"\n", offset)
                    break
                newlines += block.count(b"\n", offset, found + 1)
                end = position + found + 1
                ranges.append((start, end, line))
                start, line, offset = end, newlines, found + 1
            position += len(block)
    if start < position:
        ranges.append((start, position, line))
    return [(0, position, 1)] if blank else ranges


def read_json(path: Path) -> Iterator[RawRecord]:
    """A single resource, or each entry's resource of a Bundle.

    A Bundle the loader unwraps (transaction, batch, collection) comes first as a record for the
    whole file, so its own rules can be checked, then one record an entry.
    """
    name = str(path)
    body = _utf8_body(name, _read(path))
    if isinstance(body, RawRecord):
        yield body
        return
    data = body
    if not data.strip():
        yield _file_record(name, "the file holds no records", FILE_EMPTY.id)
        return
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        rule_id, message = _json_error(data, exc)
        if exc.msg.startswith("unexpected content after document") and b"\n" in data.strip():
            message += " (a file of one resource a line is NDJSON: name it .ndjson)"
        line = data[: exc.pos].count(b"\n") + 1
        yield RawRecord(name, line, None, None, message, rule_id)
        return
    if (
        isinstance(document, dict)
        and document.get("resourceType") == "Bundle"
        and document.get("type") in ("transaction", "batch", "collection")
    ):
        listed = document.get("entry")
        entries = listed if isinstance(listed, list) else []
        yield RawRecord(name, 1, None, document, whole_file=True, text=data)
        if not entries:
            yield _file_record(name, "the Bundle holds no entries", FILE_EMPTY.id)
        for index, entry in enumerate(entries):
            resource = entry.get("resource") if isinstance(entry, dict) else None
            yield RawRecord(name, 1, index, resource)
        return
    yield RawRecord(name, 1, None, document, text=data)


def _csv_reader(path: Path) -> tuple[IO[str], Any]:
    try:
        handle = path.open("rb")
    except OSError as error:
        raise _refuse(path, error) from None
    text = io.TextIOWrapper(handle, encoding="utf-8-sig", errors="surrogateescape", newline="")
    return text, csv.reader(text)


def _csv_error(exc: csv.Error) -> str:
    message = str(exc)
    limit = re.fullmatch(r"field larger than field limit \((\d+)\)", message)
    if limit:
        return f"a field is longer than {int(limit.group(1)):,} characters"
    return f"cannot be read as CSV: {message}"


def read_csv(path: Path) -> tuple[tuple[str, ...] | CsvRow | None, Iterator[CsvRow]]:
    """The header and each data row; lines count the header as line 1.

    The header is None for an empty file, or a :class:`CsvRow` with ``error`` set when the
    file or its first line cannot be read as CSV text; then there are no rows.
    """
    head = _read(path, 0, 4)
    problem = wrong_encoding(head)
    if problem is not None:
        return CsvRow(1, (), problem, TEXT_ENCODING.id), iter(())
    handle, reader = _csv_reader(path)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        handle.close()
        return CsvRow(1, (), _csv_error(exc)), iter(())
    except OSError as error:
        handle.close()
        raise _refuse(path, error) from None
    if header is None:
        handle.close()
        return None, iter(())

    def rows() -> Iterator[CsvRow]:
        with handle:
            while True:
                try:
                    values = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    yield CsvRow(reader.line_num, (), _csv_error(exc))
                    continue
                except OSError as error:
                    raise _refuse(path, error) from None
                if values:
                    yield CsvRow(reader.line_num, tuple(values))

    return tuple(h.strip() for h in header), rows()
