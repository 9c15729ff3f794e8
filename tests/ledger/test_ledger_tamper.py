"""Tampering with the stored ledger — any edit, deletion or reordering — is caught by verify.

The attacker here has write access to the SQLite file: they drop the append-only triggers first,
which is why detection has to be cryptographic. One ledger is built once (with a key rotation
in the middle, so checkpoints under both keys are covered) and copied for every example.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from ledger_support import ORIGIN, job, login, open_ledger

from fivesafes.ledger import VerifyReport, verify_file
from fivesafes.ledger.merkle import leaf_hash
from fivesafes.ledger.note import Checkpoint, NoteSigner

SIZE = 40


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A closed ledger of SIZE entries, every one covered by a signed checkpoint."""
    directory = tmp_path_factory.mktemp("template")
    ledger = open_ledger(directory, checkpoint_every=7)
    ledger.append_many(("login", f"user-{i % 3}", login(f"s-{i}")) for i in range(15))
    ledger.rotate_key()
    ledger.append_many(("job", "user-1", job(f"J-{i}")) for i in range(SIZE - 17))
    ledger.close()
    assert verify_file(directory / "ledger.db", ORIGIN).ok
    return directory / "ledger.db"


@contextmanager
def tampered(template: Path) -> Iterator[tuple[sqlite3.Connection, Path]]:
    """A private copy of the template, open for writing with the append-only triggers dropped."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ledger.db"
        shutil.copy(template, path)
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("PRAGMA synchronous=OFF")  # a scratch copy: no need to wait for the disk
        for table in ("entries", "checkpoints"):
            db.execute(f"DROP TRIGGER {table}_no_update")
            db.execute(f"DROP TRIGGER {table}_no_delete")
        yield db, path
        db.close()


def report_after(template: Path, change: str, *params: object) -> VerifyReport:
    with tampered(template) as (db, path):
        db.execute(change, params)
        db.close()
        return verify_file(path, ORIGIN)


def entry(template: Path, index: int) -> bytes:
    db = sqlite3.connect(f"file:{template}?mode=ro", uri=True)
    (data,) = db.execute("SELECT entry FROM entries WHERE idx = ?", (index,)).fetchone()
    db.close()
    return bytes(data)


@settings(deadline=None)
@given(index=st.integers(0, SIZE - 1), data=st.data())
def test_any_byte_edit_of_any_entry_is_detected(
    template: Path, index: int, data: st.DataObject
) -> None:
    original = entry(template, index)
    position = data.draw(st.integers(0, len(original) - 1), label="position")
    byte = data.draw(st.integers(0, 255).filter(lambda b: b != original[position]), label="byte")
    edited = original[:position] + bytes([byte]) + original[position + 1 :]
    report = report_after(template, "UPDATE entries SET entry = ? WHERE idx = ?", edited, index)
    assert not report.ok


@settings(deadline=None)
@given(index=st.integers(0, SIZE - 1), value=st.text(min_size=1, max_size=10))
def test_a_well_formed_edit_with_a_recomputed_leaf_hash_is_detected(
    template: Path, index: int, value: str
) -> None:
    record = orjson.loads(entry(template, index))
    record["actor"] = record["actor"] + value
    edited = orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
    report = report_after(
        template,
        "UPDATE entries SET entry = ?, leaf_hash = ? WHERE idx = ?",
        edited,
        leaf_hash(edited),
        index,
    )
    assert not report.ok
    assert any("root hash differs" in p.message or "key" in p.message for p in report.problems)


@settings(deadline=None)
@given(index=st.integers(0, SIZE - 1))
def test_deleting_any_entry_is_detected(template: Path, index: int) -> None:
    report = report_after(template, "DELETE FROM entries WHERE idx = ?", index)
    assert not report.ok


@settings(deadline=None)
@given(keep=st.integers(0, SIZE - 1))
def test_truncating_the_log_is_detected(template: Path, keep: int) -> None:
    assert not report_after(template, "DELETE FROM entries WHERE idx >= ?", keep).ok


@settings(deadline=None)
@given(order=st.permutations(range(SIZE)).filter(lambda p: p != list(range(SIZE))))
def test_any_reordering_of_entries_is_detected(template: Path, order: list[int]) -> None:
    with tampered(template) as (db, path):
        rows = db.execute("SELECT kind, entry, leaf_hash FROM entries ORDER BY idx").fetchall()
        db.execute("DELETE FROM entries")
        db.executemany(
            "INSERT INTO entries VALUES (?, ?, ?, ?)",
            [(i, *rows[source]) for i, source in enumerate(order)],
        )
        db.close()
        assert not verify_file(path, ORIGIN).ok


@settings(deadline=None)
@given(i=st.integers(0, SIZE - 1), j=st.integers(0, SIZE - 1))
def test_swapping_two_entries_and_renumbering_them_is_detected(
    template: Path, i: int, j: int
) -> None:
    assume(i != j)
    first, second = orjson.loads(entry(template, i)), orjson.loads(entry(template, j))
    first["index"], second["index"] = j, i  # the attacker fixes the index fields too
    with tampered(template) as (db, path):
        for target, record in ((j, first), (i, second)):
            data = orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
            db.execute(
                "UPDATE entries SET kind = ?, entry = ?, leaf_hash = ? WHERE idx = ?",
                (record["kind"], data, leaf_hash(data), target),
            )
        db.close()
        assert not verify_file(path, ORIGIN).ok


@settings(deadline=None)
@given(index=st.integers(0, SIZE - 1), byte=st.integers(0, 255))
def test_editing_a_stored_leaf_hash_is_detected(template: Path, index: int, byte: int) -> None:
    report = report_after(
        template, "UPDATE entries SET leaf_hash = ? WHERE idx = ?", bytes([byte]) * 32, index
    )
    assert not report.ok


def test_a_checkpoint_re_signed_by_another_key_is_detected(template: Path) -> None:
    forger = NoteSigner(ORIGIN, Ed25519PrivateKey.generate())
    with tampered(template) as (db, path):
        size = db.execute("SELECT MAX(size) FROM checkpoints").fetchone()[0]
        forged = Checkpoint(ORIGIN, size, b"\x00" * 32).sign(forger)
        db.execute("UPDATE checkpoints SET note = ? WHERE size = ?", (forged, size))
        db.close()
        report = verify_file(path, ORIGIN)
    assert not report.ok
    assert any("signature" in p.message for p in report.problems)


def test_the_append_only_triggers_refuse_ordinary_changes(template: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ledger.db"
        shutil.copy(template, path)
        db = sqlite3.connect(path)
        for statement in (
            "UPDATE entries SET kind = 'x' WHERE idx = 1",
            "DELETE FROM entries WHERE idx = 1",
            "DELETE FROM checkpoints",
        ):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                db.execute(statement)
        db.close()
