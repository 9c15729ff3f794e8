"""The mechanism under every recoverable command, attacked directly: intents and outcomes in the
ledger, the lock that tells a dead owner from a live one, settling on error, recovery's sweep,
and failpoints that stay inert unless armed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fivesafes.environment.recovery import recover
from fivesafes.failpoints import FAILPOINT_ENV
from fivesafes.governance import ControlPlane
from fivesafes.ledger.intents import INTERRUPTED, Intent, OperationBusy, OperationLock
from fivesafes.store.config import DataDir


@pytest.fixture
def cp(tmp_path: Path) -> Iterator[ControlPlane]:
    data_dir = DataDir.from_env(tmp_path / "env")
    with ControlPlane.open(
        data_dir, url=f"sqlite:///{tmp_path / 'env' / 'control.sqlite'}"
    ) as plane:
        yield plane


def _kinds(cp: ControlPlane) -> list[tuple[str, dict[str, object]]]:
    import orjson

    records = [orjson.loads(e) for e in cp.ledger.entries()]
    return [(r["kind"], r["subject"]) for r in records if r["kind"] != "key_init"]


def test_an_outcome_is_the_subject_the_intent_promised_and_answers_it(cp: ControlPlane) -> None:
    with cp.operation("load", "l1", lambda _: pytest.fail("not needed")) as op:
        intent = op.intend({"load_id": "l1", "totals": {"loaded": "3"}}, "cara")
        assert cp.open_intents() == [intent]
        op.commit()
    assert cp.open_intents() == []
    (_, promised), (kind, outcome) = _kinds(cp)
    assert promised == {"operation": "load", "key": "l1", "outcome": dict(intent.outcome)}
    assert (kind, outcome) == ("load", {"load_id": "l1", "totals": {"loaded": "3"}, "intent": 1})


@pytest.mark.parametrize("made", [True, False])
def test_a_failure_after_the_intent_is_settled_from_the_state_at_once(
    cp: ControlPlane, made: bool
) -> None:
    looked: list[Intent] = []

    def resolve(intent: Intent) -> bool:
        looked.append(intent)
        return made

    with pytest.raises(OSError, match="disk full"), cp.operation("load", "l2", resolve) as op:
        op.intend({"load_id": "l2"}, "cara")
        raise OSError("disk full")
    assert [i.key for i in looked] == ["l2"] and cp.open_intents() == []
    kind, subject = _kinds(cp)[-1]
    if made:  # the change was there after all: the promised outcome, not a guess
        assert (kind, subject) == ("load", {"load_id": "l2", "intent": 1})
    else:
        assert kind == "abandoned" and "OSError" in str(subject["reason"])


def test_an_intent_whose_state_cannot_be_read_stays_open_for_recovery(cp: ControlPlane) -> None:
    def unreadable(_: Intent) -> bool:
        raise RuntimeError("store busy")

    with pytest.raises(OSError), cp.operation("load", "l3", unreadable) as op:
        op.intend({"load_id": "l3"}, "cara")
        raise OSError("crash")
    assert [i.key for i in cp.open_intents()] == ["l3"]  # never guessed either way
    # the next attempt at the same operation settles it before doing anything else
    with cp.operation("load", "l3", lambda _: False):
        assert cp.open_intents() == []
    kind, subject = _kinds(cp)[-1]
    assert kind == "abandoned" and subject["reason"] == INTERRUPTED


HOLDER = """
import sys, time
from pathlib import Path
from fivesafes.ledger.intents import OperationLock
lock = OperationLock.claim(Path(sys.argv[1]), "release", "rel-1")
assert lock is not None
print("held", flush=True)
time.sleep(600)
"""


def test_a_lock_is_busy_while_its_owner_lives_and_free_the_moment_it_is_killed(
    cp: ControlPlane, tmp_path: Path
) -> None:
    assert cp.lock_dir is not None
    owner = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(cp.lock_dir)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert owner.stdout is not None and owner.stdout.readline() == "held\n"
        assert OperationLock.claim(cp.lock_dir, "release", "rel-1") is None
        busy = pytest.raises(OperationBusy, match="under way in another process")
        with busy, cp.operation("release", "rel-1", lambda _: False):
            pass
        other = OperationLock.claim(cp.lock_dir, "release", "rel-2")  # another key, another lock
        assert other is not None
        other.release(remove=True)
    finally:
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait()
    lock = OperationLock.claim(cp.lock_dir, "release", "rel-1")
    assert lock is not None
    lock.release(remove=True)


def test_recovery_leaves_a_live_owners_intent_alone(cp: ControlPlane, tmp_path: Path) -> None:
    with cp.operation("load", "l4", lambda _: pytest.fail("a live owner's state")) as op:
        op.intend({"load_id": "l4"}, "cara")
        assert recover(cp, DataDir.from_env(tmp_path / "env")) == []  # we hold its lock
        op.commit()


DIES_BEFORE_INTENT = """
import os, signal, sys
from pathlib import Path
from fivesafes.ledger.intents import OperationLock
lock = OperationLock.claim(Path(sys.argv[1]), "release", "rel-9")
staging = Path(sys.argv[2])
lock.scratch(staging)
staging.mkdir(parents=True)
(staging / "table.csv").write_text("a,b\\n")
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_recovery_removes_scratch_an_owner_made_before_dying_without_an_intent(
    cp: ControlPlane, tmp_path: Path
) -> None:
    staging = tmp_path / "env" / "released" / "p" / "rel-9.partial"
    died = subprocess.run([sys.executable, "-c", DIES_BEFORE_INTENT, str(cp.lock_dir), staging])
    assert died.returncode == -signal.SIGKILL and staging.is_dir()
    recovered = recover(cp, DataDir.from_env(tmp_path / "env"))
    assert [(r.operation, r.key, r.outcome) for r in recovered] == [("release", "rel-9", "tidied")]
    assert not staging.exists() and staging.parent.exists()
    assert _kinds(cp) == []  # nothing was announced, so nothing is logged
    assert recover(cp, DataDir.from_env(tmp_path / "env")) == []  # and the lock file is gone


ARMED = """
from fivesafes.failpoints import failpoint
failpoint("a.first")
print("passed a.first", flush=True)
failpoint("a.second")
print("passed a.second", flush=True)
"""


@pytest.mark.parametrize(
    ("armed", "code", "said"),
    [
        ("", 0, "passed a.first\npassed a.second\n"),
        ("a.other", 0, "passed a.first\npassed a.second\n"),
        ("a.second", -signal.SIGKILL, "passed a.first\n"),
    ],
)
def test_a_failpoint_kills_only_where_it_is_armed(armed: str, code: int, said: str) -> None:
    env = {**os.environ, FAILPOINT_ENV: armed}
    ran = subprocess.run([sys.executable, "-c", ARMED], env=env, capture_output=True, text=True)
    assert (ran.returncode, ran.stdout) == (code, said)
