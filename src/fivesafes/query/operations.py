"""Each operation of the query model (``Fn``) as SQL: one small registered function each.

The compiler looks an ``Apply`` node's operation up in :data:`FUNCTIONS` and hands the
function its arguments, already compiled. Every function writes SQL every dialect reads
the same way: no dialect-specific casts, integer division or ANSI-mode surprises (what
does differ between engines is in ``dialects.py``), and each result in brackets wherever
SQL's precedence could bind it to the operator around it. The null rules are SQL's own, which
the language adopts: an operation on a NULL gives NULL; ``AND``/``OR`` are three-valued.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlglot import exp

from fivesafes.query import model as m
from fivesafes.query.model import Fn, Kind

SQL_TYPES: dict[Kind, exp.DType] = {
    Kind.BOOL: exp.DataType.Type.BOOLEAN,
    Kind.INT: exp.DataType.Type.BIGINT,
    Kind.FLOAT: exp.DataType.Type.DOUBLE,
    Kind.STR: exp.DataType.Type.VARCHAR,
    Kind.CODE: exp.DataType.Type.VARCHAR,
    Kind.DATE: exp.DataType.Type.DATE,
}

Rule = Callable[[list[exp.Expr], m.Apply], exp.Expr]
"""An operation's SQL, from its compiled arguments (and the node, for kinds)."""

FUNCTIONS: dict[Fn, Rule] = {}


def rule(*fns: Fn) -> Callable[[Rule], Rule]:
    """Register the SQL of ``fns``."""

    def register(function: Rule) -> Rule:
        for fn in fns:
            assert fn not in FUNCTIONS, f"{fn} has two rules"
            FUNCTIONS[fn] = function
        return function

    return register


def cast(e: exp.Expr, kind: Kind) -> exp.Expr:
    return exp.Cast(this=e, to=exp.DataType.build(SQL_TYPES[kind]))


def number(n: int) -> exp.Expr:
    return exp.Literal.number(n)


def case(*branches: tuple[exp.Expr, exp.Expr], default: exp.Expr) -> exp.Case:
    return exp.Case(ifs=[exp.If(this=c, true=v) for c, v in branches], default=default)


def literal(value: m.Scalar, kind: Kind) -> exp.Expr:
    if value is None:
        return cast(exp.Null(), kind)
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, date):
        return cast(exp.Literal.string(value.isoformat()), Kind.DATE)
    if isinstance(value, int | float):
        magnitude = exp.Literal.number(abs(value))
        typed = magnitude if kind is not Kind.FLOAT else cast(magnitude, Kind.FLOAT)
        return exp.Neg(this=typed) if value < 0 else typed
    return exp.Literal.string(str(value))


_BINARY: dict[Fn, type[exp.Binary]] = {
    Fn.EQ: exp.EQ,
    Fn.NE: exp.NEQ,
    Fn.LT: exp.LT,
    Fn.LE: exp.LTE,
    Fn.GT: exp.GT,
    Fn.GE: exp.GTE,
    Fn.ADD: exp.Add,
    Fn.SUB: exp.Sub,
    Fn.MUL: exp.Mul,
    Fn.AND: exp.And,
    Fn.OR: exp.Or,
}


@rule(*_BINARY)
def _binary(args: list[exp.Expr], node: m.Apply) -> exp.Expr:
    return exp.paren(_BINARY[node.fn](this=args[0], expression=args[1]))


@rule(Fn.NOT)
def _not(args: list[exp.Expr], node: m.Apply) -> exp.Expr:
    """In brackets: ``NOT`` binds more loosely than ``IS``, so ``NOT (x) IS NULL`` would
    mean ``NOT ((x) IS NULL)``."""
    return exp.paren(exp.Not(this=exp.paren(args[0])))


@rule(Fn.IS_NULL)
def _is_null(args: list[exp.Expr], node: m.Apply) -> exp.Expr:
    return exp.paren(exp.Is(this=args[0], expression=exp.Null()))


@rule(Fn.COALESCE)
def _coalesce(args: list[exp.Expr], node: m.Apply) -> exp.Expr:
    return exp.func("COALESCE", cast(args[0], node.kind), cast(args[1], node.kind))


@rule(Fn.DIV)
def _divide(args: list[exp.Expr], node: m.Apply) -> exp.Expr:
    """Always a float; NULL when dividing by zero."""
    zero = exp.EQ(this=args[1], expression=number(0))
    quotient = exp.Div(this=cast(args[0], Kind.FLOAT), expression=cast(args[1], Kind.FLOAT))
    return case((zero, cast(exp.Null(), Kind.FLOAT)), default=quotient)


@rule(Fn.NEG)
def _negate(args: list[exp.Expr], node: m.Apply) -> exp.Expr:
    return exp.Neg(this=exp.paren(args[0]))


@rule(Fn.TO_FLOAT)
def _to_float(args: list[exp.Expr], node: m.Apply) -> exp.Expr:
    return cast(args[0], Kind.FLOAT)


