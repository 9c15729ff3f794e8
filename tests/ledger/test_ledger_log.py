"""The Ledger: entries, receipts, checkpoint rules, key rotation, the patient-data guard."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ledger_support import ORIGIN, ManualClock, job, load, login, open_ledger

from fivesafes.ledger import (
    DEFAULT_HANDOVER,
    ENTRY_KINDS,
    Ledger,
    LedgerError,
    NoteVerifier,
    PatientDataError,
    SqliteLedgerStore,
    verify_file,
)
from fivesafes.ledger.entry import check_subject, check_value, encode_entries, encode_entry
from fivesafes.ledger.keys import KEY_FILE, NEXT_KEY_FILE, RETIRING_KEY_FILE
from fivesafes.ledger.merkle import leaf_hash
from fivesafes.ledger.note import NoteError, open_checkpoint, open_note
from fivesafes.ledger.storage import StoredCheckpoint, StoredEntry

JOB = job("J-1")


def test_a_new_ledger_starts_with_its_key_and_a_signed_checkpoint(tmp_path: Path) -> None:
    ledger = open_ledger(tmp_path)
    (first,) = ledger.entries()
    record = json.loads(first)
    assert record["kind"] == "key_init"
    assert record["subject"] == {"key": ledger.verifier.vkey}
    assert ledger.signed_size == 1
    assert os.stat(tmp_path / "keys" / KEY_FILE).st_mode & 0o777 == 0o600
    assert ledger.verify().ok


def test_entries_are_canonical_sorted_utf8_json(tmp_path: Path) -> None:
    ledger = open_ledger(tmp_path)
    subject = {
        "title": "Ärzte study",
        "project_id": "P-1",
        "purpose": "research",
        "status": "submitted",
        "members": ["b", "a"],
        "version": 3,
    }
    receipt = ledger.append("project", subject, actor="alice")
    expected = json.dumps(
        {
            "index": 1,
            "time": "2026-01-02T03:04:05.000006Z",
            "kind": "project",
            "actor": "alice",
            "subject": subject,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()
    assert receipt.entry == expected
    assert receipt.index == 1


def test_a_job_receipt_is_signed_at_once_and_verifies(tmp_path: Path) -> None:
    ledger = open_ledger(tmp_path, checkpoint_every=1000)
    receipt = ledger.append("job", JOB, actor="alice")
    assert receipt.checkpoint is not None
    assert receipt.verify([ledger.verifier])
    assert open_checkpoint(receipt.checkpoint, [ledger.verifier]).size == receipt.index + 1
    forged = type(receipt)(
        receipt.index, receipt.entry.replace(b"J-1", b"J-2"), receipt.proof, receipt.checkpoint
    )
    assert not forged.verify([ledger.verifier])
    other = NoteVerifier("test.fivesafes/ledger", bytes(32))
    assert not receipt.verify([other])


def test_other_kinds_get_a_proof_once_a_checkpoint_covers_them(tmp_path: Path) -> None:
    ledger = open_ledger(tmp_path, checkpoint_every=1000)
    receipt = ledger.append("login", login("s-1"), actor="bob")
    assert receipt.proof is None
    assert not receipt.verify([ledger.verifier])
    proved = ledger.prove(receipt.index)
    assert proved.verify([ledger.verifier])
    assert proved.entry == receipt.entry
    assert "inclusion proof for entry 1" in proved.render()


def test_checkpoints_every_n_entries(tmp_path: Path) -> None:
    ledger = open_ledger(tmp_path, checkpoint_every=4)
    for i in range(5):
        ledger.append("login", login(f"s-{i}"))
    ledger.append_many(("login", "bob", login(f"t-{i}")) for i in range(7))
    assert [cp.size for cp in ledger.checkpoints()] == [1, 5, 9, 13]


def test_checkpoints_after_the_interval(tmp_path: Path) -> None:
    clock = ManualClock()
    ledger = open_ledger(tmp_path, checkpoint_every=1000, checkpoint_interval=30, clock=clock)
    ledger.append("login", login("a"))
    assert ledger.signed_size == 1
    clock.advance(10)
    assert ledger.maybe_checkpoint() is None
    clock.advance(25)
    ledger.append("login", login("b"))
    assert ledger.signed_size == 3
    ledger.append("login", login("c"))
    clock.advance(31)
    assert ledger.maybe_checkpoint() is not None
    assert [cp.size for cp in ledger.checkpoints()] == [1, 3, 4]


def test_every_checkpoint_is_kept_and_consistent_with_every_later_one(tmp_path: Path) -> None:
    ledger = open_ledger(tmp_path, checkpoint_every=3)
    ledger.append_many(("load", "ops", load(f"b{i}")) for i in range(20))
    heads = [open_checkpoint(cp.note, [ledger.verifier]) for cp in ledger.checkpoints()]
    for i, old in enumerate(heads):
        for new in heads[i:]:
            proof = ledger.consistency(old.size, new.size)
            assert (proof.old_root, proof.new_root) == (old.root_hash, new.root_hash)
            assert proof.verify()


def test_reopening_restores_the_tree_and_carries_on(tmp_path: Path) -> None:
    with open_ledger(tmp_path, checkpoint_every=5) as ledger:
        ledger.append_many(("login", "bob", login(f"s{i}")) for i in range(12))
        root = ledger.consistency(1).new_root
    reopened = open_ledger(tmp_path, checkpoint_every=5)
    assert reopened.size == 13
    assert reopened.signed_size == 13  # closing signed the tail
    assert reopened.consistency(1).new_root == root
    reopened.append("job", JOB)
    assert reopened.verify().ok


def test_key_rotation_is_an_entry_signed_by_the_old_key(tmp_path: Path) -> None:
    clock = ManualClock()
    ledger = open_ledger(tmp_path, checkpoint_every=1000, clock=clock)
    old = ledger.verifier
    rotation = ledger.rotate_key()
    new = ledger.verifier
    assert new != old
    subject = json.loads(rotation.entry)["subject"]
    assert (subject["old_key"], subject["new_key"]) == (old.vkey, new.vkey)
    assert open_note(subject["statement"], [old]).text.endswith(f"{old.vkey}\n{new.vkey}\n")
    # The checkpoint covering the rotation is the old key's; later ones are the new key's.
    assert rotation.verify([old])
    receipt = ledger.append("release", {"release_id": "R-1", "project_id": "P-7", "files": []})
    assert receipt.checkpoint is not None
    # During the handover the retiring key co-signs, so a client pinned to it still accepts.
    assert receipt.verify([new]) and receipt.verify([old])
    clock.advance(DEFAULT_HANDOVER.total_seconds())
    receipt = ledger.append("release", {"release_id": "R-2", "project_id": "P-7", "files": []})
    assert receipt.verify([new]) and not receipt.verify([old])
    ledger.close()
    reopened = open_ledger(tmp_path, clock=clock)
    assert not (tmp_path / "keys" / RETIRING_KEY_FILE).exists()  # the old key signs no more
    assert reopened.verifier == new
    assert [k.vkey for k in reopened.keys] == [old.vkey, new.vkey]
    assert reopened.verify(trusted_key=old.vkey).ok
    assert not (tmp_path / "keys" / NEXT_KEY_FILE).exists()


def test_a_retired_key_cannot_reopen_the_ledger(tmp_path: Path) -> None:
    ledger = open_ledger(tmp_path, checkpoint_every=1000)
    shutil.copy(tmp_path / "keys" / KEY_FILE, tmp_path / "old.pem")
    ledger.rotate_key()
    ledger.close()
    # Put the retired key back: the ledger must refuse to sign with it.
    shutil.copy(tmp_path / "old.pem", tmp_path / "keys" / KEY_FILE)
    with pytest.raises(LedgerError, match="not the key the log says is current"):
        open_ledger(tmp_path)


def test_an_interrupted_rotation_is_finished_or_dropped_on_open(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    ledger = open_ledger(tmp_path)
    shutil.copy(keys / KEY_FILE, tmp_path / "old.pem")
    ledger.rotate_key()
    ledger.close()
    # Crash after the rotation entry was committed but before the key file was swapped.
    shutil.copy(keys / KEY_FILE, keys / NEXT_KEY_FILE)
    shutil.copy(tmp_path / "old.pem", keys / KEY_FILE)
    reopened = open_ledger(tmp_path)
    assert reopened.verifier == reopened.keys[-1]
    reopened.close()
    # A next key whose rotation never reached the log is discarded.
    shutil.copy(tmp_path / "old.pem", keys / NEXT_KEY_FILE)
    open_ledger(tmp_path).close()
    assert not (keys / NEXT_KEY_FILE).exists()


def test_a_missing_key_stops_the_ledger_opening(tmp_path: Path) -> None:
    open_ledger(tmp_path).close()
    (tmp_path / "keys" / KEY_FILE).unlink()
    with pytest.raises(LedgerError, match="missing"):
        open_ledger(tmp_path)


def test_verify_pins_the_trusted_first_key(tmp_path: Path) -> None:
    ledger = open_ledger(tmp_path)
    assert ledger.verify(trusted_key=ledger.verifier.vkey).ok
    impostor = NoteVerifier("test.fivesafes/ledger", bytes(range(32)))
    report = ledger.verify(trusted_key=impostor.vkey)
    assert not report.ok
    assert "not the trusted key" in report.render()


NHS_SHAPED = st.from_regex(r"\A[0-9]{10}\Z") | st.from_regex(r"\A[0-9]{3} [0-9]{3} [0-9]{4}\Z")
FILLER = st.text(st.sampled_from("abc XYZ-:/_,."), max_size=8)


@settings(
    deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=60
)
@given(before=FILLER, number=NHS_SHAPED, after=FILLER, nested=st.booleans())
def test_nhs_number_shaped_values_are_refused(
    tmp_path: Path, before: str, number: str, after: str, nested: bool
) -> None:
    ledger = _shared_ledger(tmp_path)
    size = ledger.size
    value = f"{before}{'' if not before or not before[-1].isalnum() else ' '}{number}"
    value += f"{'' if not after or not after[0].isalnum() else ' '}{after}"
    subject = {"files": [{"file": value}]} if nested else {"what": value}
    with pytest.raises(PatientDataError):
        ledger.append("load", subject)
    assert ledger.size == size


@settings(
    deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=30
)
@given(number=st.integers(10**9, 10**10 - 1), sign=st.sampled_from([1, -1]))
def test_ten_digit_integers_are_refused(tmp_path: Path, number: int, sign: int) -> None:
    ledger = _shared_ledger(tmp_path)
    with pytest.raises(PatientDataError):
        ledger.append("load", {"rows": sign * number})


_LEDGERS: dict[Path, Ledger] = {}


def _shared_ledger(directory: Path) -> Ledger:
    """One ledger per test directory, reused across a property test's examples."""
    if directory not in _LEDGERS:
        _LEDGERS[directory] = open_ledger(directory)
    return _LEDGERS[directory]


