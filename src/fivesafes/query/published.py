"""The population summary an environment publishes, so dummy data looks like its data.

Dummy data is made on an analyst's laptop, far from the data, yet should behave like
the real extract: a condition in 6% of people should be in about 6% of dummy patients,
not in most of them, so that outputs and their disclosure checks (small numbers,
suppression) behave on dummy data as they will on real data. So the environment
publishes a small summary of its population, safe to release, and dummy data follows
it (``fivesafes.query.dummy``):

* for each patient-level table, the share of patients with any row and their mean
  number of rows;
* for each clinical coded column (SNOMED CT, dm+d, ICD-10, OPCS-4), the share of
  patients with a row holding each code, and those patients' mean number of such rows;
* for each column with a fixed set of values, the share of rows holding each;
* for the numeric value of clinical events, the 10th to 90th percentiles of the values
  recorded with each code (and over all codes);
* for each table, the months its dates run from and to (the 1st and 99th percentiles).

What makes it safe to publish: a code, value or table is listed only when at least
``MIN_PATIENTS`` patients have it; patient counts are rounded to the nearest
``ROUND_TO`` before any share is taken; percentiles are given only for codes at least
``MIN_PATIENTS_FOR_VALUES`` patients have values for, and never the minimum or maximum.
No count of a small group, nor any single person's value, can be read from it.

The summary shipped in the package (``published_summary.json``) is the synthetic
population's (``fivesafes synth``), made by ``tools/publish_summary.py``, which runs
:func:`summarise` on a store loaded from it -- exactly what an environment runs on its own
store to publish its summary. ``FIVESAFES_PUBLISHED_SUMMARY`` names another summary file
(one an environment published) for dummy data to follow instead.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from fivesafes.model import TABLES, CodeSystem, ColumnType, TableKind

SUMMARY_FILE = Path(__file__).with_name("published_summary.json")
MIN_PATIENTS = 10
ROUND_TO = 5
MIN_PATIENTS_FOR_VALUES = 50
MAX_CODES = 200
"""The most common codes listed per column; rarer ones are left to the floor share."""
CLINICAL = frozenset({CodeSystem.SNOMEDCT, CodeSystem.DMD, CodeSystem.ICD10, CodeSystem.OPCS4})
VALUES = (("clinical_events", "numeric_value", "snomedct_code"),)
"""Numeric columns whose percentiles are published, by the code column they depend on."""
PERCENTILES = tuple(range(10, 100, 10))


@dataclass(frozen=True, slots=True)
class Share:
    """A share of patients (or of rows), and those patients' mean number of rows."""

    share: float
    rows: float = 1.0


@dataclass(frozen=True)
class PublishedSummary:
    """A population summary safe to publish (see the module's docstring)."""

    source: str
    patients: int
    tables: dict[str, Share] = field(default_factory=dict)
    codes: dict[str, dict[str, Share]] = field(default_factory=dict)
    """By ``table.column``: each code's share of patients."""
    categories: dict[str, dict[str, float]] = field(default_factory=dict)
    """By ``table.column``: each value's share of rows."""
    values: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    """By ``table.column``: the percentiles of the values recorded with each code ('*': all)."""
    spans: dict[str, tuple[str, str]] = field(default_factory=dict)
    """By table: the months its rows' dates run from and to (1st and 99th percentiles, so no
    one record's date shows), as 'YYYY-MM'."""

    @property
    def floor(self) -> float:
        """The share of patients a code the summary does not list is given: below what a
        listed code can have, since an unlisted one has fewer than MIN_PATIENTS patients."""
        return MIN_PATIENTS / 2 / max(self.patients, 1)

    def to_json(self) -> str:
        def shares(d: dict[str, Share]) -> dict[str, list[float]]:
            return {k: [v.share, v.rows] for k, v in sorted(d.items())}

        document = {
            "source": self.source,
            "patients": self.patients,
            "rules": {
                "min_patients": MIN_PATIENTS,
                "round_to": ROUND_TO,
                "min_patients_for_values": MIN_PATIENTS_FOR_VALUES,
            },
            "tables": shares(self.tables),
            "codes": {k: shares(v) for k, v in sorted(self.codes.items())},
            "categories": {k: dict(sorted(v.items())) for k, v in sorted(self.categories.items())},
            "values": {k: dict(sorted(v.items())) for k, v in sorted(self.values.items())},
            "spans": {k: list(v) for k, v in sorted(self.spans.items())},
        }
        return json.dumps(document, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str) -> PublishedSummary:
        raw = json.loads(text)

        def shares(d: dict[str, list[float]]) -> dict[str, Share]:
            return {k: Share(float(v[0]), float(v[1])) for k, v in d.items()}

        return cls(
            source=str(raw["source"]),
            patients=int(raw["patients"]),
            tables=shares(raw["tables"]),
            codes={k: shares(v) for k, v in raw["codes"].items()},
            categories={
                k: {c: float(s) for c, s in v.items()} for k, v in raw["categories"].items()
            },
            values={
                k: {c: [float(x) for x in q] for c, q in v.items()}
                for k, v in raw["values"].items()
            },
            spans={k: (str(v[0]), str(v[1])) for k, v in raw.get("spans", {}).items()},
        )


