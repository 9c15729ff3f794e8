"""Compile the query model to one SQL query, as SQLGlot expressions any dialect can print.

Shape of every query (one per dataset; one per set of intervals for measures):

* ``all_patients``: the rows of the ``patients`` table (the model's register of every
  person), minus the patients an extraction must leave out (opt-outs); patient-level
  columns of ``patients`` are read from it directly;
* one *pass* per event table: a single ``GROUP BY patient_id`` over the table's rows
  that computes every per-patient value the query draws from that table, each
  aggregate restricted to its own rows with ``FILTER (WHERE ...)`` and each first /
  last row picked by ``arg_min`` / ``arg_max`` over a key that orders rows exactly as
  the language says -- so a table is scanned and hashed once, however many columns
  use it, and nothing is sorted;
* spells made from episodes (``model.Spells``) are a CTE of their own, one row per spell
  (gaps and islands over the episodes' rows with window functions), and the values drawn
  from them a pass over that CTE, as over a table;
* a final SELECT over ``all_patients`` LEFT JOINing each pass on ``patient_id``.

Measures add an ``intervals`` CTE: values that depend on the interval are computed
for every (patient, interval) pair in the same pass, keyed by the interval's bounds,
so twelve monthly intervals are one scan of the data, not twelve queries; and every
measure over the same intervals is one query, sharing the passes.

A patient-level value used inside an event-level condition (``events.date >
patients.date_of_birth``) becomes its own CTE keyed by patient, joined to the event
rows. When that value is itself drawn from event rows, the pass that uses it must
come after the pass that makes it: passes are therefore keyed by table *and level*
(0 for values needing no other pass, else one more than the deepest pass they use),
and CTEs are written in dependency order. Identical sub-definitions share one CTE
or one aggregate.

Each kind of series node is compiled by one small rule registered in :data:`SERIES`
(looked up by the node's type, the same on event rows and per patient), each operation
by one in ``operations.FUNCTIONS``, each aggregation by one in :data:`FRAME_AGGREGATES`
or :data:`SERIES_AGGREGATES`; how DuckDB and Spark differ is in ``dialects.py``. The
structure around them -- scopes, passes, CTEs -- is this module's.

Given a *patient range* (expressions for the lowest and highest ``patient_id``:
numbers, or query parameters bound when it runs), every table the query reads is
read through ``WHERE patient_id BETWEEN low AND high``: the query then
computes exactly the rows of those patients (every value is per patient), and an
engine can extract a large population one range at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeGuard

from sqlglot import exp

from fivesafes.model import TABLES
from fivesafes.query import model as m
from fivesafes.query.dataset import DatasetQuery, Measure
from fivesafes.query.dialects import dialect as dialect_named
from fivesafes.query.model import Agg, Fn, Kind
from fivesafes.query.operations import FUNCTIONS, cast, literal, number
from fivesafes.query.operations import case as _case

INTERVAL_COLUMNS = ("interval_start", "interval_end")
TableRef = Callable[[str], exp.Expr]


def _col(alias: str, name: str) -> exp.Column:
    return exp.column(name, table=alias, quoted=True)


@dataclass
class _Join:
    relation: exp.Expr
    alias: str
    by_interval: bool


@dataclass
class _Scope:
    """A FROM clause being built: a base relation and the LEFT JOINs its expressions need."""

    base: exp.Expr
    alias: str
    by_interval: bool
    joins: list[_Join] = field(default_factory=list)
    _by_key: dict[str, str] = field(default_factory=dict)

    def join(self, key: str, relation: exp.Expr, by_interval: bool, prefix: str) -> str:
        if key not in self._by_key:
            alias = f"{prefix}{len(self.joins) + 1}"
            self.joins.append(_Join(relation, alias, by_interval))
            self._by_key[key] = alias
        return self._by_key[key]

    def keys(self) -> list[exp.Expr]:
        names = ("patient_id", *INTERVAL_COLUMNS) if self.by_interval else ("patient_id",)
        return [_col(self.alias, n) for n in names]

    def select(
        self,
        *projections: exp.Expr,
        where: exp.Expr | None = None,
        group_by: list[exp.Expr] | None = None,
    ) -> exp.Select:
        query = exp.select(*projections).from_(exp.alias_(self.base, self.alias, table=True))
        for j in self.joins:
            on: exp.Expr = exp.EQ(
                this=_col(j.alias, "patient_id"), expression=_col(self.alias, "patient_id")
            )
            if j.by_interval:  # both bounds: two intervals may start on one day
                on = exp.and_(
                    on,
                    *(
                        exp.EQ(this=_col(j.alias, c), expression=_col(self.alias, c))
                        for c in INTERVAL_COLUMNS
                    ),
                )
            relation = exp.alias_(j.relation, j.alias, table=True)
            query = query.join(relation, on=on, join_type="left", copy=False)
        if where is not None:
            query = query.where(where)
        if group_by:
            query = query.group_by(*group_by)
        return query


Make = Callable[[exp.Expr | None], exp.Expr]
"""An aggregate of a pass, given the condition it must apply itself (None: none)."""
Build = Callable[["_Scope"], tuple[Make, exp.Expr | None]]
"""Compiles one value of a pass over its rows: the aggregate, and the rows it is over."""


@dataclass
class _Pass:
    """One grouped scan of an event table: every per-patient value the query draws from
    it, each aggregate filtered to its own rows (``condition``; None for every row)."""

    name: str
    rows: _Scope
    values: dict[object, tuple[str, Make, exp.Expr | None]] = field(default_factory=dict)

    def add(self, key: object, build: Build) -> str:
        """The column holding ``build``'s aggregate, added the first time ``key`` is seen."""
        if key not in self.values:
            make, condition = build(self.rows)
            self.values[key] = (f"v{len(self.values) + 1}", make, condition)
        return self.values[key][0]

    def select(self) -> exp.Select:
        # Rows no value wants are dropped before grouping (and, where the engine can,
        # while scanning); a value over every row keeps them all. When every value is
        # over the same rows, that WHERE is their only filter.
        conditions = list(dict.fromkeys(c for _, _, c in self.values.values()))
        where = None if None in conditions else exp.or_(*(c.copy() for c in conditions if c))
        shared = len(conditions) == 1
        keys = self.rows.keys()
        values = [
            exp.alias_(make(None if shared else condition), alias, quoted=True)
            for alias, make, condition in self.values.values()
        ]
        return self.rows.select(*keys, *values, where=where, group_by=keys)


