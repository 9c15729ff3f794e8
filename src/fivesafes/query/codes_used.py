"""Which code lists a query model looks for in which coded column.

A definition's code lists reach the model as ``is_in`` conditions on a column
(:class:`~fivesafes.query.model.IsIn`, named by the list's file). The environment reads them
from the model it was handed (never by running the definition again) to tell the analyst which
of their lists match nothing in the data: a misspelt code, the wrong code system's version of a
list, or a list for a condition nobody in the data has.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from fivesafes.model.codes import CodeSystem
from fivesafes.query import model as m
from fivesafes.query.serial import Query


@dataclass(frozen=True, slots=True)
class CodelistUse:
    """One code list looked for in one coded column of a table."""

    codelist: str
    table: str
    column: str
    system: CodeSystem
    codes: frozenset[str]


def codelists_used(query: Query) -> tuple[CodelistUse, ...]:
    """Every code list the query looks for in a coded column, once per list and column (a list
    split by ``to_category`` into several conditions is one use), in the order of their names."""
    found: dict[tuple[str, str, str], tuple[CodeSystem, set[str]]] = {}
    seen: set[int] = set()
    pending: list[Any] = [query]
    while pending:
        node = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, tuple | frozenset):
            pending.extend(node)
            continue
        if not dataclasses.is_dataclass(node) or isinstance(node, type):
            continue
        if isinstance(node, m.IsIn) and node.codelist is not None:
            column = node.series
            if isinstance(column, m.Column) and column.code_system is not None:
                key = (node.codelist, m.root_table(column.source).table, column.name)
                _, codes = found.setdefault(key, (column.code_system, set()))
                codes.update(str(v) for v in node.values)
        pending.extend(getattr(node, f.name) for f in dataclasses.fields(node))
    return tuple(
        CodelistUse(name, table, column, system, frozenset(codes))
        for (name, table, column), (system, codes) in sorted(found.items())
    )
