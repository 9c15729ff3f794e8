"""Who may request a release and who may review one: governance's request_release and
review_output actions, enforced in the library and by the commands, each refusal naming the role
that was missing and logged in the ledger."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from release_support import (
    PROJECT,
    SAFE_COUNTS,
    People,
    Study,
    approved_project,
    as_environment,
    counts_csv,
    held_job,
)
from typer.testing import CliRunner

import fivesafes.cli.release  # noqa: F401  (registers the commands)
from fivesafes.cli.common import app
from fivesafes.governance import PERMISSIONS, AccessDenied, Action, ControlPlane, Role
from fivesafes.ledger.keys import write_key
from fivesafes.release import (
    ReleaseOffice,
    State,
    Verdict,
    check_request_files,
    draft_release,
    request_release,
    review_release,
    show_release,
)
from fivesafes.store.config import DataDir

WHY = "Counts by age band and sex for the annual report."


def _table(study: Study) -> None:
    study.write("output/table.csv", counts_csv(SAFE_COUNTS))
    study.record_job("summarise", ["output/table.csv"])


def _ask(office: ReleaseOffice, people: People, study: Study, who: str) -> str:
    release_id, _ = request_release(
        office, people.token(who), PROJECT, study.root, ["output/table.csv"], WHY
    )
    return release_id


def _logins(office: ReleaseOffice, action: Action) -> list[tuple[str, str]]:
    """(person, outcome) of every use of a credential for ``action``, from the ledger."""
    found = []
    for raw in office.cp.ledger.entries():
        entry = orjson.loads(raw)
        subject = entry["subject"]
        if entry["kind"] == "login" and subject["action"] == action.value:
            found.append((entry["actor"], subject["outcome"]))
    return found


def test_the_release_actions_are_governance_actions() -> None:
    assert PERMISSIONS[Action.REQUEST_RELEASE] == frozenset({Role.ANALYST})
    assert PERMISSIONS[Action.REVIEW_OUTPUT] == frozenset({Role.OUTPUT_CHECKER})


def test_project_members_with_the_analyst_role_may_request(office, people: People, study) -> None:
    _table(study)
    for member in ("ana", "bob"):
        assert office.requester(people.token(member), PROJECT).person_id == member
    with pytest.raises(AccessDenied, match="needs the analyst role"):  # a member, a checker
        office.requester(people.token("chk4"), PROJECT)
    release_id = _ask(office, people, study, "bob")
    assert office.cp.acting is not None and office.cp.acting.person_id == "bob"
    assert ("bob", "allowed") in _logins(office, Action.REQUEST_RELEASE)
    assert release_id.startswith("rel-")


def test_a_request_without_the_role_or_membership_is_refused_and_logged(
    office, people: People, study: Study
) -> None:
    _table(study)
    people.world.add("eve", Role.ANALYST)  # an analyst, but not on the project
    refusals = {
        "chk1": "chk1 may not request release: it needs the analyst role",
        "apo": "apo may not request release: it needs the analyst role",
        "eve": f"{PROJECT}: eve is not a member",
    }
    for who, reason in refusals.items():
        with pytest.raises(AccessDenied, match=reason):
            _ask(office, people, study, who)
        with pytest.raises(AccessDenied, match=reason):
            draft_release(office, people.token(who), PROJECT, study.root, ["output/table.csv"], WHY)
    logged = _logins(office, Action.REQUEST_RELEASE)
    for who, reason in refusals.items():
        assert logged.count((who, f"refused: {reason}")) == 2


def test_output_checkers_off_the_project_may_review(office, people: People, study) -> None:
    _table(study)
    release_id = _ask(office, people, study, "ana")
    for checker in ("chk1", "chk2"):
        review_release(
            office,
            people.token(checker),
            release_id,
            Verdict.APPROVE,
            f"{checker}: checked",
            people.key(checker),
        )
    logged = _logins(office, Action.REVIEW_OUTPUT)
    assert [o for who, o in logged if who in ("chk1", "chk2")] == ["allowed", "allowed"]
    with office.cp.transaction() as session:
        assert office.output_checker(session, people.token("chk3")).person_id == "chk3"


def test_a_review_without_the_role_or_by_a_member_is_refused(office, people, study) -> None:
    _table(study)
    release_id = _ask(office, people, study, "ana")
    people.world.add("cus2", Role.DATA_CUSTODIAN)  # a decider with a key, but no checker
    for who, key_of in (("apo", "apo"), ("cus2", "cus2"), ("ana", "chk1")):
        with pytest.raises(AccessDenied, match=f"{who} may not review output: .*output_checker"):
            review_release(
                office, people.token(who), release_id, Verdict.APPROVE, "ok", people.key(key_of)
            )
    with pytest.raises(AccessDenied, match="conflict: chk4 is on project"):
        review_release(
            office, people.token("chk4"), release_id, Verdict.APPROVE, "ok", people.key("chk4")
        )
    refused = {who for who, o in _logins(office, Action.REVIEW_OUTPUT) if o.startswith("refused")}
    assert refused == {"apo", "cus2", "ana", "chk4"}
    assert check_request_files(office, PROJECT, study.root, ["output/table.csv"])  # untouched


def test_the_commands_refuse_naming_the_missing_role(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FIVESAFES_DATABASE_URL", raising=False)
    root = tmp_path / "env"
    data_dir = DataDir.from_env(root)
    with ControlPlane.open(data_dir) as cp:
        people = approved_project(ReleaseOffice(cp, data_dir))
    as_environment(data_dir)
    study = held_job(data_dir)
    _table(study)
    write_key(tmp_path / "apo.pem", people.key("apo"))
    runner = CliRunner()

    def run(*args: str, who: str) -> tuple[int, str]:
        env = {"FIVESAFES_TOKEN": people.token(who), "COLUMNS": "200"}
        result = runner.invoke(app, ["release", *args, "--data-dir", str(root)], env=env)
        return result.exit_code, " ".join(result.output.split())

    common = ["output/table.csv", "--project-id", PROJECT, "--job", "job-cli"]
    code, said = run("check", *common, who="chk1")
    assert code == 2 and "refused: chk1 may not request release: it needs the analyst role" in said
    code, said = run("request", *common, "--justification", WHY, who="chk1")
    assert code == 2 and "it needs the analyst role" in said
    code, said = run("check", *common, who="ana")
    assert code == 0 and "passed" in said
    code, said = run("request", *common, "--justification", WHY, who="ana")
    assert code == 0, said
    release_id = said.split("release request ")[1].split()[0]
    code, said = run(
        "approve", release_id, "--comments", "fine", "--key", str(tmp_path / "apo.pem"), who="apo"
    )
    assert code == 2 and "apo may not review output: it needs the output_checker role" in said
    with ControlPlane.open(data_dir) as cp:
        view = show_release(ReleaseOffice(cp, data_dir), people.token("ana"), release_id)
    assert view.state is State.SUBMITTED and view.votes == () and view.sealed_votes == 0
