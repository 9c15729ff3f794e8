"""The public portal's published dashboards: the list, and each dashboard with its charts.

Each route parses its path and calls one read of :mod:`fivesafes.environment.public_dashboards`,
which decides what is published (a project's verified released tables, nothing else) and draws
it; a dashboard's own page (plain HTML, no scripts, its stylesheet inline) is served as it was
drawn, with the charts and icons beside it, and only files of that drawing.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from fivesafes.dashboards import PAGE
from fivesafes.environment import Environment, Refused, public_dashboards

router = APIRouter(include_in_schema=False)


def _env(request: Request) -> Environment:
    env: Environment = request.app.state.env
    return env


def _render(request: Request, template: str, status: int = 200, **values: object) -> HTMLResponse:
    render = request.app.state.render_page
    page: HTMLResponse = render(request, template, status, **values)
    return page


@router.get("/dashboards", response_class=HTMLResponse)
def listing(request: Request) -> HTMLResponse:
    found = public_dashboards.published(_env(request))
    return _render(request, "dashboards.html", section="/dashboards", dashboards=found)


@router.get("/dashboards/{name}")
def dashboard(request: Request, name: str) -> Response:
    """The dashboard lives at its folder's address, so the charts its page names resolve."""
    return RedirectResponse(f"/dashboards/{name}/", status_code=307)


@router.get("/dashboards/{name}/{path:path}")
def drawn(request: Request, name: str, path: str) -> Response:
    try:
        folder = public_dashboards.dashboard(_env(request), name)
    except Refused as refused:
        return _render(request, "not_found.html", 404, reason=refused.reason)
    wanted = (folder / (path or PAGE)).resolve()
    if not wanted.is_relative_to(folder.resolve()) or not wanted.is_file():
        reason = f"The dashboard {name} has no file {path}."
        return _render(request, "not_found.html", 404, reason=reason)
    return FileResponse(wanted)
