"""The portal's code-list pages: for anyone, the published code lists with their author, date
and codes, each version downloadable as OpenCodelists' CSV; signed in, an analyst searches the
codes in the data (a term and a code system), makes a list, picks codes from the search's
results with checkboxes, sees every version and publishes one.

Each page calls one use case of :mod:`fivesafes.environment.codelists` (the public ones take no
credential; the rest the session's) and renders what it returns: which counts a search may show,
who may build and who may publish, and what of a list the public sees, are decided there. Every
form posts with the session's form token and works without JavaScript; a search is a GET form,
so its results can be bookmarked and the back button works.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from fivesafes.environment import RefusalKind, Refused, codelists
from fivesafes.query.codelists import SYSTEM_NAMES
from fivesafes.web.rendering import (
    STATUS,
    bad_form,
    form_text,
    refused_page,
    render,
    to_sign_in,
)
from fivesafes.web.sessions import CSRF_FIELD, Session, csrf_ok, current

router = APIRouter(include_in_schema=False)
SYSTEMS = tuple(SYSTEM_NAMES)
"""The code systems a list can be of, as studies name them, for the forms' choices."""
PUBLIC = "/codelists"
MINE = "/my/codelists"


def _public(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    page = request.app.state.render_page
    found: HTMLResponse = page(request, template, status, section=PUBLIC, **values)
    return found


# --- for anyone ------------------------------------------------------------------------------


@router.get(PUBLIC, response_class=HTMLResponse)
def published(request: Request) -> HTMLResponse:
    found = codelists.published(request.app.state.env)
    return _public(request, "codelists.html", lists=found)


@router.get(PUBLIC + "/{slug}", response_class=HTMLResponse)
def published_list(request: Request, slug: str) -> HTMLResponse:
    try:
        found = codelists.published_list(request.app.state.env, slug)
    except Refused as refused:
        return _public(request, "not_found.html", 404, reason=refused.reason)
    return _public(request, "codelist.html", codelist=found)


@router.get(PUBLIC + "/{slug}/{version}.csv")
def download(request: Request, slug: str, version: str) -> Response:
    try:
        text = codelists.published_csv(request.app.state.env, f"{slug}/{version}")
    except Refused as refused:
        return PlainTextResponse(refused.reason + "\n", status_code=404)
    # the environment found the version, so the slug is its letters and the version a number
    named = {"Content-Disposition": f'attachment; filename="{slug}-{int(version)}.csv"'}
    return Response(text, media_type="text/csv", headers=named)


# --- signed in -------------------------------------------------------------------------------


@router.get(MINE, response_class=HTMLResponse)
def my_codelists(request: Request) -> Response:
    session = current(request)
    if session is None:
        return to_sign_in()
    return _listing(request, session)


def _listing(
    request: Request, session: Session, status: int = 200, error: str | None = None, **typed: str
) -> HTMLResponse:
    try:
        found = codelists.listing(request.app.state.env, session.credential)
    except Refused as refused:
        return refused_page(request, refused, "/my/projects")
    return render(
        request, "my_codelists.html", status, lists=found, systems=SYSTEMS, error=error, typed=typed
    )


@router.post(MINE, response_class=HTMLResponse)
def create(
    request: Request,
    csrf_token: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    system: Annotated[str, Form()] = "",
    slug: Annotated[str, Form()] = "",
) -> Response:
    session = current(request)
    if session is None:
        return to_sign_in()
    if not csrf_ok(session, csrf_token):
        return bad_form(request)
    try:
        made = codelists.new(
            request.app.state.env, session.credential, name, system, slug.strip() or None
        )
    except Refused as refused:
        if refused.kind is RefusalKind.FORBIDDEN:  # nothing here is theirs to see either
            return refused_page(request, refused, "/my/projects")
        status = STATUS.get(refused.kind, 400)
        return _listing(request, session, status, refused.reason, name=name, slug=slug)
    return RedirectResponse(f"{MINE}/{made.slug}", status_code=303)


def _refused_change(request: Request, session: Session, slug: str, refused: Refused) -> Response:
    """A change refused: the list again with the reason when it was the change that could not
    be made; the reason alone when the person may not make it (showing the list would ask the
    environment again, for someone it may refuse, and log that a second time)."""
    if refused.kind is RefusalKind.FORBIDDEN:
        return refused_page(request, refused, f"{MINE}/{slug}")
    return _list_page(request, session, slug, STATUS.get(refused.kind, 400), refused.reason)


def _list_page(
    request: Request, session: Session, slug: str, status: int = 200, error: str | None = None
) -> HTMLResponse:
    try:
        found = codelists.show(request.app.state.env, session.credential, slug)
    except Refused as refused:
        return refused_page(request, refused, MINE)
    return render(request, "my_codelist.html", status, codelist=found, error=error)


@router.get(MINE + "/{slug}", response_class=HTMLResponse)
def my_codelist(request: Request, slug: str) -> Response:
    session = current(request)
    if session is None:
        return to_sign_in()
    return _list_page(request, session, slug)


@router.get("/my/codes", response_class=HTMLResponse)
def search(request: Request, term: str = "", system: str = "", codelist: str = "") -> Response:
    """The codes in the data; given ``codelist``, each found code has a checkbox to add it."""
    session = current(request)
    if session is None:
        return to_sign_in()
    env = request.app.state.env
    values: dict[str, Any] = {"term": term, "system": system, "systems": SYSTEMS}
    try:
        if codelist:
            values["codelist"] = codelists.show(env, session.credential, codelist)
        if term.strip():
            values["found"] = codelists.search(env, session.credential, term, system or None)
    except Refused as refused:
        values["error"] = refused.reason
        return render(request, "codes.html", STATUS.get(refused.kind, 400), **values)
    return render(request, "codes.html", **values)


async def _changed(request: Request, slug: str, adding: bool) -> Response:
    """Add the ticked codes to the list, or remove them: a new version either way."""
    session = current(request)
    if session is None:
        return to_sign_in()
    form = await request.form()
    if not csrf_ok(session, form_text(form.get(CSRF_FIELD))):
        return bad_form(request)
    ticked = [c for c in (form_text(v) for v in form.getlist("code")) if c]
    env = request.app.state.env
    try:
        if adding:
            codelists.add(env, session.credential, slug, dict.fromkeys(ticked))
        else:
            codelists.remove(env, session.credential, slug, ticked)
    except Refused as refused:
        return _refused_change(request, session, slug, refused)
    return RedirectResponse(f"{MINE}/{slug}", status_code=303)


@router.post(MINE + "/{slug}/add", response_class=HTMLResponse)
async def add(request: Request, slug: str) -> Response:
    return await _changed(request, slug, adding=True)


@router.post(MINE + "/{slug}/remove", response_class=HTMLResponse)
async def remove(request: Request, slug: str) -> Response:
    return await _changed(request, slug, adding=False)


@router.post(MINE + "/{slug}/publish", response_class=HTMLResponse)
def publish(
    request: Request,
    slug: str,
    csrf_token: Annotated[str, Form()] = "",
    version: Annotated[str, Form()] = "",
) -> Response:
    session = current(request)
    if session is None:
        return to_sign_in()
    if not csrf_ok(session, csrf_token):
        return bad_form(request)
    try:
        codelists.publish(request.app.state.env, session.credential, f"{slug}/{version}")
    except Refused as refused:
        return _refused_change(request, session, slug, refused)
    return RedirectResponse(f"{MINE}/{slug}", status_code=303)
