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

from fivesafes.ledger import Ledger, LedgerError, VerifyReport, verify_file
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


# Every column of both tables, edited every way a hand with a SQLite shell could edit it
# (SQLite types each value, not each column, so a BLOB column can be made to hold TEXT, a
# number or, once the table is rebuilt without its constraints, NULL), and files that are not
# ledgers at all. Each must be a failed report that names a problem: never a crash (issue 18,
# hole 9: an edited leaf_hash column made `ledger verify` raise sqlite3.OperationalError).
LOOSE = """
CREATE TABLE loose (idx, kind, entry, leaf_hash);
INSERT INTO loose SELECT idx, kind, entry, leaf_hash FROM entries;
DROP TABLE entries;
ALTER TABLE loose RENAME TO entries;
CREATE TABLE loose_cp (size, note, created);
INSERT INTO loose_cp SELECT size, note, created FROM checkpoints;
DROP TABLE checkpoints;
ALTER TABLE loose_cp RENAME TO checkpoints;
"""
COLUMN_EDITS = {
    "leaf_hash NULL": "UPDATE entries SET leaf_hash = NULL WHERE idx = 5",
    "leaf_hash TEXT": "UPDATE entries SET leaf_hash = 'not a hash' WHERE idx = 5",
    "leaf_hash INTEGER": "UPDATE entries SET leaf_hash = 5 WHERE idx = 5",
    "leaf_hash REAL": "UPDATE entries SET leaf_hash = 5.5 WHERE idx = 5",
    "leaf_hash short": "UPDATE entries SET leaf_hash = X'00' WHERE idx = 5",
    "leaf_hash long": "UPDATE entries SET leaf_hash = leaf_hash || X'00' WHERE idx = 5",
    "leaf_hash of another entry": (
        "UPDATE entries SET leaf_hash = (SELECT leaf_hash FROM entries WHERE idx = 6) WHERE idx = 5"
    ),
    "entry NULL": "UPDATE entries SET entry = NULL WHERE idx = 5",
    "entry INTEGER": "UPDATE entries SET entry = 7 WHERE idx = 5",
    "entry REAL": "UPDATE entries SET entry = 7.5 WHERE idx = 5",
    "entry not JSON": "UPDATE entries SET entry = X'FFFE00' WHERE idx = 5",
    "entry a JSON array": "UPDATE entries SET entry = CAST('[1,2]' AS BLOB) WHERE idx = 5",
    "entry index a string": (
        "UPDATE entries SET entry = CAST(replace(CAST(entry AS TEXT), '\"index\":5', "
        '\'"index":"5"\') AS BLOB) WHERE idx = 5'
    ),
    "entry kind a list": (
        'UPDATE entries SET entry = CAST(replace(CAST(entry AS TEXT), \'"kind":"login"\', '
        '\'"kind":["login"]\') AS BLOB) WHERE idx = 5'
    ),
    "entry not canonical": (
        "UPDATE entries SET entry = CAST(replace(CAST(entry AS TEXT), ',', ', ') AS BLOB) "
        "WHERE idx = 5"
    ),
    "kind NULL": "UPDATE entries SET kind = NULL WHERE idx = 5",
    "kind INTEGER": "UPDATE entries SET kind = 3 WHERE idx = 5",
    "kind another": "UPDATE entries SET kind = 'job' WHERE idx = 5",
    "idx negative": "UPDATE entries SET idx = -5 WHERE idx = 5",
    "idx gap": "UPDATE entries SET idx = 1000 WHERE idx = 39",
    "idx TEXT": "UPDATE entries SET idx = 'five' WHERE idx = 5",
    "idx REAL": "UPDATE entries SET idx = 5.5 WHERE idx = 5",
    "checkpoint size +1": "UPDATE checkpoints SET size = size + 1 WHERE size = 8",
    "checkpoint size 0": "UPDATE checkpoints SET size = 0 WHERE size = 8",
    "checkpoint size negative": "UPDATE checkpoints SET size = -8 WHERE size = 8",
    "checkpoint size past the end": "UPDATE checkpoints SET size = 99 WHERE size = 8",
    "checkpoint size TEXT": "UPDATE checkpoints SET size = 'eight' WHERE size = 8",
    "checkpoint note NULL": "UPDATE checkpoints SET note = NULL WHERE size = 8",
    "checkpoint note INTEGER": "UPDATE checkpoints SET note = 8 WHERE size = 8",
    "checkpoint note garbage BLOB": "UPDATE checkpoints SET note = X'FF00FF' WHERE size = 8",
    "checkpoint note truncated": "UPDATE checkpoints SET note = substr(note, 1, 40) WHERE size = 8",
    "checkpoint note origin": (
        "UPDATE checkpoints SET note = replace(note, 'test.fivesafes', 'test.fivesafez') "
        "WHERE size = 8"
    ),
    "checkpoint note signature dropped": (
        "UPDATE checkpoints SET note = substr(note, 1, instr(note, '—') - 1) || "
        "'— x AAAAAAAA\n' WHERE size = 8"
    ),
    "checkpoint note of another size": (
        "UPDATE checkpoints SET note = (SELECT note FROM checkpoints WHERE size = 15) "
        "WHERE size = 8"
    ),
    "checkpoint created not a time": "UPDATE checkpoints SET created = 'yesterday' WHERE size = 8",
    "checkpoint created NULL": "UPDATE checkpoints SET created = NULL WHERE size = 8",
    "checkpoint created INTEGER": "UPDATE checkpoints SET created = 20260102 WHERE size = 8",
    "checkpoint created local time": (
        "UPDATE checkpoints SET created = '2026-01-02T03:04:05+01:00' WHERE size = 8"
    ),
    "key_init checkpoint removed": "DELETE FROM checkpoints WHERE size = 1",
    "rotation checkpoint removed": "DELETE FROM checkpoints WHERE size = 17",
    "entries table dropped": "DROP TABLE entries",
    "checkpoints table dropped": "DROP TABLE checkpoints",
    "leaf_hash column dropped": "ALTER TABLE entries DROP COLUMN leaf_hash",
    "leaf_hash column renamed": "ALTER TABLE entries RENAME COLUMN leaf_hash TO hash",
    "note column renamed": "ALTER TABLE checkpoints RENAME COLUMN note TO text",
    "idx column renamed": "ALTER TABLE entries RENAME COLUMN idx TO position",
}


