"""How much memory the store may hold while it works: a fixed budget, not the data's size.

DuckDB keeps what a statement needs in memory up to its ``memory_limit`` and writes the rest
to its temporary directory, so a load (staging tables, whole-load checks, merge, analysis
update) holds at most the budget however large the files -- a national extract and a day's
records run in the same memory, the first spilling to disk. By default DuckDB would take
80% of the machine instead, and a load's memory would grow with the population until the
machine ran out. The budget is ``FIVESAFES_LOAD_MEMORY`` (a DuckDB size such as ``1GiB`` or
``800MB``), 1 GiB unless set; the processes that check records add their own (about 150 MiB
each, independent of the population, see docs/loading-data.md).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

LOAD_MEMORY_ENV = "FIVESAFES_LOAD_MEMORY"
DEFAULT_LOAD_MEMORY = "1GiB"
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?\s*", re.IGNORECASE)
_UNITS: dict[str, int] = {"": 1, "B": 1, "BYTES": 1} | {
    f"{p}{i}B": (1024 if i else 1000) ** (n + 1) for n, p in enumerate("KMGTP") for i in ("", "I")
}
MIN_LOAD_MEMORY = 64 * 2**20
"""Below this DuckDB cannot run a load's joins at all; a smaller budget is a mistake."""


def size_bytes(size: str) -> int:
    """A DuckDB size setting as it prints (``'18.6 GiB'``, ``'500.0 MiB'``) in bytes. It
    prints truncated, so the value was up to one last digit more: the middle of that
    is taken, which prints the same again (a limit put back does not creep down)."""
    number, _, unit = size.strip().partition(" ")
    digits = len(number.partition(".")[2])
    return round((float(number) + 0.5 * 10.0**-digits) * _UNITS[unit.strip().upper()])


def load_memory() -> int:
    """The load budget in bytes, from ``FIVESAFES_LOAD_MEMORY`` or the default."""
    text = os.environ.get(LOAD_MEMORY_ENV, DEFAULT_LOAD_MEMORY)
    found = _SIZE.fullmatch(text)
    if found is None:
        raise ValueError(
            f"{LOAD_MEMORY_ENV}={text!r} is not a size: write it like 1GiB, 1500MB or 800MiB"
        )
    number, unit = found.groups()
    budget = round(float(number) * _UNITS[(unit or "").upper()])
    if budget < MIN_LOAD_MEMORY:
        raise ValueError(f"{LOAD_MEMORY_ENV}={text!r} is too small: a load needs at least 64MiB")
    return budget


def current_limit(con: duckdb.DuckDBPyConnection) -> int:
    """DuckDB's ``memory_limit`` now, in bytes."""
    row = con.execute("SELECT current_setting('memory_limit')").fetchone()
    assert row is not None
    return size_bytes(str(row[0]))


@contextmanager
def memory_budget(con: duckdb.DuckDBPyConnection, budget: int) -> Iterator[None]:
    """Hold DuckDB to ``budget`` bytes meanwhile (the setting is the database's, so the
    limit it had is put back afterwards)."""
    before = current_limit(con)
    con.execute(f"SET memory_limit = '{budget}B'")
    try:
        yield
    finally:
        con.execute(f"SET memory_limit = '{before}B'")
