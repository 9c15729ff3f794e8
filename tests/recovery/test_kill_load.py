"""`fivesafes load` killed with SIGKILL at every point where it writes: after a restart the ledger
and the store agree, `ledger verify` passes, and a retry loads the files exactly once."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from kill_support import KILLED, Forker, entries, of_kind, open_intent_count, settled_intents

from environment.environment_support import address, outbox_code
from fhir_factory import (
    basic_population,
    condition,
    nhs_number,
    patient,
    registration,
    write_ndjson,
)
from fivesafes.failpoints import FAILPOINT_ENV
from fivesafes.governance.database import DATABASE_URL_ENV
from fivesafes.store.config import DataDir
from fivesafes.store.database import Store

pytestmark = pytest.mark.slow  # real processes, killed for real: seconds each

LOAD_POINTS = ("load.before-intent", "load.after-intent", "load.after-commit", "load.after-outcome")
COMMITTED_AT = {"load.after-commit", "load.after-outcome"}
"""Points the store's COMMIT has passed: recovery must find the load made."""
OPEN_AT = {"load.after-intent", "load.after-commit"}
"""Points between the intent and the outcome: the kill leaves an intent open."""


@dataclass(frozen=True)
class LoadWorld:
    """An environment with a custodian and one load done, and a second file to load."""

    root: Path
    token: str
    second: Path


def _clean(extra: dict[str, str] | None = None) -> tuple[dict[str, str], list[str]]:
    env = dict(extra or {})
    return env, [DATABASE_URL_ENV] + ([] if FAILPOINT_ENV in env else [FAILPOINT_ENV])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, forker: Forker) -> LoadWorld:
    base = tmp_path_factory.mktemp("load-world")
    root = base / "env"
    env, unset = _clean()
    created = forker.run(
        [
            *("environment", "init", "--name", "Test", "--custodian", "cara"),
            *("--custodian-name", "Cara Custodian", "--organisation", "Test"),
            *("--contact", address("cara"), "--data-dir", str(root)),
        ],
        env,
        unset,
    )
    assert created.returncode == 0, created.output
    code = outbox_code(root, address("cara"))
    enrolled = forker.run(["user", "enrol", code, "--data-dir", str(root)], env, unset)
    assert enrolled.returncode == 0, enrolled.output
    token = enrolled.stdout.strip().splitlines()[-1]
    first = write_ndjson(base / "first.ndjson", basic_population(5))
    loaded = forker.run(["load", str(first), "--data-dir", str(root), "--token", token], env, unset)
    assert loaded.returncode == 0, loaded.output
    second = [
        resource
        for i in range(5)
        for resource in (
            patient(f"q{i}", nhs_number(100 + i)),
            registration(f"f{i}", f"q{i}"),
            condition(f"d{i}", f"q{i}"),
        )
    ]
    return LoadWorld(root, token, write_ndjson(base / "second.ndjson", second))


def _agree(root: Path) -> list[str]:
    """The loads the store committed, asserting the ledger logs exactly those, once each, and
    that every intent in it is answered once."""
    found = entries(root)
    settled_intents(found)
    logged = [subject["load_id"] for subject in of_kind(found, "load")]
    with Store.open(DataDir.from_env(root), read_only=True) as store:
        stored = [
            load_id
            for (load_id,) in store.con.execute(
                "SELECT load_id FROM meta.loads ORDER BY finished_at"
            ).fetchall()
        ]
        patients = store.con.execute("SELECT count(*) FROM analysis.patients").fetchone()
    assert logged == stored
    assert patients == (5 * len(stored),)
    return stored


def _verified(forker: Forker, root: Path) -> None:
    env, unset = _clean()
    verify = forker.run(["ledger", "verify", "--data-dir", str(root)], env, unset)
    assert verify.returncode == 0 and "OK: every entry re-hashed" in verify.stdout, verify.output


@pytest.mark.parametrize("point", LOAD_POINTS)
def test_a_load_killed_at_each_write_is_recovered_and_retried_exactly_once(
    point: str, world: LoadWorld, forker: Forker, tmp_path: Path
) -> None:
    root = tmp_path / "env"
    shutil.copytree(world.root, root)
    command = ["load", str(world.second), "--data-dir", str(root), "--token", world.token]

    killed = forker.run(command, *_clean({FAILPOINT_ENV: point}))
    assert killed.returncode == KILLED, killed.output
    assert open_intent_count(root) == (point in OPEN_AT)

    whoami = ["user", "whoami", "--data-dir", str(root), "--token", world.token]
    restarted = forker.run(whoami, *_clean())
    assert restarted.returncode == 0, restarted.output
    if point in OPEN_AT:
        said = "it was made" if point in COMMITTED_AT else "it was not made"
        told = " ".join(restarted.stderr.split())
        assert "recovered the interrupted load" in told and said in told
    assert len(_agree(root)) == 1 + (point in COMMITTED_AT)
    _verified(forker, root)

    retried = forker.run(command, *_clean())
    assert retried.returncode == 0, retried.output
    assert ("already loaded" in retried.stdout) == (point in COMMITTED_AT)
    assert len(_agree(root)) == 2
    found = entries(root)
    assert len(of_kind(found, "load")) == 2
    abandoned = of_kind(found, "abandoned")
    assert len(abandoned) == (point == "load.after-intent")
    _verified(forker, root)
