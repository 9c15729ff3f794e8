"""Frames: tables and the rows analysts keep, sort and pick from them.

A patient-level frame has at most one row per patient (``patients``, or one row
picked per patient); an event-level frame has any number. Columns are read from
the data model (``fivesafes.model.TABLES``), so a frame knows every column's type
and code system without restating them.
"""

from __future__ import annotations

from typing import Any

from fivesafes.model import TABLES, Table
from fivesafes.query import model as m
from fivesafes.query.errors import DefinitionError, unknown_attribute
from fivesafes.query.model import KIND_OF_COLUMN_TYPE
from fivesafes.query.series import (
    BoolSeries,
    IntSeries,
    Series,
    check_domains,
    wrap,
    wrap_bool,
)


class Frame:
    """Rows of one table, with its columns as attributes."""

    def __init__(self, node: m.Frame) -> None:
        self._node = node

    @property
    def node(self) -> m.Frame:
        return self._node

    @property
    def table(self) -> Table:
        return TABLES[m.root_table(self._node).table]

    def __getattr__(self, name: str) -> Series:
        table = self.table
        if name == "patient_id":
            raise DefinitionError(
                f"{table.name}.patient_id cannot be used in a definition",
                "every value is already one per patient, and every output has a patient_id "
                "column of its own",
            )
        columns = [c for c in table.column_names if c != "patient_id"]
        if name.startswith("_") or name not in columns:
            raise unknown_attribute(self, name, f"table {table.name}", columns)
        column = table.column(name)
        return wrap(
            m.Column(self._node, name, KIND_OF_COLUMN_TYPE[column.type], column.code_system)
        )

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *self.table.column_names})

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.table.name}>"

    def exists_for_patient(self) -> BoolSeries:
        """Whether the patient has any row here (never NULL)."""
        return BoolSeries(m.Aggregate(m.Agg.EXISTS, self._node, m.Kind.BOOL))

    def count_for_patient(self) -> IntSeries:
        """How many rows the patient has here (0 when none)."""
        return IntSeries(m.Aggregate(m.Agg.COUNT, self._node, m.Kind.INT))


class PatientFrame(Frame):
    """At most one row per patient: its columns are patient-level series."""


class EventFrame(Frame):
    """Many rows per patient: filter, sort, then aggregate or pick one row per patient."""

    def _condition(self, condition: Any, method: str) -> m.Series:
        node = wrap_bool(condition).node
        domain = m.domain_of(node)
        if domain is not None and m.root_table(domain) != m.root_table(self._node):
            raise DefinitionError(
                f"the condition in {method}() is about rows of "
                f"{m.root_table(domain).table}, not of {self.table.name}",
                f"write the condition with columns of the frame you filter, e.g. "
                f"{self.table.name}.where({self.table.name}.<column> ...)",
            )
        return node

    def where(self, condition: Any) -> EventFrame:
        """The rows for which ``condition`` is true (rows where it is NULL are dropped)."""
        return EventFrame(m.Filter(self._node, self._condition(condition, "where")))

    def except_where(self, condition: Any) -> EventFrame:
        """The rows for which ``condition`` is not true (rows where it is NULL are kept)."""
        node = self._condition(condition, "except_where")
        keep = m.Apply(
            m.Fn.NOT,
            (m.Apply(m.Fn.COALESCE, (node, m.Value(False, m.Kind.BOOL)), node.kind),),
            m.Kind.BOOL,
        )
        return EventFrame(m.Filter(self._node, keep))

    def sort_by(self, *keys: Any) -> SortedEventFrame:
        """Rows in ascending order of ``keys`` (NULLs first), for ``first/last_for_patient``."""
        if not keys:
            raise DefinitionError(
                "sort_by() needs at least one column", "write .sort_by(table.date)"
            )
        nodes = []
        for key in keys:
            if not isinstance(key, Series):
                raise DefinitionError(
                    f"sort_by() takes columns, not {key!r}", "write .sort_by(table.date)"
                )
            check_domains(key.node)
            domain = m.domain_of(key.node)
            if domain is None or m.root_table(domain) != m.root_table(self._node):
                raise DefinitionError(
                    f"sort_by() needs values of each row of {self.table.name}",
                    f"sort by a column of {self.table.name}, e.g. .sort_by("
                    f"{self.table.name}.{self._first_date_column()})",
                )
            if key.kind is m.Kind.BOOL:
                raise DefinitionError(
                    "sorting by a true/false value is not supported",
                    "sort by a date, number, string or code",
                )
            nodes.append(m.SortKey(key.node))
        return SortedEventFrame(m.Sort(self._node, tuple(nodes)))

    def _first_date_column(self) -> str:
        dates = [c.name for c in self.table.columns if c.type == "date"]
        return dates[0] if dates else self.table.column_names[1]

    def first_for_patient(self) -> PatientFrame:
        raise DefinitionError(
            "first_for_patient() needs the rows sorted, otherwise 'first' means nothing",
            f"sort first: .sort_by({self.table.name}.{self._first_date_column()})"
            ".first_for_patient()",
        )

    def last_for_patient(self) -> PatientFrame:
        raise DefinitionError(
            "last_for_patient() needs the rows sorted, otherwise 'last' means nothing",
            f"sort first: .sort_by({self.table.name}.{self._first_date_column()})"
            ".last_for_patient()",
        )


class SortedEventFrame(EventFrame):
    """Sorted rows: pick the first or last per patient."""

    @property
    def node(self) -> m.Sort:
        assert isinstance(self._node, m.Sort)
        return self._node

    def first_for_patient(self) -> PatientFrame:
        """The first row per patient in sort order (ties broken the same way by every engine)."""
        return PatientFrame(m.PickOne(self.node, last=False))

    def last_for_patient(self) -> PatientFrame:
        """The last row per patient in sort order."""
        return PatientFrame(m.PickOne(self.node, last=True))
