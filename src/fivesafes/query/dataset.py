"""``Dataset`` and ``Measures``: what a study file builds, checked as it is built.

A dataset is a population condition and named patient-level columns; measures are
ratios (numerator over denominator) per interval and group. Both hand engines a
:class:`DatasetQuery` / :class:`MeasureQuery` -- plain query-model values.
"""

from __future__ import annotations

import keyword
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fivesafes.query import model as m
from fivesafes.query.errors import DefinitionError
from fivesafes.query.series import Series, wrap_bool

RESERVED = frozenset({"patient_id", "population"})


def _check_name(name: str, what: str) -> None:
    if not name.isidentifier() or keyword.iskeyword(name) or name.startswith("_"):
        raise DefinitionError(
            f"{name!r} cannot name a {what}",
            "use letters, digits and underscores, starting with a letter",
        )
    if name in RESERVED:
        raise DefinitionError(f"{name!r} is reserved", f"call the {what} something else")


def patient_level(value: Any, what: str) -> m.Series:
    """The node of a patient-level series; a kind error for anything else."""
    if not isinstance(value, Series):
        raise DefinitionError(
            f"{what} must be a series built from tables, not {value!r}",
            "build it from fivesafes.tables, e.g. patients.sex",
        )
    if not value.is_patient_level:
        raise DefinitionError(
            f"{what} has many values per patient, but a dataset needs one",
            "reduce it to one value per patient: .count_for_patient(), .exists_for_patient(), "
            ".sort_by(...).first_for_patient().<column>, .maximum_for_patient() ...",
        )
    return value.node


@dataclass(frozen=True, slots=True)
class DatasetQuery:
    """The query model of a dataset: who is in it and which columns it has."""

    population: m.Series
    columns: tuple[tuple[str, m.Series], ...]
    dummy_patients: int = 10


class Dataset:
    """Which patients (``define_population``) and which columns (attributes) a study wants."""

    def __init__(self) -> None:
        object.__setattr__(self, "_population", None)
        object.__setattr__(self, "_columns", {})
        object.__setattr__(self, "_dummy_patients", 10)

    def define_population(self, condition: Any) -> None:
        """Keep the patients for whom ``condition`` is true (NULL counts as not true)."""
        node = patient_level(wrap_bool(condition), "the population condition")
        object.__setattr__(self, "_population", node)

    def configure_dummy_data(self, population_size: int) -> None:
        """How many patients ``--dummy`` makes when the command does not say."""
        object.__setattr__(self, "_dummy_patients", int(population_size))

    def add_column(self, name: str, value: Any) -> None:
        _check_name(name, "column")
        if name in self._columns:
            raise DefinitionError(
                f"column {name!r} is defined twice", "give each column its own name"
            )
        self._columns[name] = patient_level(value, f"column {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        self.add_column(name, value)

    def __getattr__(self, name: str) -> Any:
        raise DefinitionError(
            f"the dataset has no column {name!r}",
            "define a column before using it: dataset.<name> = ...",
        )

    def query(self) -> DatasetQuery:
        if self._population is None:
            raise DefinitionError(
                "the dataset has no population",
                "call dataset.define_population(condition) with who to include",
            )
        return DatasetQuery(self._population, tuple(self._columns.items()), self._dummy_patients)


@dataclass(frozen=True, slots=True)
class Measure:
    """One ratio, computed per interval and per group."""

    name: str
    numerator: m.Series
    denominator: m.Series
    group_by: tuple[tuple[str, m.Series], ...]
    intervals: tuple[tuple[date, date], ...]


@dataclass(frozen=True, slots=True)
class MeasureQuery:
    measures: tuple[Measure, ...]
    dummy_patients: int = 10


@dataclass
class Measures:
    """Rates over time: ``define_measure(name, numerator, denominator, group_by, intervals)``.

    Per interval and group: the numerator and denominator summed over patients whose
    denominator is not NULL, zero or false (booleans count as 1/0).
    """

    _defaults: dict[str, Any] = field(default_factory=dict)
    _measures: dict[str, Measure] = field(default_factory=dict)
    _dummy_patients: int = 10

    def define_defaults(self, **defaults: Any) -> None:
        unknown = set(defaults) - {"numerator", "denominator", "group_by", "intervals"}
        if unknown:
            raise DefinitionError(
                f"unknown measure setting {sorted(unknown)[0]!r}",
                "set numerator, denominator, group_by or intervals",
            )
        self._defaults.update(defaults)

    def configure_dummy_data(self, population_size: int) -> None:
        self._dummy_patients = int(population_size)

    def define_measure(
        self,
        name: str,
        numerator: Any = None,
        denominator: Any = None,
        group_by: dict[str, Any] | None = None,
        intervals: list[tuple[date, date]] | None = None,
    ) -> None:
        _check_name(name, "measure")
        if name in self._measures:
            raise DefinitionError(f"measure {name!r} is defined twice", "rename one of them")
        given = {"numerator": numerator, "denominator": denominator, "group_by": group_by}
        given["intervals"] = intervals
        settings = {k: v if v is not None else self._defaults.get(k) for k, v in given.items()}
        for required in ("numerator", "denominator", "intervals"):
            if settings[required] is None:
                raise DefinitionError(
                    f"measure {name!r} has no {required}",
                    f"pass {required}= or set it with define_defaults({required}=...)",
                )
        num = patient_level(settings["numerator"], f"the numerator of {name!r}")
        den = patient_level(settings["denominator"], f"the denominator of {name!r}")
        for role, node in (("numerator", num), ("denominator", den)):
            if node.kind not in (m.Kind.BOOL, m.Kind.INT):
                raise DefinitionError(
                    f"the {role} of {name!r} is {node.kind.value}, not a count",
                    "use a true/false condition or an integer such as .count_for_patient()",
                )
        groups = []
        for group, value in (settings["group_by"] or {}).items():
            _check_name(group, "group")
            groups.append((group, patient_level(value, f"group {group!r} of {name!r}")))
        spans = tuple(settings["intervals"])
        if not spans or any(len(s) != 2 or s[0] > s[1] for s in spans):
            raise DefinitionError(
                f"measure {name!r} needs intervals as (start, end) date pairs",
                "write intervals=months(12).starting_on('2023-04-01')",
            )
        self._measures[name] = Measure(name, num, den, tuple(groups), spans)

    def query(self) -> MeasureQuery:
        if not self._measures:
            raise DefinitionError("no measures are defined", "call measures.define_measure(...)")
        return MeasureQuery(tuple(self._measures.values()), self._dummy_patients)
