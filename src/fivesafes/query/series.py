"""Series: the values analysts compute with, one per patient or one per row of events.

Each series wraps one node of the query model and knows its value type
(:class:`~fivesafes.query.model.Kind`). Operations check their operands' types as
the definition is built, so ``clinical_events.date > 3`` fails on the analyst's
line with a fix, not later inside an engine.

Null semantics (stated once, in ``docs/language.md``): an operation on a NULL
gives NULL; ``&`` and ``|`` follow three-valued logic (``False & NULL`` is
``False``, ``True | NULL`` is ``True``); a NULL condition keeps no rows in
``where``, keeps the row in ``except_where`` and falls through in ``case``;
aggregations ignore NULLs; ``count`` and ``exists`` are never NULL.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any, cast

from fivesafes.model import TABLES
from fivesafes.query import model as m
from fivesafes.query.codelists import Codelist
from fivesafes.query.errors import Checked, DefinitionError, did_you_mean, unknown_attribute
from fivesafes.query.model import Fn, Kind

_PYTHON_KIND: tuple[tuple[type, Kind], ...] = (
    (bool, Kind.BOOL),
    (int, Kind.INT),
    (float, Kind.FLOAT),
    (date, Kind.DATE),
    (str, Kind.STR),
)


def parse_date(value: str, what: str = "date") -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise DefinitionError(
            f"{value!r} is not a {what}",
            "write dates as 'YYYY-MM-DD' strings (for example '2024-03-31') or datetime.date",
        ) from None


def _describe(kind: Kind) -> str:
    return {Kind.BOOL: "a true/false", Kind.INT: "an integer", Kind.FLOAT: "a number"}.get(
        kind, f"a {kind.value}"
    )


def to_node(value: Any, want: Kind | None = None) -> m.Series:
    """The query-model node of a series or a Python constant, converted to ``want`` when the
    constant is a string standing for a date or a code."""
    if isinstance(value, Series):
        return value.node
    if value is None:
        return m.Value(None, want or Kind.STR)
    if isinstance(value, str) and want is Kind.DATE:
        return m.Value(parse_date(value), Kind.DATE)
    if isinstance(value, str) and want is Kind.CODE:
        return m.Value(value, Kind.CODE)
    if isinstance(value, int) and not isinstance(value, bool) and want is Kind.FLOAT:
        return m.Value(float(value), Kind.FLOAT)
    for python_type, kind in _PYTHON_KIND:
        if isinstance(value, python_type):
            return m.Value(cast(m.Scalar, value), kind)
    raise DefinitionError(
        f"cannot use {value!r} ({type(value).__name__}) in a dataset definition",
        "use a series, a number, a string, a date, True/False or None",
    )


def check_domains(*nodes: m.Series) -> None:
    """Refuse to combine series from two different event-level frames."""
    domains = {d for d in (m.domain_of(n) for n in nodes) if d is not None}
    if len(domains) > 1:
        raise DefinitionError(
            "this combines values from two different sets of event rows, so it is not clear "
            "which rows the result would have",
            "aggregate each to one value per patient first (for example "
            "with .count_for_patient() or .first_for_patient()), or filter one frame with "
            ".where() and take both values from it",
        )


def wrap(node: m.Series) -> Series:
    """The language object for a query-model series node."""
    return _CLASSES[node.kind](node)


class Series:
    """A value per patient or per event; base of the typed series below."""

    __slots__ = ("node",)
    kind: Kind = Kind.STR

    def __init__(self, node: m.Series) -> None:
        self.node = node

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.node!r}>"

    def __getattr__(self, name: str) -> Any:
        raise unknown_attribute(self, name, f"{_describe(self.kind)} series")

    def __bool__(self) -> bool:
        raise DefinitionError(
            "a series has no single true/false value, so it cannot be used with Python's "
            "'and', 'or', 'not', 'if' or chained comparisons",
            "combine conditions with & (and), | (or) and ~ (not), in brackets: (a > 1) & (b < 2)",
        )

    def __hash__(self) -> int:
        return hash(self.node)

    @property
    def is_patient_level(self) -> bool:
        return m.domain_of(self.node) is None

    # -- building blocks -------------------------------------------------------------

    def _operand(self, other: Any, op: str) -> m.Series:
        node = to_node(other, self.kind)
        if not m.comparable(self.kind, node.kind) and not (
            isinstance(node, m.Value) and node.value is None
        ):
            raise DefinitionError(
                f"cannot {op} {_describe(self.kind)} value and {_describe(node.kind)} value",
                f"compare like with like: {self.kind.value} with {self.kind.value}"
                + (" (dates as 'YYYY-MM-DD')" if self.kind is Kind.DATE else ""),
            )
        check_domains(self.node, node)
        return node

    def _apply(self, fn: Fn, kind: Kind, *args: m.Series) -> Series:
        check_domains(self.node, *args)
        return wrap(m.Apply(fn, (self.node, *args), kind))

    def _compare(self, fn: Fn, other: Any) -> BoolSeries:
        node = self._operand(other, "compare")
        if fn in (Fn.EQ, Fn.NE) and isinstance(node, m.Value):
            self._check_category(node.value)
        result = self._apply(fn, Kind.BOOL, node)
        assert isinstance(result, BoolSeries)
        return result

    # -- comparisons and nulls --------------------------------------------------------

    def __eq__(self, other: object) -> BoolSeries:  # type: ignore[override]
        return self._compare(Fn.EQ, other)

    def __ne__(self, other: object) -> BoolSeries:  # type: ignore[override]
        return self._compare(Fn.NE, other)

    def is_null(self) -> BoolSeries:
        """True where the value is missing (never NULL itself)."""
        return BoolSeries(m.Apply(Fn.IS_NULL, (self.node,), Kind.BOOL))

    def is_not_null(self) -> BoolSeries:
        return ~self.is_null()

    def when_null_then(self, other: Any) -> Series:
        """This value, or ``other`` where this is missing (a float when either is one)."""
        node = self._operand(other, "replace")
        kind = m.SIGNATURES[Fn.COALESCE]((self.kind, node.kind))
        assert kind is not None, "_operand admits only comparable kinds"
        return self._apply(Fn.COALESCE, kind, node)

    def is_in(self, values: Iterable[Any] | Codelist) -> BoolSeries:
        """Whether the value is one of ``values`` (a code list or any collection)."""
        source = None
        if isinstance(values, Codelist):
            self._check_codelist(values)
            members: frozenset[m.Scalar] = frozenset(values.codes)
            source = values.source
        else:
            if isinstance(values, str | Series):
                raise DefinitionError(
                    "is_in() needs a collection of values",
                    "pass a list, a set or a code list: .is_in(['a', 'b'])",
                )
            members = frozenset(self._member(v) for v in values)
        if not members:
            raise DefinitionError(
                "is_in() was given no values, so it would never be true",
                "pass the values to look for, or check the list you built is not empty",
            )
        return BoolSeries(m.IsIn(self.node, members, codelist=source))

    def _check_category(self, value: m.Scalar) -> None:
        """A column the data model gives a fixed set of values (categories) is never equal to
        another value: comparing with one is a mistake (``patients.sex == "Male"``)."""
        if not isinstance(self.node, m.Column) or not isinstance(value, str):
            return
        table = m.root_table(self.node.source).table
        categories = TABLES[table].column(self.node.name).categories
        if categories is None or value in categories:
            return
        same_letters = [c for c in categories if c.lower() == value.lower()]
        hint = did_you_mean(same_letters[0] if same_letters else value, categories)
        raise DefinitionError(
            f"{table}.{self.node.name} is never {value!r}: its values are "
            + ", ".join(repr(c) for c in categories),
            f"{hint}compare with one of its values (see docs/data-model.md)",
        )

    def _member(self, value: Any) -> m.Scalar:
        """One value ``is_in`` looks for, of this series' kind."""
        if value is None:
            raise DefinitionError(
                "is_in() cannot look for None: a missing value is not equal to anything",
                "ask about missing values with .is_null(): x.is_in([...]) | x.is_null()",
            )
        node = self._operand(value, "look for")
        if not isinstance(node, m.Value):
            raise DefinitionError(
                "is_in() takes constant values, not series",
                "compare with == and combine with |, or pass constants",
            )
        if not m.widens_to(node.kind, self.kind):
            raise DefinitionError(
                f"{_describe(self.kind)} value is never {node.value!r}",
                f"look for {self.kind.value} values",
            )
        self._check_category(node.value)
        return node.value

    def is_not_in(self, values: Iterable[Any] | Codelist) -> BoolSeries:
        return ~self.is_in(values)

    def _check_codelist(self, codelist: Codelist) -> None:
        if self.kind not in (Kind.CODE, Kind.STR):
            raise DefinitionError(
                f"a code list was used with {_describe(self.kind)} value",
                "use code lists with code columns such as clinical_events.snomedct_code",
            )

    # -- aggregations of event-level series ---------------------------------------------

    def _aggregate(self, agg: m.Agg, kind: Kind) -> Series:
        if self.is_patient_level:
            raise DefinitionError(
                f"{agg.value}_for_patient() needs many values per patient, but this series "
                "already has one value per patient",
                "use the series itself, or aggregate a column of an event-level table",
            )
        return wrap(m.Aggregate(agg, self.node, kind))

    def count_distinct_for_patient(self) -> IntSeries:
        """How many different non-NULL values each patient has (0 when none)."""
        result = self._aggregate(m.Agg.COUNT_DISTINCT, Kind.INT)
        assert isinstance(result, IntSeries)
        return result


