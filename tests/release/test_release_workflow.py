"""The release workflow end to end: request, blind votes, a third reviewer, publication, ledger."""

from __future__ import annotations

import orjson
import pytest
from release_support import (
    PROJECT,
    SAFE_COUNTS,
    People,
    Study,
    approved_project,
    counts_csv,
    held_job,
)

from fivesafes.governance import AccessDenied
from fivesafes.ledger.public import public_view
from fivesafes.release import (
    Outcome,
    ReleaseError,
    ReleaseOffice,
    State,
    Verdict,
    check_request_files,
    draft_release,
    list_releases,
    publish_release,
    request_release,
    review_release,
    show_release,
    submit_release,
    verify_release,
)
from fivesafes.release.tables import ReleaseRequestRow, ReleaseVoteRow

JUSTIFICATION = "Prevalence by age band and sex for the annual report."


def _request(office: ReleaseOffice, people: People, study: Study, **kw: object) -> str:
    study.write("output/table.csv", counts_csv(SAFE_COUNTS))
    study.record_job("summarise", ["output/table.csv"])
    release_id, receipt = request_release(
        office, people.token("ana"), PROJECT, study.root, ["output/table.csv"], JUSTIFICATION
    )
    assert receipt.verify(office.cp.ledger.keys)
    return release_id


def _vote(office: ReleaseOffice, people: People, who: str, rid: str, verdict: Verdict) -> State:
    return review_release(
        office, people.token(who), rid, verdict, f"{who} checked it", people.key(who)
    )


def test_request_review_publish_on_each_database(any_office: ReleaseOffice) -> None:
    office = any_office
    people = approved_project(office)
    study = held_job(office.data_dir, "job-test", cp=office.cp)
    rid = _request(office, people, study)
    assert show_release(office, people.token("ana"), rid).state is State.SUBMITTED
    assert _vote(office, people, "chk1", rid, Verdict.APPROVE) is State.UNDER_REVIEW
    assert _vote(office, people, "chk2", rid, Verdict.APPROVE) is State.APPROVED
    published = publish_release(office, people.token("ana"), rid)
    assert published.receipt.verify(office.cp.ledger.keys)
    released = published.folder / "output/table.csv"
    assert released.read_bytes() == (study.root / "output/table.csv").read_bytes()
    assert verify_release(published.folder, office.cp.ledger.keys) == []
    assert (published.folder / "summary.png").read_bytes().startswith(b"\x89PNG")
    assert show_release(office, people.token("chk3"), rid).state is State.RELEASED
    kinds = [orjson.loads(e)["kind"] for e in office.cp.ledger.entries()]
    assert kinds.count("release_request") == 1 and kinds.count("release") == 1
    assert kinds.count("review") == 2 + 2 + 1  # two sealed, two revealed, one decision


def test_votes_stay_sealed_until_both_are_in(office: ReleaseOffice, people: People, study: Study):
    rid = _request(office, people, study)
    _vote(office, people, "chk1", rid, Verdict.REJECT)
    for viewer in ("chk2", "ana", "chk3"):
        view = show_release(office, people.token(viewer), rid)
        assert view.votes == () and view.sealed_votes == 1
    own = show_release(office, people.token("chk1"), rid)
    assert [v.person_id for v in own.votes] == ["chk1"]
    public = public_view(office.cp.ledger.entries()).to_list()
    assert not any("decision" in row for row in public if row["kind"] == "review")
    _vote(office, people, "chk2", rid, Verdict.REJECT)
    view = show_release(office, people.token("ana"), rid)
    assert {(v.person_id, v.verdict) for v in view.votes} == {
        ("chk1", Verdict.REJECT),
        ("chk2", Verdict.REJECT),
    }
    decisions = [
        r["decision"]
        for r in public_view(office.cp.ledger.entries()).to_list()
        if r["kind"] == "review" and "decision" in r
    ]
    assert decisions == ["reject", "reject", "rejected"]


def test_a_third_checker_does_not_see_the_first_two_votes(
    office: ReleaseOffice, people: People, study: Study
) -> None:
    """Issue 18, hole 5: once two checkers disagreed, the third saw both votes (and the public
    ledger showed them) before voting. Now no vote is opened until a verdict is reached."""
    rid = _request(office, people, study)
    _vote(office, people, "chk1", rid, Verdict.REJECT)
    assert _vote(office, people, "chk2", rid, Verdict.APPROVE) is State.AWAITING_THIRD
    for viewer in ("chk3", "ana"):
        view = show_release(office, people.token(viewer), rid)
        assert view.votes == () and view.sealed_votes == 2
    public = public_view(office.cp.ledger.entries()).to_list()
    shown = [r["decision"] for r in public if r["kind"] == "review" and "decision" in r]
    assert shown == ["awaiting_third"]  # that they differ, not who voted which way
    full = [orjson.loads(e) for e in office.cp.ledger.entries()]
    assert not any("decision" in e["subject"] and "round" in e["subject"] for e in full)
    assert _vote(office, people, "chk3", rid, Verdict.APPROVE) is State.APPROVED
    view = show_release(office, people.token("ana"), rid)
    assert [(v.person_id, v.verdict) for v in view.votes] == [
        ("chk1", Verdict.REJECT),
        ("chk2", Verdict.APPROVE),
        ("chk3", Verdict.APPROVE),
    ]


