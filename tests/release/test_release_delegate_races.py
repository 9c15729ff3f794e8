"""A release delegate's vote racing the end of their delegation, as an attack: a hostile checker,
told their delegation is being withdrawn (or the dataset deleted), votes at that very moment.

Each round, on a control plane a server's threads share (SQLite, and PostgreSQL: they lock
differently), one thread casts chk1's vote on a fresh request while another withdraws chk1's
delegation of ``patients`` (or deletes ``hospital_admissions``, which withdraws every delegation
of it), the two released together by a barrier; the second starts a little later each round, so
that the withdrawal lands before, inside and after the vote's transaction. The invariant after
both finish: the vote was refused, or it counted and its sealed ledger entry comes before the
withdrawal's. Each writes its ledger entry once its row is written, and a row the other holds
waits for the other's commit, so the ledger's order is the order they took effect: never a vote
counted that took effect after the delegation ended.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from governance_support import delegate
from release_support import approved_project, race_request

from fivesafes.governance import AccessDenied
from fivesafes.governance.datasets import mark_deleted
from fivesafes.governance.delegates import withdraw_delegate
from fivesafes.release import ReleaseOffice, State, Verdict, review_release

ROUNDS = 16
STAGGER_S = 0.0015
"""How much later than the last round's the withdrawal starts: not a timing assertion, only a
sweep of where in the vote's transaction it lands."""


def _race(vote: Callable[[], State], end: Callable[[], None], delay: float) -> State | None:
    """Run ``vote`` and ``end`` side by side, ``end`` ``delay`` seconds after both are released;
    the vote's state, or None if it was refused."""
    barrier, outcome = threading.Barrier(2), {}

    def voting() -> None:
        barrier.wait()
        try:
            outcome["vote"] = vote()
        except AccessDenied as refused:
            assert "is not a release delegate of" in str(refused)
            outcome["vote"] = None

    def ending() -> None:
        barrier.wait()
        time.sleep(delay)
        end()
        outcome["end"] = True

    threads = [threading.Thread(target=voting), threading.Thread(target=ending)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(outcome) == {"vote", "end"}, "a thread failed: see its traceback"
    return outcome["vote"]


def _order(office: ReleaseOffice, rid: str, dataset: str) -> tuple[int | None, int]:
    """Where in the ledger chk1's sealed vote on ``rid`` is (None if it was never cast), and
    where the last withdrawal of chk1's delegation of ``dataset`` is."""
    entries: list[dict[str, Any]] = [orjson.loads(e) for e in office.cp.ledger.entries()]
    sealed = {"release_id": rid, "actor": "chk1", "kind": "review", "round": True}
    withdrawn = {
        "kind": "dataset",
        "dataset": dataset,
        "delegate": "chk1",
        "change": "delegate withdrawn",
    }
    votes = [i for i, e in enumerate(entries) if _is(e, sealed)]
    withdrawals = [i for i, e in enumerate(entries) if _is(e, withdrawn)]
    return (votes[0] if votes else None), withdrawals[-1]


def _is(entry: dict[str, Any], wanted: dict[str, Any]) -> bool:
    """Whether a ledger entry's subject (or kind, or actor) holds each of ``wanted`` (True: only
    that it has the field)."""
    found = {**entry["subject"], "actor": entry["actor"], "kind": entry["kind"]}
    return all(k in found and (v is True or found[k] == v) for k, v in wanted.items())


def _counted(vote: State | None, at: int | None, withdrawn: int) -> str:
    """What a round shows: refused, counted in time, or (the attack working) counted late."""
    if vote is None:
        assert at is None, "a refused vote left a sealed vote in the ledger"
        return "refused"
    assert at is not None, "a counted vote is missing from the ledger"
    return "counted before" if at < withdrawn else "COUNTED AFTER THE WITHDRAWAL"


@pytest.mark.parametrize("ending", ["withdrawal", "deletion"])
def test_a_vote_racing_the_end_of_its_delegation_never_counts_after_it(
    any_office: ReleaseOffice, ending: str
) -> None:
    office, people = any_office, approved_project(any_office)
    cp, cus, apo = office.cp, people.token("cus"), people.token("apo")
    dataset = "patients" if ending == "withdrawal" else "hospital_admissions"
    seen = []
    for n in range(ROUNDS):
        rid = race_request(office, people, f"job-race-{n}")

        def vote(rid: str = rid) -> State:
            return review_release(
                office, people.token("chk1"), rid, Verdict.APPROVE, "ok", people.key("chk1")
            )

        def end() -> None:
            if ending == "withdrawal":
                withdraw_delegate(cp, cus, dataset, "chk1")
            else:
                assert mark_deleted(cp, dataset, "cus")

        state = _race(vote, end, n * STAGGER_S)
        seen.append(_counted(state, *_order(office, rid, dataset)))
        delegate(cp, cus, apo, [dataset], ["chk1"])  # delegated again (registered again) for next
    assert "COUNTED AFTER THE WITHDRAWAL" not in seen, Counter(seen)
