"""Release delegates (SATRE 3.1.06), as attacks: egress is a permission of individual people
given per dataset on its owner's behalf, so an output checker's vote counts only where they are
a confirmed, unwithdrawn delegate of every dataset the request's job read.

The fixture's job read ``patients`` and ``hospital_admissions``; chk1..chk4 are delegates of
both (release_support.approved_project). Each attacker below is an output checker the
environment appointed, off the project, with a registered key: only the delegation is missing.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import orjson
import pytest
from governance_support import delegate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from release_support import PROJECT, SAFE_COUNTS, People, Study, counts_csv, held_job

from fivesafes.governance import AccessDenied, Role, change_account
from fivesafes.governance.datasets import mark_deleted
from fivesafes.governance.delegates import (
    confirm_delegate,
    delegations,
    record_delegate,
    withdraw_delegate,
)
from fivesafes.release import ReleaseOffice, State, Verdict, request_release, review_release

WHY = "For the annual report."
TABLE = "output/table.csv"
POOL = ("patients", "hospital_admissions", "clinical_events", "deaths")
"""Datasets a job may have read, in the hypothesis below."""


def _request(office: ReleaseOffice, people: People, study: Study) -> str:
    study.write(TABLE, counts_csv(SAFE_COUNTS))
    study.record_job("summarise", [TABLE])
    rid, _ = request_release(office, people.token("ana"), PROJECT, study.root, [TABLE], WHY)
    return rid


def _vote(office: ReleaseOffice, people: People, who: str, rid: str) -> State:
    token, key = people.token(who), people.key(who)
    return review_release(office, token, rid, Verdict.APPROVE, "checked", key)


def _entries(office: ReleaseOffice, kind: str) -> list[dict[str, Any]]:
    return [e for e in map(orjson.loads, office.cp.ledger.entries()) if e["kind"] == kind]


def _refusals(office: ReleaseOffice, who: str) -> list[str]:
    outcomes = [e["subject"]["outcome"] for e in _entries(office, "login") if e["actor"] == who]
    return [o for o in outcomes if o.startswith("refused")]


def test_a_checker_appointed_environment_wide_but_not_delegated_cannot_vote(
    office: ReleaseOffice, people: People, study: Study
) -> None:
    people.world.add("eve", Role.OUTPUT_CHECKER)
    rid = _request(office, people, study)
    with pytest.raises(AccessDenied, match="delegate of hospital_admissions, patients:"):
        _vote(office, people, "eve", rid)
    assert _refusals(office, "eve") == [
        "refused: eve is not a release delegate of hospital_admissions, patients: only a "
        "delegate of every dataset a job read may judge its outputs"
    ]
    assert _vote(office, people, "chk1", rid) is State.UNDER_REVIEW  # nothing of eve's counted
    assert _vote(office, people, "chk2", rid) is State.APPROVED


def test_a_delegate_of_one_dataset_cannot_approve_a_job_that_read_two(
    office: ReleaseOffice, people: People, study: Study
) -> None:
    people.world.add("eve", Role.OUTPUT_CHECKER)
    delegate(office.cp, people.token("cus"), people.token("apo"), ["patients"], ["eve"])
    rid = _request(office, people, study)
    with pytest.raises(AccessDenied, match=r"not a release delegate of hospital_admissions:"):
        _vote(office, people, "eve", rid)


def test_a_withdrawn_or_unconfirmed_delegate_cannot_vote(
    office: ReleaseOffice, people: People, study: Study
) -> None:
    rid = _request(office, people, study)
    withdraw_delegate(office.cp, people.token("cus"), "patients", "chk1")
    with pytest.raises(AccessDenied, match=r"chk1 is not a release delegate of patients:"):
        _vote(office, people, "chk1", rid)
    # delegated again, recorded but not yet confirmed: still nothing
    record_delegate(office.cp, people.token("cus"), "patients", "chk1", "owner's email, ref 7")
    with pytest.raises(AccessDenied, match=r"chk1 is not a release delegate of patients:"):
        _vote(office, people, "chk1", rid)
    confirm_delegate(office.cp, people.token("apo"), "patients", "chk1")
    assert _vote(office, people, "chk1", rid) is State.UNDER_REVIEW
    changes = [
        (e["subject"]["change"], e["actor"])
        for e in _entries(office, "dataset")
        if e["subject"].get("delegate") == "chk1" and e["subject"]["dataset"] == "patients"
    ]
    assert changes[-4:] == [
        ("delegate confirmed", "apo"),
        ("delegate withdrawn", "cus"),
        ("delegate recorded", "cus"),
        ("delegate confirmed", "apo"),
    ]


def test_deleting_a_dataset_withdraws_its_delegates(
    office: ReleaseOffice, people: People, study: Study
) -> None:
    rid = _request(office, people, study)
    mark_deleted(office.cp, "hospital_admissions", "cus")
    with pytest.raises(AccessDenied, match=r"chk1 is not a release delegate of hospital_adm"):
        _vote(office, people, "chk1", rid)
    assert not any(d.in_force for d in delegations(office.cp) if d.dataset == "hospital_admissions")


def test_a_custodian_cannot_confirm_their_own_delegation(
    office: ReleaseOffice, people: People, study: Study
) -> None:
    """Not as a custodian (confirming is an approver's), nor by becoming an approver after."""
    people.world.add("eve", Role.OUTPUT_CHECKER)
    people.world.add("cal", Role.DATA_CUSTODIAN)
    record_delegate(office.cp, people.token("cal"), "patients", "eve", "owner's letter")
    with pytest.raises(AccessDenied, match="cal may not approve dataset"):
        confirm_delegate(office.cp, people.token("cal"), "patients", "eve")
    change_account(office.cp, people.token("cus"), "cal", roles=frozenset({Role.APPROVER}))
    with pytest.raises(AccessDenied, match="nobody confirms a delegation they recorded"):
        confirm_delegate(office.cp, people.token("cal"), "patients", "eve")
    assert not any(d.in_force for d in delegations(office.cp) if d.person_id == "eve")
    delegate(office.cp, people.token("cus"), people.token("apo"), ["hospital_admissions"], ["eve"])
    with pytest.raises(AccessDenied, match=r"eve is not a release delegate of patients:"):
        _vote(office, people, "eve", _request(office, people, study))


def test_a_delegation_needs_the_owners_authority_and_a_registered_dataset(
    office: ReleaseOffice, people: People
) -> None:
    with pytest.raises(ValueError, match="owner's authority"):
        record_delegate(office.cp, people.token("cus"), "patients", "chk1", "  ")
    with pytest.raises(ValueError, match="deaths is not registered"):
        record_delegate(office.cp, people.token("cus"), "deaths", "chk1", "a letter")
    with pytest.raises(AccessDenied, match="chk1 may not manage data"):
        record_delegate(office.cp, people.token("chk1"), "patients", "chk2", "a letter")


CHECKER_IDS = (f"h{n}" for n in itertools.count())
DATASET_SETS = st.sets(st.sampled_from(POOL))


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(read=DATASET_SETS.filter(bool), first=DATASET_SETS, second=DATASET_SETS)
def test_approval_happens_exactly_when_every_dataset_read_is_covered(
    office: ReleaseOffice, people: People, read: set[str], first: set[str], second: set[str]
) -> None:
    """Two fresh checkers, each a delegate of some datasets; a fresh job that read some: each
    vote counts exactly when its checker covers every dataset read, and the request is
    approved exactly when both do."""
    cp, cus, apo = office.cp, people.token("cus"), people.token("apo")
    checkers = [(next(CHECKER_IDS), first), (next(CHECKER_IDS), second)]
    delegate(cp, cus, apo, POOL, ())  # every dataset of the pool registered
    for who, theirs in checkers:
        people.world.add(who, Role.OUTPUT_CHECKER)
        delegate(cp, cus, apo, sorted(theirs), [who])
    study = held_job(office.data_dir, f"job-{checkers[0][0]}", cp=cp, datasets=sorted(read))
    rid = _request(office, people, study)
    state = State.UNDER_REVIEW
    for who, theirs in checkers:
        missing = sorted(read - theirs)
        if missing:
            with pytest.raises(AccessDenied, match=re.escape(", ".join(missing) + ":")):
                _vote(office, people, who, rid)
        else:
            state = _vote(office, people, who, rid)
    assert (state is State.APPROVED) == (read <= first and read <= second)
