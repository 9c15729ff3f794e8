"""The public portal: server-rendered pages anyone can read without signing in.

Each page parses its path, calls one read of the environment layer (:mod:`fivesafes.environment
.public`, the public catalogue of :mod:`fivesafes.environment.catalogue`) and renders what it
returns; what the public may see is decided there, not here. Pages are plain HTML with the
NHS.UK design system's classes and work without JavaScript; they are kept out of the API's
OpenAPI document, which describes the API only.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import orjson
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment as Templates
from jinja2 import FileSystemLoader, select_autoescape

from fivesafes.environment import Environment, Refused, public, public_dashboards
from fivesafes.environment.catalogue import view_catalogue
from fivesafes.web import (
    applying,
    codelists,
    dashboards,
    job_submission,
    library,
    signed_in,
    staff,
)
from fivesafes.web.assets import DesignSystem, design_system
from fivesafes.web.sessions import Sessions, current

HERE = Path(__file__).resolve().parent
MENU = (
    ("/projects", "Projects"),
    ("/releases", "Releases"),
    ("/ledger", "Ledger"),
    ("/catalogue", "Data catalogue"),
    ("/codelists", "Code lists"),
    ("/library", "Library"),
    ("/dashboards", "Dashboards"),
)
SECTIONS = (
    ("/projects", "Projects", "Who is using data, for what, and who approved it."),
    (
        "/releases",
        "Releases",
        "Every result that has left the environment, and how it was checked.",
    ),
    ("/ledger", "The ledger", "The signed log of everything done here, and how to check it."),
    ("/catalogue", "Data catalogue", "What data is held, over which years, and how complete."),
    ("/codelists", "Code lists", "The published lists of codes studies use, to read and download."),
    ("/library", "Library of study code", "The code of every study that ran, to read and reuse."),
    ("/dashboards", "Dashboards", "Charts drawn from released results, and nothing else."),
)

router = APIRouter(include_in_schema=False)


def _words(value: object) -> str:
    text = str(getattr(value, "value", value)).replace("_", " ")
    return text[:1].upper() + text[1:]


def _when(value: datetime | None) -> str:
    return "" if value is None else f"{value:%-d %B %Y, %H:%M} UTC"


def _day(value: date) -> str:
    return f"{value:%-d %B %Y}"


def _count(value: int | None) -> str:
    """A count as published: ``–`` where the environment suppressed it."""
    return "–" if value is None else f"{value:,}"


def _size(value: int) -> str:
    """Bytes as people read them: ``812 bytes``, ``4.2 MB``, ``1.3 GB`` (powers of 1,000)."""
    if value < 1000:
        return f"{value:,} bytes"
    size = float(value)
    for unit in ("kB", "MB", "GB"):
        size /= 1000
        if size < 1000:
            return f"{size:,.1f} {unit}"
    return f"{size / 1000:,.1f} TB"


WAIT_UNITS = (("days", 86400, 2), ("hours", 3600, 2), ("minutes", 60, 1))
"""(unit, seconds in it, how many of it before a wait is said in it)."""


def _duration(seconds: float | None) -> str:
    """A wait in the largest unit that says it: ``45 seconds``, ``12.0 minutes``, ``3.5 hours``."""
    if seconds is None:
        return "–"
    for unit, size, least in WAIT_UNITS:
        if seconds >= size * least:
            return f"{seconds / size:,.1f} {unit}"
    return "1 second" if round(seconds) == 1 else f"{seconds:,.0f} seconds"


def _templates() -> Templates:
    templates = Templates(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    templates.filters.update(
        words=_words, when=_when, day=_day, count=_count, size=_size, duration=_duration
    )
    return templates


TEMPLATES = _templates()


def _env(request: Request) -> Environment:
    env: Environment = request.app.state.env
    return env


def _page(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    env = _env(request)
    design: DesignSystem = request.app.state.design_system
    html = TEMPLATES.get_template(template).render(
        environment_name=env.settings.name,
        design_version=design.version,
        menu=MENU,
        section=values.pop("section", None),
        session=current(request),
        **values,
    )
    return HTMLResponse(html, status_code=status)


def _not_found(request: Request, reason: str) -> HTMLResponse:
    return _page(request, "not_found.html", 404, reason=reason)


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    return _page(request, "home.html", sections=SECTIONS)


@router.get("/projects", response_class=HTMLResponse)
def projects(request: Request) -> HTMLResponse:
    return _page(
        request, "projects.html", section="/projects", projects=public.projects(_env(request))
    )


@router.get("/projects/{project_id}", response_class=HTMLResponse)
def project(request: Request, project_id: str) -> HTMLResponse:
    try:
        page = public.project(_env(request), project_id)
    except Refused as refused:
        return _not_found(request, refused.reason)
    drawn = public_dashboards.of_project(_env(request), project_id)
    return _page(request, "project.html", section="/projects", page=page, dashboard=drawn)


@router.get("/releases", response_class=HTMLResponse)
def releases(request: Request) -> HTMLResponse:
    env = _env(request)
    titles = {p.project_id: p.title for p in public.projects(env)}
    return _page(
        request, "releases.html", section="/releases", releases=public.releases(env), titles=titles
    )


@router.get("/ledger", response_class=HTMLResponse)
def ledger(request: Request, entry: int | None = None, page: int = 1) -> HTMLResponse:
    env = _env(request)
    kind = None
    try:
        if entry is not None:  # the entry's kind; the checkpoint the steps download covers it
            kind = orjson.loads(public.receipt(env, entry).entry)["kind"]
        found = public.ledger(env, page)
    except Refused as refused:
        return _not_found(request, refused.reason)
    latest = found.checkpoints[-1].size if found.checkpoints else None
    return _page(
        request,
        "ledger.html",
        section="/ledger",
        ledger=found,
        latest_size=latest,
        entry=entry,
        entry_kind=kind,
        base_url=request.app.state.config.base_url.rstrip("/"),
    )


@router.get("/ledger/checkpoint", response_class=PlainTextResponse)
def checkpoint(request: Request) -> Response:
    latest = public.ledger(_env(request)).latest
    if latest is None:
        return PlainTextResponse("no checkpoint has been signed yet\n", status_code=404)
    return PlainTextResponse(latest)


@router.get("/ledger/key", response_class=PlainTextResponse)
def key(request: Request) -> PlainTextResponse:
    return PlainTextResponse(public.ledger(_env(request)).vkey + "\n")


@router.get("/ledger/entries/{index}.json")
def receipt(request: Request, index: int) -> Response:
    try:
        found = public.receipt(_env(request), index)
    except Refused as refused:
        return PlainTextResponse(refused.reason + "\n", status_code=404)
    return Response(orjson.dumps(found.to_dict()), media_type="application/json")


@router.get("/catalogue", response_class=HTMLResponse)
def catalogue(request: Request) -> HTMLResponse:
    found = view_catalogue(_env(request).data_dir)  # no credential: the public's view
    outcomes = sorted({o for load in found.loads for o in load.totals})
    return _page(
        request, "catalogue.html", section="/catalogue", catalogue=found, outcomes=outcomes
    )


@router.get("/catalogue/{name}", response_class=HTMLResponse)
def dataset(request: Request, name: str) -> HTMLResponse:
    found = view_catalogue(_env(request).data_dir)
    chosen = [d for d in found.datasets if d.name == name]
    if not chosen:
        return _not_found(request, f"The catalogue has no dataset called {name}.")
    return _page(
        request, "dataset.html", section="/catalogue", dataset=chosen[0], profile=found.profile
    )


def install(app: FastAPI) -> None:
    """Add the portal to ``app``: its pages at ``/``, the design system at ``/assets`` and its
    own files at ``/static``. Refused (``AssetsMissing``) if the design system is not installed,
    so the server does not start serving broken pages."""
    design = design_system()
    app.state.design_system = design
    app.state.sessions = Sessions()
    app.state.render_page = _page
    assets = APIRouter(prefix="/assets", include_in_schema=False)

    @assets.get("/nhsuk-frontend.min.css")
    def stylesheet() -> Response:
        return Response(design.stylesheet, media_type="text/css")

    @assets.get("/nhsuk-frontend.min.js")
    def script() -> FileResponse:
        return FileResponse(design.script, media_type="text/javascript")

    app.include_router(router)
    app.include_router(applying.router)  # before signed_in: /my/applications/new is not a project
    app.include_router(job_submission.router)
    app.include_router(dashboards.router)
    app.include_router(signed_in.router)
    app.include_router(codelists.router)
    app.include_router(library.router)
    app.include_router(staff.router)
    app.include_router(assets)
    app.mount("/assets/images", StaticFiles(directory=design.images), name="nhsuk-images")
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="portal-static")
