"""Votes on one release request racing each other, as attacks: checkers told a request is up for
review all vote at that very moment, and a hostile checker votes twice at once, from two sessions,
hoping both count.

Each round, on a control plane a server's threads share (SQLite, and PostgreSQL: they lock
differently), the votes are cast by threads released together by a barrier, each starting a
little later than the one before by an amount that grows each round, and which checker goes first
turns round by round, so that each vote lands before, inside and after the others' transactions.
The invariant after all finish: the votes recorded are exactly those that counted, rounds 1, 2
(and 3 only when the first two split), none after the request was decided; the request's state is
what those votes lead to; the ledger holds one sealed commitment per recorded vote (matching its
statement), each vote revealed once, and one decision. Nobody on the project, the requester
least of all, ever has a vote counted.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence

import orjson
import pytest
from release_support import People, approved_project, race_request
from sqlalchemy import select

from fivesafes.governance import AccessDenied
from fivesafes.release import (
    ReleaseError,
    ReleaseOffice,
    State,
    Verdict,
    outcome_of,
)
from fivesafes.release import review_release as cast
from fivesafes.release.model import OPEN_FOR_VOTES
from fivesafes.release.reviews import commitment
from fivesafes.release.tables import ReleaseRequestRow, ReleaseVoteRow

ROUNDS = 12
STAGGER_S = 0.001
"""How much later than the last round's each vote after the first starts: not a timing
assertion, only a sweep of where in each other's transactions the votes land."""
REFUSALS = ("takes no more votes", "has already voted on", "is on project", "may not review")
"""What a vote refused for the right reason says: the request decided, the checker's vote
already in, or the voter on the project (or not an output checker at all)."""


def _together(calls: Sequence[Callable[[], State]], delays: Sequence[float]) -> list[str]:
    """Run ``calls`` side by side, each ``delays[i]`` seconds after all are released; what each
    came to: the state it left the request in, or "refused"."""
    barrier, outcome = threading.Barrier(len(calls)), {}

    def run(i: int) -> None:
        barrier.wait()
        time.sleep(delays[i])
        try:
            outcome[i] = calls[i]().value
        except (ReleaseError, AccessDenied) as refused:
            assert any(reason in str(refused) for reason in REFUSALS), refused
            outcome[i] = "refused"

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcome) == len(calls), "a thread failed: see its traceback"
    return [outcome[i] for i in range(len(calls))]


def _vote(
    office: ReleaseOffice, people: People, rid: str, who: str, verdict: Verdict, key: str
) -> Callable[[], State]:
    """``who`` voting ``verdict`` on ``rid``, signing with ``key``'s key, when called."""
    return lambda: cast(office, people.token(who), rid, verdict, "checked", people.key(key))


def _delays(n: int, count: int) -> list[float]:
    """Round ``n``'s start delays: each vote later than the last by ``n`` staggers, the first
    turning round, so each thread in turn goes first."""
    order = [(i - n) % count for i in range(count)]
    return [place * n * STAGGER_S for place in order]


def _consistent(office: ReleaseOffice, rid: str) -> tuple[State, list[ReleaseVoteRow]]:
    """Check the invariant on ``rid`` (see the module's docstring); its state and votes."""
    with office.cp.transaction() as session:
        request = session.get(ReleaseRequestRow, rid)
        assert request is not None
        request_state = State(request.state)
        votes = list(
            session.scalars(
                select(ReleaseVoteRow)
                .where(ReleaseVoteRow.release_id == rid)
                .order_by(ReleaseVoteRow.round)
            )
        )
    verdicts = [Verdict(v.verdict) for v in votes]
    assert [v.round for v in votes] == list(range(1, len(votes) + 1)), "rounds not 1, 2, ..."
    assert request_state is outcome_of(verdicts), "the state is not what the votes lead to"
    assert all(outcome_of(verdicts[:i]) in OPEN_FOR_VOTES for i in range(len(votes))), (
        f"a vote was recorded after the request was decided: {[v.person_id for v in votes]}"
    )
    entries = [orjson.loads(e) for e in office.cp.ledger.entries()]
    mine = [e["subject"] for e in entries if e["kind"] == "review"]
    mine = [s for s in mine if s.get("release_id") == rid]
    sealed = [s for s in mine if "vote_sha256" in s and "signature" not in s]
    revealed = [s for s in mine if "signature" in s]
    decisions = [s["decision"] for s in mine if set(s) == {"release_id", "decision"}]
    assert [(s["round"], s["vote_sha256"]) for s in sealed] == [
        (v.round, commitment(v.statement)) for v in votes
    ], "the ledger's sealed votes are not the votes recorded"
    decided = request_state not in OPEN_FOR_VOTES
    assert sorted(s["round"] for s in revealed) == ([v.round for v in votes] if decided else [])
    final = [d for d in decisions if State(d) not in OPEN_FOR_VOTES]
    assert final == ([request_state.value] if decided else []), "decided more than once"
    assert all(v.revealed == decided for v in votes)
    return request_state, votes


