"""The tables a study reads, one object per table of the common data model.

Generated from :data:`fivesafes.model.TABLES` -- columns are never restated here.
Patient-level tables are :class:`~fivesafes.query.frames.PatientFrame`; event-level
tables are :class:`~fivesafes.query.frames.EventFrame`. Two tables carry the
helpers every study needs (``patients.age_on``, ``patients.is_alive_on`` and
``practice_registrations.for_patient_on``), written in the language itself so they
mean exactly what their definitions say.
"""

from __future__ import annotations

from typing import Any

from fivesafes.model import TABLES, TableKind
from fivesafes.query import model as m
from fivesafes.query.errors import UnknownName, did_you_mean
from fivesafes.query.frames import EventFrame, Frame, PatientFrame
from fivesafes.query.series import BoolSeries, DateSeries, IntSeries, to_node


class PatientsTable(PatientFrame):
    """``patients``, with age and vital status on a date."""

    def age_on(self, day: Any) -> IntSeries:
        """Age in whole years on ``day`` (dates of birth are held to the month)."""
        born = self.date_of_birth
        assert isinstance(born, DateSeries)
        return DateSeries(to_node(day, m.Kind.DATE)).difference_in_years(born)

    def is_alive_on(self, day: Any) -> BoolSeries:
        """True unless a date of death on or before ``day`` is recorded."""
        died = self.date_of_death
        assert isinstance(died, DateSeries)
        return died.is_null() | died.is_after(day)


class RegistrationsTable(EventFrame):
    """``practice_registrations``, with the registration current on a date."""

    def for_patient_on(self, day: Any) -> PatientFrame:
        """The registration that covers ``day`` (start on or before, end empty or on or
        after); when several do, the one that started last."""
        start, end = self.start_date, self.end_date
        assert isinstance(start, DateSeries) and isinstance(end, DateSeries)
        current = self.where(start.is_on_or_before(day) & (end.is_null() | end.is_on_or_after(day)))
        return current.sort_by(current.start_date, current.end_date).last_for_patient()


_SPECIAL: dict[str, type[Frame]] = {
    "patients": PatientsTable,
    "practice_registrations": RegistrationsTable,
}


def _frame(name: str) -> Frame:
    cls = _SPECIAL.get(name) or (
        PatientFrame if TABLES[name].kind is TableKind.PATIENT else EventFrame
    )
    return cls(m.TableFrame(name))


_PATIENT_TABLES = [t.name for t in TABLES.values() if t.is_patient_level]
globals().update({name: _frame(name) for name in _PATIENT_TABLES})
__all__ = _PATIENT_TABLES


def __getattr__(name: str) -> Any:
    """A table name that is not a patient table: a did-you-mean, or why it is not here."""
    if name.startswith("_"):
        raise AttributeError(name)
    if name in TABLES:
        raise UnknownName(
            f"table {name} is {TABLES[name].kind.value}, not about patients",
            "a study reads patient tables: " + ", ".join(_PATIENT_TABLES),
        )
    raise UnknownName(
        f"there is no patient table {name!r}",
        f"{did_you_mean(name, _PATIENT_TABLES)}the tables are: {', '.join(_PATIENT_TABLES)}",
    )
