"""The witness refuses rollbacks and split views, and remembers what it accepted."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ledger_support import ORIGIN, job, login, open_ledger

from fivesafes.ledger import Ledger, NoteSigner, Witness, WitnessRefusal
from fivesafes.ledger.note import open_checkpoint


def grown(tmp_path: Path, entries: int = 30) -> Ledger:
    ledger = open_ledger(tmp_path, checkpoint_every=4)
    ledger.append_many(("login", "bob", login(f"s{i}")) for i in range(entries))
    ledger.checkpoint()
    return ledger


def test_an_honest_log_is_accepted_checkpoint_by_checkpoint(tmp_path: Path) -> None:
    ledger = grown(tmp_path)
    witness = Witness(ORIGIN, [ledger.verifier])
    previous = 0
    for cp in ledger.checkpoints():
        proof = ledger.consistency(previous, cp.size).path if previous else ()
        assert witness.observe(cp.note, proof).size == cp.size
        previous = cp.size
    assert witness.latest is not None and witness.latest.size == ledger.size


def test_a_smaller_checkpoint_is_refused_as_a_rollback(tmp_path: Path) -> None:
    ledger = grown(tmp_path)
    witness = Witness(ORIGIN, [ledger.verifier])
    witness.observe(ledger.checkpoints()[-1].note)
    with pytest.raises(WitnessRefusal, match="rollback"):
        witness.observe(ledger.checkpoints()[2].note)


def test_a_larger_checkpoint_without_a_consistency_proof_is_refused(tmp_path: Path) -> None:
    ledger = grown(tmp_path)
    witness = Witness(ORIGIN, [ledger.verifier])
    witness.observe(ledger.checkpoints()[1].note)
    with pytest.raises(WitnessRefusal, match="split view"):
        witness.observe(ledger.checkpoints()[-1].note)


def test_a_forked_log_is_refused_as_a_split_view(tmp_path: Path) -> None:
    honest = grown(tmp_path / "a", entries=10)
    honest.close()
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    honest, fork = open_ledger(tmp_path / "a"), open_ledger(tmp_path / "b")
    common = honest.size
    honest.append("job", job("J-1"))
    fork.append("job", job("J-1-altered"))
    witness = Witness(ORIGIN, [honest.verifier])
    witness.observe(honest.checkpoint())
    with pytest.raises(WitnessRefusal, match="split view"):
        witness.observe(fork.checkpoint())  # same size, different root
    fork.append("job", job("J-2"))
    with pytest.raises(WitnessRefusal, match="split view"):
        witness.observe(fork.checkpoint(), fork.consistency(common + 1).path)


def test_checkpoints_from_other_keys_or_logs_are_refused(tmp_path: Path) -> None:
    ledger = grown(tmp_path)
    stranger = NoteSigner(ORIGIN, Ed25519PrivateKey.generate())
    with pytest.raises(WitnessRefusal, match="signature"):
        Witness(ORIGIN, [stranger.verifier]).observe(ledger.checkpoint())
    with pytest.raises(WitnessRefusal, match="not"):
        Witness("other.example/log", [ledger.verifier]).observe(ledger.checkpoint())


def test_the_witness_remembers_across_restarts(tmp_path: Path) -> None:
    ledger = grown(tmp_path / "log")
    state = tmp_path / "witness-state"
    Witness(ORIGIN, [ledger.verifier], state).observe(ledger.checkpoint())
    restarted = Witness(ORIGIN, [ledger.verifier], state)
    assert restarted.latest == open_checkpoint(ledger.checkpoint(), [ledger.verifier])
    with pytest.raises(WitnessRefusal, match="rollback"):
        restarted.observe(ledger.checkpoints()[0].note)


def test_the_witness_follows_a_key_rotation_through_the_handover_or_once_told(
    tmp_path: Path,
) -> None:
    ledger = grown(tmp_path)
    witness = Witness(ORIGIN, [ledger.verifier])
    witness.observe(ledger.checkpoint())
    old_size = ledger.size
    ledger.rotate_key()  # with the default handover the old key co-signs
    ledger.append("job", job("J-8"))
    assert witness.observe(ledger.checkpoint(), ledger.consistency(old_size).path)
    old_size = ledger.size
    ledger.rotate_key(handover=timedelta(0))  # no handover: the witness must be told
    ledger.append("job", job("J-9"))
    with pytest.raises(WitnessRefusal, match="signature"):
        witness.observe(ledger.checkpoint(), ledger.consistency(old_size).path)
    witness.trust(ledger.verifier)
    assert (
        witness.observe(ledger.checkpoint(), ledger.consistency(old_size).path).size == ledger.size
    )


@settings(
    deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=40
)
@given(picks=st.lists(st.integers(0, 8), min_size=1, max_size=12))
def test_accepts_exactly_the_non_decreasing_sequences(tmp_path: Path, picks: list[int]) -> None:
    ledger = _ledger_for(tmp_path)
    checkpoints = ledger.checkpoints()
    witness = Witness(ORIGIN, [ledger.verifier])
    for pick in picks:
        cp = checkpoints[pick]
        latest = witness.latest
        if latest is not None and cp.size < latest.size:
            with pytest.raises(WitnessRefusal, match="rollback"):
                witness.observe(cp.note, ledger.consistency(cp.size, latest.size).path)
        else:
            proof = ledger.consistency(latest.size, cp.size).path if latest else ()
            assert witness.observe(cp.note, proof).size == cp.size


_LEDGERS: dict[Path, Ledger] = {}


def _ledger_for(directory: Path) -> Ledger:
    if directory not in _LEDGERS:
        _LEDGERS[directory] = grown(directory)
    return _LEDGERS[directory]
