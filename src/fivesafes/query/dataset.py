"""``Dataset`` and ``Measures``: what a study file builds, checked as it is built.

A dataset is a population condition and named patient-level columns; measures are
ratios (numerator over denominator) per interval and group. Both hand engines a
:class:`DatasetQuery` / :class:`MeasureQuery` -- plain query-model values.
"""

from __future__ import annotations

import keyword
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar

from fivesafes.query import model as m
from fivesafes.query.errors import (
    Checked,
    DefinitionError,
    UnknownName,
    did_you_mean,
    public_names,
)
from fivesafes.query.series import Series, parse_date, wrap_bool

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


def _valid_name(name: object) -> bool:
    return (
        isinstance(name, str)
        and name.isidentifier()
        and not keyword.iskeyword(name)
        and not name.startswith("_")
        and name not in RESERVED
    )


def _check_named(pairs: object, what: str, interval: bool = False) -> None:
    """Model check: ``(name, patient-level series)`` pairs with valid, distinct names."""
    if not isinstance(pairs, tuple) or not all(isinstance(p, tuple) and len(p) == 2 for p in pairs):
        raise m.InvalidModel(f"{what} must be a tuple of (name, series) pairs")
    names = [name for name, _ in pairs]
    bad = [n for n in names if not _valid_name(n)]
    if bad or len(set(names)) != len(names):
        raise m.InvalidModel(f"{what} have invalid or repeated names: {bad or names}")
    for name, series in pairs:
        _check_patient_series(series, f"{what[:-1]} {name!r}", interval)


def _check_patient_series(series: object, what: str, interval: bool = False) -> None:
    if not isinstance(series, m.SERIES_TYPES):
        raise m.InvalidModel(f"{what} must be a series, not {series!r}")
    if m.domain_of(series) is not None:
        raise m.InvalidModel(f"{what} has many values per patient")
    if not interval and m.uses_interval(series):
        raise m.InvalidModel(f"{what} uses the interval outside measures")


def _outside_measures(node: m.Series) -> m.Series:
    if m.uses_interval(node):
        raise DefinitionError(
            "INTERVAL.start_date and INTERVAL.end_date only mean something in measures",
            "use a date here (for example index_date = '2024-03-31'), or define a measure",
        )
    return node


def dummy_size(population_size: Any) -> int:
    if isinstance(population_size, bool) or not isinstance(population_size, int):
        raise DefinitionError(
            f"the dummy population size must be a whole number, not {population_size!r}",
            "write configure_dummy_data(population_size=1000)",
        )
    if population_size < 1:
        raise DefinitionError(
            "the dummy population needs at least one patient",
            "write configure_dummy_data(population_size=1000)",
        )
    return population_size


@dataclass(frozen=True, slots=True)
class DatasetQuery:
    """The query model of a dataset: who is in it and which columns it has."""

    population: m.Series
    columns: tuple[tuple[str, m.Series], ...]
    dummy_patients: int = 10

    def __post_init__(self) -> None:
        _check_patient_series(self.population, "the population")
        if self.population.kind is not m.Kind.BOOL:
            raise m.InvalidModel("the population must be a true/false condition")
        _check_named(self.columns, "columns")
        _check_size(self.dummy_patients)


def _check_size(dummy_patients: object) -> None:
    if isinstance(dummy_patients, bool) or not isinstance(dummy_patients, int):
        raise m.InvalidModel(f"the dummy population size {dummy_patients!r} is not a number")
    if dummy_patients < 1:
        raise m.InvalidModel("the dummy population needs at least one patient")


