"""Compile the query model to one SQL query, as SQLGlot expressions any dialect can print.

Shape of every query (one per dataset, one per measure):

* ``all_patients``: every ``patient_id`` of the ``patients`` table, minus the
  patients an extraction must leave out (opt-outs);
* one CTE per per-patient value that needs the event tables -- an aggregate
  (``GROUP BY patient_id``) or one row picked per patient (``ROW_NUMBER()``);
* a final SELECT over ``all_patients`` LEFT JOINing each CTE on ``patient_id``.

Measures add an ``intervals`` CTE: values that depend on the interval are computed
for every (patient, interval) pair in the same pass, keyed by ``interval_start``,
so twelve monthly intervals are one scan of the data, not twelve queries.

A patient-level value used inside an event-level condition (``events.date >
patients.date_of_birth``) becomes its own CTE keyed by patient, joined to the event
rows. Identical sub-definitions share one CTE.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from sqlglot import exp

from fivesafes.model import TABLES
from fivesafes.query import model as m
from fivesafes.query.dataset import DatasetQuery, Measure
from fivesafes.query.model import Agg, Fn, Kind

SQL_TYPES: dict[Kind, exp.DataType.Type] = {
    Kind.BOOL: exp.DataType.Type.BOOLEAN,
    Kind.INT: exp.DataType.Type.BIGINT,
    Kind.FLOAT: exp.DataType.Type.DOUBLE,
    Kind.STR: exp.DataType.Type.VARCHAR,
    Kind.CODE: exp.DataType.Type.VARCHAR,
    Kind.DATE: exp.DataType.Type.DATE,
    Kind.PATIENT_ID: exp.DataType.Type.BIGINT,
}
INTERVAL_COLUMNS = ("interval_start", "interval_end")
_COMPARISONS: dict[Fn, type[exp.Binary]] = {
    Fn.EQ: exp.EQ,
    Fn.NE: exp.NEQ,
    Fn.LT: exp.LT,
    Fn.LE: exp.LTE,
    Fn.GT: exp.GT,
    Fn.GE: exp.GTE,
    Fn.ADD: exp.Add,
    Fn.SUB: exp.Sub,
    Fn.MUL: exp.Mul,
}

TableRef = Callable[[str], exp.Expression]


def cast(e: exp.Expression, kind: Kind) -> exp.Expression:
    return exp.Cast(this=e, to=exp.DataType.build(SQL_TYPES[kind]))


def literal(value: m.Scalar, kind: Kind) -> exp.Expression:
    if value is None:
        return cast(exp.Null(), kind)
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, date):
        return cast(exp.Literal.string(value.isoformat()), Kind.DATE)
    if isinstance(value, int | float):
        number = exp.Literal.number(abs(value))
        typed = number if kind is not Kind.FLOAT else cast(number, Kind.FLOAT)
        return exp.Neg(this=typed) if value < 0 else typed
    return exp.Literal.string(str(value))


def _col(alias: str, name: str) -> exp.Column:
    return exp.column(name, table=alias, quoted=True)


def _case(*branches: tuple[exp.Expression, exp.Expression], default: exp.Expression) -> exp.Case:
    return exp.Case(ifs=[exp.If(this=c, true=v) for c, v in branches], default=default)


@dataclass
class _Join:
    relation: exp.Expression
    alias: str
    by_interval: bool


@dataclass
class _Scope:
    """A FROM clause being built: a base relation and the LEFT JOINs its expressions need."""

    base: exp.Expression
    alias: str
    by_interval: bool
    joins: list[_Join] = field(default_factory=list)
    _by_key: dict[str, str] = field(default_factory=dict)

    def join(self, key: str, relation: exp.Expression, by_interval: bool, prefix: str) -> str:
        if key not in self._by_key:
            alias = f"{prefix}{len(self.joins) + 1}"
            self.joins.append(_Join(relation, alias, by_interval))
            self._by_key[key] = alias
        return self._by_key[key]

    def keys(self) -> list[exp.Expression]:
        names = ("patient_id", *INTERVAL_COLUMNS) if self.by_interval else ("patient_id",)
        return [_col(self.alias, n) for n in names]

    def select(
        self,
        *projections: exp.Expression,
        where: exp.Expression | None = None,
        group_by: list[exp.Expression] | None = None,
    ) -> exp.Select:
        query = exp.select(*projections).from_(exp.alias_(self.base, self.alias, table=True))
        for j in self.joins:
            on = exp.EQ(this=_col(j.alias, "patient_id"), expression=_col(self.alias, "patient_id"))
            if j.by_interval:
                on = exp.and_(
                    on,
                    exp.EQ(
                        this=_col(j.alias, "interval_start"),
                        expression=_col(self.alias, "interval_start"),
                    ),
                )
            query = query.join(exp.alias_(j.relation, j.alias, table=True), on=on, join_type="left")
        if where is not None:
            query = query.where(where)
        if group_by:
            query = query.group_by(*group_by)
        return query


class Compiler:
    """Builds the CTEs of one query; ``dataset()`` or ``measure()`` gives the whole SELECT.

    ``table`` names an analysis-layer table in the engine's catalogue; ``excluded``
    names a relation of ``patient_id``s to leave out of every result (or None).
    """

    def __init__(
        self,
        table: TableRef,
        excluded: str | None = None,
        intervals: tuple[tuple[date, date], ...] = (),
    ) -> None:
        self.table = table
        self.excluded = excluded
        self.intervals = intervals
        self.ctes: list[tuple[str, exp.Select]] = []
        self._names: dict[object, str] = {}

    # -- CTE bookkeeping ------------------------------------------------------------

    def _cte(self, key: object, prefix: str, build: Callable[[], exp.Select]) -> str:
        if key not in self._names:
            query = build()
            name = f"{prefix}_{len(self.ctes) + 1}"
            self.ctes.append((name, query))
            self._names[key] = name
        return self._names[key]

    def _with(self, query: exp.Select) -> exp.Select:
        for name, cte in self.ctes:
            query = query.with_(name, as_=cte)
        return query

    # -- the patients and intervals every query starts from --------------------------

    def _all_patients(self) -> str:
        """Every patient: the ``patients`` table is the model's register of every person
        (the store builds every other table by joining it), less the excluded."""

        def build() -> exp.Select:
            query = (
                exp.select(_col("u", "patient_id"))
                .from_(exp.alias_(self.table("patients"), "u", table=True))
                .group_by(_col("u", "patient_id"))
            )
            if self.excluded is not None:
                query = query.join(
                    exp.alias_(exp.to_table(self.excluded), "x", table=True),
                    on=exp.EQ(this=_col("x", "patient_id"), expression=_col("u", "patient_id")),
                    join_type="left",
                ).where(exp.Is(this=_col("x", "patient_id"), expression=exp.Null()))
            return query

        return self._cte(("all_patients",), "all_patients", build)

    def _intervals(self) -> str:
        def build() -> exp.Select:
            rows = [
                exp.select(
                    exp.alias_(literal(s, Kind.DATE), "interval_start", quoted=True),
                    exp.alias_(literal(e, Kind.DATE), "interval_end", quoted=True),
                )
                for s, e in self.intervals
            ]
            union: exp.Query = rows[0]
            for row in rows[1:]:
                union = exp.union(union, row, distinct=False)
            return exp.select("*").from_(union.subquery("iv"))

        return self._cte(("intervals",), "intervals", build)

    def _base(self, by_interval: bool) -> exp.Expression:
        patients = self._all_patients()
        if not by_interval:
            return exp.to_table(patients)

        def build() -> exp.Select:
            return (
                exp.select(
                    _col("p", "patient_id"),
                    _col("i", "interval_start"),
                    _col("i", "interval_end"),
                )
                .from_(exp.alias_(exp.to_table(patients), "p", table=True))
                .join(
                    exp.alias_(exp.to_table(self._intervals()), "i", table=True), join_type="cross"
                )
            )

        return exp.to_table(self._cte(("patient_intervals",), "patient_intervals", build))

    def _patient_scope(self, by_interval: bool) -> _Scope:
        return _Scope(self._base(by_interval), "b", by_interval)

    # -- whole queries ----------------------------------------------------------------

    def dataset(self, query: DatasetQuery) -> exp.Select:
        scope = self._patient_scope(by_interval=False)
        population = self.patient(query.population, scope)
        columns = [
            exp.alias_(cast(self.patient(s, scope), s.kind), name, quoted=True)
            for name, s in query.columns
        ]
        where = exp.func("COALESCE", exp.paren(population), exp.false())
        select = scope.select(_col("b", "patient_id"), *columns, where=where)
        return self._with(select.order_by(_col("b", "patient_id")))

    def measure(self, measure: Measure) -> exp.Select:
        groups = list(measure.group_by)
        scope = self._patient_scope(by_interval=True)
        per_patient = [
            _col("b", "interval_start"),
            _col("b", "interval_end"),
            *(exp.alias_(cast(self.patient(s, scope), s.kind), g, quoted=True) for g, s in groups),
            exp.alias_(cast(self.patient(measure.numerator, scope), Kind.INT), "num", quoted=True),
            exp.alias_(
                cast(self.patient(measure.denominator, scope), Kind.INT), "den", quoted=True
            ),
        ]
        inner = scope.select(*per_patient)
        keys = [exp.column(n, quoted=True) for n in (*INTERVAL_COLUMNS, *(g for g, _ in groups))]
        den = exp.column("den", quoted=True)
        where = exp.and_(
            exp.not_(exp.Is(this=den, expression=exp.Null())),
            exp.NEQ(this=den, expression=exp.Literal.number(0)),
        )
        total_num = cast(exp.Sum(this=exp.column("num", quoted=True)), Kind.INT)
        total_den = cast(exp.Sum(this=den), Kind.INT)
        select = (
            exp.select(
                exp.alias_(exp.Literal.string(measure.name), "measure", quoted=True),
                *keys,
                exp.alias_(total_num, "numerator", quoted=True),
                exp.alias_(total_den, "denominator", quoted=True),
            )
            .from_(inner.subquery("pp"))
            .where(where)
            .group_by(*keys)
            .order_by(*keys)
        )
        return self._with(select)

    # -- patient-level values -----------------------------------------------------------

    def patient(self, node: m.Series, scope: _Scope) -> exp.Expression:
        """A patient-level series as an expression over ``scope`` (adding the joins it needs)."""
        if isinstance(node, m.Value):
            return literal(node.value, node.kind)
        if isinstance(node, m.IntervalBound):
            return _col(scope.alias, INTERVAL_COLUMNS[node.end])
        if isinstance(node, m.Column):
            return self._patient_column(node, scope)
        if isinstance(node, m.Aggregate):
            return self._aggregate(node, scope)
        return self._combine(node, lambda child: self.patient(child, scope))

    def _patient_column(self, node: m.Column, scope: _Scope) -> exp.Expression:
        source = node.source
        if isinstance(source, m.TableFrame):
            alias = scope.join(f"table:{source.table}", self.table(source.table), False, "t")
        else:
            assert isinstance(source, m.PickOne), "the language only lets patient frames here"
            by_interval = m.uses_interval(source)
            name = self._cte(source, "pick", lambda: self._pick(source, by_interval))
            alias = scope.join(name, exp.to_table(name), by_interval, "j")
        return _col(alias, node.name)

    def _aggregate(self, node: m.Aggregate, scope: _Scope) -> exp.Expression:
        if node.agg is Agg.EXISTS and isinstance(node.source, m.PickOne):
            # whether a row was picked: reuse the pick instead of scanning the rows again
            picked = self._patient_column(
                m.Column(node.source, "patient_id", Kind.PATIENT_ID), scope
            )
            return exp.not_(exp.Is(this=picked, expression=exp.Null()))
        by_interval = m.uses_interval(node)
        name = self._cte(node, "agg", lambda: self._aggregate_query(node, by_interval))
        alias = scope.join(name, exp.to_table(name), by_interval, "j")
        value = _col(alias, "value")
        if node.agg is Agg.EXISTS:
            return exp.func("COALESCE", value, exp.false())
        if node.agg in (Agg.COUNT, Agg.COUNT_DISTINCT):
            return exp.func("COALESCE", value, exp.Literal.number(0))
        return value

    def _aggregate_query(self, node: m.Aggregate, by_interval: bool) -> exp.Select:
        source = node.source
        if isinstance(source, m.FRAME_TYPES):
            frame = source.source.source if isinstance(source, m.PickOne) else source
            rows = self._row_scope(frame, by_interval)
            value: exp.Expression = (
                exp.true() if node.agg is Agg.EXISTS else exp.Count(this=exp.Star())
            )
        else:
            frame = m.domain_of(source)
            assert frame is not None, "the language only aggregates event-level series"
            rows = self._row_scope(frame, by_interval)
            inner = self.row(source, rows)
            value = {
                Agg.COUNT_DISTINCT: lambda: exp.Count(this=exp.Distinct(expressions=[inner])),
                Agg.SUM: lambda: exp.Sum(this=inner),
                Agg.MEAN: lambda: exp.Avg(this=cast(inner, Kind.FLOAT)),
                Agg.MIN: lambda: exp.Min(this=inner),
                Agg.MAX: lambda: exp.Max(this=inner),
            }[node.agg]()
        keys = rows.keys()
        return rows.select(
            *keys, exp.alias_(cast(value, node.kind), "value", quoted=True), group_by=keys
        )

    def _pick(self, node: m.PickOne, by_interval: bool) -> exp.Select:
        """The first (or last) row per patient.

        Sorting every row per patient is the slow part, so rows are first cut to the
        candidates holding the patient's smallest (largest) first sort key -- a GROUP BY
        and a join -- and only those are numbered by ROW_NUMBER() in the full order:
        the sort keys with NULLs first, then every other column, so ties break the
        same way on every engine.
        """
        sort = node.source
        rows = self._row_scope(sort.source, by_interval)
        table = TABLES[m.root_table(sort).table]
        sort_names = [f"sort_{i}" for i in range(len(sort.keys))]
        keyed = rows.select(
            exp.Column(this=exp.Star(), table=exp.to_identifier(rows.alias)),
            *(
                exp.alias_(self.row(k.series, rows), name, quoted=True)
                for k, name in zip(sort.keys, sort_names, strict=True)
            ),
        )
        keyed_name = self._cte(("keyed", sort, by_interval), "sorted", lambda: keyed)
        groups = ("patient_id", *INTERVAL_COLUMNS) if by_interval else ("patient_id",)
        first = _col("k", sort_names[0])
        nulls = exp.Sub(this=exp.Count(this=exp.Star()), expression=exp.Count(this=first))
        bounds = (
            exp.select(
                *(_col("k", g) for g in groups),
                exp.alias_((exp.Max if node.last else exp.Min)(this=first), "bound", quoted=True),
                exp.alias_(nulls, "nulls", quoted=True),
            )
            .from_(exp.alias_(exp.to_table(keyed_name), "k", table=True))
            .group_by(*(_col("k", g) for g in groups))
        )
        at_bound = exp.EQ(this=first, expression=_col("b", "bound"))
        null_key = exp.Is(this=first, expression=exp.Null())
        if node.last:
            wanted = exp.or_(
                at_bound, exp.and_(exp.Is(this=_col("b", "bound"), expression=exp.Null()), null_key)
            )
        else:
            has_nulls = exp.GT(this=_col("b", "nulls"), expression=exp.Literal.number(0))
            wanted = exp.or_(exp.and_(has_nulls, null_key), exp.and_(exp.not_(has_nulls), at_bound))
        on = exp.and_(*(exp.EQ(this=_col("k", g), expression=_col("b", g)) for g in groups))
        order = [_col("k", n) for n in sort_names] + [
            _col("k", c) for c in table.column_names if c != "patient_id"
        ]
        window = exp.Window(
            this=exp.RowNumber(),
            partition_by=[_col("k", g) for g in groups],
            order=exp.Order(
                expressions=[
                    exp.Ordered(this=e, desc=node.last, nulls_first=not node.last) for e in order
                ]
            ),
        )
        numbered = (
            exp.select(
                exp.Column(this=exp.Star(), table=exp.to_identifier("k")),
                exp.alias_(window, "row_in_patient", quoted=True),
            )
            .from_(exp.alias_(exp.to_table(keyed_name), "k", table=True))
            .join(bounds.subquery("b"), on=exp.and_(on, wanted), join_type="inner")
        )
        one = exp.EQ(
            this=exp.column("row_in_patient", quoted=True), expression=exp.Literal.number(1)
        )
        return exp.select("*").from_(numbered.subquery("numbered")).where(one)

    # -- event rows ---------------------------------------------------------------------

    def _rows(self, frame: m.Frame, by_interval: bool) -> exp.Select:
        """The rows of an event-level frame: the root table's columns (and the interval)."""
        if isinstance(frame, m.TableFrame):
            names = TABLES[frame.table].column_names
            query = exp.select(*(_col("t", n) for n in names)).from_(
                exp.alias_(self.table(frame.table), "t", table=True)
            )
            if by_interval:
                iv = exp.alias_(exp.to_table(self._intervals()), "i", table=True)
                query = query.select(*(_col("i", n) for n in INTERVAL_COLUMNS)).join(
                    iv, join_type="cross"
                )
            return query
        if isinstance(frame, m.Filter):
            rows = self._row_scope(frame.source, by_interval)
            condition = self.row(frame.condition, rows)
            star = exp.Column(this=exp.Star(), table=exp.to_identifier(rows.alias))
            return rows.select(star, where=exp.func("COALESCE", exp.paren(condition), exp.false()))
        assert isinstance(frame, m.Sort), "a picked row is patient level, not rows"
        return self._rows(frame.source, by_interval)

    def _row_scope(self, frame: m.Frame, by_interval: bool) -> _Scope:
        return _Scope(self._rows(frame, by_interval).subquery(), "r", by_interval)

    def row(self, node: m.Series, rows: _Scope) -> exp.Expression:
        """An event-level series as an expression over one row of ``rows``."""
        if isinstance(node, m.Value):
            return literal(node.value, node.kind)
        if isinstance(node, m.IntervalBound):
            return _col(rows.alias, INTERVAL_COLUMNS[node.end])
        if isinstance(node, m.Column) and m.domain_of(node) is not None:
            return _col(rows.alias, node.name)
        if m.domain_of(node) is None and not _is_constant(node):
            by_interval = m.uses_interval(node)
            name = self._cte(("patient value", node), "patient_value", lambda: self._value(node))
            alias = rows.join(name, exp.to_table(name), by_interval, "v")
            return _col(alias, "value")
        return self._combine(node, lambda child: self.row(child, rows))

    def _value(self, node: m.Series) -> exp.Select:
        scope = self._patient_scope(m.uses_interval(node))
        value = exp.alias_(cast(self.patient(node, scope), node.kind), "value", quoted=True)
        return scope.select(*scope.keys(), value)

    # -- operations, the same at patient and row level ---------------------------------

    def _combine(self, node: m.Series, sub: Callable[[m.Series], exp.Expression]) -> exp.Expression:
        if isinstance(node, m.IsIn):
            this = sub(node.series)
            if not node.values:
                return _case(
                    (exp.Is(this=this, expression=exp.Null()), cast(exp.Null(), Kind.BOOL)),
                    default=exp.false(),
                )
            kind = node.series.kind
            values = sorted(node.values, key=lambda v: (v is None, str(v)))
            return exp.In(this=this, expressions=[literal(v, kind) for v in values])
        if isinstance(node, m.Case):
            branches = [(sub(c), cast(sub(v), node.kind)) for c, v in node.branches]
            return _case(*branches, default=cast(sub(node.otherwise), node.kind))
        assert isinstance(node, m.Apply), f"unexpected node {node!r}"
        args = [sub(a) for a in node.args]
        return apply(node.fn, args, node)


