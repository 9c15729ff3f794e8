"""The portal's signed-in pages: an analyst's projects, jobs, outputs and release requests; an
output checker's review queue and blind vote; an approver's signed decision on an application.

Every page takes the signed-in session's credential to one use case of the environment layer
(:mod:`fivesafes.environment.jobs`, :mod:`.releases`, :mod:`.accounts`, :mod:`.onboarding`) and
renders what it returns; a ``Refused`` is shown as an error summary (403 when forbidden). No
rule is decided here: which jobs and requests a person may see or act on, separation of duties
and sealed votes are the environment's. A request without a session is sent to sign in; a POST
whose form token is not the session's is refused before anything is called.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from fivesafes.environment import (
    RefusalKind,
    Refused,
    accounts,
    jobs,
    onboarding,
    public,
    releases,
)
from fivesafes.environment import applications as applying
from fivesafes.environment import projects as project_use_cases
from fivesafes.governance import Verdict as Decision
from fivesafes.release.model import OPEN_FOR_VOTES, Verdict
from fivesafes.web.rendering import STATUS, form_text
from fivesafes.web.rendering import bad_form as _bad_form
from fivesafes.web.rendering import env_of as _env
from fivesafes.web.rendering import refused_page as _refused
from fivesafes.web.rendering import render as _render
from fivesafes.web.rendering import to_sign_in as _to_sign_in
from fivesafes.web.sessions import (
    COOKIE,
    CSRF_FIELD,
    Session,
    clear_cookie,
    csrf_ok,
    current,
    sessions_of,
    set_cookie,
)

router = APIRouter(include_in_schema=False)


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request) -> Response:
    if current(request) is not None:
        return RedirectResponse("/my/projects", status_code=303)
    return _render(request, "sign_in.html")


@router.post("/sign-in", response_class=HTMLResponse)
def sign_in(
    request: Request,
    token: Annotated[str, Form()] = "",
    code: Annotated[str, Form()] = "",
) -> Response:
    """The personal token, exchanged with a current code for a signed-in token when one is
    given (the environment's sign-in, as ``fivesafes sign-in``); whoever the environment says
    the credential is, is signed in."""
    env = _env(request)
    if not token.strip():
        return _render(request, "sign_in.html", 400, error="Enter your personal token")
    try:
        credential = token.strip()
        if code.strip():
            credential = onboarding.sign_in(env, credential, code.strip()).token
        me = accounts.whoami(env, credential)
    except Refused as refused:
        return _render(request, "sign_in.html", STATUS.get(refused.kind, 400), error=refused.reason)
    roles = tuple(sorted(str(r) for r in me.roles))
    sid = sessions_of(request).start(Session(credential, me.person_id, roles))
    response = RedirectResponse("/my/projects", status_code=303)
    set_cookie(request, response, sid)
    return response


@router.post("/sign-out")
def sign_out(request: Request, csrf_token: Annotated[str, Form()] = "") -> Response:
    session = current(request)
    if session is not None and not csrf_ok(session, csrf_token):
        return _bad_form(request)
    sessions_of(request).end(request.cookies.get(COOKIE))
    response = RedirectResponse("/sign-in", status_code=303)
    clear_cookie(request, response)
    return response


@router.get("/my", response_class=HTMLResponse)
@router.get("/my/projects", response_class=HTMLResponse)
def my_projects(request: Request) -> Response:
    session = current(request)
    if session is None:
        return _to_sign_in()
    try:
        mine = project_use_cases.projects_of(_env(request), session.credential)
    except Refused as refused:
        return _refused(request, refused, "/")
    return _render(request, "my_projects.html", projects=mine)


@router.get("/my/projects/{project_id}", response_class=HTMLResponse)
def my_project(request: Request, project_id: str) -> Response:
    session = current(request)
    if session is None:
        return _to_sign_in()
    env = _env(request)
    try:
        found = jobs.listing(env, session.credential, project_id)
        asked = releases.listing(env, session.credential, project_id)
    except Refused as refused:
        return _refused(request, refused, "/my/projects")
    return _render(request, "my_project.html", project_id=project_id, jobs=found, releases=asked)


def _job_page(
    request: Request, session: Session, job_id: str, status: int = 200, error: str | None = None
) -> HTMLResponse:
    env = _env(request)
    try:
        view = jobs.status(env, session.credential, job_id)
        events = jobs.log(env, session.credential, job_id)
        used = jobs.codelist_checks(env, session.credential, job_id)
        releasable = [o.path for o in view.record.outputs if o.privacy == "moderately_sensitive"]
        checks = (
            releases.check(env, session.credential, view.record.project_id, job_id, releasable)
            if releasable and view.state == "succeeded"
            else []
        )
    except Refused as refused:
        return _refused(request, refused, "/my/projects")
    return _render(
        request,
        "my_job.html",
        status,
        job=view,
        log=events,
        codelists=used,
        checks=checks,
        error=error,
    )


@router.get("/my/jobs/{job_id}", response_class=HTMLResponse)
def my_job(request: Request, job_id: str) -> Response:
    session = current(request)
    if session is None:
        return _to_sign_in()
    return _job_page(request, session, job_id)


@router.post("/my/jobs/{job_id}/release", response_class=HTMLResponse)
async def request_release(request: Request, job_id: str) -> Response:
    session = current(request)
    if session is None:
        return _to_sign_in()
    form = await request.form()
    if not csrf_ok(session, form_text(form.get(CSRF_FIELD))):
        return _bad_form(request)
    files = [form_text(f) or "" for f in form.getlist("file")]
    justification = (form_text(form.get("justification")) or "").strip()
    exceptions = {
        f: text.strip()
        for f in files
        if (text := form_text(form.get(f"exception:{f}")) or "").strip()
    }
    env = _env(request)
    try:
        view = jobs.status(env, session.credential, job_id)
        made = releases.request(
            env,
            session.credential,
            view.record.project_id,
            job_id,
            files,
            justification,
            exceptions,
        )
    except Refused as refused:
        return _job_page(request, session, job_id, STATUS.get(refused.kind, 400), refused.reason)
    return RedirectResponse(f"/my/releases/{made.release_id}", status_code=303)


@router.get("/my/reviews", response_class=HTMLResponse)
def review_queue(request: Request) -> Response:
    session = current(request)
    if session is None:
        return _to_sign_in()
    try:
        waiting = releases.review_queue(_env(request), session.credential)
    except Refused as refused:
        return _refused(request, refused, "/my/projects")
    return _render(request, "reviews.html", releases=waiting)


def _release_page(
    request: Request,
    session: Session,
    release_id: str,
    status: int = 200,
    error: str | None = None,
) -> HTMLResponse:
    try:
        view = releases.show(_env(request), session.credential, release_id)
    except Refused as refused:
        return _refused(request, refused, "/my/projects")
    open_for_votes = view.state in OPEN_FOR_VOTES
    return _render(
        request, "release.html", status, release=view, open_for_votes=open_for_votes, error=error
    )


@router.get("/my/releases/{release_id}", response_class=HTMLResponse)
def my_release(request: Request, release_id: str) -> Response:
    session = current(request)
    if session is None:
        return _to_sign_in()
    return _release_page(request, session, release_id)


async def _uploaded_key(upload: object) -> tuple[Ed25519PrivateKey | None, str]:
    """The decider's signing key from the form's file, held in memory only; else why not."""
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None, "Choose your signing key file"
    try:
        key = load_pem_private_key(await upload.read(), password=None)
    except ValueError as exc:
        return None, f"Your signing key: {exc}"
    if not isinstance(key, Ed25519PrivateKey):
        return None, "Your signing key: the file is not an Ed25519 private key"
    return key, ""


@router.post("/my/releases/{release_id}/vote", response_class=HTMLResponse)
async def vote(request: Request, release_id: str) -> Response:
    """An output checker's vote, signed with the key file they choose: it is read into memory
    for this one signature and never written or kept (as ``fivesafes release review --key``).

    A vote the person may not cast is answered with the environment's reason alone: showing the
    release with the error would ask the environment again, for someone it may also refuse to
    show the release (a custodian), and that second no would be the page's answer (400, "no
    release request that you may see") in place of the first (403), with a second refusal in
    the ledger."""
    session = current(request)
    if session is None:
        return _to_sign_in()
    form = await request.form()
    if not csrf_ok(session, form_text(form.get(CSRF_FIELD))):
        return _bad_form(request)
    chosen, comments = (
        form_text(form.get("verdict")),
        (form_text(form.get("comments")) or "").strip(),
    )
    if chosen not in {v.value for v in Verdict}:
        return _release_page(request, session, release_id, 400, "Choose approve, return or reject")
    signer, problem = await _uploaded_key(form.get("key"))
    if signer is None:
        return _release_page(request, session, release_id, 400, problem)
    try:
        releases.review(
            _env(request), session.credential, release_id, Verdict(chosen), comments, signer
        )
    except Refused as refused:
        if refused.kind is RefusalKind.FORBIDDEN:  # the reason alone, as the docstring says
            return _refused(request, refused, f"/my/releases/{release_id}")
        return _release_page(
            request, session, release_id, STATUS.get(refused.kind, 400), refused.reason
        )
    return RedirectResponse(f"/my/releases/{release_id}", status_code=303)


@router.get("/my/applications", response_class=HTMLResponse)
def applications(request: Request, submitted: str = "") -> Response:
    """The person's own drafts and applications with their waits (:mod:`.applying` makes and
    submits them), and applications waiting for a decision (public information: which is which
    is no secret); whether this person may decide one is the environment's to say when they try."""
    session = current(request)
    if session is None:
        return _to_sign_in()
    try:
        mine = applying.mine(_env(request), session.credential)
        waiting = project_use_cases.awaiting_decision(_env(request), session.credential)
    except Refused as refused:
        return _refused(request, refused, "/my/projects")
    return _render(request, "applications.html", projects=waiting, mine=mine, submitted=submitted)


