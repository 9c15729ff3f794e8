"""Deleting a dataset past its retention date (SATRE 3.1.09, 3.1.10), tested as an attacker
would look for what was deleted: in the raw bytes of every file under the data directory."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from deletion_support import (
    DELETED,
    KEPT,
    MARK,
    SHORT_DAYS,
    change_files,
    count,
    holding,
    populate,
    registered_again,
    rows,
)
from typer.testing import CliRunner

from environment.environment_support import steps
from fhir_factory import nhs_number, patient, write_ndjson
from fivesafes import failpoints
from fivesafes.cli import app
from fivesafes.environment import datasets
from fivesafes.environment.core import Environment
from fivesafes.environment.loading import load_data
from fivesafes.environment.refusals import Refused
from fivesafes.environment.settings import Settings, write_settings
from fivesafes.governance import Role
from fivesafes.governance.database import DATABASE_URL_ENV
from fivesafes.governance.datasets import register
from fivesafes.store.config import DataDir
from fivesafes.store.pseudonym import create_key
from fivesafes.store.writes import SUBMISSIONS

DAY = 86400
OBSERVATIONS = 'SELECT count(*) FROM identifiable."Observation"'


@pytest.fixture
def env(control_url: str, tmp_path: Path, clock: Any) -> Iterator[Environment]:
    data_dir = DataDir(tmp_path / "data", tmp_path / "keys" / "pseudonym.key")
    create_key(data_dir.key_file)
    data_dir.root.mkdir(mode=0o700)
    write_settings(data_dir.root, Settings("Test environment"))
    with Environment.open(data_dir, url=control_url, clock=clock) as opened:
        yield opened


def ledger(env: Environment) -> list[dict[str, Any]]:
    return [json.loads(e) for e in env.cp.ledger.entries()]


def deletions(env: Environment) -> list[dict[str, Any]]:
    """The register's ``deleted`` entries: the proof of each deletion."""
    found = [e["subject"] for e in ledger(env) if e["kind"] == "dataset"]
    return [s for s in found if s["change"] == "deleted"]


def test_a_deleted_dataset_leaves_no_byte_on_disk_and_the_kept_ones_are_unchanged(
    env: Environment, tmp_path: Path
) -> None:
    """Its records, their earlier versions in history and the quarantined one are gone from
    every file under the data directory (store, WAL, versions, spill, control plane, ledger);
    every kept dataset's rows are what they were; the ledger says so and verifies."""
    people = populate(env, tmp_path)
    [change] = holding(env.data_dir.root / SUBMISSIONS)
    assert holding(env.data_dir.root) == sorted([str(env.data_dir.database), change])
    assert change_files(env) == [["Condition/cw", "Observation/s50"]]
    assert count(env, "SELECT count(*) FROM identifiable.history WHERE id = 'cz'") == 1
    assert count(env, f"SELECT count(*) FROM meta.quarantine WHERE resource_id LIKE '%{MARK}'")
    kept = rows(env)
    held = count(env, f"SELECT count(*) FROM analysis.{DELETED}")
    conditions = count(env, 'SELECT count(*) FROM identifiable."Condition"')
    observations = count(env, OBSERVATIONS)
    env.cp.clock.advance((SHORT_DAYS + 1) * DAY)  # type: ignore[attr-defined]

    assert datasets.delete(env, people.sign_in("cus"), DELETED) == held
    assert holding(env.data_dir.root) == []
    assert change_files(env) == [["Observation/s50"]]  # its kept record stays
    assert sorted(p.name for p in env.data_dir.database.parent.glob("store.duckdb*")) == [
        "store.duckdb", "store.duckdb.lock"
    ]  # fmt: skip
    assert rows(env) == kept
    assert rows(env, (DELETED,)) == {DELETED: []}
    assert count(env, 'SELECT count(*) FROM identifiable."Condition"') == 0
    assert count(env, "SELECT count(*) FROM identifiable.history") == 0
    assert count(env, OBSERVATIONS) == observations  # kept: they feed kept datasets
    [gone] = [e for e in register(env.cp) if e.dataset == DELETED]
    assert gone.deleted
    [said] = deletions(env)
    assert said["dataset"] == DELETED and said["rows"] == str(held)
    assert said["resources"] == f"Condition={conditions}"  # only its sources: current ones
    [shown] = [e.fields for e in env.cp.ledger.public_view(["dataset"]).rows
               if e.fields["change"] == "deleted"]  # fmt: skip
    assert shown["dataset"] == DELETED and "rows" not in shown  # a count of people: not shown
    assert env.cp.ledger.verify().ok


def test_a_dataset_sharing_its_source_with_a_kept_one_stays_empty_until_registered_again(
    env: Environment, tmp_path: Path
) -> None:
    """wearable_observations is made from Observations, which clinical_events and deaths are
    made from too: deleting it keeps the Observations but not its rows, and a later load
    that touches the same patients does not fill it again -- until the register agrees to it
    anew and a load into it is let in, which builds it whole."""
    people = populate(env, tmp_path, ("wearable_observations",))
    env.cp.clock.advance((SHORT_DAYS + 1) * DAY)  # type: ignore[attr-defined]
    deaths = rows(env, ("deaths",))
    walks = count(env, "SELECT count(*) FROM analysis.wearable_observations")
    assert walks and datasets.delete(env, people.sign_in("cus"), "wearable_observations") == walks
    assert rows(env, ("wearable_observations",)) == {"wearable_observations": []}
    assert rows(env, ("deaths",)) == deaths
    renamed = patient("p3", nhs_number(3), death="2025-01-01")
    load_data(env.cp, env.data_dir, people.sign_in("cus"),
              [write_ndjson(tmp_path / "died.ndjson", [renamed])])  # fmt: skip
    assert rows(env, ("wearable_observations",)) == {"wearable_observations": []}
    assert count(env, "SELECT count(*) FROM analysis.deaths") == len(deaths["deaths"]) + 1

    registered_again(env, people, "wearable_observations")
    load_data(env.cp, env.data_dir, people.sign_in("cus"),
              [write_ndjson(tmp_path / "walk.ndjson", [steps("s99", "p4", 12345)])])  # fmt: skip
    assert count(env, "SELECT count(*) FROM analysis.wearable_observations") == walks + 1


