"""Everything released from the environment's data, kept so each new table is checked against it.

One history holds every table released from the same data, whatever the project: two projects
may not subtract each other's tables any more than one project may subtract its own (a 0-49
table in one and a 0-50 table in another give the people aged exactly 50). Each record says
what its counts cover — which release and project it went out in, which output it was, which
categories of which variables, which cells were hidden — so that a later table over a subset or
a union of its categories can be compared with it.

A table enters the history however it was made. Where the environment itself suppressed a
table (checking raw counts and publishing the safe version) it knows the true counts of the
hidden cells and keeps them. Where the file came in already suppressed — by the safe API, by R,
by hand — the hidden cells' counts are unknown: they are kept as unknowns that must stay
hidden, and the checks solve over what was published, which is all an attacker has too. The
environment never trusts counts the analyst's own code wrote down beside a table: a forged
"true count" could rule out the very relation between two tables that an attack uses.

The history lives inside the environment, beside the data, never with the released files.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import orjson

from fivesafes.disclosure.tables import Dimension, FileTotals, FrequencyTable

FORMAT = 2


@dataclass(frozen=True)
class ReleasedTable:
    """One table of counts as released: its counts (unknown where ``table.withheld``), which
    cells were hidden, which of those were primary, and where it went out.

    ``true_totals`` says whether published margins were the true totals (an attacker then
    knows them) or sums of the published cells (they add nothing). ``release`` is empty while
    the table is only being checked (a request's other files, a dry run).
    """

    name: str
    table: FrequencyTable
    hidden: np.ndarray
    primary: np.ndarray
    true_totals: bool
    release: str = ""
    project: str = ""
    source: str = ""
    """The output the counts came from (``output/table.csv: with_asthma``), for reports."""

    @property
    def label(self) -> str:
        """The table as a report names it: with its release and project once released."""
        if not self.release:
            return self.name
        return f"{self.name} (release {self.release} of {self.project or 'a project'})"

    @property
    def withheld(self) -> np.ndarray:
        """Cells whose counts nobody outside the analyst's code knows: hidden in the file."""
        if self.table.withheld is None:
            return np.zeros(self.table.counts.shape, dtype=bool)
        return self.table.withheld

    @property
    def protected(self) -> np.ndarray:
        """Hidden cells no later release may reveal: those hidden for being small, and every
        cell a file came in hiding (why it was hidden is unknown, so it is kept hidden)."""
        return self.hidden & (self.primary | self.withheld)


class ReleaseHistory(Protocol):
    """Every table released from the data; the release workflow decides where they live."""

    def released(self) -> Iterable[ReleasedTable]: ...

    def record(self, release: ReleasedTable) -> None: ...


def record_release(
    history: ReleaseHistory, release_id: str, project: str, records: Iterable[ReleasedTable]
) -> None:
    """Add the tables of one published release, each labelled with the release and project."""
    for record in records:
        history.record(replace(record, release=release_id, project=project))


def releases_in(records: Iterable[ReleasedTable]) -> tuple[int, int]:
    """How many releases and how many tables a list of records holds (unreleased: none)."""
    released = [r for r in records if r.release]
    return len({r.release for r in released}), len(released)


def _dimension(d: Dimension | None) -> dict[str, Any] | None:
    return None if d is None else {"name": d.name, "labels": list(d.labels)}


def _undimension(d: dict[str, Any] | None) -> Dimension | None:
    return None if d is None else Dimension(d["name"], tuple(d["labels"]))


def _numbers(values: np.ndarray) -> list[float | None]:
    return [None if math.isnan(v) else float(v) for v in values.ravel()]


def _unnumbers(values: list[float | None] | None) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values or []], dtype=float)


def to_document(release: ReleasedTable) -> dict[str, Any]:
    """A record as JSON-ready data: what the history file holds."""
    table = release.table
    totals = table.file_totals
    return {
        "format": FORMAT,
        "name": release.name,
        "release": release.release,
        "project": release.project,
        "source": release.source,
        "rows": _dimension(table.rows),
        "columns": _dimension(table.columns),
        "counts": table.counts.tolist(),
        "withheld": None if table.withheld is None else table.withheld.tolist(),
        "file_totals": None
        if totals is None
        else {
            "rows": _numbers(totals.rows),
            "columns": _numbers(totals.columns),
            "total": None if math.isnan(totals.total) else totals.total,
        },
        "hidden": release.hidden.tolist(),
        "primary": release.primary.tolist(),
        "true_totals": release.true_totals,
    }


def from_document(doc: dict[str, Any], fallback_release: str = "") -> ReleasedTable:
    """A record from its JSON; files written before format 2 (one project's history, no
    withheld cells) read as they were, named after their file."""
    rows = _undimension(doc["rows"])
    if rows is None:
        raise ValueError("a released table without rows")
    totals = doc.get("file_totals")
    table = FrequencyTable(
        rows,
        _undimension(doc["columns"]),
        np.array(doc["counts"], dtype=np.int64),
        None if doc.get("withheld") is None else np.array(doc["withheld"], dtype=bool),
        None
        if totals is None
        else FileTotals(
            _unnumbers(totals["rows"]),
            _unnumbers(totals["columns"]),
            math.nan if totals["total"] is None else float(totals["total"]),
        ),
    )
    return ReleasedTable(
        doc["name"],
        table,
        np.array(doc["hidden"], dtype=bool),
        np.array(doc["primary"], dtype=bool),
        bool(doc["true_totals"]),
        doc.get("release") or fallback_release,
        doc.get("project", ""),
        doc.get("source", ""),
    )


class FileReleaseHistory:
    """A folder of JSON files, one per released table, a subfolder per project: every release
    from one environment's data."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def released(self) -> list[ReleasedTable]:
        """Every table released, in the order the files name; folders whose name starts with a
        dot (publications under way) are not releases yet."""
        if not self.folder.exists():
            return []
        paths = [
            path
            for path in sorted(self.folder.rglob("*.json"))
            if not any(part.startswith(".") for part in path.relative_to(self.folder).parts)
        ]
        return [
            from_document(orjson.loads(path.read_bytes()), f"{path.parent.name}/{path.stem}")
            for path in paths
        ]

    def record(self, release: ReleasedTable) -> None:
        folder = self.folder / _safe_name(release.project or "unassigned")
        folder.mkdir(parents=True, exist_ok=True)
        number = len(list(folder.glob("*.json")))
        stem = _safe_name(f"{release.release or 'checked'}-{release.name}")
        target = folder / f"{number:05d}-{stem}.json"
        partial = target.with_suffix(".partial")
        partial.write_bytes(orjson.dumps(to_document(release)))
        partial.replace(target)


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)[:120]


class MemoryReleaseHistory:
    """A history held in memory: for tests, and for checking a batch before any is released."""

    def __init__(self, releases: Iterable[ReleasedTable] = ()) -> None:
        self._releases = list(releases)

    def released(self) -> list[ReleasedTable]:
        return list(self._releases)

    def record(self, release: ReleasedTable) -> None:
        self._releases.append(release)