@pytest.mark.parametrize("third", [Verdict.APPROVE, Verdict.RETURN])
def test_three_checkers_voting_at_once_decide_once(
    any_office: ReleaseOffice, third: Verdict
) -> None:
    """chk1 and chk2 approve while chk3 votes ``third``: two agreeing votes decide (approved),
    and a third counts only when it came in time to split the first two."""
    office, people = any_office, approved_project(any_office)
    seen: Counter[str] = Counter()
    for n in range(ROUNDS):
        rid = race_request(office, people, f"job-vote-race-{n}")
        ballot = [("chk1", Verdict.APPROVE), ("chk2", Verdict.APPROVE), ("chk3", third)]
        votes = [_vote(office, people, rid, who, verdict, who) for who, verdict in ballot]
        outcomes = _together(votes, _delays(n, len(votes)))
        state, recorded = _consistent(office, rid)
        assert state is State.APPROVED, "two approvals out of three must approve"
        counted = sorted(ballot[i][0] for i, o in enumerate(outcomes) if o != "refused")
        assert counted == sorted(v.person_id for v in recorded), "a refused vote was recorded"
        seen[f"{len(recorded)} votes counted, {state.value}"] += 1
    print(dict(seen))  # what the rounds came to, for the record (pytest -rP shows it)


def test_one_checker_voting_twice_at_once_counts_once(any_office: ReleaseOffice) -> None:
    """chk2 has voted to return; chk1 now approves and rejects at once from two sessions while
    chk4 (on the project) and ana (its requester, with chk1's key) vote too: only one of chk1's
    votes counts, the request awaiting a third vote or returned as that one vote says, and neither
    chk4's nor ana's counts."""
    office, people = any_office, approved_project(any_office)
    seen: Counter[str] = Counter()
    for n in range(ROUNDS):
        rid = race_request(office, people, f"job-vote-race-{n}")
        first = _vote(office, people, rid, "chk2", Verdict.RETURN, "chk2")
        assert first() is State.UNDER_REVIEW
        votes = [
            _vote(office, people, rid, "chk1", Verdict.APPROVE, "chk1"),
            _vote(office, people, rid, "chk1", Verdict.REJECT, "chk1"),
            _vote(office, people, rid, "chk4", Verdict.APPROVE, "chk4"),
            _vote(office, people, rid, "ana", Verdict.APPROVE, "chk1"),
        ]
        outcomes = _together(votes, _delays(n, len(votes)))
        state, recorded = _consistent(office, rid)
        assert outcomes[2:] == ["refused", "refused"], "someone on the project voted"
        assert sorted(v.person_id for v in recorded) == ["chk1", "chk2"], "chk1 counted twice"
        assert outcomes[:2].count("refused") == 1, outcomes
        chk1 = next(v for v in recorded if v.person_id == "chk1")
        assert Verdict(chk1.verdict) is (
            Verdict.APPROVE if outcomes[1] == "refused" else Verdict.REJECT
        )
        seen[f"chk1's {chk1.verdict} counted, {state.value}"] += 1
    print(dict(seen))  # what the rounds came to, for the record (pytest -rP shows it)