@settings(
    deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=60
)
@given(digest=st.binary(min_size=32, max_size=32))
def test_hashes_and_identifiers_are_accepted(tmp_path: Path, digest: bytes) -> None:
    ledger = _shared_ledger(tmp_path)
    subject = {"file_sha256": digest.hex(), "what": f"output/{digest.hex()[:8]}.csv", "rows": 12}
    assert ledger.append("load", subject).index == ledger.size - 1


@pytest.mark.parametrize(
    "subject",
    [
        {"nhs_number": "x"},
        {"NHSNumber": "x"},
        {"name": "x"},
        {"Surname": "x"},
        {"totals": {"date_of_birth": "x"}},
        {"birth_date": "x"},
        {"home_address": "x"},
        {"rows": [{"postcode": "x"}]},
        {"rows": 0.5},
        {1: "x"},
    ],
)
def test_personal_keys_and_inexact_values_are_refused(tmp_path: Path, subject: dict) -> None:
    ledger = open_ledger(tmp_path)
    with pytest.raises(PatientDataError):
        ledger.append("load", subject)
    assert ledger.size == 1


def test_unknown_kinds_and_internal_kinds_are_refused(tmp_path: Path) -> None:
    ledger = open_ledger(tmp_path)
    for kind in ("jobs", "key_rotation", "key_init"):
        with pytest.raises(ValueError, match="unknown ledger kind"):
            ledger.append(kind, {})


