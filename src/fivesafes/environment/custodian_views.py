"""What a data custodian looks at, signed in: every load and how it went, and the opt-outs held
and what they took out of each project's extracts. (The quarantine of rejected records is
:func:`.data.quarantine`: its reads are logged as identifiable ones, as they can quote values.)

Both are the custodian's alone, with exact counts. A load's counts and files tell who was
loaded when; the opt-outs a project's extract lost, set beside a small cohort, can single a
person out (:mod:`fivesafes.governance.optouts`). So each read checks the credential for its
action (``manage_data`` for loads, ``view_opt_out_counts`` for opt-outs) and fails closed: a
no is a logged ``Refused``, never an empty page. What is read is the record the environment
already keeps: a load's ``meta.loads`` row in the store with its ``load`` entry in the ledger
(who loaded it, and where in the log); the opt-outs in the control plane with their ``load``
entries; the exclusions :func:`.extraction.cut_for` recorded at every extract.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import func, select

from fivesafes.environment.refusals import refusing
from fivesafes.governance import Action, opt_out_report
from fivesafes.governance.tables import OptOut
from fivesafes.store.database import Store
from fivesafes.store.load import OUTCOMES

if TYPE_CHECKING:
    from fivesafes.environment.core import Environment

ACCEPTED = tuple(o for o in OUTCOMES if o != "quarantined")
"""The outcomes of a record the load kept (new, a new version, or the same as held)."""
OPT_OUT_LOADS = ("opt_outs", "opt_out")
"""The ``what`` of the ledger's ``load`` entries that changed the opt-outs held (a file, or one
person's added by hand)."""


@dataclass(frozen=True)
class LoadedKind:
    """One resource type (or CSV table) of a load: how many of its records were kept, and how
    many rejected to the quarantine."""

    kind: str
    accepted: int
    rejected: int


@dataclass(frozen=True)
class LoadRecord:
    """One committed load, exactly: its files, what went where, who loaded it, and its entry.

    ``loaded_by`` and ``ledger_index`` are None for a load the ledger does not record (one
    written into the store by the environment's own set-up, not through :func:`.data.load`)."""

    load_id: str
    started_at: datetime
    finished_at: datetime
    files: tuple[str, ...]
    kinds: tuple[LoadedKind, ...]
    accepted: int
    rejected: int
    loaded_by: str | None
    ledger_index: int | None


def _authorise(env: Environment, credential: str, action: Action) -> str:
    with env.cp.transaction() as session:
        return env.cp.authenticate(session, credential, action).person_id


def _entries(env: Environment, kind: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """The ledger's entries of ``kind`` with their index, oldest first, including those another
    process (a load from the command line) appended since this one looked."""
    env.cp.ledger.catch_up()
    for index, raw in env.cp.ledger.numbered_of_kinds([kind]):
        yield index, orjson.loads(raw)


def _kinds(summary: dict[str, Any]) -> tuple[LoadedKind, ...]:
    counts: dict[str, dict[str, int]] = summary.get("counts", {})
    return tuple(
        LoadedKind(kind, sum(c.get(o, 0) for o in ACCEPTED), c.get("quarantined", 0))
        for kind, c in sorted(counts.items())
    )


def loads(env: Environment, credential: str) -> tuple[LoadRecord, ...]:
    """Every committed load, newest first, with exact counts (a data custodian)."""
    with refusing(env.cp, "view_loads"):
        _authorise(env, credential, Action.MANAGE_DATA)
        if not env.data_dir.database.exists():
            return ()
        logged = {
            str(entry["subject"]["load_id"]): (index, str(entry["actor"]))
            for index, entry in _entries(env, "load")
            if "load_id" in entry["subject"]
        }
        with Store.open(env.data_dir, read_only=True) as store:
            rows = store.con.execute(
                "SELECT load_id, started_at, finished_at, files, summary FROM meta.loads "
                "ORDER BY finished_at DESC"
            ).fetchall()
        found = []
        for load_id, started, finished, files, summary in rows:
            kinds = _kinds(orjson.loads(summary))
            index, actor = logged.get(load_id, (None, None))
            found.append(
                LoadRecord(
                    load_id,
                    started,
                    finished,
                    tuple(files),
                    kinds,
                    sum(k.accepted for k in kinds),
                    sum(k.rejected for k in kinds),
                    actor,
                    index,
                )
            )
        return tuple(found)


@dataclass(frozen=True)
class OptOutRefresh:
    """The latest change to the opt-outs held, as the ledger records it: when, by whom, and for
    a file its hash, its rows and how many of them were new."""

    at: datetime
    by: str
    what: str
    rows: int | None
    added: int | None
    file_sha256: str | None
    ledger_index: int


@dataclass(frozen=True)
class ProjectExclusions:
    """What opt-outs took out of one project's extracts (``project_id`` None: a custodian's own
    extracts, outside any project): people left out of each extract, summed, and of the last."""

    project_id: str | None
    purposes: tuple[str, ...]
    extracts: int
    excluded: int
    """People left out, summed over the extracts (a person is counted once per extract)."""
    latest_excluded: int
    latest_at: datetime


@dataclass(frozen=True)
class OptOutFigures:
    held: dict[str, int]
    """Opt-outs held, by kind (``national``, ``type1``)."""
    people: int
    """People holding at least one."""
    last_refresh: OptOutRefresh | None
    projects: tuple[ProjectExclusions, ...]


def _last_refresh(env: Environment) -> OptOutRefresh | None:
    latest = None
    for index, entry in _entries(env, "load"):
        if entry["subject"].get("what") in OPT_OUT_LOADS:
            latest = (index, entry)
    if latest is None:
        return None
    index, entry = latest
    subject = entry["subject"]
    return OptOutRefresh(
        datetime.fromisoformat(entry["time"].replace("Z", "+00:00")),
        str(entry["actor"]),
        str(subject["what"]),
        _number(subject.get("rows")),
        _number(subject.get("added")),
        subject.get("file_sha256"),
        index,
    )


def _number(value: object) -> int | None:
    return None if value is None else int(str(value))


def opt_out_figures(env: Environment, credential: str) -> OptOutFigures:
    """The opt-outs held, when they last changed, and how many people they removed from each
    project's extracts, exactly (a data custodian)."""
    with refusing(env.cp, "view_opt_out_figures"):
        applied = opt_out_report(env.cp, credential)  # checks view_opt_out_counts
        with env.cp.transaction() as session:
            held = dict(
                session.execute(
                    select(OptOut.kind, func.count()).group_by(OptOut.kind).order_by(OptOut.kind)
                ).all()
            )
            people = session.scalar(select(func.count(func.distinct(OptOut.nhs_number)))) or 0
        by_project: dict[str | None, list[Any]] = {}
        for count in applied:
            by_project.setdefault(count.project_id, []).append(count)
        projects = tuple(
            ProjectExclusions(
                project_id,
                tuple(sorted({c.purpose for c in counts})),
                len(counts),
                sum(c.excluded for c in counts),
                counts[-1].excluded,
                counts[-1].applied_at,
            )
            for project_id, counts in sorted(by_project.items(), key=lambda p: p[0] or "")
        )
        return OptOutFigures(
            {str(k): int(n) for k, n in held.items()}, people, _last_refresh(env), projects
        )
