"""The portal's pages for applying: the one application form, saved as a draft, changed and
submitted, and the applicant's list of their applications with their status and waits.

Each page parses the form into the shape the environment keeps (:mod:`fivesafes.environment
.applications`) and renders what comes back; what a draft still lacks, whose draft it is and
whether it may be submitted are the environment's to say. One form serves a new draft and a
saved one, and has two buttons: save it as it stands, or save and submit. A submission that is
refused shows the form again with an error summary linking to each field the environment named.
Without a session a page sends the person to sign in; a POST whose form token is not the
session's is refused before anything is called.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from fivesafes.environment import Refused, applications
from fivesafes.environment import projects as project_use_cases
from fivesafes.environment.refusals import RefusalKind
from fivesafes.governance import Purpose
from fivesafes.governance.drafts import DraftView
from fivesafes.governance.projects import FormProblem
from fivesafes.model import TABLES
from fivesafes.web.rendering import STATUS, bad_form, env_of, refused_page, render, to_sign_in
from fivesafes.web.sessions import CSRF_FIELD, Session, csrf_ok, current

router = APIRouter(include_in_schema=False)
BACK = "/my/applications"
TEXT = (
    "title",
    "organisation",
    "purpose",
    "purpose_description",
    "public_benefit",
    "legal_basis",
    "repository",
)
SEPARATORS = re.compile(r"[\s,]+")
PURPOSES = tuple((p.value, p.value.replace("_", " ").capitalize()) for p in Purpose)
LABELS = {
    "title": "Title",
    "organisation": "Organisation",
    "purpose": "Purpose",
    "purpose_description": "What the project is for",
    "public_benefit": "How the public will benefit",
    "legal_basis": "Legal basis",
    "repository": "Code repository",
}
"""The form's words for the fields the environment names by their own name in a problem."""
ORDER = (
    "project_id", "title", "organisation", "purpose", "purpose_description", "public_benefit",
    "legal_basis", "datasets", "repository", "members", "planned_outputs",
)  # fmt: skip
"""The fields as the form asks them: the error summary lists its problems in this order."""
DATASETS = tuple((name, tuple(c.name for c in table.columns)) for name, table in TABLES.items())
"""Every table of the data model and its columns: what an application may ask for."""


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _parsed(sent: FormData) -> tuple[str, dict[str, Any]]:
    """The project id and the application form as posted, in the environment's shape."""
    form: dict[str, Any] = {name: _text(sent.get(name)).strip() for name in TEXT}
    form["members"] = [m for m in SEPARATORS.split(_text(sent.get("members"))) if m]
    outputs = _text(sent.get("planned_outputs")).splitlines()
    form["planned_outputs"] = [line.strip() for line in outputs if line.strip()]
    datasets: dict[str, list[str]] = {}
    for chosen in sent.getlist("column"):
        table, _, column = _text(chosen).partition(".")
        datasets.setdefault(table, []).append(column)
    form["datasets"] = datasets
    return _text(sent.get("project_id")).strip(), form


def _place(problem: FormProblem) -> int:
    return ORDER.index(problem.field) if problem.field in ORDER else len(ORDER)


def _in_words(problem: FormProblem) -> FormProblem:
    """A problem as the form says it: the field's label for its name, a capital first."""
    message = problem.message
    if problem.field in LABELS and message.startswith(problem.field + " "):
        message = LABELS[problem.field] + message[len(problem.field) :]
    return FormProblem(problem.field, message[:1].upper() + message[1:])


def _blank(person_id: str, repository: str) -> tuple[str, dict[str, Any]]:
    form: dict[str, Any] = {name: "" for name in TEXT}
    form |= {"repository": repository, "members": [person_id], "planned_outputs": []}
    return "", form | {"datasets": {}}