def test_a_bad_record_in_a_batch_stores_nothing_from_that_batch(tmp_path: Path) -> None:
    ledger = open_ledger(tmp_path, checkpoint_every=2)
    before = ledger.consistency(1).new_root
    records = [("login", "bob", login("ok"))] * 5 + [("load", "ops", {"what": "999 000 0018"})]
    with pytest.raises(PatientDataError):
        ledger.append_many(records, batch_size=100)
    assert ledger.size == 1
    assert ledger.consistency(1).new_root == before
    assert ledger.append("login", login("after")).index == 1
    assert ledger.verify().ok


def test_the_public_view_shows_only_public_kinds_and_fields(tmp_path: Path) -> None:
    ledger = open_ledger(tmp_path)
    ledger.append(
        "account", {"person_id": "u-1", "public_name": "Dr A Analyst", "change": "created"}
    )
    ledger.append(
        "project",
        {"project_id": "P-7", "title": "Asthma", "purpose": "research", "status": "submitted"},
    )
    ledger.append("login", login("s-1"), actor="u-1")
    ledger.append("identifiable_read", {"table": "quarantine"}, actor="gp-9")
    ledger.append("job", JOB, actor="u-1")
    ledger.append("release", {"release_id": "R-1", "project_id": "P-7", "files": ["t.csv"]})
    view = ledger.public_view()
    assert [row["kind"] for row in view.to_list()] == ["account", "project", "job", "release"]
    assert "note" not in view.to_list()[1]
    text = view.render()
    assert "Dr A Analyst" in text and "Asthma" in text
    assert "pseudo-123" not in text and "s-1" not in text


def test_verify_file_needs_no_key(tmp_path: Path) -> None:
    with open_ledger(tmp_path) as ledger:
        ledger.append("job", JOB)
    shutil.rmtree(tmp_path / "keys")
    report = verify_file(tmp_path / "ledger.db", ORIGIN)
    assert report.ok and report.entries == 2
    assert "OK" in report.render()


