"""An environment holding registered datasets with a distinctive value planted in one of them
(in a current record, in a superseded version kept in history, in a quarantined record and
in a change file kept under ``submissions/``),
for the deletion tests to look for afterwards as an attacker would: in every byte on disk."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from operate_support import People

from environment.environment_support import steps
from fhir_factory import basic_population, condition, write_ndjson
from fivesafes.environment.core import Environment
from fivesafes.environment.loading import load_data
from fivesafes.governance import Role
from fivesafes.governance.datasets import DatasetEntry, Sensitivity, approve_dataset
from fivesafes.governance.datasets import register_dataset as register_entry
from fivesafes.store.database import Store
from fivesafes.store.writes import SUBMISSIONS, write_resources

MARK = "ZEBRAFINCHQUOKKA"
"""Text no record holds but the planted ones (a Condition's display and a quarantined id)."""
DELETED = "clinical_events"
KEPT = ("deaths", "organisations", "patients", "practice_registrations", "wearable_observations")
SHORT_DAYS = 20
"""The retention of the datasets to be deleted: the others are kept for a year."""


def planted() -> list[dict[str, Any]]:
    """The population, a Condition carrying :data:`MARK`, one the store quarantines (its
    patient does not exist) whose id carries it, and a shared day's steps per patient."""
    marked = condition("cz", "p1")
    marked["code"]["coding"][0]["display"] = f"{MARK} first"
    orphan = condition(f"cq-{MARK}", "p2")
    orphan["subject"] = {"reference": "Patient/nobody"}
    walks = [steps(f"s{i}", f"p{i}", 4000 + i) for i in range(20)]
    return [*basic_population(20), marked, orphan, *walks]


def changed() -> list[dict[str, Any]]:
    """A new version of the marked Condition: the first then lives on in history."""
    marked = copy.deepcopy(condition("cz", "p1", onset="2021-03-04"))
    marked["code"]["coding"][0]["display"] = f"{MARK} second"
    return [marked]


def entry(env: Environment, dataset: str, days: int) -> DatasetEntry:
    return DatasetEntry(
        dataset,
        "NHS Example Trust (information asset owner: Head of Information)",
        "DSA-2026-014",
        Sensitivity.PSEUDONYMISED,
        "UK GDPR 6(1)(e) and 9(2)(h)",
        env.cp.today() + timedelta(days=days),
    )


def register(env: Environment, people: People, approver: str, dataset: str, days: int) -> None:
    register_entry(env.cp, people.tokens["cus"], entry(env, dataset, days))
    approve_dataset(env.cp, approver, dataset)


def populate(env: Environment, tmp_path: Path, short: tuple[str, ...] = (DELETED,)) -> People:
    """Register the datasets (those in ``short`` for :data:`SHORT_DAYS`), load the planted
    records and then the changed one; the source files stay outside the data directory."""
    people = People.start(env.cp)
    approver = people.add("apo", Role.APPROVER)
    for dataset in (DELETED, *KEPT):
        register(env, people, approver, dataset, SHORT_DAYS if dataset in short else 365)
    for name, records in (("first", planted()), ("second", changed())):
        load_data(env.cp, env.data_dir, people.sign_in("cus"),
                  [write_ndjson(tmp_path / f"{name}.ndjson", records)])  # fmt: skip
    shared = condition("cw", "p3")
    shared["code"]["coding"][0]["display"] = f"{MARK} shared"
    write_resources(env.data_dir, [shared, steps("s50", "p5")], label="shared")  # a change file
    return people


def change_files(env: Environment) -> list[list[str]]:
    """Each kept change file's records, as ``type/id``."""
    return [[f"{r['resourceType']}/{r['id']}" for r in map(json.loads, p.read_text().splitlines())]
            for p in sorted((env.data_dir.root / SUBMISSIONS).rglob("*.ndjson"))]  # fmt: skip


def holding(root: Path, needle: str = MARK) -> list[str]:
    """Every file under ``root`` whose raw bytes hold ``needle``."""
    found = needle.encode()
    return sorted(str(p) for p in root.rglob("*") if p.is_file() and found in p.read_bytes())


def rows(env: Environment, tables: tuple[str, ...] = KEPT) -> dict[str, list[tuple[Any, ...]]]:
    with Store.open(env.data_dir, read_only=True) as store:
        return {t: store.con.execute(f"SELECT * FROM analysis.{t} ORDER BY ALL").fetchall()
                for t in tables}  # fmt: skip


def count(env: Environment, sql: str) -> int:
    with Store.open(env.data_dir, read_only=True) as store:
        found = store.con.execute(sql).fetchone()
    assert found is not None
    return int(found[0])


def registered_again(env: Environment, people: People, dataset: str) -> None:
    """The custodian registers a deleted dataset anew and the approver agrees to it."""
    register_entry(env.cp, people.sign_in("cus"), entry(env, dataset, 365))
    approve_dataset(env.cp, people.sign_in("apo"), dataset)