def test_deletion_is_refused_before_retention_and_without_the_role_and_each_is_logged(
    env: Environment, tmp_path: Path
) -> None:
    people = populate(env, tmp_path)
    before = rows(env, (*KEPT, DELETED))
    people.add("ann", Role.ANALYST)
    env.cp.clock.advance((SHORT_DAYS + 1) * DAY)  # type: ignore[attr-defined]
    with pytest.raises(Refused, match="may not"):
        datasets.delete(env, people.sign_in("ann"), DELETED)
    with pytest.raises(Refused, match="patients is to be kept until"):
        datasets.delete(env, people.sign_in("cus"), "patients")
    with pytest.raises(Refused, match="nope is not registered"):
        datasets.delete(env, people.sign_in("cus"), "nope")
    refusals = [e["subject"] for e in ledger(env) if e["kind"] == "refusal"]
    assert [e["action"] for e in refusals] == ["delete_dataset"] * 3
    assert "may not" in refusals[0]["reason"] and "deletion refused" in refusals[1]["reason"]
    refused = [e for e in ledger(env) if e["kind"] == "login" and
               e["subject"]["outcome"].startswith("refused")]  # fmt: skip
    assert [e["actor"] for e in refused] == ["ann", "cus", "cus"]
    assert rows(env, (*KEPT, DELETED)) == before
    assert len(holding(env.data_dir.root)) == 2  # the store and the change file
    assert not deletions(env)
    assert not [
        e for e in ledger(env) if e["kind"] == "intent" and e["subject"]["operation"] == "dataset"
    ]


POINTS = ("delete.before-intent", "delete.after-intent", "store.compacted",
          "delete.after-commit", "delete.after-register")  # fmt: skip
COMMITTED_AT = {"delete.after-commit", "delete.after-register"}
"""Points the store's rename has passed: recovery must find the deletion made."""


def killed_at(env: Environment, url: str, point: str, token: str) -> int:
    """Run the deletion in a child process that ``point`` kills with SIGKILL; its status."""
    pid = os.fork()
    if pid == 0:  # the child: its own environment, the failpoint armed, killed for real
        try:
            os.environ[failpoints.FAILPOINT_ENV] = point
            failpoints._armed.cache_clear()
            with Environment.open(env.data_dir, url=url, clock=env.cp.clock,
                                  recover=False) as child:  # fmt: skip
                datasets.delete(child, token, DELETED)
        finally:
            os._exit(1)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


@pytest.mark.parametrize("point", POINTS)
def test_a_deletion_killed_at_any_point_leaves_a_readable_store_and_a_ledger_that_agrees(
    env: Environment, control_url: str, tmp_path: Path, point: str
) -> None:
    """Killed (SIGKILL) at each point: the store is the old version or the new, whole; once
    recovery has run the ledger settles the intent by what the store holds and verifies; a
    retry finishes the deletion exactly once and leaves nothing of it on disk."""
    people = populate(env, tmp_path)
    kept = rows(env)
    held = count(env, f"SELECT count(*) FROM analysis.{DELETED}")
    env.cp.clock.advance((SHORT_DAYS + 1) * DAY)  # type: ignore[attr-defined]
    token = people.sign_in("cus")
    assert killed_at(env, control_url, point, token) == -9
    committed = point in COMMITTED_AT
    assert rows(env) == kept
    assert bool(holding(env.data_dir.root)) is not committed
    with Environment.open(env.data_dir, url=control_url, clock=env.cp.clock) as again:
        assert again.cp.open_intents() == [] and again.cp.ledger.verify().ok
        assert len(deletions(again)) == committed
        [entry] = [e for e in register(again.cp) if e.dataset == DELETED]
        assert entry.deleted is committed
        if not committed:  # the old version, whole: the custodian runs it again
            assert datasets.delete(again, token, DELETED) == held
        [said] = deletions(again)
        assert again.cp.ledger.verify().ok
    assert said["rows"] == str(held)
    assert holding(env.data_dir.root) == [] and rows(env) == kept


def test_the_command_deletes_a_dataset_past_its_retention_date(
    env: Environment, control_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``fivesafes datasets delete``, as the doc shows it, on the real clock: the world is
    made so that its retention date has just passed today."""
    env.cp.clock.now = datetime.now(UTC) - timedelta(days=SHORT_DAYS + 1)  # type: ignore[attr-defined]
    people = populate(env, tmp_path)
    kept = rows(env)
    env.cp.clock.now = datetime.now(UTC)  # type: ignore[attr-defined]
    token = people.sign_in("cus")
    monkeypatch.setenv(DATABASE_URL_ENV, control_url)
    monkeypatch.setenv("FIVESAFES_KEY_FILE", str(env.data_dir.key_file))
    where = ["--data-dir", str(env.data_dir.root), "--token", token]
    done = CliRunner().invoke(app, ["datasets", "delete", DELETED, *where])
    assert done.exit_code == 0, done.output
    assert f"{DELETED} deleted" in done.stdout
    assert holding(env.data_dir.root) == [] and rows(env) == kept
    again = CliRunner().invoke(app, ["datasets", "delete", DELETED, *where])
    assert again.exit_code == 2 and f"{DELETED} is not registered" in again.output
