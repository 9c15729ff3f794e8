"""A load's memory does not grow with its files: parts planned without reading a file whole,
parts in flight bounded, and DuckDB held to the load's budget."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fhir_factory import basic_population, write_ndjson
from fivesafes import workers
from fivesafes.ingest import readers
from fivesafes.ingest.readers import line_ranges
from fivesafes.store import chunks
from fivesafes.store.budget import LOAD_MEMORY_ENV, current_limit, load_memory
from fivesafes.store.config import DataDir
from fivesafes.store.database import Store
from fivesafes.store.load import load
from fivesafes.store.pseudonym import create_key

TODAY = date(2026, 1, 1)


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"x")), max_size=40),
    target=st.integers(1, 90),
    block=st.integers(1, 64),
    trailing=st.booleans(),
)
def test_parts_cover_the_file_split_at_line_ends_with_their_line_numbers(
    tmp_path_factory: pytest.TempPathFactory,
    lines: list[bytes],
    target: int,
    block: int,
    trailing: bool,
) -> None:
    data = b"\n".join(lines) + (b"\n" if trailing and lines else b"")
    path = tmp_path_factory.mktemp("ranges") / "f.ndjson"
    path.write_bytes(data)
    saved = readers._PLAN_BLOCK
    readers._PLAN_BLOCK = block  # blocks smaller than lines and parts: the edges are exercised
    try:
        ranges = line_ranges(path, target)
    finally:
        readers._PLAN_BLOCK = saved
    if not data.strip():  # no records: one part, which says so
        assert ranges == [(0, len(data), 1)]
        return
    assert ranges[0][0] == 0 and ranges[-1][1] == len(data)
    for (start, end, line), following in zip(ranges, [*ranges[1:], None], strict=True):
        assert line == data[:start].count(b"\n") + 1
        assert start == 0 or data[start - 1 : start] == b"\n"  # parts start at a line
        if following is not None:
            assert following[0] == end
            assert end - start >= target  # only the last part may be short
            assert data[end - 1 : end] == b"\n"


def test_planning_never_reads_a_file_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_ndjson(tmp_path / "big.ndjson", basic_population(300))
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("read whole"))
    parts = chunks.plan([path])
    assert len(parts) == 1 and parts[0].end == path.stat().st_size


def test_workers_hold_a_bounded_number_of_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    """However many jobs there are, no more than ``AHEAD_PER_WORKER`` per worker are
    submitted ahead of the result being taken, and results come in job order."""
    submitted: list[int] = []
    taken: list[int] = []
    real_submit = workers.ProcessPoolExecutor.submit

    def counting_submit(self, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        submitted.append(len(taken))
        return real_submit(self, fn, *args, **kwargs)

    monkeypatch.setattr(workers.ProcessPoolExecutor, "submit", counting_submit)
    for result in workers.ordered_map(abs, range(-40, 0), 2, "operator"):
        taken.append(result)
        assert len(submitted) - len(taken) <= workers.AHEAD_PER_WORKER * 2
    assert taken == list(range(40, 0, -1))


def test_parts_come_back_in_file_order_from_several_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chunks, "PART_BYTES", 2_000)
    path = write_ndjson(tmp_path / "big.ndjson", basic_population(100))
    results = list(chunks.check_parts([path], TODAY, b"k" * 32, False, workers=2))
    assert [r.index for r in results] == list(range(len(chunks.plan([path]))))
    assert len(results) > 10 and results[-1].last_part_of_file
    assert sum(r.records for r in results) == len(basic_population(100))


def test_a_load_is_held_to_its_budget_and_puts_the_limit_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(LOAD_MEMORY_ENV, "200MiB")
    seen: list[int] = []
    data_dir = DataDir(tmp_path / "data", tmp_path / "key")
    create_key(data_dir.key_file)  # as `fivesafes environment init` makes it
    with Store.open(data_dir) as store:
        before = current_limit(store.con)
        src = write_ndjson(tmp_path / "a.ndjson", basic_population(3))
        report = load(
            store, [src], today=TODAY, before_commit=lambda r: seen.append(current_limit(store.con))
        )
        assert report.committed
        assert seen == [pytest.approx(200 * 2**20, rel=1e-3)]  # DuckDB prints it rounded
        assert current_limit(store.con) == pytest.approx(before, rel=1e-3)


@pytest.mark.parametrize(
    ("setting", "message"), [("lots", "is not a size"), ("10MB", "is too small")]
)
def test_a_wrong_budget_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, setting: str, message: str
) -> None:
    monkeypatch.setenv(LOAD_MEMORY_ENV, setting)
    with pytest.raises(ValueError, match=f"{LOAD_MEMORY_ENV}='{setting}' {message}"):
        load_memory()


def test_the_default_budget_is_under_two_gigabytes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(LOAD_MEMORY_ENV, raising=False)
    assert 64 * 2**20 <= load_memory() < 2 * 10**9