@cache
def _read(path: str) -> PublishedSummary:
    return PublishedSummary.from_json(Path(path).read_text(encoding="utf-8"))


def published_summary(path: Path | None = None) -> PublishedSummary:
    """The summary dummy data follows: ``path``, else ``FIVESAFES_PUBLISHED_SUMMARY``, else
    the synthetic population's, shipped in the package."""
    chosen = path or Path(os.environ.get("FIVESAFES_PUBLISHED_SUMMARY") or SUMMARY_FILE)
    return _read(str(chosen.resolve()))


# --- making one from a store ------------------------------------------------------------------


def _rounded(count: int) -> int:
    return ROUND_TO * round(count / ROUND_TO)


def summarise(con: Any, source: str, schema: str = "analysis") -> PublishedSummary:
    """The publishable summary of the analysis layer in ``schema`` of a DuckDB store (every
    count is made in SQL, in the store: nothing per patient is brought out)."""

    def rows(sql: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in con.execute(sql).fetchall()]

    def t(name: str) -> str:
        return f'{schema}."{name}"'

    (patients,) = rows(f"SELECT count(*) FROM {t('patients')}")[0]
    patients = _rounded(patients)
    summary = PublishedSummary(source, patients)
    if patients < MIN_PATIENTS:
        return summary

    def share(count: int, total_rows: int) -> Share | None:
        kept = _rounded(count)
        if count < MIN_PATIENTS or kept == 0:
            return None
        return Share(round(kept / patients, 6), round(total_rows / count, 2))

    for table in TABLES.values():
        if not table.is_patient_level or table.name == "patients":
            continue
        ((holders, total),) = rows(
            f"SELECT count(DISTINCT patient_id), count(*) FROM {t(table.name)}"
        )
        if (found := share(holders, total)) is not None:
            summary.tables[table.name] = found
            day = next(c.name for c in table.columns if c.type is ColumnType.DATE)
            ((first, last),) = rows(
                f"SELECT strftime(quantile_disc(\"{day}\", 0.01), '%Y-%m'), "
                f"strftime(quantile_disc(\"{day}\", 0.99), '%Y-%m') FROM {t(table.name)}"
            )
            if first is not None:
                summary.spans[table.name] = (first, last)
        for column in table.columns:
            key = f"{table.name}.{column.name}"
            if column.type is ColumnType.CODE and column.code_system in CLINICAL:
                listed = rows(
                    f'SELECT "{column.name}", count(DISTINCT patient_id), count(*) '
                    f'FROM {t(table.name)} WHERE "{column.name}" IS NOT NULL '
                    f"GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT {MAX_CODES}"
                )
                codes = {str(c): s for c, n, r in listed if (s := share(n, r)) is not None}
                if codes:
                    summary.codes[key] = codes
            elif column.categories and table.kind is TableKind.EVENT:
                counted = rows(
                    f'SELECT "{column.name}", count(DISTINCT patient_id), count(*) '
                    f"FROM {t(table.name)} GROUP BY 1"
                )
                safe = {str(c): r for c, n, r in counted if c is not None and n >= MIN_PATIENTS}
                total_rows = sum(safe.values())
                if total_rows:
                    summary.categories[key] = {
                        c: round(r / total_rows, 4) for c, r in sorted(safe.items())
                    }
    for table_name, value, code in VALUES:
        summary.values[f"{table_name}.{value}"] = _percentiles(rows, t(table_name), value, code)
    return summary


def _percentiles(rows: Any, table: str, value: str, code: str) -> dict[str, list[float]]:
    points = ", ".join(f'quantile_cont("{value}", {p / 100})' for p in PERCENTILES)
    recorded = f'FROM {table} WHERE "{value}" IS NOT NULL'
    grouped = rows(f'SELECT "{code}", count(DISTINCT patient_id), {points} {recorded} GROUP BY 1')
    overall = rows(f"SELECT '*', count(DISTINCT patient_id), {points} {recorded}")
    found: dict[str, list[float]] = {}
    for code_value, holders, *quantiles in [*grouped, *overall]:
        if holders >= MIN_PATIENTS_FOR_VALUES and None not in quantiles:
            found[str(code_value)] = [round(float(q), 1) for q in quantiles]
    return found
