"""What kind of file may leave the environment at all, before any disclosure check looks at it.

A release request is refused outright for a file that is not one of a few plain formats, is too
big, names a ``patient_id`` column, or hides data where a reviewer would not look (script or
embedded images in an SVG, text chunks in a PNG). These rules are deliberately blunt: an output
checker reads every released file by eye (SATRE: outputs are checked by people before they leave),
so a file must be small and plain enough to be read.
"""

from __future__ import annotations

import csv
import io
import re
import struct
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from xml.etree import ElementTree

import orjson

MIB = 1024 * 1024
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PATIENT_ID = re.compile(r"(?<![A-Za-z0-9])patient[_ ]?id(?![A-Za-z0-9])", re.IGNORECASE)
SVG_FORBIDDEN = frozenset({"script", "foreignObject", "image", "iframe", "embed", "object"})
PNG_TEXT_CHUNKS = frozenset({b"tEXt", b"zTXt", b"iTXt"})


class FileKind(StrEnum):
    """How a file is checked: tables by the disclosure rules, charts as the table behind them,
    text by the reviewers alone."""

    TABLE = "table"
    CHART = "chart"
    TEXT = "text"


@dataclass(frozen=True)
class FileRules:
    """The allowed types, each with its size cap, and the limits on JSON and PNG metadata."""

    caps: dict[str, int] = field(
        default_factory=lambda: {
            ".csv": 5 * MIB,
            ".png": 5 * MIB,
            ".svg": 2 * MIB,
            ".txt": MIB,
            ".md": MIB,
            ".json": MIB,
        }
    )
    json_max_values: int = 10_000
    json_max_depth: int = 8
    png_max_text_bytes: int = 1024

    def kind(self, path: Path) -> FileKind:
        suffix = path.suffix.lower()
        if suffix == ".csv":
            return FileKind.TABLE
        if suffix in (".png", ".svg"):
            return FileKind.CHART
        return FileKind.TEXT


DEFAULT_RULES = FileRules()


class FileRefused(ValueError):
    """A file that may never be requested for release; the message says which and why."""


def check_release_file(path: Path, shown_as: str, rules: FileRules = DEFAULT_RULES) -> FileKind:
    """Refuse (``FileRefused``) a file of a type not allowed, over its cap, with a patient_id
    column, or with content a reviewer could not see; return how it is to be checked."""
    suffix = path.suffix.lower()
    if suffix not in rules.caps:
        allowed = ", ".join(sorted(s.lstrip(".").upper() for s in rules.caps))
        raise FileRefused(
            f"{shown_as}: {suffix or 'no extension'} files may not be released; "
            f"allowed types: {allowed}"
        )
    size = path.stat().st_size
    if size > rules.caps[suffix]:
        raise FileRefused(
            f"{shown_as}: {size:,} bytes is over the {rules.caps[suffix]:,}-byte cap for "
            f"{suffix} files; release a smaller, aggregated output"
        )
    data = path.read_bytes()
    if suffix == ".png":
        _check_png(data, shown_as, rules)
        return FileKind.CHART
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise FileRefused(f"{shown_as}: not UTF-8 text") from None
    if suffix == ".csv":
        _check_csv(text, shown_as)
    elif suffix == ".json":
        _check_json(data, shown_as, rules)
    elif suffix == ".svg":
        _check_svg(text, shown_as)
    elif PATIENT_ID.search(text):
        raise FileRefused(f"{shown_as}: mentions patient_id; patient-level data never leaves")
    return rules.kind(path)


def _check_csv(text: str, shown_as: str) -> None:
    header = next(csv.reader(io.StringIO(text)), [])
    if not header:
        raise FileRefused(f"{shown_as}: an empty CSV file")
    named = [c for c in header if PATIENT_ID.search(c)]
    if named:
        raise FileRefused(
            f"{shown_as}: has a {named[0]!r} column; patient-level data never leaves the "
            "environment — release counts by group instead"
        )


def _check_json(data: bytes, shown_as: str, rules: FileRules) -> None:
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise FileRefused(f"{shown_as}: not valid JSON ({exc})") from None
    count = 0
    stack: list[tuple[object, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        count += 1
        if depth > rules.json_max_depth:
            raise FileRefused(f"{shown_as}: nested deeper than {rules.json_max_depth} levels")
        if count > rules.json_max_values:
            raise FileRefused(f"{shown_as}: more than {rules.json_max_values:,} values")
        if isinstance(value, dict):
            for key, item in value.items():
                if PATIENT_ID.search(key):
                    raise FileRefused(f"{shown_as}: has a {key!r} field; patient data never leaves")
                stack.append((item, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)


def _check_svg(text: str, shown_as: str) -> None:
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        raise FileRefused(f"{shown_as}: not a well-formed SVG file ({exc})") from None
    if root.tag.rsplit("}", 1)[-1] != "svg":
        raise FileRefused(f"{shown_as}: not an SVG drawing")
    for element in root.iter():
        local = element.tag.rsplit("}", 1)[-1]
        if local in SVG_FORBIDDEN:
            raise FileRefused(
                f"{shown_as}: holds a <{local}> element, which can carry data a reviewer "
                "cannot see; save the chart as plain SVG"
            )
    if PATIENT_ID.search(text):
        raise FileRefused(f"{shown_as}: mentions patient_id; patient-level data never leaves")


def _check_png(data: bytes, shown_as: str, rules: FileRules) -> None:
    """A PNG is chunks; text chunks can carry anything, so only a little metadata may ride."""
    if not data.startswith(PNG_SIGNATURE):
        raise FileRefused(f"{shown_as}: not a PNG image")
    at, text_bytes = len(PNG_SIGNATURE), 0
    while at + 8 <= len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        chunk = data[at + 4 : at + 8]
        if chunk in PNG_TEXT_CHUNKS:
            text_bytes += length
        at += 12 + length
        if chunk == b"IEND":
            break
    else:
        raise FileRefused(f"{shown_as}: a truncated PNG image")
    if at != len(data):
        raise FileRefused(f"{shown_as}: has data after the end of the image")
    if text_bytes > rules.png_max_text_bytes:
        raise FileRefused(
            f"{shown_as}: carries {text_bytes:,} bytes of text metadata (over "
            f"{rules.png_max_text_bytes:,}); save the chart without it"
        )
