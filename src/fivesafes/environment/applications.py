"""Applying for a project as use cases: save the application form as a draft, come back to it,
submit it, and follow what became of it with the waits at each step.

Governance holds the rules (:mod:`fivesafes.governance.drafts`: a draft is its applicant's alone;
submitting one is the very submission ``fivesafes project submit`` makes). Here each step is one
call a face makes with the caller's credential, each refusal logged. :func:`mine` puts together
what an applicant follows: their drafts, the applications they are a member of with each wait
(public, like every project's), and how long applications have waited at each step, so the
time still to wait can be judged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fivesafes.environment.refusals import refusing
from fivesafes.governance import drafts, list_projects, waiting_summary, waiting_times
from fivesafes.governance.drafts import DraftView
from fivesafes.governance.projects import ProjectSummary, Wait

if TYPE_CHECKING:
    from fivesafes.environment.core import Environment


@dataclass(frozen=True)
class Submitted:
    """An application the caller is a member of, and each wait it has had or still has."""

    project: ProjectSummary
    waits: tuple[Wait, ...]


@dataclass(frozen=True)
class Applying:
    """Everything an applicant follows: their drafts, their applications, the usual waits."""

    drafts: tuple[DraftView, ...]
    applications: tuple[Submitted, ...]
    usual_waits: dict[str, dict[str, float | int]]
    """Per step, over every application: finished and open waits, median and longest days."""
    may_apply: bool
    """Whether the caller may start an application: the page offers the form only then."""


def start(env: Environment, credential: str) -> str:
    """The caller's person id, to start a new application's form with: for an analyst, the one
    role that may save or submit it; refused, and logged, for anyone else, so no one is offered
    a form they could never send."""
    with refusing(env.cp, "start_application"):
        return drafts.applicant(env.cp, credential)


def save(
    env: Environment,
    credential: str,
    draft_id: str | None,
    project_id: str,
    form: Mapping[str, Any],
) -> DraftView:
    """Save the caller's draft as it stands (a new one when ``draft_id`` is None)."""
    with refusing(env.cp, "save_application_draft"):
        return drafts.save_draft(env.cp, credential, draft_id, project_id, form)


def draft(env: Environment, credential: str, draft_id: str) -> DraftView:
    """One of the caller's own drafts, and what it still lacks."""
    with refusing(env.cp, "show_application_draft"):
        return drafts.draft_of(env.cp, credential, draft_id)


def submit(env: Environment, credential: str, draft_id: str) -> tuple[str, int]:
    """Submit the caller's draft as an application; the project's id and version."""
    with refusing(env.cp, "submit_project"):
        return drafts.submit_draft(env.cp, credential, draft_id)


def mine(env: Environment, credential: str) -> Applying:
    """The caller's drafts and the applications they are a member of, with their waits."""
    with refusing(env.cp, "list_applications"):
        person_id, may_apply, own = drafts.drafts_of(env.cp, credential)
        found = waiting_times(env.cp)
        theirs = tuple(
            Submitted(p, tuple(w for w in found if w.project_id == p.project_id))
            for p in list_projects(env.cp)
            if person_id in p.members
        )
        return Applying(tuple(own), theirs, waiting_summary(found), may_apply)
