"""The origin tells this environment's log apart from every other, and a key rotation hands over
to the new key while clients pinned to the old one keep accepting checkpoints (issue 18, hole 12).
"""

from __future__ import annotations

import base64
import shutil
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st
from ledger_support import ManualClock, job, login

from fivesafes.ledger import (
    DEFAULT_HANDOVER,
    Ledger,
    LedgerError,
    OriginError,
    configured_origin,
    origin_for,
    verify_file,
)
from fivesafes.ledger.keys import KEY_FILE, NEXT_KEY_FILE, RETIRING_KEY_FILE, write_key
from fivesafes.ledger.note import NoteSigner, open_checkpoint, parse_note, signed_by
from fivesafes.ledger.origin import PUBLIC_NAME_ENV, check_origin


@pytest.mark.parametrize(
    ("name", "origin"),
    [
        ("sde.example-icb.nhs.uk", "sde.example-icb.nhs.uk/ledger"),
        ("example.org/north-sde", "example.org/north-sde/ledger"),
        ("localhost:8443", "localhost:8443/ledger"),
    ],
)
def test_the_origin_is_the_public_name_and_ledger(name: str, origin: str) -> None:
    assert origin_for(name) == origin
    assert check_origin(origin) == origin


@pytest.mark.parametrize(
    "name",
    [
        "https://sde.example.nhs.uk",
        "sde.example.nhs.uk/",
        "SDE.Example.nhs.uk",
        "sde example",
        "sde+example.org",
        "-sde.example.org",
        "",
        "a" * 64 + ".org",
        "sde.example.org/ledger?x=1",
    ],
)
def test_a_public_name_that_cannot_name_a_log_is_refused(name: str) -> None:
    with pytest.raises(OriginError, match=PUBLIC_NAME_ENV):
        origin_for(name)


@given(st.text(min_size=1, max_size=30))
def test_origins_that_are_not_key_names_are_refused(origin: str) -> None:
    bad = "+" in origin or any(c.isspace() or ord(c) < 0x20 for c in origin)
    if bad:
        with pytest.raises(OriginError):
            check_origin(origin)
    else:
        assert check_origin(origin) == origin


def test_the_setting_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PUBLIC_NAME_ENV, raising=False)
    assert configured_origin() is None
    monkeypatch.setenv(PUBLIC_NAME_ENV, "sde.example.org")
    assert configured_origin() == "sde.example.org/ledger"
    monkeypatch.setenv(PUBLIC_NAME_ENV, "http://sde.example.org")
    with pytest.raises(OriginError):
        configured_origin()


def test_a_log_is_created_with_its_origin_and_keeps_it(tmp_path: Path) -> None:
    origin = origin_for("sde.example.org")
    ledger = Ledger.open(tmp_path / "l.db", tmp_path / "keys", origin)
    assert ledger.origin == origin and ledger.verifier.name == origin
    ledger.close()
    assert Ledger.open(tmp_path / "l.db", tmp_path / "keys").origin == origin  # read from the log
    with pytest.raises(LedgerError, match=r"origin is 'sde\.example\.org/ledger'"):
        Ledger.open(tmp_path / "l.db", tmp_path / "keys", origin_for("other.example.org"))
    report = verify_file(tmp_path / "l.db")
    assert report.ok and report.origin == origin
    wrong = verify_file(tmp_path / "l.db", origin_for("other.example.org"))
    assert not wrong.ok and "origin" in wrong.render()


def test_logs_without_a_public_name_get_unique_local_origins(tmp_path: Path) -> None:
    a = Ledger.open(tmp_path / "a.db", tmp_path / "a")
    b = Ledger.open(tmp_path / "b.db", tmp_path / "b")
    assert a.origin != b.origin
    assert a.origin.endswith(".localhost/ledger") and check_origin(a.origin)
    assert open_checkpoint(a.checkpoint(), [a.verifier]).origin == a.origin


def test_a_log_from_before_origins_were_settings_keeps_the_fixed_one(tmp_path: Path) -> None:
    legacy = "fivesafes.local/ledger"
    Ledger.open(tmp_path / "l.db", tmp_path / "keys", legacy).close()
    reopened = Ledger.open(tmp_path / "l.db", tmp_path / "keys")
    assert reopened.origin == legacy
    assert reopened.verify().ok


# --- key rotation with a handover -----------------------------------------------------------


def rotated(tmp_path: Path, handover: timedelta = DEFAULT_HANDOVER) -> tuple[Ledger, ManualClock]:
    clock = ManualClock()
    ledger = Ledger.open(
        tmp_path / "l.db", tmp_path / "keys", origin_for("sde.example.org"), clock=clock
    )
    ledger.append_many(("login", "ann", login(f"t{i}")) for i in range(10))
    ledger.rotate_key(handover)
    return ledger, clock