class _Ordered(Series):
    """Series whose values have an order: numbers, dates, strings and codes."""

    __slots__ = ()

    def __lt__(self, other: Any) -> BoolSeries:
        return self._compare(Fn.LT, other)

    def __le__(self, other: Any) -> BoolSeries:
        return self._compare(Fn.LE, other)

    def __gt__(self, other: Any) -> BoolSeries:
        return self._compare(Fn.GT, other)

    def __ge__(self, other: Any) -> BoolSeries:
        return self._compare(Fn.GE, other)

    def minimum_for_patient(self) -> Series:
        """The smallest non-NULL value per patient (NULL when none)."""
        return self._aggregate(m.Agg.MIN, self.kind)

    def maximum_for_patient(self) -> Series:
        """The largest non-NULL value per patient (NULL when none)."""
        return self._aggregate(m.Agg.MAX, self.kind)


class BoolSeries(Series):
    __slots__ = ()
    kind = Kind.BOOL

    def _logic(self, fn: Fn, other: Any) -> BoolSeries:
        node = to_node(other)
        if node.kind is not Kind.BOOL:
            raise DefinitionError(
                f"& and | combine true/false conditions, not {_describe(node.kind)} value",
                "compare the value first, e.g. (x > 0) & (y > 0)",
            )
        check_domains(self.node, node)
        return BoolSeries(m.Apply(fn, (self.node, node), Kind.BOOL))

    def __and__(self, other: Any) -> BoolSeries:
        return self._logic(Fn.AND, other)

    def __rand__(self, other: Any) -> BoolSeries:
        return wrap_bool(other)._logic(Fn.AND, self)

    def __or__(self, other: Any) -> BoolSeries:
        return self._logic(Fn.OR, other)

    def __ror__(self, other: Any) -> BoolSeries:
        return wrap_bool(other)._logic(Fn.OR, self)

    def __invert__(self) -> BoolSeries:
        return BoolSeries(m.Apply(Fn.NOT, (self.node,), Kind.BOOL))

    def as_int(self) -> IntSeries:
        """1 for true, 0 for false, NULL for NULL."""
        return IntSeries(m.Apply(Fn.TO_INT, (self.node,), Kind.INT))