def _filtered(aggregate: exp.Expr, condition: exp.Expr | None) -> exp.Expr:
    """``aggregate`` over the rows where ``condition`` is true (NULL is not true)."""
    if condition is None:
        return aggregate
    return exp.Filter(this=aggregate, expression=exp.Where(this=condition.copy()))


class Compiler:
    """Builds the CTEs of one query; ``dataset()`` or ``measures()`` gives the whole SELECT.

    ``table`` names an analysis-layer table in the engine's catalogue; ``excluded``
    names a relation of ``patient_id``s to leave out of every result (or None);
    ``dialect`` is the engine's SQLGlot dialect (it decides how rows are picked);
    ``patients``, when given, is the (lowest, highest) ``patient_id`` to compute, as
    expressions (literals, or parameters such as ``exp.Placeholder(this="low")``).
    """

    def __init__(
        self,
        table: TableRef,
        excluded: str | None = None,
        intervals: tuple[tuple[date, date], ...] = (),
        dialect: str = "duckdb",
        patients: tuple[exp.Expr, exp.Expr] | None = None,
    ) -> None:
        self._table = table
        self.patients = patients
        self.excluded = excluded
        self.intervals = intervals
        self.dialect = dialect_named(dialect)
        self.ctes: dict[str, exp.Select | _Pass] = {}
        self._names: dict[object, str] = {}
        self._passes: dict[tuple[str | m.Spells, bool, int], _Pass] = {}
        self._levels: dict[m.Node, int] = {}

    def table(self, name: str) -> exp.Expr:
        """A model table as this query reads it: only the rows of the patient range, if any
        (a filter directly on the scan, so the engine can skip data outside the range)."""
        relation = self._table(name)
        if self.patients is None or "patient_id" not in TABLES[name].column_names:
            return relation
        low, high = (cast(bound.copy(), Kind.INT) for bound in self.patients)
        between = exp.Between(this=_col("pr", "patient_id"), low=low, high=high)
        rows = exp.select("*").from_(exp.alias_(relation, "pr", table=True)).where(between)
        return rows.subquery()

    # -- CTE bookkeeping ------------------------------------------------------------

    def _cte(self, key: object, prefix: str, build: Callable[[], exp.Select]) -> str:
        if key not in self._names:
            query = build()
            name = f"{prefix}_{len(self.ctes) + 1}"
            self.ctes[name] = query
            self._names[key] = name
        return self._names[key]

    def _with(self, query: exp.Select) -> exp.Select:
        # Every body here is a fresh tree (a pass builds its SELECT now; a kept CTE is copied),
        # so the statement can grow in place: copying it at each step was most of compiling.
        bodies = {
            name: body.select() if isinstance(body, _Pass) else body.copy()
            for name, body in self.ctes.items()
        }
        for name in _dependency_order(bodies):
            query = query.with_(name, as_=bodies[name], copy=False)
        return query

    # -- the patients and intervals every query starts from --------------------------

    def _all_patients(self) -> str:
        """Every patient: the ``patients`` table is the model's register of every person
        (the store builds every other table by joining it), less the excluded."""

        def build() -> exp.Select:
            names = TABLES["patients"].column_names
            query = exp.select(*(_col("u", n) for n in names)).from_(
                exp.alias_(self.table("patients"), "u", table=True)
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

    def _with_intervals(self, table: exp.Expr, names: tuple[str, ...]) -> exp.Select:
        """Every row of ``table`` once per interval, with the interval's dates."""
        return (
            exp.select(*(_col("t", n) for n in names), *(_col("i", n) for n in INTERVAL_COLUMNS))
            .from_(exp.alias_(table, "t", table=True))
            .join(exp.alias_(exp.to_table(self._intervals()), "i", table=True), join_type="cross")
        )

    def _base(self, by_interval: bool) -> exp.Expr:
        patients = exp.to_table(self._all_patients())
        if not by_interval:
            return patients
        names = TABLES["patients"].column_names
        name = self._cte(
            ("patient_intervals",),
            "patient_intervals",
            lambda: self._with_intervals(patients, names),
        )
        return exp.to_table(name)

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
        select = scope.select(_col("b", "patient_id"), *columns, where=population)
        return self._with(select.order_by(_col("b", "patient_id")))

    def measures(self, measures: tuple[Measure, ...], index: list[int]) -> exp.Select:
        """Every measure over this compiler's intervals in one query: one per-patient,
        per-interval relation holding every measure's groups, numerator and denominator
        (so the passes are shared), summed per measure and stacked with UNION ALL.

        Rows are ``measure_index`` (from ``index``: each measure's position in the study,
        for ordering), ``measure``,
        the interval, every group of any measure (NULL where a measure has no such
        group), ``numerator`` and ``denominator``; in no particular order.
        """
        scope = self._patient_scope(by_interval=True)
        per_patient: list[exp.Expr] = [_col("b", c) for c in INTERVAL_COLUMNS]
        kinds: dict[str, Kind] = {}
        for i, ms in enumerate(measures):
            for g, s in ms.group_by:
                kinds.setdefault(g, s.kind)
                value = cast(self.patient(s, scope), s.kind)
                per_patient.append(exp.alias_(value, f"g{i}_{g}", quoted=True))
            for role, s in (("num", ms.numerator), ("den", ms.denominator)):
                value = cast(self.patient(s, scope), Kind.INT)
                per_patient.append(exp.alias_(value, f"{role}{i}", quoted=True))
        name = self._cte(("per_patient",), "per_patient", lambda: scope.select(*per_patient))
        stacked = [
            self._measure_totals(i, ms, name, kinds, index[i]) for i, ms in enumerate(measures)
        ]
        union: exp.Query = stacked[0]
        for other in stacked[1:]:
            union = exp.union(union, other, distinct=False)
        return self._with(exp.select("*").from_(union.subquery("measures")))

    def _measure_totals(
        self, i: int, measure: Measure, per_patient: str, kinds: dict[str, Kind], position: int
    ) -> exp.Select:
        """One measure's sums per interval and group, over patients whose denominator is
        neither NULL nor zero."""
        own = {g for g, _ in measure.group_by}
        groups = [
            exp.alias_(
                _col("pp", f"g{i}_{g}") if g in own else cast(exp.Null(), kind), g, quoted=True
            )
            for g, kind in kinds.items()
        ]
        keys = [_col("pp", c) for c in INTERVAL_COLUMNS]
        keys += [_col("pp", f"g{i}_{g}") for g, _ in measure.group_by]
        den = _col("pp", f"den{i}")
        where = exp.and_(
            exp.not_(exp.Is(this=den, expression=exp.Null())),
            exp.NEQ(this=den.copy(), expression=exp.Literal.number(0)),
        )
        return (
            exp.select(
                exp.alias_(exp.Literal.number(position), "measure_index", quoted=True),
                exp.alias_(exp.Literal.string(measure.name), "measure", quoted=True),
                *(_col("pp", c) for c in INTERVAL_COLUMNS),
                *groups,
                exp.alias_(
                    cast(exp.Sum(this=_col("pp", f"num{i}")), Kind.INT), "numerator", quoted=True
                ),
                exp.alias_(cast(exp.Sum(this=den.copy()), Kind.INT), "denominator", quoted=True),
            )
            .from_(exp.alias_(exp.to_table(per_patient), "pp", table=True))
            .where(where)
            .group_by(*keys)
        )

    # -- patient-level values -----------------------------------------------------------

    def series(self, node: m.Series, at: At) -> exp.Expr:
        """A series as an expression, by the rule registered for its kind of node. On event
        rows, a patient-level value that is not a constant is computed per patient in a CTE
        of its own and joined to the rows."""
        if at.rows and _from_patients(node):
            by_interval = m.uses_interval(node)
            name = self._cte(("patient value", node), "patient_value", lambda: self._value(node))
            alias = at.scope.join(name, exp.to_table(name), by_interval, "v")
            return _col(alias, "value")
        return SERIES[type(node)](self, node, at)

    def patient(self, node: m.Series, scope: _Scope) -> exp.Expr:
        """A patient-level series as an expression over ``scope`` (adding the joins it needs)."""
        return self.series(node, At(scope, rows=False))

    def row(self, node: m.Series, rows: _Scope) -> exp.Expr:
        """An event-level series as an expression over one row of ``rows``."""
        return self.series(node, At(rows, rows=True))

    def _patient_column(self, node: m.Column, scope: _Scope) -> exp.Expr:
        source = node.source
        if isinstance(source, m.TableFrame):
            if source.table == "patients":
                return _col(scope.alias, node.name)
            alias = scope.join(f"table:{source.table}", self.table(source.table), False, "t")
            return _col(alias, node.name)
        assert isinstance(source, m.PickOne), "the language only lets patient frames here"
        return self._from_pass(
            source, ("pick", source, node.name), scope, self._picked(source, node.name)
        )

    def _aggregate(self, node: m.Aggregate, scope: _Scope) -> exp.Expr:
        value = self._from_pass(node, node, scope, self._aggregated(node))
        if node.agg is Agg.EXISTS:
            return exp.func("COALESCE", value, exp.false())
        if node.agg in (Agg.COUNT, Agg.COUNT_DISTINCT):
            return exp.func("COALESCE", value, exp.Literal.number(0))
        return value

    def _from_pass(
        self,
        node: m.Aggregate | m.PickOne,
        key: object,
        scope: _Scope,
        build: Build,
    ) -> exp.Expr:
        """One value of the pass over ``node``'s table, joined into ``scope``."""
        by_interval = m.uses_interval(node)
        grouped = self._pass(_rows_frame(node), by_interval, self._level(node))
        column = grouped.add(key, build)
        alias = scope.join(grouped.name, exp.to_table(grouped.name), by_interval, "j")
        return _col(alias, column)

    def _pass(self, frame: m.Frame, by_interval: bool, level: int) -> _Pass:
        origin = m.origin(frame)
        key = (origin.table if isinstance(origin, m.TableFrame) else origin, by_interval, level)
        if key not in self._passes:
            relation, names = self._rows_of(origin)
            if by_interval:
                relation = self._with_intervals(relation, names).subquery()
            prefix = origin.table if isinstance(origin, m.TableFrame) else "spells"
            name = f"{prefix}_{len(self.ctes) + 1}"
            self._passes[key] = _Pass(name, _Scope(relation, "r", by_interval))
            self.ctes[name] = self._passes[key]
        return self._passes[key]

    def _rows_of(self, origin: m.TableFrame | m.Spells) -> tuple[exp.Expr, tuple[str, ...]]:
        """The relation holding an origin's rows, and its columns."""
        if isinstance(origin, m.TableFrame):
            return self.table(origin.table), tuple(TABLES[origin.table].column_names)
        names = ("patient_id", *m.SPELL_COLUMNS)
        return exp.to_table(
            self._cte(("spells", origin), "spells", lambda: self._spells(origin))
        ), names

    def _spells(self, spells: m.Spells) -> exp.Select:
        """Gaps and islands: the episodes of ``spells`` (``s`` start, ``e`` end, ``o`` 1 when
        not ended), each flagged ``n`` = 1 when it begins a spell -- nothing before it, no
        episode before it open, and a start more than the gap after every end before it --
        numbered by the running sum of the flags, and grouped into one row per spell.

        Only the first of episodes starting on one day can begin a spell (each ends no
        earlier than its start), and whether it does depends only on episodes starting
        earlier; so ties in the order by start change nothing, and the running sum puts a
        flagged episode first among its ties."""
        relation, _ = self._rows_of(m.origin(spells.source))
        rows = _Scope(relation, "r", by_interval=False)
        start, end = self.row(spells.start, rows), self.row(spells.end, rows)
        condition = self._condition(spells.source, rows)
        present = exp.not_(exp.Is(this=start, expression=exp.Null()))
        ended = exp.not_(exp.Is(this=end, expression=exp.Null()))
        last_day = _case(
            (exp.and_(ended, exp.GTE(this=end.copy(), expression=start.copy())), end.copy()),
            default=start.copy(),
        )
        open_ = _case((ended.copy(), exp.Literal.number(0)), default=exp.Literal.number(1))
        episodes = rows.select(
            _col("r", "patient_id"),
            exp.alias_(start.copy(), "s", quoted=True),
            exp.alias_(last_day, "e", quoted=True),
            exp.alias_(open_, "o", quoted=True),
            where=exp.and_(condition, present) if condition is not None else present,
        )

        def before(aggregate: exp.Expr) -> exp.Expr:  # over the episodes earlier in order
            return exp.Window(
                this=aggregate,
                partition_by=[_col("ep", "patient_id")],
                order=exp.Order(expressions=[exp.Ordered(this=_col("ep", "s"))]),
                spec=exp.WindowSpec(
                    kind="ROWS",
                    start="UNBOUNDED",
                    start_side="PRECEDING",
                    end=exp.Literal.number(1),
                    end_side="PRECEDING",
                ),
            )

        latest = before(exp.Max(this=_col("ep", "e")))
        gap = exp.DateDiff(this=_col("ep", "s"), expression=latest, unit=exp.Var(this="DAY"))
        begins = _case(
            (exp.EQ(this=before(exp.Max(this=_col("ep", "o"))), expression=number(1)), number(0)),
            (exp.Is(this=latest.copy(), expression=exp.Null()), number(1)),
            (exp.GT(this=gap, expression=number(spells.gap)), number(1)),
            default=number(0),
        )
        flagged = exp.select(
            *(_col("ep", c) for c in ("patient_id", "s", "e", "o")),
            exp.alias_(begins, "n", quoted=True),
        ).from_(episodes.subquery("ep"))
        number_of_spell = exp.Window(
            this=exp.Sum(this=_col("fl", "n")),
            partition_by=[_col("fl", "patient_id")],
            order=exp.Order(
                expressions=[
                    exp.Ordered(this=_col("fl", "s")),
                    exp.Ordered(this=_col("fl", "n"), desc=True),
                ]
            ),
            spec=exp.WindowSpec(
                kind="ROWS", start="UNBOUNDED", start_side="PRECEDING", end="CURRENT ROW"
            ),
        )
        numbered = exp.select(
            *(_col("fl", c) for c in ("patient_id", "s", "e", "o")),
            exp.alias_(number_of_spell, "spell", quoted=True),
        ).from_(flagged.subquery("fl"))
        spell_end = _case(
            (
                exp.EQ(this=exp.Max(this=_col("nb", "o")), expression=number(1)),
                cast(exp.Null(), Kind.DATE),
            ),
            default=exp.Max(this=_col("nb", "e")),
        )
        grouped = (
            exp.select(
                _col("nb", "patient_id"),
                exp.alias_(exp.Min(this=_col("nb", "s")), "start_date", quoted=True),
                exp.alias_(spell_end, "end_date", quoted=True),
                exp.alias_(cast(exp.Count(this=exp.Star()), Kind.INT), "episodes", quoted=True),
            )
            .from_(numbered.subquery("nb"))
            .group_by(_col("nb", "patient_id"), _col("nb", "spell"))
        )
        previous = exp.Window(
            this=exp.Anonymous(this="LAG", expressions=[_col("sp", "end_date")]),
            partition_by=[_col("sp", "patient_id")],
            order=exp.Order(expressions=[exp.Ordered(this=_col("sp", "start_date"))]),
        )
        return exp.select(
            _col("sp", "patient_id"),
            _col("sp", "start_date"),
            _col("sp", "end_date"),
            exp.alias_(cast(previous, Kind.DATE), "previous_end_date", quoted=True),
            _col("sp", "episodes"),
        ).from_(grouped.subquery("sp"))

    def _aggregated(self, node: m.Aggregate) -> Build:
        def build(rows: _Scope) -> tuple[Make, exp.Expr | None]:
            condition = self._condition(_rows_frame(node), rows)
            if isinstance(node.source, m.FRAME_TYPES):
                one = isinstance(node.source, m.PickOne)  # a picked row: one row, or none
                make = FRAME_AGGREGATES[node.agg]
                return lambda c: make(_count(c), one), condition
            value = SERIES_AGGREGATES[node.agg](self.row(node.source, rows))
            return lambda c: cast(_filtered(value, c), node.kind), condition

        return build

    def _picked(self, node: m.PickOne, name: str) -> Build:
        def build(rows: _Scope) -> tuple[Make, exp.Expr | None]:
            sort = node.source
            condition = self._condition(sort.source, rows)
            column = _col(rows.alias, name)
            first = sort.keys[0].series
            if _is_row_column(first) and first.name == name:
                # the first sort key itself: its extreme, no tie to break
                return lambda c: _extreme(column, c, node.last), condition
            # Columns already sorted on, or equal to one value in every row (the rows'
            # filters say so), cannot break a tie: they are left out of the key.
            fixed = _fixed_columns(sort.source)
            parts = [
                self.row(k.series, rows)
                for k in sort.keys
                if not (_is_row_column(k.series) and k.series.name in fixed)
            ]
            sorted_on = {k.series.name for k in sort.keys if _is_row_column(k.series)}
            parts += [
                _col(rows.alias, c)
                for c in m.row_columns(m.origin(sort))
                if c not in sorted_on and c not in fixed
            ]
            key = self.dialect.order_key(parts)

            def make(c: exp.Expr | None) -> exp.Expr:
                # only rows in the frame need a key made
                keyed = key if c is None else _case((c.copy(), key), default=exp.Null())
                return _filtered(self.dialect.pick(column, keyed, node.last), c)

            return make, condition

        return build

    def _condition(self, frame: m.Frame, rows: _Scope) -> exp.Expr | None:
        """Whether a row of the root table is in ``frame``: its filters' conditions, ANDed
        (a NULL condition leaves the row out, as the language says); None for every row."""
        parts = []
        while not isinstance(frame, m.TableFrame | m.Spells):
            assert not isinstance(frame, m.PickOne), "a picked row is patient level, not rows"
            if isinstance(frame, m.Filter):
                parts.append(self.row(frame.condition, rows))
            frame = frame.source
        return exp.and_(*reversed(parts)) if parts else None

    # -- which pass a value belongs to --------------------------------------------------

    def _level(self, node: m.Aggregate | m.PickOne) -> int:
        """0 when the rows of ``node`` need no value from a pass; else one more than the
        deepest pass among the patient-level values its rows use."""
        if node not in self._levels:
            self._levels[node] = max(
                (
                    self._level(source) + 1
                    for expression in _row_expressions(node)
                    for value in _patient_values(expression)
                    for source in _pass_sources(value)
                ),
                default=0,
            )
        return self._levels[node]

    # -- event rows ---------------------------------------------------------------------

    def _value(self, node: m.Series) -> exp.Select:
        scope = self._patient_scope(m.uses_interval(node))
        value = exp.alias_(cast(self.patient(node, scope), node.kind), "value", quoted=True)
        return scope.select(*scope.keys(), value)


@dataclass(frozen=True)
class At:
    """Where a series is compiled: over the patients (or patients and intervals) of
    ``scope``, or over the event rows of ``scope`` when ``rows``."""

    scope: _Scope
    rows: bool


SeriesRule = Callable[[Compiler, Any, At], exp.Expr]
SERIES: dict[type, SeriesRule] = {}
"""The SQL of each kind of series node, as one registered function each."""


def series_rule(node_type: type) -> Callable[[SeriesRule], SeriesRule]:
    def register(function: SeriesRule) -> SeriesRule:
        SERIES[node_type] = function
        return function

    return register


@series_rule(m.Value)
def _constant(compiler: Compiler, node: m.Value, at: At) -> exp.Expr:
    return literal(node.value, node.kind)


@series_rule(m.IntervalBound)
def _interval_bound(compiler: Compiler, node: m.IntervalBound, at: At) -> exp.Expr:
    return _col(at.scope.alias, INTERVAL_COLUMNS[node.end])


@series_rule(m.Column)
def _column(compiler: Compiler, node: m.Column, at: At) -> exp.Expr:
    """On event rows, the row's own column; per patient, read from the patient's table or
    the row picked for the patient."""
    if at.rows:
        return _col(at.scope.alias, node.name)
    return compiler._patient_column(node, at.scope)


@series_rule(m.Aggregate)
def _aggregate(compiler: Compiler, node: m.Aggregate, at: At) -> exp.Expr:
    return compiler._aggregate(node, at.scope)


@series_rule(m.Apply)
def _apply(compiler: Compiler, node: m.Apply, at: At) -> exp.Expr:
    return FUNCTIONS[node.fn]([compiler.series(a, at) for a in node.args], node)


@series_rule(m.IsIn)
def _is_in(compiler: Compiler, node: m.IsIn, at: At) -> exp.Expr:
    this = compiler.series(node.series, at)
    if not node.values:  # NULL stays NULL; anything else is in no empty set
        is_null = exp.Is(this=this, expression=exp.Null())
        return _case((is_null, cast(exp.Null(), Kind.BOOL)), default=exp.false())
    values = sorted(node.values, key=str)
    found = exp.In(this=this, expressions=[literal(v, node.series.kind) for v in values])
    return exp.paren(found)  # ``x IN (...) IS NULL`` is not read as meant everywhere


@series_rule(m.Case)
def _case_of(compiler: Compiler, node: m.Case, at: At) -> exp.Expr:
    branches = [
        (compiler.series(c, at), cast(compiler.series(v, at), node.kind)) for c, v in node.branches
    ]
    return _case(*branches, default=cast(compiler.series(node.otherwise, at), node.kind))


FRAME_AGGREGATES: dict[Agg, Callable[[exp.Expr, bool], exp.Expr]] = {
    Agg.EXISTS: lambda count, one: exp.GT(this=count, expression=number(0)),
    Agg.COUNT: lambda count, one: (
        cast(exp.GT(this=count, expression=number(0)), Kind.INT) if one else cast(count, Kind.INT)
    ),
}
"""An aggregation of a frame's rows, from the count of them (and whether the frame is one
picked row: however many rows it was picked from, it counts once)."""

SERIES_AGGREGATES: dict[Agg, Callable[[exp.Expr], exp.Expr]] = {
    Agg.COUNT_DISTINCT: lambda value: exp.Count(this=exp.Distinct(expressions=[value])),
    Agg.SUM: lambda value: exp.Sum(this=value),
    Agg.MEAN: lambda value: exp.Avg(this=cast(value, Kind.FLOAT)),
    Agg.MIN: lambda value: exp.Min(this=value),
    Agg.MAX: lambda value: exp.Max(this=value),
}
"""An aggregation of an event-level series' values (SQL's aggregates ignore NULLs)."""

assert set(SERIES) == set(m.SERIES_TYPES), "every kind of series node needs a rule"
assert set(FRAME_AGGREGATES) | set(SERIES_AGGREGATES) == set(Agg)


def _from_patients(node: m.Series) -> bool:
    """Whether an expression on event rows must join this value from a per-patient CTE:
    patient level, and not a constant or the interval (which every row has)."""
    return (
        m.domain_of(node) is None
        and not isinstance(node, m.Value | m.IntervalBound)
        and not _is_constant(node)
    )


def _dependency_order(bodies: dict[str, exp.Select]) -> list[str]:
    """CTE names with each after the CTEs it reads (SQL lets a CTE read only earlier ones)."""
    order: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        for table in bodies[name].find_all(exp.Table):
            if not table.db and table.name in bodies:
                visit(table.name)
        order.append(name)

    for name in bodies:
        visit(name)
    return order


def _extreme(column: exp.Expr, condition: exp.Expr | None, last: bool) -> exp.Expr:
    """The first (last) value of rows sorted on ``column``, NULLs first: the smallest unless
    a row has NULL; the largest, NULL only when every row has NULL."""
    if last:
        return _filtered(exp.Max(this=column), condition)
    values = _filtered(exp.Count(this=column.copy()), condition)
    return _case(
        (exp.GT(this=_count(condition), expression=values), exp.Null()),
        default=_filtered(exp.Min(this=column.copy()), condition),
    )


def _count(condition: exp.Expr | None) -> exp.Expr:
    return _filtered(exp.Count(this=exp.Star()), condition)


def _fixed_columns(frame: m.Frame) -> set[str]:
    """Root-table columns the frame's filters pin to one value (``column == value``)."""
    fixed: set[str] = set()
    while not isinstance(frame, m.TableFrame | m.Spells):
        if isinstance(frame, m.Filter):
            conditions = [frame.condition]
            while conditions:
                c = conditions.pop()
                if isinstance(c, m.Apply) and c.fn is Fn.AND:
                    conditions.extend(c.args)
                elif isinstance(c, m.Apply) and c.fn is Fn.EQ:
                    column, value = c.args
                    if isinstance(column, m.Value):
                        column, value = value, column
                    if _pins(column, value):
                        fixed.add(column.name)  # type: ignore[union-attr]
                elif isinstance(c, m.IsIn) and len(c.values) == 1:
                    only = m.Value(next(iter(c.values)), c.series.kind)
                    if _pins(c.series, only):
                        fixed.add(c.series.name)  # type: ignore[union-attr]
        frame = frame.source
    return fixed


def _pins(column: m.Series, value: m.Series) -> bool:
    """Whether ``column == value`` holds one value only: a row column and a constant that
    no engine could store two ways (floats have -0.0 and 0.0)."""
    return (
        _is_row_column(column)
        and isinstance(value, m.Value)
        and value.value is not None
        and column.kind is not Kind.FLOAT
    )


def _rows_frame(node: m.Aggregate | m.PickOne) -> m.Frame:
    """The event-level frame whose rows ``node`` reduces to one value per patient."""
    if isinstance(node, m.PickOne):
        return node.source.source
    source = node.source
    if isinstance(source, m.PickOne):  # whether a row was picked: whether there are rows
        return source.source.source
    if isinstance(source, m.FRAME_TYPES):
        return source
    frame = m.domain_of(source)
    assert frame is not None, "the language only aggregates event-level series"
    return frame


def _row_expressions(node: m.Aggregate | m.PickOne) -> list[m.Series]:
    """The event-level series a pass evaluates on each row for ``node``."""
    frame = _rows_frame(node)
    found: list[m.Series] = []
    if isinstance(node, m.PickOne):
        found += [k.series for k in node.source.keys]
    elif not isinstance(node.source, m.FRAME_TYPES):
        found.append(node.source)
    while not isinstance(frame, m.TableFrame):
        if isinstance(frame, m.Filter):
            found.append(frame.condition)
        if isinstance(frame, m.Spells):  # the spells' own rows are computed before the pass
            found += [frame.start, frame.end]
        frame = frame.source
    return found


def _patient_values(node: m.Series) -> list[m.Series]:
    """The patient-level values inside an event-level series (each joined to the rows)."""
    if isinstance(node, m.Value | m.IntervalBound) or _is_row_column(node):
        return []
    if m.domain_of(node) is None and not _is_constant(node):
        return [node]
    return [v for child in m.children(node) for v in _patient_values(child)]  # type: ignore[arg-type]


def _pass_sources(node: m.Series) -> list[m.Aggregate | m.PickOne]:
    """The aggregates and picked rows a patient-level value is computed from."""
    if isinstance(node, m.Aggregate):
        return [node]
    if isinstance(node, m.Column):
        return [node.source] if isinstance(node.source, m.PickOne) else []
    return [s for child in m.children(node) for s in _pass_sources(child)]  # type: ignore[arg-type]


def _is_row_column(node: m.Series) -> TypeGuard[m.Column]:
    return isinstance(node, m.Column) and m.domain_of(node) is not None


def _is_constant(node: m.Series) -> bool:
    return not any(isinstance(n, m.Column | m.Aggregate | m.IntervalBound) for n in m.walk(node))
