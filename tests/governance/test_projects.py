"""Projects: the form, signed decisions, published waits, and the gate in the job path."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from unittest.mock import ANY

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from governance_support import ManualClock, World, application
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fivesafes.governance import (
    AccessDenied,
    Application,
    ControlPlane,
    Role,
    Status,
    Verdict,
    authorise_job,
    decide,
    decision_signature_valid,
    list_projects,
    revise_project,
    revoke_key,
    submit_project,
    waiting_summary,
    waiting_times,
)
from fivesafes.governance.signing import check_ledger_decisions

DAY = 86400


@pytest.fixture
def world(cp: ControlPlane) -> World:
    world = World.start(cp)
    world.add("ann", Role.ANALYST)
    world.add("bob", Role.ANALYST)
    world.add("val", Role.APPROVER)
    return world


def approve(world: World, project_id: str, days: int = 90) -> None:
    until = world.cp.today() + timedelta(days=days)
    decide(
        world.cp,
        world.tokens["val"],
        project_id,
        Verdict.APPROVE,
        "Sound plan.",
        world.keys["val"],
        until,
    )


def test_a_form_lists_every_problem_at_once() -> None:
    form = dataclasses.replace(
        application("ann"), title=" ", datasets={"patients": ("shoe_size",), "nope": ("x",)}
    )
    problems = form.problems()
    assert "title is required" in problems
    assert any("unknown columns shoe_size" in p for p in problems)
    assert any("unknown dataset 'nope'" in p for p in problems)
    assert application("ann").problems() == []


def test_the_form_survives_json_and_toml(tmp_path) -> None:
    form = application("ann", "bob")
    assert Application.from_dict(orjson.loads(form.to_json())) == dataclasses.replace(
        form, members=("ann", "bob")
    )
    toml = tmp_path / "form.toml"
    toml.write_text(
        'title = "T"\npurpose = "planning"\npurpose_description = "d"\npublic_benefit = "b"\n'
        'legal_basis = "l"\nmembers = ["ann"]\nrepository = "r"\nplanned_outputs = ["o"]\n'
        'organisation = "org"\n[datasets]\npatients = ["sex"]\n'
    )
    assert Application.from_file(toml).datasets == {"patients": ("sex",)}
    with pytest.raises(ValueError, match="missing legal_basis"):
        Application.from_dict({k: v for k, v in form.to_dict().items() if k != "legal_basis"})


def test_the_applicant_must_be_a_member_and_members_must_have_accounts(
    cp: ControlPlane, world: World
) -> None:
    with pytest.raises(AccessDenied, match="member"):
        submit_project(cp, world.tokens["ann"], "heat", application("bob"))
    with pytest.raises(ValueError, match="member zed has no account"):
        submit_project(cp, world.tokens["ann"], "heat", application("ann", "zed"))
    with pytest.raises(AccessDenied, match="may not submit project"):
        submit_project(cp, world.tokens["val"], "heat", application("val"))


def test_a_full_review_cycle_records_waits_and_signed_decisions(
    cp: ControlPlane, world: World, clock: ManualClock
) -> None:
    submit_project(cp, world.tokens["ann"], "heat", application("ann"))
    clock.advance(3 * DAY)
    asked = decide(
        cp,
        world.tokens["val"],
        "heat",
        Verdict.REQUEST_CHANGES,
        "Say which weeks count as a heatwave.",
        world.keys["val"],
    )
    assert asked.waited_seconds == 3 * DAY
    clock.advance(2 * DAY)
    assert revise_project(cp, world.tokens["ann"], "heat", application("ann")) == 2
    clock.advance(1 * DAY)
    approve(world, "heat")
    (project,) = list_projects(cp)
    assert (project.status, project.version) == (Status.APPROVED, 2)
    waits = [(w.version, w.step, w.seconds) for w in waiting_times(cp)]
    assert waits == [
        (1, "awaiting_decision", 3 * DAY),
        (1, "awaiting_changes", 2 * DAY),
        (2, "awaiting_decision", 1 * DAY),
    ]
    summary = waiting_summary(waiting_times(cp))
    assert summary["awaiting_decision"] == {
        "finished": 2,
        "open": 0,
        "median_days": 2.0,
        "longest_days": 3.0,
    }
    assert decision_signature_valid(cp, asked.decision_id)
    checked = check_ledger_decisions(cp.ledger.entries())
    assert len(checked) == 2 and all(ok for _, ok in checked)
    public = [r for r in cp.ledger.public_view().to_list() if r["kind"] == "approval"]
    assert [(r["decision"], r["waited_seconds"]) for r in public] == [
        ("request_changes", 3 * DAY),
        ("approve", DAY),
    ]
    assert cp.ledger.verify().ok


def test_a_forged_or_altered_decision_fails_the_public_check(
    cp: ControlPlane, world: World
) -> None:
    submit_project(cp, world.tokens["ann"], "heat", application("ann"))
    approve(world, "heat")
    entries = list(cp.ledger.entries())
    index = next(i for i, e in enumerate(entries) if orjson.loads(e)["kind"] == "approval")
    record = orjson.loads(entries[index])
    record["subject"]["until"] = "2099-01-01"
    entries[index] = orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
    assert check_ledger_decisions(entries) == [(index, False)]


def test_deciders_sign_with_their_own_registered_key(cp: ControlPlane, world: World) -> None:
    submit_project(cp, world.tokens["ann"], "heat", application("ann"))
    with pytest.raises(AccessDenied, match="registered"):
        decide(cp, world.tokens["val"], "heat", Verdict.REJECT, "No.", Ed25519PrivateKey.generate())
    assert list_projects(cp)[0].status == Status.SUBMITTED


def test_a_revoked_key_signs_nothing_new_but_old_decisions_still_verify(
    cp: ControlPlane, world: World
) -> None:
    submit_project(cp, world.tokens["ann"], "heat", application("ann"))
    submit_project(cp, world.tokens["bob"], "cold", application("bob"))
    first = decide(cp, world.tokens["val"], "heat", Verdict.REJECT, "No.", world.keys["val"])
    revoke_key(cp, world.tokens["val"], first.statement["key_id"])
    with pytest.raises(AccessDenied, match="registered"):
        decide(cp, world.tokens["val"], "cold", Verdict.REJECT, "No.", world.keys["val"])
    assert decision_signature_valid(cp, first.decision_id)
    assert check_ledger_decisions(cp.ledger.entries()) == [(ANY, True)]


@dataclasses.dataclass
class LyingSigner:
    """Names the approver's registered public key but signs with some other key."""

    claimed: Ed25519PrivateKey
    actual: Ed25519PrivateKey

    def public_key(self) -> Ed25519PublicKey:
        return self.claimed.public_key()

    def sign(self, data: bytes) -> bytes:
        return self.actual.sign(data)


