"""Charts leave only as pictures of a table that passed: drawn by the safe API, linked, redrawn.

A chart cannot be read by a rule the way a table can, and a chart drawn from raw counts shows
them as plainly as a table would. So a chart may leave only when it is the picture the safe API
draws of a table that goes out beside it: ``SafeOutput.chart`` writes into the file's metadata
which table it shows (its path in the study and the SHA-256 of its bytes) and the title; at
release the environment draws that table again, from the file that passed its checks, and the
chart must be the same picture byte for byte. A chart with no link, linked to a table not in
the request or since changed, or showing anything but that table, is refused.
"""

from __future__ import annotations

import hashlib
import os
import struct
import tempfile
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from xml.etree import ElementTree

import orjson

from fivesafes.disclosure.checker import check_file
from fivesafes.disclosure.config import Profile
from fivesafes.disclosure.report import CheckReport

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
LINK = "fivesafes-chart"
"""The first word of the note that links a chart to its table."""


class ChartRefused(ValueError):
    """A chart that may not leave; the message says why and what to do."""


@dataclass(frozen=True)
class ChartLink:
    """Which table a chart shows: its path in the study, the SHA-256 of its bytes, the title."""

    table: str
    sha256: str
    title: str

    def note(self) -> str:
        return f"{LINK} {orjson.dumps(asdict(self), option=orjson.OPT_SORT_KEYS).decode()}"

    @classmethod
    def from_note(cls, note: str) -> ChartLink | None:
        word, _, rest = note.partition(" ")
        if word != LINK:
            return None
        try:
            fields = orjson.loads(rest)
            return cls(str(fields["table"]), str(fields["sha256"]), str(fields["title"]))
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return None


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _study_path(path: Path) -> str:
    """A table's path as the study names it: relative to where the analysis runs."""
    if path.is_absolute():
        try:
            path = path.relative_to(Path.cwd())
        except ValueError:
            return path.as_posix()
    return PurePosixPath(os.path.normpath(path.as_posix())).as_posix()


def draw_linked(report: CheckReport, path: Path, table: Path, title: str | None) -> Path:
    """Draw a report's safe table to ``path``, linked to the file ``table`` it was written to."""
    link = ChartLink(_study_path(table), _sha256(table), title or report.title())
    return report.draw(path, link.title, link.note())


def draw_table(table: Path, chart: Path, profile: Profile, title: str | None = None) -> Path:
    """Draw the linked picture of a table file that passes as written — what any tool that
    makes its tables itself (the R helpers) calls to make a chart that may leave; raises
    ``ChartRefused`` for a table that would need suppression first."""
    report = check_file(table, profile)
    if not report.passed:
        raise ChartRefused(
            f"{table}: needs suppression before it can be drawn; draw its safe version "
            f"instead\n{report.to_text()}"
        )
    return draw_linked(report, chart, table, title)


def read_link(chart: Path) -> ChartLink | None:
    """The link a chart carries in its metadata (a PNG text chunk, an SVG description)."""
    data = chart.read_bytes()
    notes = _png_texts(data) if data.startswith(PNG_SIGNATURE) else _svg_texts(data)
    return next((link for n in notes if (link := ChartLink.from_note(n)) is not None), None)


def _png_texts(data: bytes) -> list[str]:
    texts, at = [], len(PNG_SIGNATURE)
    while at + 8 <= len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        if kind == b"tEXt":
            texts.append(body.partition(b"\0")[2].decode("latin-1"))
        elif kind == b"zTXt":
            texts.append(zlib.decompress(body.partition(b"\0")[2][1:]).decode("latin-1"))
        elif kind == b"iTXt":
            texts.append(body.split(b"\0", 4)[-1].decode("utf-8", "replace"))
        at += 12 + length
    return texts


def _svg_texts(data: bytes) -> list[str]:
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError:
        return []
    return [e.text for e in root.iter() if e.tag.endswith("}description") and e.text]


def check_chart(
    chart: Path,
    shown_as: str,
    tables: dict[str, tuple[Path, CheckReport]],
    profile: Profile,
) -> dict[str, Any]:
    """The check report of a chart requested beside ``tables`` (path in the study → the file
    and its check report); raises ``ChartRefused`` saying why it may not leave."""
    link = read_link(chart)
    if link is None:
        raise ChartRefused(
            f"{shown_as}: a chart leaves only as the safe API draws it from a table that goes "
            "with it; this one names no table (draw it with safe.crosstab(...).chart(...) "
            "after write_csv, and run the study again)"
        )
    if link.table not in tables:
        raise ChartRefused(
            f"{shown_as}: drawn from {link.table}, which is not in this request; request the "
            "chart and its table together"
        )
    source, report = tables[link.table]
    if _sha256(source) != link.sha256:
        raise ChartRefused(f"{shown_as}: {link.table} has changed since the chart was drawn")
    if not report.passed:
        raise ChartRefused(
            f"{shown_as}: drawn from {link.table}, which needed suppression; draw the chart "
            "from the safe table (safe.crosstab(...).chart(...)) and run the study again"
        )
    with tempfile.TemporaryDirectory() as folder:
        again = report.draw(Path(folder) / f"again{chart.suffix.lower()}", link.title, link.note())
        same = again.read_bytes() == chart.read_bytes()
    if not same:
        raise ChartRefused(
            f"{shown_as}: is not the picture of {link.table} the safe API draws (drawn again "
            "from the table here, it differs), so it may show more than the table; draw it "
            "with safe.crosstab(...).chart(...)"
        )
    return {
        "output": shown_as,
        "kind": "chart",
        "profile": profile.name,
        "passed": True,
        "releasable": True,
        "rules": [
            {
                "rule": "drawn_from_table",
                "passed": True,
                "summary": f"the safe API's picture of {link.table}, which passed every rule: "
                "drawn again from it here, the same bytes",
                "setting": "charts go out as pictures of their tables",
                "source": "",
                "cells": [],
                "positions": [],
            }
        ],
        "link": asdict(link),
        "safe_table": None,
        "notes": [],
    }
