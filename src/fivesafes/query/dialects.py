"""How the SQL of each engine differs: the one place that knows DuckDB from Spark.

Everything else the compiler writes is portable SQLGlot that each dialect prints its
own way. What differs is how one row per patient is picked from sorted rows inside a
grouped pass: the order is the language's (the sort keys, then every other column of
the table, each ascending with NULLs first -- a total order on distinct rows, so every
engine picks the same row), but engines make and compare that order differently.
"""

from __future__ import annotations

from sqlglot import exp


class Dialect:
    """The portable way (Spark): a struct of (is not NULL, value) pairs, compared field by
    field, and ``arg_min`` / ``arg_max`` (printed as Spark's ``min_by`` / ``max_by``)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def order_key(self, parts: list[exp.Expr]) -> exp.Expr:
        fields = []
        for i, part in enumerate(parts):
            present = exp.not_(exp.Is(this=part, expression=exp.Null()))
            fields.append(exp.PropertyEQ(this=exp.to_identifier(f"n{i}"), expression=present))
            fields.append(exp.PropertyEQ(this=exp.to_identifier(f"k{i}"), expression=part.copy()))
        return exp.Struct(expressions=fields)

    def pick(self, value: exp.Expr, key: exp.Expr, last: bool) -> exp.Expr:
        """The value of the row whose key is least (greatest when ``last``)."""
        return (exp.ArgMax if last else exp.ArgMin)(this=value, expression=key)


class DuckDB(Dialect):
    """DuckDB: one binary sort key per row (memcmp-ordered; far cheaper to compare and keep
    than a struct), and the ``_null`` pickers, which return a NULL value from the picked
    row instead of skipping rows whose value is NULL."""

    def order_key(self, parts: list[exp.Expr]) -> exp.Expr:
        order = "ASC NULLS FIRST"
        return exp.Anonymous(
            this="create_sort_key",
            expressions=[e for part in parts for e in (part, exp.Literal.string(order))],
        )

    def pick(self, value: exp.Expr, key: exp.Expr, last: bool) -> exp.Expr:
        return exp.Anonymous(
            this="arg_max_null" if last else "arg_min_null", expressions=[value, key]
        )


DIALECTS: dict[str, Dialect] = {"duckdb": DuckDB("duckdb"), "spark": Dialect("spark")}


def dialect(name: str) -> Dialect:
    """The dialect called ``name``; any other engine SQLGlot prints gets the portable way."""
    return DIALECTS.get(name) or Dialect(name)
