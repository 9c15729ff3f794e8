"""Backup, destroy, restore into a fresh directory: the ledger verifies there and every released
file, history table, key and record is back. Decommissioning leaves nothing readable and a
public ledger that still verifies, ending with its signed last word."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "release"))

from populated_support import file_digests, populate

from fivesafes.environment.backup import BackupError, backup, restore
from fivesafes.environment.decommission import FINAL_STATEMENT, decommission
from fivesafes.environment.sealed import SealError, new_key, read_key
from fivesafes.governance import AccessDenied, ControlPlane
from fivesafes.ledger import verify_file
from fivesafes.release import verify_release
from fivesafes.store.config import DataDir
from fivesafes.store.database import Store


@pytest.fixture
def key(tmp_path: Path) -> bytes:
    new_key(tmp_path / "offline" / "backup.key")
    return read_key(tmp_path / "offline" / "backup.key")


def kinds(ledger_entries: list[bytes]) -> list[str]:
    return [json.loads(e)["kind"] for e in ledger_entries]


def test_backup_destroy_restore_verifies_and_brings_everything_back(
    tmp_path: Path, key: bytes
) -> None:
    env = populate(tmp_path / "old")
    before = file_digests(env.data_dir.root, env.data_dir.key_file)
    archive = tmp_path / "backups" / "full.sealed"
    with ControlPlane.open(env.data_dir) as cp:
        summary = backup(cp, env.people.token("cus"), env.data_dir, key, archive)
        original_entries = list(cp.ledger.entries())
    assert summary.files >= 6 and summary.ledger_size == len(original_entries)
    assert b"asthma" not in archive.read_bytes()  # sealed: nothing readable off the machine
    shutil.rmtree(tmp_path / "old")

    fresh = DataDir(tmp_path / "new" / "data", tmp_path / "new" / "vault" / "pseudonym.key")
    restored = restore(archive, key, fresh)
    assert verify_file(fresh.root / "ledger.sqlite").ok
    after = file_digests(fresh.root, fresh.key_file)
    for name, digest in before.items():
        if name not in ("ledger.sqlite", "control.sqlite"):
            assert after[name] == digest, name  # store, released files, history, keys
    with ControlPlane.open(fresh) as cp:
        entries = list(cp.ledger.entries())
        assert entries[: len(original_entries)] == original_entries
        assert kinds(entries)[-2:] == ["environment", "environment"]  # backup, then restored
        assert "job" in kinds(entries) and "release" in kinds(entries)
        folder = fresh.root / env.release_folder.relative_to(env.data_dir.root)
        assert verify_release(folder, cp.ledger.keys) == []
        assert cp.verify_ledger().ok
    assert restored.ledger_size == len(entries)
    with Store.open(fresh, read_only=True) as store:
        assert store.key == (tmp_path / "new" / "vault" / "pseudonym.key").read_bytes()


def test_a_changed_truncated_or_wrongly_keyed_backup_restores_nothing(
    tmp_path: Path, key: bytes
) -> None:
    env = populate(tmp_path / "old")
    archive = tmp_path / "full.sealed"
    with ControlPlane.open(env.data_dir) as cp:
        backup(cp, env.people.token("cus"), env.data_dir, key, archive)
    raw = archive.read_bytes()
    changed = bytearray(raw)
    changed[len(raw) // 2] ^= 1
    for n, (content, use) in enumerate(
        [(bytes(changed), key), (raw[: len(raw) - 100], key), (raw, bytes(32))]
    ):
        bad = tmp_path / f"bad{n}.sealed"
        bad.write_bytes(content)
        target = DataDir(tmp_path / f"t{n}", tmp_path / f"t{n}" / "keys" / "pseudonym.key")
        with pytest.raises(BackupError, match="cannot restore"):
            restore(bad, use, target)
        assert not target.root.exists() and not (tmp_path / f"t{n}.restoring").exists()


def test_restore_never_overwrites_and_backup_needs_a_custodian(tmp_path: Path, key: bytes) -> None:
    env = populate(tmp_path / "old")
    with ControlPlane.open(env.data_dir) as cp, pytest.raises(AccessDenied, match="operate"):
        backup(cp, env.people.token("ana"), env.data_dir, key, tmp_path / "x.sealed")
    with ControlPlane.open(env.data_dir) as cp:
        backup(cp, env.people.token("cus"), env.data_dir, key, tmp_path / "x.sealed")
    with pytest.raises(BackupError, match="not empty"):
        restore(tmp_path / "x.sealed", key, env.data_dir)
    with pytest.raises(SealError, match="no backup key"):
        read_key(tmp_path / "missing.key")


def test_decommission_leaves_nothing_readable_and_a_ledger_that_verifies(
    tmp_path: Path, key: bytes
) -> None:
    env = populate(tmp_path / "old")
    public = tmp_path / "public-ledger"
    with ControlPlane.open(env.data_dir) as cp, pytest.raises(BackupError, match="confirm"):
        decommission(cp, env.people.token("cus"), env.data_dir, public, "yes")
    with ControlPlane.open(env.data_dir) as cp:
        done = decommission(
            cp, env.people.token("cus"), env.data_dir, public, str(env.data_dir.root)
        )
    assert not env.data_dir.root.exists() and not env.data_dir.key_file.exists()
    assert done.files_destroyed >= 6
    report = verify_file(public / "ledger.sqlite")
    assert report.ok and report.entries == done.final_entry + 1
    last = (public / "export" / "entries.ndjson").read_text().splitlines()[-1]
    assert json.loads(last)["subject"] == {"change": "decommissioned", "statement": FINAL_STATEMENT}
    leftovers = [p for p in public.rglob("*") if p.is_file()]
    assert not any(b"BEGIN PRIVATE KEY" in p.read_bytes() for p in leftovers)