class Dataset:
    """Which patients (``define_population``) and which columns (attributes) a study wants."""

    def __init__(self) -> None:
        object.__setattr__(self, "_population", None)
        object.__setattr__(self, "_columns", {})
        object.__setattr__(self, "_dummy_patients", 10)

    def define_population(self, condition: Any) -> None:
        """Keep the patients for whom ``condition`` is true (NULL counts as not true)."""
        node = _outside_measures(patient_level(wrap_bool(condition), "the population condition"))
        object.__setattr__(self, "_population", node)

    def configure_dummy_data(self, population_size: int) -> None:
        """How many patients ``--dummy`` makes when the command does not say."""
        object.__setattr__(self, "_dummy_patients", dummy_size(population_size))

    def add_column(self, name: str, value: Any) -> None:
        _check_name(name, "column")
        if name in public_names(self):
            raise DefinitionError(
                f"{name!r} is a method of the dataset, not a column name",
                f"call it, dataset.{name}(...), or call the column something else",
            )
        if name in self._columns:
            raise DefinitionError(
                f"column {name!r} is defined twice", "give each column its own name"
            )
        self._columns[name] = _outside_measures(patient_level(value, f"column {name!r}"))

    def __setattr__(self, name: str, value: Any) -> None:
        self.add_column(name, value)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        methods = public_names(self)
        raise UnknownName(
            f"the dataset has no column or method {name!r}",
            f"{did_you_mean(name, [*self._columns, *methods])}define a column before using "
            f"it (dataset.<name> = ...); its methods: {', '.join(methods)}",
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

    def __post_init__(self) -> None:
        if not _valid_name(self.name):
            raise m.InvalidModel(f"{self.name!r} cannot name a measure")
        for role, series in (("numerator", self.numerator), ("denominator", self.denominator)):
            _check_patient_series(series, f"the {role} of {self.name!r}", interval=True)
            if series.kind not in (m.Kind.BOOL, m.Kind.INT):
                raise m.InvalidModel(f"the {role} of {self.name!r} is not a count")
        _check_named(self.group_by, "groups", interval=True)
        spans = self.intervals
        if (
            not isinstance(spans, tuple)
            or not spans
            or not all(
                isinstance(s, tuple)
                and len(s) == 2
                and all(m.fits(d, m.Kind.DATE) and d is not None for d in s)
                and s[0] <= s[1]
                for s in spans
            )
        ):
            raise m.InvalidModel(f"measure {self.name!r} needs (start, end) date intervals")
        if len(set(spans)) != len(spans):
            raise m.InvalidModel(f"measure {self.name!r} has an interval twice")


@dataclass(frozen=True, slots=True)
class MeasureQuery:
    measures: tuple[Measure, ...]
    dummy_patients: int = 10

    def __post_init__(self) -> None:
        if not isinstance(self.measures, tuple) or not self.measures:
            raise m.InvalidModel("measures must be a tuple of at least one measure")
        if not all(isinstance(ms, Measure) for ms in self.measures):
            raise m.InvalidModel("measures must be Measure values")
        names = [ms.name for ms in self.measures]
        if len(set(names)) != len(names):
            raise m.InvalidModel(f"a measure name is used twice: {names}")
        clash = group_kind_clash(self.measures)
        if clash is not None:
            raise m.InvalidModel(f"the groups called {clash!r} differ in type")
        _check_size(self.dummy_patients)


def group_kind_clash(measures: tuple[Measure, ...]) -> str | None:
    """The name of a group that two measures give values of different kinds (one output
    column cannot hold both), or None."""
    kinds: dict[str, m.Kind] = {}
    for measure in measures:
        for name, series in measure.group_by:
            if kinds.setdefault(name, series.kind) is not series.kind:
                return name
    return None


@dataclass
class Measures(Checked):
    """Rates over time: ``define_measure(name, numerator, denominator, group_by, intervals)``.

    Per interval and group: the numerator and denominator summed over patients whose
    denominator is not NULL, zero or false (booleans count as 1/0).
    """

    described_as: ClassVar[str] = "measures"
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
        """How many patients ``--dummy`` makes when the command does not say."""
        self._dummy_patients = dummy_size(population_size)

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
        spans = _intervals(name, settings["intervals"])
        measure = Measure(name, num, den, tuple(groups), spans)
        clash = group_kind_clash((*self._measures.values(), measure))
        if clash is not None:
            raise DefinitionError(
                f"group {clash!r} of {name!r} has values of another type than the group "
                f"{clash!r} of an earlier measure, and both would share one output column",
                "give the groups different names, or the same type of value",
            )
        self._measures[name] = measure

    def query(self) -> MeasureQuery:
        """The query model of every measure defined."""
        if not self._measures:
            raise DefinitionError("no measures are defined", "call measures.define_measure(...)")
        return MeasureQuery(tuple(self._measures.values()), self._dummy_patients)


def _intervals(name: str, given: Any) -> tuple[tuple[date, date], ...]:
    """A measure's intervals as (start, end) dates, each once, each ending on or after it
    starts (dates may be 'YYYY-MM-DD' strings)."""
    fix = "write intervals=months(12).starting_on('2023-04-01')"
    try:
        spans = tuple((_day(a), _day(b)) for a, b in given)
    except (TypeError, ValueError):
        problem = f"measure {name!r} needs intervals as (start, end) pairs"
        raise DefinitionError(problem, fix) from None
    if not spans or any(start > end for start, end in spans):
        raise DefinitionError(
            f"measure {name!r} needs intervals as (start, end) date pairs, start first", fix
        )
    if len(set(spans)) != len(spans):
        raise DefinitionError(f"measure {name!r} has the same interval twice", fix)
    return spans


def _day(value: Any) -> date:
    if isinstance(value, str):
        return parse_date(value, "interval date")
    if not isinstance(value, date):
        raise TypeError(value)
    return value