def test_a_signature_that_does_not_verify_records_nothing(cp: ControlPlane, world: World) -> None:
    submit_project(cp, world.tokens["ann"], "heat", application("ann"))
    liar = LyingSigner(world.keys["val"], Ed25519PrivateKey.generate())
    with pytest.raises(AccessDenied, match="does not verify"):
        decide(cp, world.tokens["val"], "heat", Verdict.REJECT, "No.", liar)
    assert list_projects(cp)[0].status == Status.SUBMITTED
    assert check_ledger_decisions(cp.ledger.entries()) == []


def test_nobody_decides_on_their_own_project(cp: ControlPlane, world: World) -> None:
    with pytest.raises(AccessDenied, match="both analyst and approver"):
        world.add("vic", Role.APPROVER, Role.ANALYST)
    world.add("vic", Role.APPROVER)
    submit_project(cp, world.tokens["ann"], "mine", application("ann", "vic"))
    with pytest.raises(AccessDenied, match="conflict"):
        decide(cp, world.tokens["vic"], "mine", Verdict.REJECT, "x", world.keys["vic"])


def test_decisions_need_reasons_and_approvals_an_end_date(cp: ControlPlane, world: World) -> None:
    submit_project(cp, world.tokens["ann"], "heat", application("ann"))
    key = world.keys["val"]
    with pytest.raises(ValueError, match="reasons"):
        decide(cp, world.tokens["val"], "heat", Verdict.REJECT, " ", key)
    with pytest.raises(ValueError, match="end date"):
        decide(cp, world.tokens["val"], "heat", Verdict.APPROVE, "ok", key)
    decide(cp, world.tokens["val"], "heat", Verdict.REJECT, "Out of scope.", key)
    with pytest.raises(ValueError, match="rejected"):
        approve(world, "heat")


