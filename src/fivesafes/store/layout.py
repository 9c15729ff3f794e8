"""The analysis layer as Parquet partitioned by patient range: one copy both engines read.

DuckDB keeps the analysis layer in its own file; Spark cannot read that file, and converting
the tables for every study would cost more than the study. So the layer can be exported as
plain Parquet, laid out the way both engines extract -- by ``patient_id`` range:

    <folder>/_manifest.json                 what is here, from which load, with checksums
    <folder>/<table>/part-00000.parquet     the rows of patients in part 0's range, in order
    <folder>/<table>/part-00001.parquet     ...
    <folder>/organisations/part-00000.parquet   (tables without patients: one file)

Every patient-keyed table has one file per range, the same ranges for every table, so part
``k`` of a dataset needs only the files ``part-k`` (a Spark job's task, a DuckDB query's
``read_parquet``), and each file's rows are in ``patient_id`` order, so its row groups'
statistics skip what a narrower range does not need. The manifest holds the model's schema
(column names, types and which may be NULL), the ranges, each file's row count and SHA-256,
and the load the layer was exported after, so a reader can tell a stale or damaged export
from a good one and refuse it.

Why plain Parquet and not an open table format: Iceberg and Delta Lake both need JVM
packages (``iceberg-spark-runtime``, ``delta-spark``'s jars) fetched from Maven Central
when Spark starts, and this environment may reach only PyPI, Debian and npm: the PyPI
``delta-spark`` package is the Python half only, and ``pyiceberg``/``deltalake`` write
tables that Spark still needs those jars to read. What they would add -- snapshots, schema
evolution, concurrent writers -- the store already gives (one writer, one transaction per
load, the manifest naming the load), so a manifest over Parquet files is enough here and
is readable by every engine without extra jars (docs/running-an-environment.md).

An export replaces the folder whole: it is written beside it and renamed into place, so a
reader never sees half of one export and half of another, and a killed export leaves the
previous one as it was.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import duckdb
import orjson

from fivesafes.model import TABLES
from fivesafes.model.schema import DUCKDB_TYPES
from fivesafes.store.literal import path_literal

MANIFEST = "_manifest.json"
FORMAT = "fivesafes-analysis-parquet/1"
PART_PATIENTS = 100_000
"""About how many patients each part holds (the query engine's part size)."""
PatientRange = tuple[int, int]


class LayoutError(ValueError):
    """An export that is missing, damaged or not of this format."""


def patient_ranges(count: int, low: int, high: int, part_patients: int) -> list[PatientRange]:
    """``patient_id`` ranges covering ``low``..``high`` in order, one per ``part_patients``
    of ``count`` patients (rounded up; no more than there are ids), of equal widths (the
    store's ids are keyed hashes, spread evenly)."""
    width = high - low + 1
    parts = max(1, min(-(-count // part_patients), width))
    edges = [low + width * i // parts for i in range(parts + 1)]
    return [(a, b - 1) for a, b in pairwise(edges) if a < b]


@dataclass(frozen=True, slots=True)
class Layout:
    """A read, checked export: its folder and manifest."""

    folder: Path
    manifest: dict[str, Any]

    @property
    def ranges(self) -> list[PatientRange]:
        return [(p["low"], p["high"]) for p in self.manifest["parts"]]

    def files(self, table: str) -> list[Path]:
        """The Parquet files of ``table``, part by part."""
        return [self.folder / f["path"] for f in self.manifest["tables"][table]["files"]]


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, read a block at a time."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _schema(table: str) -> list[dict[str, object]]:
    return [
        {"name": c.name, "type": DUCKDB_TYPES[c.type], "nullable": c.nullable}
        for c in TABLES[table].columns
    ]


def _count(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> Any:
    row = con.execute(sql, params).fetchone()
    assert row is not None
    return row


@contextmanager
def _replacing(folder: Path) -> Iterator[Path]:
    """A fresh folder beside ``folder`` that replaces it on success, and is removed if not."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    if folder.exists() and not (folder / MANIFEST).exists() and any(folder.iterdir()):
        raise LayoutError(f"{folder} holds files that are not an export: choose an empty folder")
    scratch = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        yield scratch
        old = folder.with_name(f".{folder.name}-old-{os.getpid()}")
        if folder.exists():
            folder.rename(old)
        scratch.rename(folder)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise


def export_layout(
    con: duckdb.DuckDBPyConnection, folder: Path, part_patients: int = PART_PATIENTS
) -> Layout:
    """Write the store's analysis layer to ``folder`` as Parquet by patient range."""
    count, low, high = _count(
        con, "SELECT count(*), min(patient_id), max(patient_id) FROM analysis.patients"
    )
    ranges = patient_ranges(count, low, high, part_patients) if count else []
    has_loads = _count(
        con,
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_schema = 'meta' AND table_name = 'loads'",
    )[0]
    load = (
        con.execute("SELECT load_id FROM meta.loads ORDER BY finished_at DESC LIMIT 1").fetchone()
        if has_loads
        else None  # an analysis layer made without loads (a benchmark's)
    )
    tables: dict[str, Any] = {}
    with _replacing(folder) as scratch:
        for name, table in TABLES.items():
            (scratch / name).mkdir()
            keyed = "patient_id" in table.column_names
            pieces: list[tuple[int, PatientRange | None]] = (
                list(enumerate(ranges)) if keyed else [(0, None)]
            )
            files = []
            for index, bounds in pieces:
                relative = f"{name}/part-{index:05d}.parquet"
                where, order, params = "", "", None
                if bounds is not None:
                    where, order = " WHERE patient_id BETWEEN ? AND ?", " ORDER BY patient_id"
                    params = list(bounds)
                target = scratch / relative
                into = path_literal(target)
                con.execute(
                    f'COPY (SELECT * FROM analysis."{name}"{where}{order}) TO {into} '
                    "(FORMAT parquet, COMPRESSION zstd)",
                    params,
                )
                rows = _count(con, f"SELECT count(*) FROM read_parquet({into})")[0]
                files.append(
                    {"path": relative, "part": index, "rows": rows, "sha256": file_sha256(target)}
                )
            tables[name] = {"schema": _schema(name), "files": files}
        manifest = {
            "format": FORMAT,
            "load_id": load[0] if load else None,
            "patients": count,
            "parts": [{"index": i, "low": lo, "high": hi} for i, (lo, hi) in enumerate(ranges)],
            "tables": tables,
        }
        (scratch / MANIFEST).write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    return Layout(folder, manifest)


def read_layout(folder: Path, verify: bool = True) -> Layout:
    """The export in ``folder``, checked: its format, every table of the model with the
    model's schema, and (``verify``) every file's checksum."""
    path = folder / MANIFEST
    try:
        manifest = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        raise LayoutError(
            f"{folder} is not an export of the analysis layer (no {MANIFEST})"
        ) from None
    except orjson.JSONDecodeError as exc:
        raise LayoutError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise LayoutError(f"{path} is not a {FORMAT} manifest")
    for name in TABLES:
        entry = manifest.get("tables", {}).get(name)
        if entry is None:
            raise LayoutError(f"{path} has no table {name}: export the layer again")
        if entry["schema"] != _schema(name):
            raise LayoutError(f"{path}: table {name}'s schema is not the model's: export again")
        for file in entry["files"] if verify else ():
            target = folder / file["path"]
            if not target.exists():
                raise LayoutError(f"{target} is missing from the export")
            if file_sha256(target) != file["sha256"]:
                raise LayoutError(f"{target} does not match its checksum in {MANIFEST}")
    return Layout(folder, manifest)