def test_leaf_hashes_are_over_the_exact_entry_bytes(tmp_path: Path) -> None:
    ledger = open_ledger(tmp_path)
    receipt = ledger.append("job", JOB)
    assert receipt.proof is not None
    assert receipt.proof.leaf_hash == leaf_hash(receipt.entry)


def test_a_wrong_signature_on_a_checkpoint_is_not_accepted(tmp_path: Path) -> None:
    ledger = open_ledger(tmp_path)
    note = ledger.checkpoint()
    with pytest.raises(NoteError):
        open_checkpoint(note.replace(f"{ORIGIN}\n1\n", f"{ORIGIN}\n2\n"), [ledger.verifier])


def test_verify_file_refuses_a_missing_ledger(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        verify_file(tmp_path / "nowhere.db", ORIGIN)
    assert not (tmp_path / "nowhere.db").exists()


class FlakyStore(SqliteLedgerStore):
    """A store whose next append fails, as a full disk or a lost connection would."""

    fail_next = False

    def append(
        self, entries: Sequence[StoredEntry], checkpoints: Sequence[StoredCheckpoint]
    ) -> None:
        if self.fail_next:
            self.fail_next = False
            raise sqlite3.OperationalError("disk I/O error")
        super().append(entries, checkpoints)


def test_a_failed_write_leaves_the_tree_as_the_store_has_it(tmp_path: Path) -> None:
    store = FlakyStore(tmp_path / "ledger.db")
    ledger = Ledger(store, tmp_path / "keys", ORIGIN, checkpoint_every=2, clock=ManualClock())
    ledger.append("login", login("a"))
    root = ledger.consistency(1).new_root
    store.fail_next = True
    with pytest.raises(sqlite3.OperationalError):
        ledger.append_many(("login", "bob", login(f"s{i}")) for i in range(5))
    assert (ledger.size, ledger.consistency(1).new_root) == (2, root)
    assert ledger.append("job", JOB).verify([ledger.verifier])
    assert ledger.verify().ok


# --- batched encoding gives exactly the bytes of one-by-one encoding -----------------------

JSON_LEAF = st.none() | st.booleans() | st.integers(-(10**8), 10**8) | st.text(max_size=12)
JSON_VALUE = st.recursive(
    JSON_LEAF,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["actor", "file", "sha256", "n", "é"]), inner, max_size=3)
    ),
    max_leaves=8,
)
LOAD_FIELDS = sorted(ENTRY_KINDS["load"].fields)


@settings(deadline=None, max_examples=150)
@given(
    start=st.integers(0, 10**6),
    subjects=st.lists(st.dictionaries(st.sampled_from(LOAD_FIELDS), JSON_VALUE), max_size=6),
    actor=st.text(max_size=10),
)
def test_batched_encoding_is_the_canonical_encoding(
    start: int, subjects: list[dict[str, object]], actor: str
) -> None:
    time = "2026-01-02T03:04:05.000006Z"
    records = [("load", actor, subject) for subject in subjects]
    try:
        one_by_one = [encode_entry(start + i, time, *r) for i, r in enumerate(records)]
        expected: list[bytes] | type[Exception] = one_by_one
        for _, who, subject in records:
            check_value(who, "actor")
            check_subject(subject)
    except PatientDataError:
        expected = PatientDataError
    if expected is PatientDataError:
        with pytest.raises(PatientDataError):
            encode_entries(start, time, records)
    else:
        assert encode_entries(start, time, records) == expected


def test_a_subject_holding_the_batch_separator_is_encoded_one_by_one() -> None:
    files = [{"actor": "a"}, {"actor": "b"}]  # canonical JSON: ...},{"actor":...
    records = [("load", "ops", {"files": files}), ("load", "ops", {"rows": 1})]
    time = "2026-01-02T03:04:05.000006Z"
    expected = [encode_entry(7 + i, time, *r) for i, r in enumerate(records)]
    assert encode_entries(7, time, records) == expected


@settings(
    deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=40
)
@given(number=NHS_SHAPED, where=st.integers(0, 49), nested=st.booleans())
def test_an_nhs_number_anywhere_in_a_batch_refuses_the_batch(
    tmp_path: Path, number: str, where: int, nested: bool
) -> None:
    ledger = _shared_ledger(tmp_path)
    size = ledger.size
    records = [("load", "ops", {"file_sha256": "ab" * 32, "rows": i}) for i in range(50)]
    bad = {"files": [{"file": f"x {number}.csv"}]} if nested else {"what": f"id {number}"}
    records[where] = ("load", "ops", bad)
    with pytest.raises(PatientDataError):
        ledger.append_many(records, batch_size=20)
    assert ledger.size == size + 20 * (where // 20)  # earlier whole batches were logged