def wrap_bool(value: Any) -> BoolSeries:
    node = to_node(value)
    if node.kind is not Kind.BOOL:
        raise DefinitionError(
            f"expected a true/false condition, got {_describe(node.kind)} value",
            "write a comparison such as patients.sex == 'female'",
        )
    return BoolSeries(node)


class _Number(_Ordered):
    __slots__ = ()

    def _arith(self, fn: Fn, other: Any, reverse: bool = False) -> Series:
        node = to_node(other)
        if not node.kind.is_number:
            raise DefinitionError(
                f"arithmetic needs numbers, but got {_describe(node.kind)} value",
                "use numbers on both sides; for dates use days(), months() or years()",
            )
        check_domains(self.node, node)
        kind = Kind.FLOAT if Kind.FLOAT in (self.kind, node.kind) or fn is Fn.DIV else Kind.INT
        args = (node, self.node) if reverse else (self.node, node)
        return wrap(m.Apply(fn, args, kind))

    def __add__(self, other: Any) -> Series:
        return self._arith(Fn.ADD, other)

    def __radd__(self, other: Any) -> Series:
        return self._arith(Fn.ADD, other, reverse=True)

    def __sub__(self, other: Any) -> Series:
        return self._arith(Fn.SUB, other)

    def __rsub__(self, other: Any) -> Series:
        return self._arith(Fn.SUB, other, reverse=True)

    def __mul__(self, other: Any) -> Series:
        return self._arith(Fn.MUL, other)

    def __rmul__(self, other: Any) -> Series:
        return self._arith(Fn.MUL, other, reverse=True)

    def __truediv__(self, other: Any) -> Series:
        """Division always gives a float; dividing by zero gives NULL."""
        return self._arith(Fn.DIV, other)

    def __rtruediv__(self, other: Any) -> Series:
        return self._arith(Fn.DIV, other, reverse=True)

    def __neg__(self) -> Series:
        return wrap(m.Apply(Fn.NEG, (self.node,), self.kind))

    def as_float(self) -> FloatSeries:
        return FloatSeries(m.Apply(Fn.TO_FLOAT, (self.node,), Kind.FLOAT))

    def as_int(self) -> IntSeries:
        """Rounded towards zero."""
        return IntSeries(m.Apply(Fn.TO_INT, (self.node,), Kind.INT))

    def is_between(self, low: Any, high: Any) -> BoolSeries:
        """``low <= value <= high`` (both ends included)."""
        return self._compare(Fn.GE, low) & self._compare(Fn.LE, high)

    def sum_for_patient(self) -> Series:
        """The sum of non-NULL values per patient (NULL when none)."""
        return self._aggregate(m.Agg.SUM, self.kind)

    def mean_for_patient(self) -> FloatSeries:
        """The mean of non-NULL values per patient (NULL when none)."""
        result = self._aggregate(m.Agg.MEAN, Kind.FLOAT)
        assert isinstance(result, FloatSeries)
        return result


