"""Writing an extraction part by part: the file holds every part in order, in every format, and
a run that fails half way leaves no file behind."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

from fivesafes.query.study import StudyError, write_tables

READ = {
    ".parquet": pq.read_table,
    ".csv": pcsv.read_csv,
    ".arrow": feather.read_table,
    ".feather": feather.read_table,
}


def _parts() -> list[pa.Table]:
    return [
        pa.table({"patient_id": pa.array(ids, pa.int64()), "age": pa.array(ages, pa.int64())})
        for ids, ages in (([1, 2], [40, None]), ([5], [7]), ([9, 12, 13], [80, 81, 82]))
    ]


@pytest.mark.parametrize("suffix", sorted(READ))
def test_parts_are_written_in_order(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"dataset{suffix}"
    assert write_tables(iter(_parts()), path) == 6
    written = READ[suffix](path)
    assert written.to_pylist() == pa.concat_tables(_parts()).to_pylist()
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_a_failure_half_way_leaves_no_file(tmp_path: Path) -> None:
    def failing() -> Iterator[pa.Table]:
        yield _parts()[0]
        raise RuntimeError("the store went away")

    path = tmp_path / "dataset.parquet"
    with pytest.raises(RuntimeError):
        write_tables(failing(), path)
    assert list(tmp_path.iterdir()) == []


def test_nothing_to_write_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(StudyError, match="nothing to write"):
        write_tables(iter([]), tmp_path / "dataset.csv")
    assert list(tmp_path.iterdir()) == []