def test_jobs_run_only_for_members_of_approved_unexpired_projects_on_approved_data(
    cp: ControlPlane, world: World, clock: ManualClock
) -> None:
    submit_project(cp, world.tokens["ann"], "heat", application("ann"))
    with pytest.raises(AccessDenied, match="not approved"):
        authorise_job(cp, world.tokens["ann"], "heat", ["patients"])
    approve(world, "heat", days=20)
    granted = authorise_job(cp, world.tokens["ann"], "heat", {"patients": ["sex"]})
    assert (granted.person_id, granted.datasets) == ("ann", {"patients": ("sex",)})
    assert authorise_job(cp, world.tokens["ann"], "heat", ["patients"]).datasets == {
        "patients": ("patient_id", "sex")
    }
    refusals = [
        ("bob", ["patients"], "not a member"),
        ("ann", ["deaths"], "deaths is not approved"),
        ("ann", {"patients": ["date_of_birth"]}, "date_of_birth"),
        ("val", ["patients"], "may not run job"),
    ]
    for person, datasets, reason in refusals:
        with pytest.raises(AccessDenied, match=reason):
            authorise_job(cp, world.tokens[person], "heat", datasets)
    clock.advance(21 * DAY)
    with pytest.raises(AccessDenied, match="approval ended"):
        authorise_job(cp, world.tokens["ann"], "heat", ["patients"])
    logins = [orjson.loads(e)["subject"] for e in cp.ledger.entries()]
    refused = [s["outcome"] for s in logins if s.get("action") == "run_job"]
    assert sum(o.startswith("refused") for o in refused) == 6


PEOPLE = ("ann", "bob", "cat")
DATASETS = ("patients", "hospital_admissions", "deaths")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    person=st.sampled_from(PEOPLE),
    project=st.sampled_from(("approved", "pending", "rejected", "lapsed", "missing")),
    datasets=st.sets(st.sampled_from(DATASETS), min_size=1),
)
def test_property_only_members_of_approved_projects_run_jobs_on_approved_data(
    cp: ControlPlane, property_world: World, person: str, project: str, datasets: set[str]
) -> None:
    """Whoever asks, for whichever project and data: allowed exactly when the rules allow."""
    members = {
        "approved": {"ann", "bob"},
        "pending": {"ann"},
        "rejected": {"ann"},
        "lapsed": {"ann", "cat"},
        "missing": set(),
    }
    allowed = (
        project == "approved"
        and person in members[project]
        and datasets <= {"patients", "hospital_admissions"}
    )
    try:
        authorise_job(cp, property_world.tokens[person], project, sorted(datasets))
        outcome = True
    except AccessDenied:
        outcome = False
    assert outcome == allowed


@pytest.fixture
def property_world(cp: ControlPlane, clock: ManualClock) -> World:
    world = World.start(cp)
    for person in (*PEOPLE, "val"):
        world.add(person, Role.APPROVER if person == "val" else Role.ANALYST)
    val, key = world.tokens["val"], world.keys["val"]
    submit_project(cp, world.tokens["ann"], "approved", application("ann", "bob"))
    submit_project(cp, world.tokens["cat"], "lapsed", application("ann", "cat"))
    submit_project(cp, world.tokens["ann"], "pending", application("ann"))
    submit_project(cp, world.tokens["ann"], "rejected", application("ann"))
    decide(cp, val, "approved", Verdict.APPROVE, "ok", key, cp.today() + timedelta(days=60))
    decide(cp, val, "lapsed", Verdict.APPROVE, "ok", key, cp.today() + timedelta(days=5))
    decide(cp, val, "rejected", Verdict.REJECT, "no", key)
    clock.advance(10 * DAY)
    return world