class IntSeries(_Number):
    __slots__ = ()
    kind = Kind.INT


class FloatSeries(_Number):
    __slots__ = ()
    kind = Kind.FLOAT


class StrSeries(_Ordered):
    __slots__ = ()
    kind = Kind.STR


class CodeSeries(_Ordered):
    """A coded value; a code list used with it is checked against its code system."""

    __slots__ = ()
    kind = Kind.CODE

    @property
    def code_system(self) -> Any:
        return self.node.code_system if isinstance(self.node, m.Column) else None

    def _check_codelist(self, codelist: Codelist) -> None:
        from fivesafes.model.codes import code_problem

        system = self.code_system
        if system is None:
            return
        if codelist.system is not None and codelist.system != system:
            raise DefinitionError(
                f"code list {codelist.source} holds {codelist.system.name} codes but this "
                f"column holds {system.name} codes",
                "use a code list of the column's code system, or the column that holds "
                f"{codelist.system.name} codes",
            )
        bad = sorted(c for c in codelist.codes if code_problem(system, c))
        if bad:
            raise DefinitionError(
                f"code list {codelist.source} has codes that are not {system.name} codes, "
                f"e.g. {code_problem(system, bad[0])}",
                "check you downloaded the list for this column's code system",
            )

    def to_category(self, codelist: Codelist, column: str) -> StrSeries:
        """The category of each code in one category column of a code list (NULL if absent)."""
        self._check_codelist(codelist)
        mapping = codelist.category(column)
        by_category: dict[str, set[str]] = {}
        for code, category in mapping.items():
            by_category.setdefault(category, set()).add(code)
        branches = tuple(
            (
                m.IsIn(self.node, frozenset(codes), codelist=codelist.source),
                m.Value(category, Kind.STR),
            )
            for category, codes in sorted(by_category.items())
        )
        return StrSeries(m.Case(branches, m.Value(None, Kind.STR), Kind.STR))