def _is_constant(node: m.Series) -> bool:
    return not any(isinstance(n, m.Column | m.Aggregate | m.IntervalBound) for n in m.walk(node))


def _year_month(d: exp.Expression) -> exp.Expression:
    return exp.paren(
        exp.Add(
            this=exp.Mul(this=exp.Year(this=d), expression=exp.Literal.number(12)),
            expression=exp.Month(this=d),
        )
    )


def _month_day(d: exp.Expression) -> exp.Expression:
    return exp.paren(
        exp.Add(
            this=exp.Mul(this=exp.Month(this=d), expression=exp.Literal.number(100)),
            expression=exp.Day(this=d),
        )
    )


def _whole_units(
    diff: exp.Expression, later_part: exp.Expression, earlier_part: exp.Expression
) -> exp.Expression:
    """A difference of calendar fields, less one unit when the last unit is not complete
    (rounded toward zero, so negative differences mirror positive ones)."""
    zero = exp.Literal.number(0)
    one = exp.Literal.number(1)
    adjust = _case(
        (
            exp.and_(
                exp.GT(this=diff, expression=zero), exp.LT(this=later_part, expression=earlier_part)
            ),
            exp.Neg(this=one),
        ),
        (
            exp.and_(
                exp.LT(this=diff, expression=zero), exp.GT(this=later_part, expression=earlier_part)
            ),
            one,
        ),
        default=zero,
    )
    return exp.paren(exp.Add(this=diff, expression=adjust))