def _application_page(
    request: Request,
    session: Session,
    project_id: str,
    status: int = 200,
    error: str | None = None,
) -> HTMLResponse:
    try:
        page = public.project(_env(request), project_id)
    except Refused as refused:
        return _refused(request, refused, "/my/applications")
    return _render(request, "application.html", status, page=page, error=error)


@router.get("/my/applications/{project_id}", response_class=HTMLResponse)
def application(request: Request, project_id: str) -> Response:
    session = current(request)
    if session is None:
        return _to_sign_in()
    return _application_page(request, session, project_id)


@router.post("/my/applications/{project_id}/decision", response_class=HTMLResponse)
async def decide(request: Request, project_id: str) -> Response:
    """An approver's decision, signed with the key file they choose (read for this signature
    only, as the vote's); the environment checks the key is theirs and that they may decide."""
    session = current(request)
    if session is None:
        return _to_sign_in()
    form = await request.form()
    if not csrf_ok(session, form_text(form.get(CSRF_FIELD))):
        return _bad_form(request)
    chosen = form_text(form.get("verdict"))
    reasons = (form_text(form.get("reasons")) or "").strip()
    until_text = (form_text(form.get("until")) or "").strip()
    if chosen not in {v.value for v in Decision}:
        return _application_page(
            request, session, project_id, 400, "Choose approve, ask for changes or reject"
        )
    try:
        until = date.fromisoformat(until_text) if until_text else None
    except ValueError:
        return _application_page(
            request, session, project_id, 400, "Enter the approval's end as a date, like 2027-03-31"
        )
    signer, problem = await _uploaded_key(form.get("key"))
    if signer is None:
        return _application_page(request, session, project_id, 400, problem)
    try:
        project_use_cases.decision(
            _env(request), session.credential, project_id, Decision(chosen), reasons, signer, until
        )
    except Refused as refused:
        return _application_page(
            request, session, project_id, STATUS.get(refused.kind, 400), refused.reason
        )
    return RedirectResponse(f"/my/applications/{project_id}", status_code=303)