class DateSeries(_Ordered):
    __slots__ = ()
    kind = Kind.DATE

    @property
    def year(self) -> IntSeries:
        return IntSeries(m.Apply(Fn.YEAR, (self.node,), Kind.INT))

    @property
    def month(self) -> IntSeries:
        return IntSeries(m.Apply(Fn.MONTH, (self.node,), Kind.INT))

    @property
    def day(self) -> IntSeries:
        return IntSeries(m.Apply(Fn.DAY, (self.node,), Kind.INT))

    def to_first_of_month(self) -> DateSeries:
        return DateSeries(m.Apply(Fn.TO_FIRST_OF_MONTH, (self.node,), Kind.DATE))

    def to_first_of_year(self) -> DateSeries:
        return DateSeries(m.Apply(Fn.TO_FIRST_OF_YEAR, (self.node,), Kind.DATE))

    def is_before(self, other: Any) -> BoolSeries:
        return self._compare(Fn.LT, other)

    def is_on_or_before(self, other: Any) -> BoolSeries:
        return self._compare(Fn.LE, other)

    def is_after(self, other: Any) -> BoolSeries:
        return self._compare(Fn.GT, other)

    def is_on_or_after(self, other: Any) -> BoolSeries:
        return self._compare(Fn.GE, other)

    def is_between(self, start: Any, end: Any) -> BoolSeries:
        """``start <= date <= end`` (both ends included)."""
        return self._compare(Fn.GE, start) & self._compare(Fn.LE, end)

    def is_during(self, interval: Any) -> BoolSeries:
        """Within an interval given as (start, end), both ends included."""
        start, end = interval
        return self.is_between(start, end)

    def _difference(self, fn: Fn, other: Any) -> IntSeries:
        node = self._operand(other, "subtract")
        result = self._apply(fn, Kind.INT, node)
        assert isinstance(result, IntSeries)
        return result

    def difference_in_days(self, other: Any) -> IntSeries:
        """Days from ``other`` to this date (positive when this date is later)."""
        return self._difference(Fn.DIFF_DAYS, other)

    def difference_in_months(self, other: Any) -> IntSeries:
        """Whole months from ``other`` to this date."""
        return self._difference(Fn.DIFF_MONTHS, other)

    def difference_in_years(self, other: Any) -> IntSeries:
        """Whole years from ``other`` to this date (an age when ``other`` is a birth date)."""
        return self._difference(Fn.DIFF_YEARS, other)

    def __add__(self, other: Any) -> DateSeries:
        from fivesafes.query.dates import Duration

        if not isinstance(other, Duration):
            raise DefinitionError(
                "only a duration can be added to a date",
                "write date + days(n), date + months(n) or date + years(n)",
            )
        return other.added_to(self)

    __radd__ = __add__

    def __sub__(self, other: Any) -> DateSeries:
        from fivesafes.query.dates import Duration

        if not isinstance(other, Duration):
            raise DefinitionError(
                "only a duration can be subtracted from a date",
                "write date - days(n); for the gap between two dates use "
                "later.difference_in_days(earlier)",
            )
        return (-other).added_to(self)


_CLASSES: dict[Kind, type[Series]] = {
    Kind.BOOL: BoolSeries,
    Kind.INT: IntSeries,
    Kind.FLOAT: FloatSeries,
    Kind.STR: StrSeries,
    Kind.CODE: CodeSeries,
    Kind.DATE: DateSeries,
}


# --- case / when --------------------------------------------------------------------


class When(Checked):
    """One branch of ``case``: ``when(condition).then(value)``."""

    __slots__ = ("condition", "value")
    described_as = "when(...)"

    def __init__(self, condition: Any) -> None:
        self.condition = wrap_bool(condition).node
        self.value: m.Series | None = None

    def then(self, value: Any) -> When:
        self.value = to_node(value)
        return self


def when(condition: Any) -> When:
    return When(condition)


def _is_null(node: m.Series) -> bool:
    return isinstance(node, m.Value) and node.value is None


def _one_kind(kinds: set[Kind]) -> Kind | None:
    """The kind values of ``kinds`` all widen to (integers to floats, codes to strings)."""
    if Kind.FLOAT in kinds:
        kinds.discard(Kind.INT)
    if Kind.STR in kinds:
        kinds.discard(Kind.CODE)
    if len(kinds) > 1:
        raise DefinitionError(
            "the branches of case() give values of different types: "
            + ", ".join(sorted(k.value for k in kinds)),
            "make every then(...) and otherwise= the same type",
        )
    return next(iter(kinds), None)


def case(*branches: When, otherwise: Any = None) -> Series:
    """The value of the first branch whose condition is true (a NULL condition is not true);
    ``otherwise`` (default NULL) when none is."""
    if not branches or any(b.value is None for b in branches):
        raise DefinitionError(
            "case() needs at least one when(condition).then(value)",
            "write case(when(x > 1).then('high'), otherwise='low')",
        )
    values = [b.value for b in branches if b.value is not None]
    kind = _one_kind({v.kind for v in values if not _is_null(v)})
    default = to_node(otherwise, kind or Kind.STR)
    if kind is not None and not _is_null(default) and not m.comparable(kind, default.kind):
        raise DefinitionError(
            f"otherwise= is {_describe(default.kind)} value but the branches give {kind.value}",
            "make every then(...) and otherwise= the same type",
        )
    if not _is_null(default):
        kind = _one_kind({default.kind} | ({kind} if kind else set()))
    kind = kind or Kind.STR
    values = [m.Value(None, kind) if _is_null(v) else v for v in values]
    if _is_null(default):
        default = m.Value(None, kind)
    pairs = tuple((b.condition, v) for b, v in zip(branches, values, strict=True))
    check_domains(*(n for pair in pairs for n in pair), default)
    return wrap(m.Case(pairs, default, kind))