def test_disagreement_goes_to_a_third_reviewer(office: ReleaseOffice, people: People, study):
    rid = _request(office, people, study)
    _vote(office, people, "chk1", rid, Verdict.APPROVE)
    assert _vote(office, people, "chk2", rid, Verdict.RETURN) is State.AWAITING_THIRD
    with pytest.raises(ReleaseError, match="approved requests"):
        publish_release(office, people.token("ana"), rid)
    assert _vote(office, people, "chk3", rid, Verdict.APPROVE) is State.APPROVED
    folder = publish_release(office, people.token("chk1"), rid).folder
    manifest = orjson.loads((folder / "manifest.json").read_bytes())
    assert sorted(a["statement"]["person_id"] for a in manifest["approvals"]) == ["chk1", "chk3"]


def test_agreeing_refusals_reject_or_return(office: ReleaseOffice, people: People, study: Study):
    rid = _request(office, people, study)
    _vote(office, people, "chk1", rid, Verdict.REJECT)
    assert _vote(office, people, "chk2", rid, Verdict.RETURN) is State.RETURNED
    with pytest.raises(ReleaseError, match="no more votes"):
        _vote(office, people, "chk3", rid, Verdict.APPROVE)


def test_reviewers_must_be_independent_checkers(office: ReleaseOffice, people: People, study):
    rid = _request(office, people, study)
    with pytest.raises(
        AccessDenied, match="apo may not review output: it needs the output_checker"
    ):
        _vote(office, people, "apo", rid, Verdict.APPROVE)
    with pytest.raises(AccessDenied, match="conflict"):
        _vote(office, people, "chk4", rid, Verdict.APPROVE)  # a member of the project
    _vote(office, people, "chk1", rid, Verdict.APPROVE)
    with pytest.raises(ReleaseError, match="already voted"):
        _vote(office, people, "chk1", rid, Verdict.APPROVE)
    with pytest.raises(ReleaseError, match="registered"):
        review_release(office, people.token("chk2"), rid, Verdict.APPROVE, "ok", people.key("chk3"))


def test_file_changed_after_approval_is_not_published(office, people: People, study: Study):
    rid = _request(office, people, study)
    _vote(office, people, "chk1", rid, Verdict.APPROVE)
    _vote(office, people, "chk2", rid, Verdict.APPROVE)
    study.write("output/table.csv", counts_csv({**SAFE_COUNTS, ("0-17", "F"): 3}))
    with pytest.raises(ReleaseError, match="changed or removed"):
        publish_release(office, people.token("ana"), rid)
    assert show_release(office, people.token("ana"), rid).state is State.RETURNED
    assert not office.released_folder(PROJECT).exists() or not any(
        office.released_folder(PROJECT).iterdir()
    )


def test_failed_checks_need_an_exception_and_publish_the_safe_version(office, people, study):
    study.write("output/table.csv", counts_csv({**SAFE_COUNTS, ("0-17", "M"): 4}))
    study.record_job("summarise", ["output/table.csv"])
    with pytest.raises(ReleaseError, match="written exception"):
        request_release(
            office, people.token("ana"), PROJECT, study.root, ["output/table.csv"], JUSTIFICATION
        )
    rid, _ = request_release(
        office,
        people.token("ana"),
        PROJECT,
        study.root,
        ["output/table.csv"],
        JUSTIFICATION,
        {"output/table.csv": "The checker's suppressed version is what we need."},
    )
    view = show_release(office, people.token("chk1"), rid)
    (file,) = view.files
    assert file.outcome is Outcome.SAFE_VERSION
    assert any(r["rule"] == "small_numbers" and not r["passed"] for r in file.report["rules"])
    _vote(office, people, "chk1", rid, Verdict.APPROVE)
    _vote(office, people, "chk2", rid, Verdict.APPROVE)
    folder = publish_release(office, people.token("ana"), rid).folder
    text = (folder / "output/table.csv").read_text()
    assert "[REDACTED]" in text and ",4," not in text and not text.endswith(",4\n")