def apply(fn: Fn, args: list[exp.Expression], node: m.Apply) -> exp.Expression:
    """One operation as SQL every dialect reads the same way (no dialect-specific casts,
    integer division or ANSI-mode surprises)."""
    if fn in _COMPARISONS:
        return exp.paren(_COMPARISONS[fn](this=args[0], expression=args[1]))
    if fn is Fn.AND:
        return exp.paren(exp.And(this=args[0], expression=args[1]))
    if fn is Fn.OR:
        return exp.paren(exp.Or(this=args[0], expression=args[1]))
    if fn is Fn.NOT:
        return exp.Not(this=exp.paren(args[0]))
    if fn is Fn.IS_NULL:
        return exp.paren(exp.Is(this=args[0], expression=exp.Null()))
    if fn is Fn.COALESCE:
        return exp.func("COALESCE", args[0], cast(args[1], node.kind))
    if fn is Fn.DIV:
        zero = exp.EQ(this=args[1], expression=exp.Literal.number(0))
        quotient = exp.Div(this=cast(args[0], Kind.FLOAT), expression=cast(args[1], Kind.FLOAT))
        return _case((zero, cast(exp.Null(), Kind.FLOAT)), default=quotient)
    if fn is Fn.NEG:
        return exp.Neg(this=exp.paren(args[0]))
    if fn is Fn.TO_FLOAT:
        return cast(args[0], Kind.FLOAT)
    if fn is Fn.TO_INT:
        if node.args[0].kind is Kind.BOOL:
            return _case(
                (args[0], exp.Literal.number(1)),
                (exp.Not(this=args[0]), exp.Literal.number(0)),
                default=cast(exp.Null(), Kind.INT),
            )
        toward_zero = _case(
            (exp.GTE(this=args[0], expression=exp.Literal.number(0)), exp.Floor(this=args[0])),
            default=exp.Ceil(this=args[0]),
        )
        return cast(toward_zero, Kind.INT)
    if fn is Fn.YEAR:
        return cast(exp.Year(this=args[0]), Kind.INT)
    if fn is Fn.MONTH:
        return cast(exp.Month(this=args[0]), Kind.INT)
    if fn is Fn.DAY:
        return cast(exp.Day(this=args[0]), Kind.INT)
    if fn is Fn.ADD_DAYS:
        return cast(
            exp.DateAdd(this=args[0], expression=args[1], unit=exp.Var(this="DAY")), Kind.DATE
        )
    if fn is Fn.ADD_MONTHS:
        return cast(exp.AddMonths(this=args[0], expression=args[1]), Kind.DATE)
    if fn is Fn.DIFF_DAYS:
        return cast(
            exp.DateDiff(this=args[0], expression=args[1], unit=exp.Var(this="DAY")), Kind.INT
        )
    if fn is Fn.DIFF_MONTHS:
        diff = exp.paren(exp.Sub(this=_year_month(args[0]), expression=_year_month(args[1])))
        return _whole_units(diff, exp.Day(this=args[0]), exp.Day(this=args[1]))
    if fn is Fn.DIFF_YEARS:
        diff = exp.paren(exp.Sub(this=exp.Year(this=args[0]), expression=exp.Year(this=args[1])))
        return _whole_units(diff, _month_day(args[0]), _month_day(args[1]))
    if fn is Fn.TO_FIRST_OF_MONTH:
        return exp.DateFromParts(
            year=exp.Year(this=args[0]), month=exp.Month(this=args[0]), day=exp.Literal.number(1)
        )
    if fn is Fn.TO_FIRST_OF_YEAR:
        return exp.DateFromParts(
            year=exp.Year(this=args[0]), month=exp.Literal.number(1), day=exp.Literal.number(1)
        )
    raise AssertionError(f"no SQL for {fn}")
