"""Everything released from the environment's data, kept so each new table is checked against it.

One history holds every table released from the same data, whatever the project: two projects
may not subtract each other's tables any more than one project may subtract its own (a 0-49
table in one and a 0-50 table in another give the people aged exactly 50). Each record says
what its counts cover — which release and project it went out in, which output it was, which
categories of which variables, which cells were hidden — so that a later table over a subset or
a union of its categories can be compared with it.

A table enters the history however it was made. Where the environment itself suppressed a
table (checking raw counts and publishing the safe version) it knows the true counts of the
hidden cells and keeps them, for the record: no check's verdict depends on them (or a refusal
would tell them), and every hidden cell stays protected. Where the file came in already
suppressed — by the safe API, by R, by hand — the hidden cells' counts are unknown: they are
kept as unknowns that must stay hidden. Either way the checks solve over what was published,
which is all an attacker has too. The environment never trusts counts the analyst's own code
wrote down beside a table: a forged "true count" could rule out the very relation between two
tables that an attack uses.

The history lives inside the environment, beside the data, never with the released files.
Each release's tables are written as one unit keyed by the release — one file, made by one
rename, and never written twice — so publishing, killed and retried, or finished by recovery,
leaves each release in the history exactly once (``record_release``).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import orjson

from fivesafes.disclosure.tables import Dimension, FileTotals, FrequencyTable

FORMAT = 3
"""3: a file per release holding its tables; 2: a file per table, with its release."""


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
        """Hidden cells no later release may reveal: every one. Which were hidden for being
        small and which to protect them is the true counts' doing, and a check that let a
        later table reveal only the second kind would tell, by passing, that a cell was not
        small; a file's own hidden cells are unknown anyway."""
        return np.asarray(self.hidden | self.withheld)


class ReleaseHistory(Protocol):
    """Every table released from the data; the release workflow decides where they live."""

    def released(self) -> Iterable[ReleasedTable]: ...

    def record_release(
        self, release_id: str, project: str, records: Iterable[ReleasedTable]
    ) -> bool:
        """Add the tables of one release, each labelled with the release and project, as one
        unit: all of them or none, once; False (and nothing written) when the release is
        already there."""
        ...


def _labelled(
    release_id: str, project: str, records: Iterable[ReleasedTable]
) -> list[ReleasedTable]:
    if not release_id:
        raise ValueError("a release's tables are recorded under its release id")
    return [replace(r, release=release_id, project=project) for r in records]


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
    )


def _read(path: Path) -> list[ReleasedTable]:
    """The tables of one history file: a release's unit (format 3), or one table of an older
    history (formats 1 and 2, a file per table), named after its file if it names no release."""
    doc = orjson.loads(path.read_bytes())
    if "tables" in doc:
        return [from_document(t) for t in doc["tables"]]
    return [from_document(doc, f"{path.parent.name}/{path.stem}")]


class FileReleaseHistory:
    """A folder of JSON files, a subfolder per project and one file per release
    (``<project>/<release>.json``, holding every table the release published): every release
    from one environment's data. Histories written a file per table read as they were."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _files(self) -> list[Path]:
        """The history's files in order; folders whose name starts with a dot (publications
        under way) are not releases yet, and a ``.partial`` file is a write a kill cut short."""
        if not self.folder.exists():
            return []
        return [
            path
            for path in sorted(self.folder.rglob("*.json"))
            if not any(part.startswith(".") for part in path.relative_to(self.folder).parts)
        ]

    def released(self) -> list[ReleasedTable]:
        """Every table released, in the order the files name."""
        return [table for path in self._files() for table in _read(path)]

    def _unit(self, release_id: str) -> Path | None:
        name = f"{_safe_name(release_id)}.json"
        return next((p for p in self._files() if p.name == name and p.parent != self.folder), None)

    def recorded(self, release_id: str) -> list[ReleasedTable] | None:
        """The tables one release recorded, or None when it has no unit here."""
        unit = self._unit(release_id)
        return None if unit is None else _read(unit)

    def record_release(
        self,
        release_id: str,
        project: str,
        records: Iterable[ReleasedTable],
        before_rename: Callable[[], None] = lambda: None,
    ) -> bool:
        """Write one release's tables as one file by one rename (a kill leaves the whole unit
        or none of it), unless the release already has its unit: then nothing is written.
        ``before_rename`` runs between the two (a test kills the process there)."""
        tables = _labelled(release_id, project, records)
        if self._unit(release_id) is not None:
            return False
        folder = self.folder / _safe_name(project or "unassigned")
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{_safe_name(release_id)}.json"
        partial = target.with_name(f"{target.name}.partial")
        document = {
            "format": FORMAT,
            "release": release_id,
            "project": project,
            "tables": [to_document(t) for t in tables],
        }
        with partial.open("wb") as out:
            out.write(orjson.dumps(document))
            out.flush()
            os.fsync(out.fileno())
        before_rename()
        partial.replace(target)
        return True


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)[:120]


class MemoryReleaseHistory:
    """A history held in memory: for tests, and for checking a batch before any is released."""

    def __init__(self, releases: Iterable[ReleasedTable] = ()) -> None:
        self._releases = list(releases)

    def released(self) -> list[ReleasedTable]:
        return list(self._releases)

    def record(self, release: ReleasedTable) -> None:
        """Add one table checked in a batch (it leaves with the batch's other files)."""
        self._releases.append(release)

    def record_release(
        self, release_id: str, project: str, records: Iterable[ReleasedTable]
    ) -> bool:
        if any(r.release == release_id for r in self._releases):
            return False
        self._releases += _labelled(release_id, project, records)
        return True
