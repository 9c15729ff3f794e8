"""Code lists in the OpenCodelists CSV format: a code column and optional category columns.

OpenCodelists downloads are CSV files with one row per code, the code in a column
named ``code`` (or ``dmd_id``, ``snomedcode``... -- the name is configurable) and,
for categorised lists, further columns mapping each code to a category.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from fivesafes.model.codes import CodeSystem
from fivesafes.query.errors import Checked, DefinitionError


@dataclass(frozen=True, slots=True)
class Codelist(Checked):
    """A set of codes, optionally of a declared system, with categories per code."""

    described_as: ClassVar[str] = "a code list"

    codes: frozenset[str]
    system: CodeSystem | None = None
    categories: dict[str, dict[str, str]] | None = None
    source: str = "<codes>"

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self.codes))

    def __len__(self) -> int:
        return len(self.codes)

    def __hash__(self) -> int:
        return hash((self.codes, self.system, self.source))

    def category(self, column: str) -> dict[str, str]:
        """The code -> category mapping of one category column (for ``Series.to_category``)."""
        if not self.categories or column not in self.categories:
            known = ", ".join(self.categories or {}) or "none"
            raise DefinitionError(
                f"code list {self.source} has no category column {column!r}",
                f"use one of its category columns: {known}",
            )
        return self.categories[column]


SYSTEM_NAMES: dict[str, CodeSystem] = {
    # the names a study (and a code list) gives each clinical code system
    "snomedct": CodeSystem.SNOMEDCT,
    "dmd": CodeSystem.DMD,
    "icd10": CodeSystem.ICD10,
    "opcs4": CodeSystem.OPCS4,
    "loinc": CodeSystem.LOINC,
    "ethnicity": CodeSystem.ETHNIC_CATEGORY,
}


def _system(name: str | CodeSystem | None) -> CodeSystem | None:
    if name is None or isinstance(name, CodeSystem):
        return name
    try:
        return SYSTEM_NAMES[name.lower()]
    except KeyError:
        raise DefinitionError(
            f"unknown code system {name!r}",
            f"name one of: {', '.join(SYSTEM_NAMES)}",
        ) from None


def system_name(system: CodeSystem) -> str:
    """The name a study gives ``system`` (``snomedct``), or its URI if it has none."""
    return next((name for name, s in SYSTEM_NAMES.items() if s is system), system.value)


def codelist(
    codes: Iterable[str], system: str | CodeSystem | None = None, name: str = "<codes>"
) -> Codelist:
    """A code list written inline in the study.

    A bare string is refused: it is iterable, so ``codelist("195967001")`` would otherwise be a
    list of the single digits 1, 9, 5..., matching nothing an analyst meant."""
    if isinstance(codes, str):
        raise DefinitionError(
            f"code list {name} was given the string {codes!r}, not a list of codes",
            f"put the codes in a list: codelist([{codes!r}], system='snomedct')",
        )
    found = frozenset(c.strip() for c in codes if c.strip())
    if not found:
        raise DefinitionError(
            f"code list {name} has no codes, so nothing would ever match it",
            "list the codes: codelist(['195967001', ...], system='snomedct')",
        )
    return Codelist(found, _system(system), None, name)


def codelist_from_csv(
    path: str | Path,
    column: str = "code",
    system: str | CodeSystem | None = None,
    category_columns: Iterable[str] | None = None,
) -> Codelist:
    """Read an OpenCodelists CSV: codes from ``column``; every other column (or just
    ``category_columns``) becomes a category mapping usable with ``to_category``."""
    path = Path(path)
    if not path.exists():
        raise DefinitionError(
            f"no code list file {str(path)!r}",
            "check the path; it is relative to the directory you run the command from",
        )
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames or []
        if column not in header:
            raise DefinitionError(
                f"code list {path} has no column {column!r}",
                f"pass column= one of its columns: {', '.join(header)}",
            )
        wanted = list(category_columns) if category_columns is not None else header
        missing = [c for c in wanted if c not in header]
        if missing:
            raise DefinitionError(
                f"code list {path} has no category column {missing[0]!r}",
                f"its columns are: {', '.join(header)}",
            )
        rows = [r for r in reader if (r.get(column) or "").strip()]
    if not rows:
        raise DefinitionError(
            f"code list {path} has no codes in column {column!r}"
            + (" (the file is only a header)" if reader.line_num <= 1 else ""),
            "download the list again from OpenCodelists, or check column= names the code column",
        )
    categories = {
        name: {r[column].strip(): (r[name] or "").strip() for r in rows}
        for name in wanted
        if name != column
    }
    return Codelist(
        frozenset(r[column].strip() for r in rows), _system(system), categories, str(path)
    )