def _form_page(
    request: Request,
    project_id: str,
    form: dict[str, Any],
    draft: DraftView | None = None,
    status: int = 200,
    errors: tuple[FormProblem, ...] = (),
    saved: bool = False,
    draft_id: str | None = None,
) -> HTMLResponse:
    """The form, posted back to the draft it is (``draft_id``, or ``draft``'s), else to start
    a new one."""
    draft_id = draft.draft_id if draft is not None else draft_id
    action = f"/my/drafts/{draft_id}" if draft_id else "/my/applications/new"
    _, usual = project_use_cases.waits(env_of(request))
    errors = tuple(sorted(map(_in_words, errors), key=_place))
    by_field: dict[str, list[str]] = {}
    for problem in errors:
        by_field.setdefault(problem.field, []).append(problem.message)
    return render(
        request,
        "application_form.html",
        status,
        project_id=project_id,
        form=form,
        draft=draft,
        action=action,
        errors=errors,
        by_field=by_field,
        saved=saved,
        still_needed=tuple(sorted(map(_in_words, draft.problems), key=_place)) if draft else (),
        usual=usual.get("awaiting_decision"),
        purposes=PURPOSES,
        datasets=DATASETS,
    )


def _saved_or_submitted(
    request: Request,
    session: Session,
    draft_id: str | None,
    intent: str,
    project_id: str,
    form: dict[str, Any],
) -> Response:
    env = env_of(request)
    try:
        draft = applications.save(env, session.credential, draft_id, project_id, form)
    except Refused as refused:
        if draft_id is not None and refused.kind is RefusalKind.FORBIDDEN:
            return refused_page(request, refused, BACK)
        problem = (FormProblem("", refused.reason),)
        status = STATUS.get(refused.kind, 400)
        return _form_page(request, project_id, form, None, status, problem, draft_id=draft_id)
    if intent != "submit":
        return RedirectResponse(f"/my/drafts/{draft.draft_id}?saved=1", status_code=303)
    try:
        submitted, _ = applications.submit(env, session.credential, draft.draft_id)
    except Refused as refused:
        # what the draft still lacks, field by field; else why the environment said no
        problems = draft.problems or (FormProblem("", refused.reason),)
        status = STATUS.get(refused.kind, 400)
        return _form_page(request, draft.project_id, draft.form, draft, status, problems)
    return RedirectResponse(f"/my/applications?submitted={submitted}", status_code=303)


@router.get("/my/applications/new", response_class=HTMLResponse)
def new_application(request: Request, repository: str = "") -> Response:
    """An empty form, for those the environment lets start one; ``?repository=`` fills in the
    study's repository (a study reused from the open library)."""
    session = current(request)
    if session is None:
        return to_sign_in()
    try:
        person_id = applications.start(env_of(request), session.credential)
    except Refused as refused:
        return refused_page(request, refused, BACK)
    project_id, form = _blank(person_id, repository.strip())
    return _form_page(request, project_id, form)


@router.post("/my/applications/new", response_class=HTMLResponse)
async def save_new(request: Request) -> Response:
    return await _posted(request, None)


@router.get("/my/drafts/{draft_id}", response_class=HTMLResponse)
def draft_page(request: Request, draft_id: str, saved: str = "") -> Response:
    session = current(request)
    if session is None:
        return to_sign_in()
    try:
        draft = applications.draft(env_of(request), session.credential, draft_id)
    except Refused as refused:
        return refused_page(request, refused, BACK)
    return _form_page(request, draft.project_id, draft.form, draft, saved=bool(saved))


@router.post("/my/drafts/{draft_id}", response_class=HTMLResponse)
async def save_draft(request: Request, draft_id: str) -> Response:
    return await _posted(request, draft_id)


async def _posted(request: Request, draft_id: str | None) -> Response:
    """Save the posted form as the draft ``draft_id`` (a new one when None), and submit it
    when that was the button pressed."""
    session = current(request)
    if session is None:
        return to_sign_in()
    sent = await request.form()
    if not csrf_ok(session, _text(sent.get(CSRF_FIELD)) or None):
        return bad_form(request, BACK)
    project_id, form = _parsed(sent)
    return _saved_or_submitted(
        request, session, draft_id, _text(sent.get("intent")), project_id, form
    )
