"""What a project has already released, kept so each new table can be checked against it all.

Differencing needs the *true* counts behind earlier releases as well as what was published, so
the history lives inside the environment, beside the data, never with the released files. The
release stage owns where released outputs live; it plugs in here through ``ReleaseHistory``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import orjson

from fivesafes.disclosure.tables import Dimension, FrequencyTable


@dataclass(frozen=True)
class ReleasedTable:
    """One table as released: its true counts, which cells were hidden, which were primary.

    ``true_totals`` says whether the published margins were the true totals (an attacker then
    knows them) or sums of the published cells (they add nothing).
    """

    name: str
    table: FrequencyTable
    hidden: np.ndarray
    primary: np.ndarray
    true_totals: bool


class ReleaseHistory(Protocol):
    """Every table one project has released; the release workflow decides where they live."""

    def released(self) -> Iterable[ReleasedTable]: ...

    def record(self, release: ReleasedTable) -> None: ...


def _dimension(d: Dimension | None) -> dict | None:
    return None if d is None else {"name": d.name, "labels": list(d.labels)}


def _undimension(d: dict | None) -> Dimension | None:
    return None if d is None else Dimension(d["name"], tuple(d["labels"]))


class FileReleaseHistory:
    """A folder of JSON files, one per released table: enough for one project on one machine."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def released(self) -> list[ReleasedTable]:
        if not self.folder.exists():
            return []
        return [self._read(path) for path in sorted(self.folder.glob("*.json"))]

    def record(self, release: ReleasedTable) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", release.name)
        number = len(list(self.folder.glob("*.json")))
        document = {
            "name": release.name,
            "rows": _dimension(release.table.rows),
            "columns": _dimension(release.table.columns),
            "counts": release.table.counts.tolist(),
            "hidden": release.hidden.tolist(),
            "primary": release.primary.tolist(),
            "true_totals": release.true_totals,
        }
        target = self.folder / f"{number:05d}-{stem}.json"
        partial = target.with_suffix(".partial")
        partial.write_bytes(orjson.dumps(document))
        partial.replace(target)

    @staticmethod
    def _read(path: Path) -> ReleasedTable:
        doc = orjson.loads(path.read_bytes())
        rows = _undimension(doc["rows"])
        assert rows is not None
        table = FrequencyTable(
            rows, _undimension(doc["columns"]), np.array(doc["counts"], dtype=np.int64)
        )
        return ReleasedTable(
            doc["name"],
            table,
            np.array(doc["hidden"], dtype=bool),
            np.array(doc["primary"], dtype=bool),
            bool(doc["true_totals"]),
        )


class MemoryReleaseHistory:
    """A history held in memory: for tests, and for checking a batch before any is released."""

    def __init__(self, releases: Iterable[ReleasedTable] = ()) -> None:
        self._releases = list(releases)

    def released(self) -> list[ReleasedTable]:
        return list(self._releases)

    def record(self, release: ReleasedTable) -> None:
        self._releases.append(release)