@rule(Fn.TO_INT)
def _to_int(args: list[exp.Expr], node: m.Apply) -> exp.Expr:
    """1 or 0 for a condition; a number rounded toward zero."""
    if node.args[0].kind is Kind.BOOL:
        return case(
            (args[0], number(1)),
            (exp.Not(this=args[0]), number(0)),
            default=cast(exp.Null(), Kind.INT),
        )
    toward_zero = case(
        (exp.GTE(this=args[0], expression=number(0)), exp.Floor(this=args[0])),
        default=exp.Ceil(this=args[0]),
    )
    return cast(toward_zero, Kind.INT)


_DATE_PARTS: dict[Fn, type[exp.Func]] = {Fn.YEAR: exp.Year, Fn.MONTH: exp.Month, Fn.DAY: exp.Day}


@rule(*_DATE_PARTS)
def _date_part(args: list[exp.Expr], node: m.Apply) -> exp.Expr:
    return cast(_DATE_PARTS[node.fn](this=args[0]), Kind.INT)


def _int32(e: exp.Expr) -> exp.Expr:
    """A number of days or months as a 32-bit integer: Spark's ``date_add`` and
    ``add_months`` take nothing wider (and no date is more than 2**31 days away)."""
    return exp.Cast(this=e, to=exp.DataType.build(exp.DataType.Type.INT))


@rule(Fn.ADD_DAYS)
def _add_days(args: list[exp.Expr], node: m.Apply) -> exp.Expr:
    added = exp.DateAdd(this=args[0], expression=_int32(args[1]), unit=exp.Var(this="DAY"))
    return cast(added, Kind.DATE)


@rule(Fn.ADD_MONTHS)
def _add_months(args: list[exp.Expr], node: m.Apply) -> exp.Expr:
    """The same day of the month, or the month's last day when it has no such day."""
    return cast(exp.AddMonths(this=args[0], expression=_int32(args[1])), Kind.DATE)


@rule(Fn.DIFF_DAYS)
def _difference_in_days(args: list[exp.Expr], node: m.Apply) -> exp.Expr:
    diff = exp.DateDiff(this=args[0], expression=args[1], unit=exp.Var(this="DAY"))
    return cast(diff, Kind.INT)


def _fields(d: exp.Expr, first: type[exp.Func], second: type[exp.Func], scale: int) -> exp.Expr:
    """Two calendar fields of a date as one number, ``first * scale + second``."""
    return exp.paren(
        exp.Add(
            this=exp.Mul(this=first(this=d), expression=number(scale)),
            expression=second(this=d),
        )
    )


def _whole_units(diff: exp.Expr, later_part: exp.Expr, earlier_part: exp.Expr) -> exp.Expr:
    """A difference of calendar fields, less one unit when the last unit is not complete
    (rounded toward zero, so negative differences mirror positive ones)."""
    zero = number(0)
    adjust = case(
        (
            exp.and_(
                exp.GT(this=diff, expression=zero), exp.LT(this=later_part, expression=earlier_part)
            ),
            exp.Neg(this=number(1)),
        ),
        (
            exp.and_(
                exp.LT(this=diff, expression=zero), exp.GT(this=later_part, expression=earlier_part)
            ),
            number(1),
        ),
        default=zero,
    )
    return exp.paren(exp.Add(this=diff, expression=adjust))


@rule(Fn.DIFF_MONTHS)
def _difference_in_months(args: list[exp.Expr], node: m.Apply) -> exp.Expr:
    """Whole months: complete when the day of the month comes round again."""
    later, earlier = (_fields(a, exp.Year, exp.Month, 12) for a in args)
    diff = exp.paren(exp.Sub(this=later, expression=earlier))
    return _whole_units(diff, exp.Day(this=args[0]), exp.Day(this=args[1]))


@rule(Fn.DIFF_YEARS)
def _difference_in_years(args: list[exp.Expr], node: m.Apply) -> exp.Expr:
    """Whole years: complete when the month and day come round again."""
    diff = exp.paren(exp.Sub(this=exp.Year(this=args[0]), expression=exp.Year(this=args[1])))
    later, earlier = (_fields(a, exp.Month, exp.Day, 100) for a in args)
    return _whole_units(diff, later, earlier)


@rule(Fn.TO_FIRST_OF_MONTH)
def _first_of_month(args: list[exp.Expr], node: m.Apply) -> exp.Expr:
    year, month = exp.Year(this=args[0]), exp.Month(this=args[0])
    return exp.DateFromParts(year=year, month=month, day=number(1))


@rule(Fn.TO_FIRST_OF_YEAR)
def _first_of_year(args: list[exp.Expr], node: m.Apply) -> exp.Expr:
    return exp.DateFromParts(year=exp.Year(this=args[0]), month=number(1), day=number(1))


assert set(FUNCTIONS) == set(Fn), f"operations with no SQL: {set(Fn) - set(FUNCTIONS)}"