def test_during_the_handover_every_checkpoint_carries_both_keys(tmp_path: Path) -> None:
    ledger, clock = rotated(tmp_path)
    old, new = ledger.keys
    for week in range(4):  # 28 days: inside the 30-day handover
        note = ledger.append("job", job(f"J-{week}")).checkpoint
        assert note is not None
        assert signed_by(parse_note(note), [old, new]) == [new, old]
        assert open_checkpoint(note, [old]) == open_checkpoint(note, [new])
        clock.advance(timedelta(days=7).total_seconds())
    assert (tmp_path / "keys" / RETIRING_KEY_FILE).exists()
    assert ledger.verify().ok


def test_after_the_handover_only_the_new_key_signs_and_the_old_one_is_deleted(
    tmp_path: Path,
) -> None:
    ledger, clock = rotated(tmp_path)
    old, new = ledger.keys
    clock.advance(DEFAULT_HANDOVER.total_seconds() + 1)
    note = ledger.append("job", job("J-1")).checkpoint
    assert note is not None and signed_by(parse_note(note), [old, new]) == [new]
    ledger.close()
    Ledger.open(tmp_path / "l.db", tmp_path / "keys", clock=clock).close()
    assert not (tmp_path / "keys" / RETIRING_KEY_FILE).exists()
    assert verify_file(tmp_path / "l.db").ok


def test_a_rotation_for_a_leaked_key_has_no_handover(tmp_path: Path) -> None:
    ledger, _ = rotated(tmp_path, timedelta(0))
    old, new = ledger.keys
    note = ledger.append("job", job("J-1")).checkpoint
    assert note is not None and signed_by(parse_note(note), [old, new]) == [new]
    assert not (tmp_path / "keys" / RETIRING_KEY_FILE).exists()


def test_a_second_rotation_during_a_handover_retires_the_key_it_replaces(tmp_path: Path) -> None:
    ledger, _ = rotated(tmp_path)
    ledger.rotate_key()
    first, second, third = ledger.keys
    note = ledger.append("job", job("J-1")).checkpoint
    assert note is not None and signed_by(parse_note(note), ledger.keys) == [third, second]
    ledger.close()
    reopened = Ledger.open(tmp_path / "l.db", tmp_path / "keys", clock=ManualClock())
    assert reopened.verify(trusted_key=first.vkey).ok


def test_an_interrupted_rotation_keeps_the_old_key_for_the_handover(tmp_path: Path) -> None:
    ledger, clock = rotated(tmp_path)
    keys = tmp_path / "keys"
    ledger.close()
    # As if killed after the rotation entry was committed but before the keys were swapped.
    shutil.copy(keys / KEY_FILE, keys / NEXT_KEY_FILE)
    shutil.copy(keys / RETIRING_KEY_FILE, keys / KEY_FILE)
    (keys / RETIRING_KEY_FILE).unlink()
    reopened = Ledger.open(tmp_path / "l.db", keys, clock=clock)
    old, new = reopened.keys
    assert reopened.verifier == new
    note = reopened.append("job", job("J-1")).checkpoint
    assert note is not None and signed_by(parse_note(note), [old, new]) == [new, old]


def test_a_retiring_key_that_the_log_never_retired_is_refused(tmp_path: Path) -> None:
    ledger, clock = rotated(tmp_path)
    ledger.close()
    stranger = NoteSigner("sde.example.org/ledger", Ed25519PrivateKey.generate())
    write_key(tmp_path / "keys" / RETIRING_KEY_FILE, stranger.private_key)
    with pytest.raises(LedgerError, match="not the key the log's last rotation retired"):
        Ledger.open(tmp_path / "l.db", tmp_path / "keys", clock=clock)


def test_a_forged_co_signature_fails_verify(tmp_path: Path) -> None:
    """A co-signature line that claims the retiring key must verify, as C2SP requires."""
    ledger, _ = rotated(tmp_path)
    ledger.append("job", job("J-1"))
    ledger.close()
    db = sqlite3.connect(tmp_path / "l.db", isolation_level=None)
    db.execute("DROP TRIGGER checkpoints_no_update")
    (size, note) = db.execute("SELECT size, note FROM checkpoints ORDER BY size DESC").fetchone()
    text, _, lines = note.rpartition("\n\n")
    signer_line, cosigner_line = lines.rstrip("\n").split("\n")
    name, encoded = cosigner_line.removeprefix("— ").split(" ")
    raw = bytearray(base64.b64decode(encoded))
    raw[-1] ^= 1  # same key ID, a signature that does not verify
    broken = f"— {name} {base64.b64encode(bytes(raw)).decode()}"
    forged = f"{text}\n\n{signer_line}\n{broken}\n"
    db.execute("UPDATE checkpoints SET note = ? WHERE size = ?", (forged, size))
    db.close()
    report = verify_file(tmp_path / "l.db")
    assert not report.ok and "invalid signature" in report.render()