def test_the_template_checkpoints_the_edits_name(template: Path) -> None:
    """The edits above assume checkpoints at 1, 8, 15 and 17 (the rotation's) entries."""
    db = sqlite3.connect(f"file:{template}?mode=ro", uri=True)
    sizes = {size for (size,) in db.execute("SELECT size FROM checkpoints")}
    db.close()
    assert {1, 8, 15, 17} <= sizes


@pytest.mark.parametrize("change", COLUMN_EDITS.values(), ids=list(COLUMN_EDITS))
def test_every_edit_of_every_column_is_a_failed_report(template: Path, change: str) -> None:
    with tampered(template) as (db, path):
        db.executescript(LOOSE)
        db.execute(change)
        db.close()
        report = verify_file(path, ORIGIN)
    assert not report.ok
    assert all(p.where and p.message for p in report.problems)
    assert "FAILED" in report.render()


CORRUPT_FILES = {
    "empty": lambda data: b"",
    "not a database": lambda data: b"garbage, not SQLite " * 100,
    "truncated": lambda data: data[:3000],
    "a page zeroed": lambda data: _zero_page(data, 2),
}


def _zero_page(data: bytes, number: int) -> bytes:
    """The file with its page ``number`` (from 1; the page size is in the header) zeroed."""
    size = int.from_bytes(data[16:18], "big") or 65536
    return data[: (number - 1) * size] + bytes(size) + data[number * size :]


@pytest.mark.parametrize("damage", CORRUPT_FILES.values(), ids=list(CORRUPT_FILES))
def test_a_corrupt_file_is_a_failed_report(template: Path, damage: object, tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    path.write_bytes(damage(template.read_bytes()))  # type: ignore[operator]
    report = verify_file(path, ORIGIN)
    assert not report.ok
    assert report.problems[0].message


def test_the_writer_will_not_sign_over_an_edited_log(template: Path) -> None:
    """An edit made consistent (entry and leaf hash both rewritten) would be laundered if the
    writer went on signing checkpoints over it; it refuses to open the log instead."""
    record = orjson.loads(entry(template, 3))
    record["actor"] = "someone-else"
    edited = orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
    with tampered(template) as (db, path):
        db.execute(
            "UPDATE entries SET entry = ?, leaf_hash = ? WHERE idx = 3", (edited, leaf_hash(edited))
        )
        db.close()
        keys = template.parent / "keys"
        with pytest.raises(LedgerError, match="does not match the stored log"):
            Ledger.open(path, keys, ORIGIN)
