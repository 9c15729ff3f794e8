"""Loading a study file and writing what it produces.

A study file is Python run in its own namespace with only the definition language to hand
(:mod:`.restricted`); it must leave a ``Dataset`` named ``dataset`` (for ``generate-dataset``)
or a ``Measures`` named ``measures`` (for ``generate-measures``). A mistake in it, or anything a
definition may not do, becomes a :class:`StudyError` naming the file and line, never a
traceback through fivesafes.
"""

from __future__ import annotations

import importlib
import re
import traceback
from collections.abc import Iterable
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fivesafes.query.dataset import Dataset, DatasetQuery, MeasureQuery, Measures
from fivesafes.query.errors import DefinitionError, did_you_mean
from fivesafes.query.restricted import DefinitionNotAllowed, run_study

if TYPE_CHECKING:  # Arrow and the engines are imported to use, so a mistake is reported first
    import pyarrow as pa

    from fivesafes.query.assurance import TestPatient

OUTPUT_FORMATS = {".parquet": "Parquet", ".csv": "CSV", ".arrow": "Arrow", ".feather": "Feather"}


class StudyError(Exception):
    """A study file that cannot be run, with where and why."""


def _run(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise StudyError(f"no study file {path}")
    try:
        return run_study(path)
    except DefinitionError as e:
        raise StudyError(str(e)) from None
    except Exception as e:  # the analyst's own code failed (or was refused): their frames only
        frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename == str(path)]
        where = f"{path}, line {frames[-1].lineno}: " if frames else f"{path}: "
        if isinstance(e, DefinitionNotAllowed):
            raise StudyError(str(e) if str(e).startswith(str(path)) else f"{where}{e}") from None
        raise StudyError(f"{where}{type(e).__name__}: {e}{_import_hint(e)}") from None


_MISSING_NAME: dict[type[Exception], re.Pattern[str]] = {
    ImportError: re.compile(
        r"cannot import name '(?P<name>\w+)' from '(?P<module>fivesafes[\w.]*)'"
    ),
    AttributeError: re.compile(
        r"module '(?P<module>fivesafes[\w.]*)' has no attribute '(?P<name>\w+)'"
    ),
}


def _import_hint(error: Exception) -> str:
    """A did-you-mean for ``from fivesafes... import <typo>`` and ``fivesafes.<typo>``
    (Python 3.11 gives none outside a traceback)."""
    pattern = next((p for kind, p in _MISSING_NAME.items() if isinstance(error, kind)), None)
    found = pattern.match(str(error)) if pattern is not None else None
    if found is None:
        return ""
    name, module = found["name"], found["module"]
    options = [n for n in dir(importlib.import_module(module)) if not n.startswith("_")]
    hint = did_you_mean(name, options).strip()
    return f"\n  how to fix: {hint}" if hint else ""


def load_dataset(path: Path) -> DatasetQuery:
    """The dataset a study file defines as ``dataset``."""
    return _dataset(path, _run(path))


def _dataset(path: Path, namespace: dict[str, Any]) -> DatasetQuery:
    found = namespace.get("dataset")
    if not isinstance(found, Dataset):
        raise StudyError(
            f"{path} defines no dataset: end it with dataset = Dataset() and its columns"
        )
    try:
        return found.query()
    except DefinitionError as e:
        raise StudyError(f"{path}: {e.problem}\n  how to fix: {e.fix}") from None


def load_test_patients(path: Path) -> tuple[DatasetQuery, list[TestPatient]]:
    """The dataset a study file defines, and the test patients it carries (``test_patients``,
    see :mod:`fivesafes.query.assurance`)."""
    from fivesafes.query.assurance import TestDataError, read_test_patients

    namespace = _run(path)
    query = _dataset(path, namespace)
    if "test_patients" not in namespace:
        raise StudyError(
            f"{path} has no test patients: define test_patients = {{1: {{'patients': {{...}}, "
            "'expected_columns': {...}}}} (see docs/language.md, Test patients)"
        )
    try:
        return query, read_test_patients(namespace["test_patients"], query)
    except TestDataError as e:
        raise StudyError(f"{path}: {e}") from None


def load_measures(path: Path) -> MeasureQuery:
    """The measures a study file defines as ``measures``."""
    found = _run(path).get("measures")
    if not isinstance(found, Measures):
        raise StudyError(f"{path} defines no measures: write measures = Measures() and define some")
    try:
        return found.query()
    except DefinitionError as e:
        raise StudyError(f"{path}: {e.problem}\n  how to fix: {e.fix}") from None


def write_tables(parts: Iterable[pa.Table], path: Path) -> int:
    """Write parts of one table as they come, by suffix: .parquet (default choice), .csv,
    .arrow or .feather; returns the rows written. Only one part is held at a time, so a large
    extraction does not keep every row in memory before writing."""
    suffix = path.suffix.lower()
    if suffix not in OUTPUT_FORMATS:
        raise StudyError(
            f"cannot tell the format of {path}: name it .parquet, .csv, .arrow or .feather"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")  # a failed run leaves no half-written file
    rows = 0
    try:
        with ExitStack() as stack:
            writer: Any = None
            for part in parts:
                if writer is None:
                    writer = stack.enter_context(_writer(suffix, partial, part.schema))
                writer.write_table(part)
                rows += part.num_rows
        if writer is None:
            raise StudyError(f"{path}: nothing to write")
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return rows


def _writer(suffix: str, path: Path, schema: pa.Schema) -> Any:
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.ParquetWriter(path, schema)
    if suffix == ".csv":
        import pyarrow.csv as pcsv

        return pcsv.CSVWriter(path, schema)
    import pyarrow as pa

    options = pa.ipc.IpcWriteOptions(compression=None)  # Feather v2: the Arrow IPC file
    return pa.ipc.new_file(path, schema, options=options)