def test_published_release_feeds_differencing(office: ReleaseOffice, people: People, study):
    rid = _request(office, people, study)
    _vote(office, people, "chk1", rid, Verdict.APPROVE)
    _vote(office, people, "chk2", rid, Verdict.APPROVE)
    publish_release(office, people.token("ana"), rid)
    assert len(office.history().released()) == 1
    # The same table less three girls aged 0-17: subtracting one from the other exposes them.
    study.write("output/other.csv", counts_csv({**SAFE_COUNTS, ("0-17", "F"): 37}))
    study.record_job("summarise", ["output/other.csv"])
    with pytest.raises(ReleaseError, match="differencing"):
        request_release(
            office,
            people.token("ana"),
            PROJECT,
            study.root,
            ["output/other.csv"],
            JUSTIFICATION,
            {"output/other.csv": "try"},
        )


def test_files_of_one_request_are_checked_against_each_other(
    office: ReleaseOffice, people: People, study: Study
) -> None:
    """Two tables that each pass alone but differ by three girls aged 0-17 cannot leave in
    the same request: they would be released together, so one is differenced against the other."""
    study.write("output/table.csv", counts_csv(SAFE_COUNTS))
    study.write("output/other.csv", counts_csv({**SAFE_COUNTS, ("0-17", "F"): 37}))
    study.record_job("summarise", ["output/table.csv", "output/other.csv"])
    for alone in ("output/table.csv", "output/other.csv"):
        checks = check_request_files(office, PROJECT, study.root, [alone])
        assert [c.outcome for c in checks] == [Outcome.PASSED]
    with pytest.raises(ReleaseError, match="differencing"):
        check_request_files(office, PROJECT, study.root, ["output/table.csv", "output/other.csv"])
    assert office.history().released() == []


def test_list_shows_requests_to_those_who_may_see_them(office, people: People, study: Study):
    rid = _request(office, people, study)
    assert [v.release_id for v in list_releases(office, people.token("chk3"))] == [rid]
    assert [v.release_id for v in list_releases(office, people.token("bob"), PROJECT)] == [rid]
    assert list_releases(office, people.token("apo")) == []
    with pytest.raises(ReleaseError, match="no release request"):
        show_release(office, people.token("apo"), rid)


def test_a_forged_second_approval_is_not_counted(office: ReleaseOffice, people: People, study):
    """Someone with database access copies one checker's signed approval to another name and
    marks the request approved: publication re-checks the signatures and refuses."""
    rid = _request(office, people, study)
    _vote(office, people, "chk1", rid, Verdict.APPROVE)
    with office.cp.transaction() as session:
        real = session.get(ReleaseVoteRow, (rid, "chk1"))
        assert real is not None
        session.add(
            ReleaseVoteRow(
                release_id=rid,
                person_id="chk2",
                round=2,
                verdict=real.verdict,
                comments=real.comments,
                key_id=real.key_id,
                statement=real.statement,
                signature=real.signature,
                voted_at=real.voted_at,
                revealed=1,
            )
        )
        request = session.get(ReleaseRequestRow, rid)
        assert request is not None
        request.state = State.APPROVED.value
    with pytest.raises(ReleaseError, match="1 valid approval"):
        publish_release(office, people.token("ana"), rid)


def test_a_draft_is_private_until_submitted(office: ReleaseOffice, people: People, study: Study):
    study.write("output/table.csv", counts_csv({**SAFE_COUNTS, ("0-17", "M"): 4}))
    study.record_job("summarise", ["output/table.csv"])
    rid = draft_release(
        office, people.token("ana"), PROJECT, study.root, ["output/table.csv"], JUSTIFICATION
    )
    assert show_release(office, people.token("bob"), rid).state is State.DRAFT
    assert list_releases(office, people.token("chk1")) == []
    with pytest.raises(ReleaseError, match="no more votes"):
        _vote(office, people, "chk1", rid, Verdict.APPROVE)
    kinds = [orjson.loads(e)["kind"] for e in office.cp.ledger.entries()]
    assert "release_request" not in kinds
    with pytest.raises(ReleaseError, match="written exception"):
        submit_release(office, people.token("ana"), rid)
    with pytest.raises(ReleaseError, match="only ana"):
        submit_release(office, people.token("bob"), rid, {"output/table.csv": "safe version"})
    receipt = submit_release(office, people.token("ana"), rid, {"output/table.csv": "safe"})
    assert orjson.loads(receipt.entry)["subject"]["release_id"] == rid
    view = show_release(office, people.token("chk1"), rid)
    assert view.state is State.SUBMITTED and view.files[0].exception == "safe"
    with pytest.raises(ReleaseError, match="not a draft"):
        submit_release(office, people.token("ana"), rid)
