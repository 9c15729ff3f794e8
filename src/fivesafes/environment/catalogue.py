"""The catalogue as each person may see it, and which codes occur in the data.

The catalogue is public: it says what data the environment holds so anyone can judge what a
study could answer. But exact counts of rows and patients, and the first and last event dates,
are disclosive for small datasets (the one admission last Tuesday; the three people a load
added). So the view depends on who asks:

- a **data custodian** (a credential with that role) sees every count and date exactly;
- **anyone else** — an analyst, a member of the public, an anonymous reader — sees counts
  suppressed under the environment's disclosure threshold and rounded to its base, shares
  computed from those public counts only, date coverage as the first and last month holding
  at least the threshold of people, and loads without their file names.

Code usage follows the same rule: each code a coded column of a patient-level table holds,
with its people and records counted; anyone but a custodian sees only codes held by at least
the threshold of people (how many others there are is said, not which), with rounded counts.

The rules themselves (``public_count`` and friends) live in ``fivesafes.disclosure``; this
module decides who gets which view. A credential that does not check out is refused, never
quietly treated as anonymous.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from functools import cache
from typing import TYPE_CHECKING, Any

import orjson

from fivesafes.catalogue.metadata import (
    Catalogue,
    ColumnEntry,
    DatasetEntry,
    LoadEntry,
    build_catalogue,
    code_counts,
    monthly_counts,
)
from fivesafes.disclosure import Profile
from fivesafes.disclosure import profile as named_profile
from fivesafes.disclosure.public import public_count, public_months, public_share
from fivesafes.environment.refusals import refusing
from fivesafes.environment.settings import read_settings
from fivesafes.governance import Action, ControlPlane, Role
from fivesafes.model import TABLES, CodeSystem, Table
from fivesafes.store.config import DataDir
from fivesafes.store.database import Store

if TYPE_CHECKING:
    from fivesafes.environment.core import Environment

CUSTODIAN = "custodian"
PUBLIC = "public"


def viewer(data_dir: DataDir, credential: str | None) -> str:
    """Which view a caller gets: ``custodian`` for a data custodian's credential, ``public``
    for anyone else or no credential; a credential that does not check out is refused
    (``AccessDenied``), and its use is in the ledger like every other."""
    if credential is None:
        return PUBLIC
    with ControlPlane.open(data_dir) as cp:
        return _viewer_on(cp, credential)


def _viewer_on(cp: ControlPlane, credential: str | None) -> str:
    if credential is None:
        return PUBLIC
    with cp.transaction() as session:
        me = cp.authenticate(session, credential, Action.ISSUE_OWN_TOKEN)
    return CUSTODIAN if Role.DATA_CUSTODIAN in me.roles else PUBLIC


def catalogue_of(env: Environment, credential: str | None) -> Catalogue:
    """:func:`view_catalogue` as a use case of an open environment (the API's): the caller
    checked on its control plane, and a no a logged :class:`~.refusals.Refused`."""
    with refusing(env.cp, "view_catalogue"):
        view = _viewer_on(env.cp, credential)
        return _catalogue(env.data_dir, view, env.settings.disclosure_profile)


def codes_of(
    env: Environment, credential: str | None, column: str | None, search: str | None
) -> CodeUsage:
    """:func:`code_usage` as a use case of an open environment (the API's)."""
    with refusing(env.cp, "code_usage"):
        view = _viewer_on(env.cp, credential)
        return _code_usage(env.data_dir, view, column, search, env.settings.disclosure_profile)


def _public_dataset(
    entry: DatasetEntry, months: list[tuple[str, int]], rules: Profile
) -> DatasetEntry:
    rows = public_count(entry.rows or 0, rules)
    patients = None if entry.patients is None else public_count(entry.patients, rules)
    pairs = (("rows", rows, entry.rows), ("patients", patients, entry.patients))
    hidden = [name for name, shown, exact in pairs if exact and shown is None]
    columns = tuple(_public_column(c, rows, rules) for c in entry.columns)
    first, last = public_months(months, rules)
    return replace(
        entry,
        rows=rows,
        patients=patients,
        first=first,
        last=last,
        columns=columns,
        suppressed=tuple(hidden),
    )


def _public_column(column: ColumnEntry, rows: int | None, rules: Profile) -> ColumnEntry:
    filled = None if column.filled is None else public_count(column.filled, rules)
    return replace(column, filled=filled, completeness=public_share(filled, rows))


def _public_load(load: LoadEntry, rules: Profile) -> LoadEntry:
    totals = {outcome: public_count(n or 0, rules) for outcome, n in load.totals.items()}
    return replace(load, files=(), totals=totals)


def _rules(data_dir: DataDir, profile: str | None) -> Profile:
    """The profile named, or else the environment's own (its settings' ``disclosure_profile``,
    the one its releases are checked under): a missing settings file is refused, never taken
    as the default."""
    return named_profile(profile or read_settings(data_dir.root).disclosure_profile)


def public_profile(data_dir: DataDir) -> Profile:
    """The rules every count the public reads is rounded and suppressed by: the environment's
    own disclosure profile, as for the public catalogue (other public figures use it too)."""
    return _rules(data_dir, None)


def view_catalogue(
    data_dir: DataDir, credential: str | None = None, profile: str | None = None
) -> Catalogue:
    """The catalogue as the caller may see it (see the module's docstring); counts for anyone
    but a custodian under ``profile``, by default the environment's own disclosure profile."""
    return _catalogue(data_dir, viewer(data_dir, credential), profile)


def _catalogue(data_dir: DataDir, view: str, profile: str | None) -> Catalogue:
    with Store.open(data_dir, read_only=True) as store:
        exact = build_catalogue(store.con)
        if view == CUSTODIAN:
            return exact
        rules = _rules(data_dir, profile)
        datasets = tuple(
            _public_dataset(d, monthly_counts(store.con, TABLES[d.name]), rules)
            for d in exact.datasets
        )
    loads = tuple(_public_load(load, rules) for load in exact.loads)
    return Catalogue(datasets, loads, PUBLIC, rules.name)


@dataclass(frozen=True, slots=True)
class CodeUse:
    """One code in one column: what it means (where known) and how often it occurs."""

    table: str
    column: str
    code_system: str
    code: str
    term: str | None
    patients: int | None
    records: int | None


@dataclass(frozen=True, slots=True)
class CodeUsage:
    """Code usage as the caller may see it; ``left_out`` says, per ``table.column``, how many
    codes a public view does not list for being held by too few people."""

    codes: tuple[CodeUse, ...]
    left_out: dict[str, int]
    view: str
    profile: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_dict(), option=orjson.OPT_INDENT_2)


def _coded_columns(which: str | None) -> list[tuple[Table, str, str]]:
    """Coded columns of patient-level tables, all or those ``table`` or ``table.column`` names."""
    found = [
        (table, column.name, column.code_system.value)
        for table in TABLES.values()
        if table.is_patient_level
        for column in table.columns
        if column.code_system is not None
    ]
    if which is None:
        return found
    name, _, column = which.partition(".")
    chosen = [f for f in found if f[0].name == name and (not column or f[1] == column)]
    if not chosen:
        known = ", ".join(sorted({f"{t.name}.{c}" for t, c, _ in found}))
        raise ValueError(f"no coded column {which!r}; coded columns: {known}")
    return chosen


@cache
def _shipped_terms() -> dict[tuple[str, str], str]:
    """Terms the environment ships for codes: NHS ethnic categories and the clinical codes of
    its reference vocabulary (the codes its synthetic data and examples use), and LSOA names."""
    from fivesafes.model.lookups import load_lsoa_geography
    from fivesafes.synth import vocabulary

    terms: dict[tuple[str, str], str] = {}
    for value in vars(vocabulary).values():
        for code in value if isinstance(value, tuple) else (value,):
            if isinstance(code, vocabulary.Code):
                terms[(code.system, code.code)] = code.display
    areas = load_lsoa_geography()
    lsoa = CodeSystem.LSOA.value
    names = zip(areas["lsoa_code"].to_pylist(), areas["lsoa_name"].to_pylist(), strict=True)
    terms.update(((lsoa, code), name) for code, name in names)
    return terms


def _terms(store: Store) -> dict[tuple[str, str], str]:
    """Shipped terms, and the names of organisations by ODS code from the store itself."""
    names = store.con.execute(
        "SELECT organisation_code, name FROM analysis.organisations"
    ).fetchall()
    return _shipped_terms() | {(CodeSystem.ODS.value, c): n for c, n in names}


def _matches(wanted: str, code: str, term: str | None) -> bool:
    return wanted in code.lower() or wanted in (term or "").lower()


def code_usage(
    data_dir: DataDir,
    credential: str | None = None,
    column: str | None = None,
    search: str | None = None,
    profile: str | None = None,
) -> CodeUsage:
    """Which codes occur in each coded column (or the ``table`` / ``table.column`` given),
    matching ``search`` in the code or its term when given, as the caller may see them."""
    return _code_usage(data_dir, viewer(data_dir, credential), column, search, profile)


def _code_usage(
    data_dir: DataDir, view: str, column: str | None, search: str | None, profile: str | None
) -> CodeUsage:
    rules = _rules(data_dir, profile)
    with Store.open(data_dir, read_only=True) as store:
        columns = _coded_columns(column)
        codes, left_out = usage_in(store, columns, search, None if view == CUSTODIAN else rules)
    return CodeUsage(codes, left_out, view, None if view == CUSTODIAN else rules.name)


def usage_in(
    store: Store,
    columns: list[tuple[Table, str, str]],
    search: str | None,
    rules: Profile | None,
) -> tuple[tuple[CodeUse, ...], dict[str, int]]:
    """The codes of ``columns`` matching ``search`` (in the code or its term), and per column
    how many codes were left out for being held by too few people; exact when ``rules`` is
    None, else as anyone may see them under ``rules`` (the one rule for code usage: a code held
    by fewer than the threshold of people is not listed at all, and every count is rounded)."""
    wanted = search.strip().lower() if search else None
    codes: list[CodeUse] = []
    left_out: dict[str, int] = {}
    terms = _terms(store)
    for table, name, system in columns:
        for count in code_counts(store.con, table, name):
            patients: int | None = count.patients
            records: int | None = count.records
            if rules is not None:
                shown = public_count(count.patients, rules)
                if not shown:  # counted whatever the search, so a search says no more
                    key = f"{table.name}.{name}"
                    left_out[key] = left_out.get(key, 0) + 1
                    continue
                patients, records = shown, public_count(count.records, rules)
            term = terms.get((system, count.code))
            if wanted and not _matches(wanted, count.code, term):
                continue
            codes.append(CodeUse(table.name, name, system, count.code, term, patients, records))
    return tuple(codes), left_out


def coded_columns(system: CodeSystem | None = None) -> list[tuple[Table, str, str]]:
    """Every coded column of a patient-level table, or those holding codes of ``system``."""
    return [c for c in _coded_columns(None) if system is None or c[2] == system.value]


def known_terms(store: Store) -> dict[tuple[str, str], str]:
    """The term of each code the environment knows one for, by (system URI, code)."""
    return _terms(store)
