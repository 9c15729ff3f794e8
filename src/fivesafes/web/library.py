"""The open library of code in the portal: every study's code at each commit that ran.

Each page parses its path and calls one read of :mod:`fivesafes.environment.library`, which
decides what is public (commits that ran, what git holds at them); a ``Refused`` there is a
"not found" here, said the same way whatever was asked for, so a made-up path, ``..`` or a
commit that never ran tells nothing. The drawing of ``project.yaml`` is :mod:`.pipeline`'s.
"Reuse this study" is a form for a signed-in analyst; the environment checks who they are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fivesafes.environment import Environment, Refused, library
from fivesafes.environment import reuse as reusing
from fivesafes.environment.refusals import RefusalKind
from fivesafes.web.pipeline import draw
from fivesafes.web.sessions import csrf_ok, current

router = APIRouter(include_in_schema=False)
SECTION = "/library"
NEW_APPLICATION = "/my/applications/new"
"""Where a reused study's new repository is taken, to be named in a draft application."""
Page = Callable[..., HTMLResponse]


def _env(request: Request) -> Environment:
    env: Environment = request.app.state.env
    return env


def _render(request: Request, template: str, status: int = 200, **values: object) -> HTMLResponse:
    render: Page = request.app.state.render_page
    return render(request, template, status, section=SECTION, **values)


def _missing(request: Request, refused: Refused) -> HTMLResponse:
    status = 404 if refused.kind is RefusalKind.INVALID else 503
    return _render(request, "not_found.html", status, reason=refused.reason)


@router.get("/library", response_class=HTMLResponse)
def studies(request: Request) -> HTMLResponse:
    return _render(request, "library.html", studies=library.studies(_env(request)))


@router.get("/library/{project_id}", response_class=HTMLResponse)
def study(request: Request, project_id: str) -> HTMLResponse:
    try:
        found = library.study(_env(request), project_id)
    except Refused as refused:
        return _missing(request, refused)
    return _render(request, "library_study.html", study=found)


@router.get("/library/{project_id}/{commit}/", response_class=HTMLResponse)
def commit_page(request: Request, project_id: str, commit: str) -> HTMLResponse:
    try:
        page = library.commit_page(_env(request), project_id, commit)
    except Refused as refused:
        return _missing(request, refused)
    title = f"The pipeline of {page.study.title}: its actions, and the arrows they need"
    drawing = draw(page.pipeline, title) if page.pipeline.actions else None
    return _render(request, "library_commit.html", page=page, drawing=drawing)


@router.get("/library/{project_id}/{commit}/files/{path:path}", response_class=HTMLResponse)
def file_page(request: Request, project_id: str, commit: str, path: str) -> HTMLResponse:
    env = _env(request)
    try:
        found = library.file_text(env, project_id, commit, path)
        listed = library.study(env, project_id)
    except Refused as refused:
        return _missing(request, refused)
    return _render(request, "library_file.html", file=found, study=listed)


@router.get("/library/{project_id}/{commit}/study.zip")
def download(request: Request, project_id: str, commit: str) -> Response:
    try:
        made = library.archive(_env(request), project_id, commit)
    except Refused as refused:
        return _missing(request, refused)
    disposition = f'attachment; filename="{made.filename}"'
    return Response(
        made.content, media_type="application/zip", headers={"Content-Disposition": disposition}
    )


@router.post("/library/{project_id}/{commit}/reuse", response_class=HTMLResponse)
def reuse(
    request: Request, project_id: str, commit: str, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    """A new repository seeded from the commit, then the draft application that names it."""
    session = current(request)
    if session is None:
        return RedirectResponse("/sign-in", status_code=303)
    back = f"/library/{quote(project_id)}/{quote(commit)}/"
    if not csrf_ok(session, csrf_token):
        reason = "This form has expired or did not come from this site. Go back and try again."
        return _render(request, "refused.html", 403, reason=reason, back=back)
    try:
        made = reusing.reuse(_env(request), session.credential, project_id, commit)
    except Refused as refused:
        status = {RefusalKind.FORBIDDEN: 403, RefusalKind.INVALID: 404}.get(refused.kind, 503)
        return _render(request, "refused.html", status, reason=refused.reason, back=back)
    target = f"{NEW_APPLICATION}?repository={quote(made.repository, safe='')}"
    return RedirectResponse(target, status_code=303)
