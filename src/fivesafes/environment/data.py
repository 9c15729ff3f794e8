"""Data in as use cases: load (a custodian), the quarantine of rejects (a custodian), and the
checks alone (anyone, nothing stored).

Thin over what owns the insides: validation and loading (``ingest``, ``store``), and the load as
a recoverable, exactly-once operation (:mod:`.loading`). What this layer adds is one way in for
every face, a refusal logged as one, and that every read of the quarantine (rejects can quote
identifiable values) is the custodian's alone and in the ledger.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from fivesafes.environment.loading import LoadResult, load_data
from fivesafes.environment.refusals import Refused, refusing
from fivesafes.governance import Action
from fivesafes.ingest.rules import RULES
from fivesafes.ingest.sources import UnreadableSource, survey
from fivesafes.store.database import Store
from fivesafes.store.load import LoadReport, ProgressCallback
from fivesafes.store.load import load as load_files

if TYPE_CHECKING:
    from fivesafes.environment.core import Environment


def _files(paths: list[Path]) -> None:
    """Refuse, before anything is read, paths that cannot be read or hold no data files."""
    try:
        found = survey(paths)
    except UnreadableSource as unreadable:
        raise Refused(f"{unreadable}; nothing was checked or loaded") from None
    if not found.files:
        raise Refused(
            "no .ndjson, .jsonl, .json or .csv files found in " + ", ".join(map(str, paths))
        )


def load(
    env: Environment,
    credential: str,
    paths: list[Path],
    progress: ProgressCallback | None = None,
) -> LoadResult:
    """Validate and load files into the store in one transaction (a data custodian); rejects go
    to the quarantine with their reasons; announced in the ledger before it commits."""
    with refusing(env.cp, "load"):
        _files(paths)
        return load_data(env.cp, env.data_dir, credential, paths, progress=progress)


def validate(paths: list[Path], progress: ProgressCallback | None = None) -> LoadReport:
    """Every check a load makes, on files alone, keeping nothing: no environment needed."""
    _files(paths)
    with Store.in_memory(secrets.token_bytes(32)) as store:
        return load_files(store, paths, progress=progress, commit=False, verdicts=True)


@dataclass(frozen=True)
class Quarantined:
    """One finding against a rejected record: where it was, what it broke, and in what words."""

    file: str
    line: int
    entry: int | None
    resource_type: str | None
    resource_id: str | None
    path: str
    rule: str
    message: str


@dataclass(frozen=True)
class QuarantineView:
    findings: tuple[Quarantined, ...]
    total: int
    rules: dict[str, str] = field(default_factory=dict)
    """Each rule the findings name, with why it exists (what a custodian fixes at the source)."""


def quarantine(
    env: Environment, credential: str, rule: str | None = None, limit: int = 50
) -> QuarantineView:
    """Rejected records and why (a data custodian: rejects can quote identifiable values)."""
    with refusing(env.cp, "quarantine"):
        with env.cp.transaction() as session:
            who = env.cp.authenticate(session, credential, Action.MANAGE_DATA)
        what = {"table": "quarantine", "rule": rule or "any", "limit": str(limit)}
        env.cp.log("identifiable_read", what, who.person_id)
        with Store.open(env.data_dir, read_only=True) as store:
            where, params = ("WHERE rule = ?", [rule]) if rule else ("", [])
            rows = store.con.execute(
                "SELECT file, line, entry, resource_type, resource_id, path, rule, message "
                f"FROM meta.quarantine {where} ORDER BY load_id, file, line LIMIT ?",
                [*params, limit],
            ).fetchall()
            total = store.con.execute(
                f"SELECT count(*) FROM meta.quarantine {where}", params
            ).fetchone()
        found = tuple(Quarantined(*r) for r in rows)
        why = {f.rule: RULES[f.rule].reason for f in found if f.rule in RULES}
        return QuarantineView(found, total[0] if total else 0, why)
