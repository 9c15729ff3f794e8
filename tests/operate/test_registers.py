"""The datasets register, the incident register and the security-log report, under the
standard access policy (people onboarded and signed in with a second factor)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from operate_support import People

from fivesafes.governance import AccessDenied, ControlPlane, Role
from fivesafes.governance.datasets import (
    DatasetEntry,
    Sensitivity,
    approve_dataset,
    check_loadable,
    mark_deleted,
    past_retention,
    register,
    register_dataset,
)
from fivesafes.governance.incidents import (
    Category,
    Severity,
    close_incident,
    list_incidents,
    open_incident,
)
from fivesafes.governance.security_log import security_report
from fivesafes.ledger.public import public_view


def entry(cp: ControlPlane, days: int = 365) -> DatasetEntry:
    return DatasetEntry(
        "hospital_admissions",
        "NHS Example Trust (information asset owner: Head of Information)",
        "DSA-2026-014",
        Sensitivity.PSEUDONYMISED,
        "UK GDPR 6(1)(e) and 9(2)(h)",
        cp.today() + timedelta(days=days),
    )


def test_a_dataset_is_loadable_only_once_registered_and_approved_by_another(
    cp: ControlPlane,
) -> None:
    people = People.start(cp)
    apo = people.add("apo", Role.APPROVER)
    with pytest.raises(AccessDenied, match="not in the register"):
        check_loadable(cp, ["hospital_admissions"])
    register_dataset(cp, people.tokens["cus"], entry(cp, days=20))
    with pytest.raises(AccessDenied, match="awaits an approver"):
        check_loadable(cp, ["hospital_admissions"])
    with pytest.raises(AccessDenied, match="may not approve dataset"):
        approve_dataset(cp, people.tokens["cus"], "hospital_admissions")
    approve_dataset(cp, apo, "hospital_admissions")
    check_loadable(cp, ["hospital_admissions"])
    [held] = register(cp)
    assert held.approved_by == "apo" and held.sensitivity is Sensitivity.PSEUDONYMISED

    cp.clock.advance(21 * 86400)  # type: ignore[attr-defined]
    assert [e.dataset for e in past_retention(cp)] == ["hospital_admissions"]
    with pytest.raises(AccessDenied, match="past its retention date"):
        check_loadable(cp, ["hospital_admissions"])
    mark_deleted(cp, people.sign_in("cus"), "hospital_admissions", rows=1200)
    assert past_retention(cp) == [] and register(cp)[0].deleted
    shown = [e for e in public_view(list(cp.ledger.entries())).rows if e.kind == "dataset"]
    assert [e.fields["change"] for e in shown] == ["registered", "approved", "deleted"]


def test_a_bad_registration_names_every_problem(cp: ControlPlane) -> None:
    people = People.start(cp)
    bad = DatasetEntry("nope", "", "", Sensitivity.PUBLIC, "", cp.today())
    with pytest.raises(ValueError) as raised:
        register_dataset(cp, people.tokens["cus"], bad)
    for problem in ("owner is required", "unknown dataset 'nope'", "retention date"):
        assert problem in str(raised.value)


def test_an_incident_links_ledger_entries_and_closes_only_with_its_root_cause(
    cp: ControlPlane,
) -> None:
    people = People.start(cp)
    cus = people.tokens["cus"]
    with pytest.raises(ValueError, match="do not exist"):
        open_incident(cp, cus, Category.INCIDENT, Severity.HIGH, "x", [10_000])
    incident = open_incident(
        cp,
        cus,
        Category.INCIDENT,
        Severity.HIGH,
        "An output with a count of 3 was requested for release (caught at review).",
        [1, 2],
        notice="A release request was stopped before any file left; no data was disclosed.",
    )
    with pytest.raises(ValueError, match="root cause"):
        close_incident(cp, cus, incident, "", "")
    close_incident(cp, cus, incident, "A threshold was set to 2 in a test profile.",
                   "Profiles are now checked at start; test added.")  # fmt: skip
    [view] = list_incidents(cp, cus)
    assert view.status == "closed" and view.entries == (1, 2)
    shown = [e for e in public_view(list(cp.ledger.entries())).rows if e.kind == "incident"]
    assert shown[0].fields["notice"].startswith("A release request was stopped")
    assert all("count of 3" not in json.dumps(e.fields) for e in shown)


def test_the_security_report_shows_refusals_role_changes_and_admin_actions(
    cp: ControlPlane,
) -> None:
    people = People.start(cp)
    start = cp.now()
    people.add("ann", Role.ANALYST)
    with pytest.raises(AccessDenied):
        register_dataset(cp, people.tokens["ann"], entry(cp))
    register_dataset(cp, people.tokens["cus"], entry(cp))
    report = security_report(cp, people.tokens["cus"], start, cp.now() + timedelta(seconds=1))
    assert report.refusals_by_person()["ann"] == 1
    assert any("ann: created" in e.what for e in report.account_changes)
    assert any(e.kind == "dataset" for e in report.administrative)
    with pytest.raises(AccessDenied, match="may not operate"):
        security_report(cp, people.tokens["ann"], start, cp.now())
