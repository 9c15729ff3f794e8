"""Extraction: the one path by which patient-level rows leave the store, whoever asks.

Every extraction reads a cut copy of the store (:mod:`fivesafes.jobs.snapshot`), and the only
place a cut is made is :func:`cut_for`: the tables and columns the caller is entitled to, no row
of anyone whose opt-out applies to the purpose (the national data opt-out and type-1 objections
for research and planning), and shared data (wearables) only of people whose consent for that
purpose holds now: research consent for research and planning, care consent for direct care.
How many people the opt-outs removed is recorded for the custodian alone.

Two callers, one path: a job (:mod:`.jobs`), for a project, inside its sandboxes; and a data
custodian's own extract (:func:`custodian_extract`), with their token, for a stated purpose,
written to the ledger, its definition evaluated the way a job's is (restricted, sandboxed, no
data in reach) and its rows drawn from the same kind of cut.
"""

from __future__ import annotations

import hashlib
import secrets
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fivesafes.environment.job_records import holding
from fivesafes.environment.refusals import refusing
from fivesafes.governance import (
    Action,
    ConsentScope,
    Purpose,
    excluded_patient_ids,
    record_opt_outs_applied,
    wearable_consented_ids,
)
from fivesafes.jobs.snapshot import DataCut, analysis_snapshot
from fivesafes.ledger import ENTRY_KINDS
from fivesafes.model import TABLES
from fivesafes.store.database import Store

if TYPE_CHECKING:
    from fivesafes.environment.core import Environment

EXTRACTS = "extracts"
"""Where a custodian's extract keeps its cut copy while it runs (its own folder, locked)."""
CONSENT_FOR: dict[Purpose, ConsentScope] = {
    Purpose.RESEARCH: ConsentScope.RESEARCH,
    Purpose.PLANNING: ConsentScope.RESEARCH,
    Purpose.DIRECT_CARE: ConsentScope.CARE,
}
"""Whose shared data an extraction for each purpose may hold: planning is not care, so it needs
the consent given for research."""
EVERY_COLUMN: dict[str, tuple[str, ...]] = {
    t.name: tuple(c.name for c in t.columns) for t in TABLES.values()
}
"""A custodian's grant: the whole analysis layer (their role is the whole store)."""


def cut_for(
    env: Environment,
    store: Store,
    purpose: Purpose,
    grant: Mapping[str, tuple[str, ...]],
    project_id: str | None,
) -> DataCut:
    """What an extraction for ``purpose`` on ``grant`` may see now; records the opt-outs applied.

    The exclusions and consents are hashed with the store's own key, which the store checks
    against the fingerprint it recorded: a missing or changed key stops here."""
    excluded = frozenset(excluded_patient_ids(store, purpose, control=env.cp))
    consented = frozenset(wearable_consented_ids(store, CONSENT_FOR[purpose], env.cp))
    record_opt_outs_applied(env.cp, purpose, len(excluded), project_id)
    return DataCut(dict(grant), excluded, consented - excluded)


@dataclass(frozen=True)
class Extracted:
    """A custodian's extract: where it went, how big it is, and its ledger entry."""

    output: Path
    rows: int
    query_sha256: str
    ledger_index: int


def custodian_extract(
    env: Environment,
    credential: str,
    study: Path,
    output: Path,
    purpose: Purpose,
    kind: str = "dataset",
    engine: str = "duckdb",
) -> Extracted:
    """Run a definition on the real store for a data custodian, for ``purpose``: its definition
    evaluated sandboxed with no data, its rows from a cut copy (opt-outs and consent applied),
    the extract written to ``output`` and to the ledger."""
    from fivesafes.jobs import Limits
    from fivesafes.jobs.extract import evaluate_definition
    from fivesafes.jobs.steps import opened_copy, run_query
    from fivesafes.query import serial
    from fivesafes.query.study import write_tables

    with refusing(env.cp, "extract"):
        with env.cp.transaction() as session:
            me = env.cp.authenticate(session, credential, Action.MANAGE_DATA)
        query = evaluate_definition(Path.cwd(), str(study), kind, Limits())
        model = serial.dumps(query)
        with env.store(read_only=True) as store:
            cut = cut_for(env, store, purpose, EVERY_COLUMN, None)
        folder = env.data_dir.root / EXTRACTS / f"extract-{secrets.token_hex(6)}"
        folder.mkdir(mode=0o700, parents=True)
        try:
            with holding(folder):  # while held, recovery leaves this copy alone
                copy = analysis_snapshot(env.data_dir.database, cut, folder / "copy.duckdb")
                with opened_copy(copy) as con:
                    rows = write_tables(run_query(query, con, engine), output)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        digest = hashlib.sha256(model).hexdigest()
        subject = ENTRY_KINDS["extract"].subject(
            purpose=purpose.value, query_sha256=digest, file=output.name, rows=rows
        )
        receipt = env.cp.log("extract", subject, me.person_id)
        return Extracted(output, rows, digest, receipt.index)
