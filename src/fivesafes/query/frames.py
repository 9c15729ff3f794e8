"""Frames: tables and the rows analysts keep, sort and pick from them.

A patient-level frame has at most one row per patient (``patients``, or one row
picked per patient); an event-level frame has any number. Columns are read from
the data model (``fivesafes.model.TABLES``), so a frame knows every column's type
and code system without restating them; spells made from episodes have columns of
their own (``fivesafes.query.model.SPELL_COLUMNS``).
"""

from __future__ import annotations

from typing import Any

from fivesafes.query import model as m
from fivesafes.query.errors import DefinitionError, unknown_attribute
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

    def _name(self) -> str:
        """The table the rows are of (or ``spells of <table>``), as messages name it."""
        return m.origin_name(m.origin(self._node))

    def _columns(self) -> dict[str, tuple[m.Kind, Any]]:
        return m.row_columns(m.origin(self._node))

    def __getattr__(self, name: str) -> Series:
        if name == "patient_id":
            raise DefinitionError(
                f"{self._name()}.patient_id cannot be used in a definition",
                "every value is already one per patient, and every output has a patient_id "
                "column of its own",
            )
        columns = self._columns()
        if name.startswith("_") or name not in columns:
            raise unknown_attribute(self, name, self._described(), list(columns))
        kind, system = columns[name]
        return wrap(m.Column(self._node, name, kind, system))

    def _described(self) -> str:
        origin = m.origin(self._node)
        return f"table {origin.table}" if isinstance(origin, m.TableFrame) else self._name()

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *self._columns()})

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._name()}>"

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
        if domain is not None and m.origin(domain) != m.origin(self._node):
            raise DefinitionError(
                f"the condition in {method}() is about rows of "
                f"{m.origin_name(m.origin(domain))}, not of {self._name()}",
                f"write the condition with columns of the frame you filter, e.g. "
                f"{self._example()}.where({self._example()}.<column> ...)",
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
            if domain is None or m.origin(domain) != m.origin(self._node):
                raise DefinitionError(
                    f"sort_by() needs values of each row of {self._name()}",
                    f"sort by a column of {self._name()}, e.g. .sort_by("
                    f"{self._example()}.{self._first_date_column()})",
                )
            if key.kind is m.Kind.BOOL:
                raise DefinitionError(
                    "sorting by a true/false value is not supported",
                    "sort by a date, number, string or code",
                )
            nodes.append(m.SortKey(key.node))
        return SortedEventFrame(m.Sort(self._node, tuple(nodes)))

    def spells(self, start: Any, end: Any, gap: Any = 0) -> SpellFrame:
        """These rows as episodes, each from ``start`` to ``end``, merged into spells: an
        episode that starts at most ``gap`` days (``days(n)`` or a number; 0 by default) after
        the spell so far ends, or while one of its episodes has not ended (NULL end), is
        part of that spell. One row per spell, with ``start_date``, ``end_date``,
        ``previous_end_date`` (the end of the patient's spell before) and ``episodes``."""
        nodes = []
        for what, value in (("start", start), ("end", end)):
            if not isinstance(value, Series) or value.kind is not m.Kind.DATE:
                raise DefinitionError(
                    f"spells() needs {what}= to be a date column of {self._name()}, not {value!r}",
                    f"write .spells(start={self._example()}.<start date>, "
                    f"end={self._example()}.<end date>)",
                )
            check_domains(value.node)
            domain = m.domain_of(value.node)
            if domain is None or m.origin(domain) != m.origin(self._node):
                raise DefinitionError(
                    f"spells() needs {what}= to have a value for each row of {self._name()}",
                    f"use a date column of {self._name()}, e.g. "
                    f"{self._example()}.{self._first_date_column()}",
                )
            nodes.append(value.node)
        return SpellFrame(m.Spells(self._node, nodes[0], nodes[1], _gap_days(gap)))

    def _first_date_column(self) -> str:
        columns = self._columns()
        dates = [name for name, (kind, _) in columns.items() if kind is m.Kind.DATE]
        return dates[0] if dates else next(iter(columns))

    def _example(self) -> str:
        """How an example in a message names these rows: the table, or ``spells``."""
        origin = m.origin(self._node)
        return origin.table if isinstance(origin, m.TableFrame) else "spells"

    def first_for_patient(self) -> PatientFrame:
        raise DefinitionError(
            "first_for_patient() needs the rows sorted, otherwise 'first' means nothing",
            f"sort first: .sort_by({self._example()}.{self._first_date_column()})"
            ".first_for_patient()",
        )

    def last_for_patient(self) -> PatientFrame:
        raise DefinitionError(
            "last_for_patient() needs the rows sorted, otherwise 'last' means nothing",
            f"sort first: .sort_by({self._example()}.{self._first_date_column()})"
            ".last_for_patient()",
        )


class SpellFrame(EventFrame):
    """Spells made from episodes: one row per spell, many per patient."""


def _gap_days(gap: Any) -> int:
    """The gap a spell allows, in days, from ``days(n)`` or a whole number of days."""
    from fivesafes.query.dates import Duration

    if isinstance(gap, Duration) and gap.unit == "days":
        gap = gap.value
    if isinstance(gap, bool) or not isinstance(gap, int) or not 0 <= gap <= 36500:
        raise DefinitionError(
            f"spells() takes gap= as a whole number of days from 0 to 36500, not {gap!r}",
            "write gap=days(1) (or gap=1) to join episodes that begin the day after another ends",
        )
    return gap


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
