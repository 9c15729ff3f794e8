"""Application drafts through the environment layer: a draft is its applicant's alone, is no
project (the public never sees it, whatever it says), and submitting one is the same submission
``fivesafes project submit`` makes, refused for the same reasons in the same words."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from environment_support import People
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fivesafes.environment import Refused, applications, projects, public
from fivesafes.governance import Application, Role
from governance.governance_support import application


def _form(person_id: str, **changes: Any) -> dict[str, Any]:
    return {**application(person_id).to_dict(), **changes}


def _refusals(people: People, actor: str) -> list[dict[str, Any]]:
    entries = map(orjson.loads, people.env.cp.ledger.entries())
    return [e["subject"] for e in entries if e["kind"] == "refusal" and e["actor"] == actor]


def test_a_draft_is_saved_unfinished_changed_and_submitted_once(people: People) -> None:
    env, token = people.env, people.add("ana", Role.ANALYST)
    saved = applications.save(env, token, None, "", _form("ana", title="", legal_basis=""))
    assert {p.field for p in saved.problems} == {"project_id", "title", "legal_basis"}
    again = applications.save(env, token, saved.draft_id, "asthma-heat", _form("ana"))
    assert again.draft_id == saved.draft_id and again.problems == ()
    assert applications.draft(env, token, saved.draft_id).form == application("ana").to_dict()
    assert applications.submit(env, token, saved.draft_id) == ("asthma-heat", 1)
    for retry in (
        lambda: applications.submit(env, token, saved.draft_id),
        lambda: applications.save(env, token, saved.draft_id, "asthma-heat", _form("ana")),
    ):
        with pytest.raises(Refused, match="was submitted as project asthma-heat"):
            retry()
    (mine,) = applications.mine(env, token).applications
    assert mine.project.status == "submitted" and [w.step for w in mine.waits] == [
        "awaiting_decision"
    ]
    assert applications.mine(env, token).drafts == ()


def test_only_those_who_may_start_an_application_are_offered_the_form(people: People) -> None:
    """What an applicant's list says of starting one is what starting one answers (no role is
    read from the session by the page); asking is no refusal, starting is."""
    env = people.env

    def refusals() -> int:
        env.cp.ledger.catch_up()
        return sum(orjson.loads(e)["kind"] == "refusal" for e in env.cp.ledger.entries())

    people_roles = (("ana", Role.ANALYST), ("val", Role.APPROVER), ("oc", Role.OUTPUT_CHECKER))
    for person, role in people_roles:
        token = people.add(person, role)
        before = refusals()
        offered = applications.mine(env, token).may_apply
        assert refusals() == before
        try:
            started = applications.start(env, token) == person
        except Refused:
            started = False
        assert offered is started is (role is Role.ANALYST)
        assert refusals() == before + (0 if started else 1)


def test_a_draft_is_refused_to_everyone_but_its_applicant_and_each_refusal_logged(
    people: People,
) -> None:
    env = people.env
    ana, bea = people.add("ana", Role.ANALYST), people.add("bea", Role.ANALYST)
    people.add("val", Role.APPROVER)
    secret = applications.save(env, ana, None, "secret-study", _form("ana", title="Secret"))
    attempts = {
        "show_application_draft": lambda t, d: applications.draft(env, t, d),
        "save_application_draft": lambda t, d: applications.save(env, t, d, "mine", _form("bea")),
        "submit_project": lambda t, d: applications.submit(env, t, d),
    }
    for action, attempt in attempts.items():
        answers = []
        for draft_id in (secret.draft_id, "draft-0000000000000000"):  # hers, and none at all
            with pytest.raises(Refused) as refused:
                attempt(bea, draft_id)
            answers.append((refused.value.kind, refused.value.reason.replace(draft_id, "?")))
        assert answers[0] == answers[1], "a stranger can tell a draft exists"
        assert "Secret" not in answers[0][1]
        logged = [r for r in _refusals(people, "bea") if r["action"] == action]
        assert len(logged) == 2 and logged[0]["kind"] == "forbidden"
    with pytest.raises(Refused, match="may not submit project"):  # an approver drafts nothing
        applications.save(env, people.tokens["val"], None, "x-study", _form("val"))
    assert applications.mine(env, bea).drafts == ()
    untouched = applications.draft(env, ana, secret.draft_id)
    assert untouched.title == "Secret" and untouched.project_id == "secret-study"
    assert [p.project_id for p in projects.listing(env)] == []


@pytest.mark.parametrize(
    "change",
    [
        {"members": ["ana", "zed"]},  # a member with no account
        {"members": ["bea"]},  # the applicant is not a member
        {"datasets": {"nope": ["x"]}},  # an unknown dataset
        {"title": "", "planned_outputs": []},
    ],
)
def test_submitting_a_draft_is_refused_exactly_as_submitting_the_form(
    people: People, change: dict[str, Any]
) -> None:
    """No second copy of a rule: the draft's submission and the CLI's (``projects.apply``) say
    no in the same words, of the same kind; and the draft lists the same problems beforehand."""
    env, token = people.env, people.add("ana", Role.ANALYST)
    people.add("bea", Role.ANALYST)
    form = _form("ana", **change)
    with pytest.raises(Refused) as by_command:
        projects.apply(env, token, "heat-one", Application.from_dict(form))
    draft = applications.save(env, token, None, "heat-two", form)
    with pytest.raises(Refused) as by_draft:
        applications.submit(env, token, draft.draft_id)
    assert (by_draft.value.kind, by_draft.value.reason) == (
        by_command.value.kind,
        by_command.value.reason,
    )
    assert any(p.message in by_command.value.reason for p in draft.problems)
    assert applications.mine(env, token).drafts[0].draft_id == draft.draft_id  # kept to fix


def test_a_bad_form_is_refused_naming_the_field(people: People) -> None:
    env, token = people.env, people.add("ana", Role.ANALYST)
    for bad, field in (
        ({"title": "x" * 20_001}, "title"),
        ({"members": "ana"}, "members"),
        ({"datasets": ["patients"]}, "datasets"),
    ):
        with pytest.raises(Refused, match=field):
            applications.save(env, token, None, "heat", _form("ana", **bad))
    with pytest.raises(Refused, match="cannot name a project"):
        projects.apply(env, token, "new", application("ana"))


text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(title=text, project_id=st.from_regex(r"[a-z0-9][a-z0-9-]{2,20}", fullmatch=True))
def test_no_draft_ever_appears_on_the_public_site(
    people: People, title: str, project_id: str
) -> None:
    """Whatever a draft is called and whatever id it asks for, the public lists of projects
    and of releases, and the page for that id, show nothing of it."""
    env = people.env
    token = people.tokens.get("ana") or people.add("ana", Role.ANALYST)
    marker = f"{title}-{project_id}-unsubmitted"
    applications.save(env, token, None, project_id, _form("ana", title=marker))
    listed = public.projects(env)
    assert all(p.project_id != project_id and marker not in p.title for p in listed)
    with pytest.raises(Refused):
        public.project(env, project_id)
    assert all(marker not in str(r) for r in public.releases(env))
