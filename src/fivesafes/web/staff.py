"""The portal's pages for the people who run the environment: a data custodian's loads,
quarantine and opt-out figures; an operator's workers, queues and storage.

Each page takes the signed-in session's credential to one read of the environment layer
(:mod:`fivesafes.environment.custodian_views`, :func:`fivesafes.environment.data.quarantine`,
:mod:`fivesafes.environment.operator_views`) and renders what it returns. Who may see which is
decided there: each read checks the person's role and fails closed, so a person without it gets
the refusal (403) and the ledger a ``refusal`` entry, exactly as on the command line. A request
without a session is sent to sign in. Every page is a GET with nothing to change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from fivesafes.environment import Environment, Refused, custodian_views, data, operator_views
from fivesafes.web.sessions import current
from fivesafes.web.signed_in import _refused, _render, _to_sign_in

router = APIRouter(include_in_schema=False)
Read = Callable[[Environment, str], Any]
"""A read of the environment layer, given the signed-in person's credential."""
Pages = tuple[tuple[str, str], ...]

DATA_PAGES: Pages = (
    ("/my/data/loads", "Loads"),
    ("/my/data/quarantine", "Quarantine"),
    ("/my/data/opt-outs", "Opt-outs"),
)
OPERATION_PAGES: Pages = (
    ("/my/operations/workers", "Workers"),
    ("/my/operations/queues", "Queues"),
    ("/my/operations/storage", "Storage"),
)
QUARANTINE_SHOWN = 200
"""How many findings the quarantine page lists (``fivesafes quarantine --limit`` for more)."""


def _page(
    request: Request,
    template: str,
    read: Read,
    pages: Pages,
    **values: Any,
) -> Response:
    """The page ``template`` over what ``read`` returns for the signed-in person."""
    session = current(request)
    if session is None:
        return _to_sign_in()
    env: Environment = request.app.state.env
    try:
        found = read(env, session.credential)
    except Refused as refused:
        return _refused(request, refused, "/my/projects")
    here = request.url.path
    return _render(request, template, found=found, pages=pages, here=here, **values)


PLAIN: dict[str, tuple[str, Read, Pages]] = {
    "/my/data/loads": ("staff_loads.html", custodian_views.loads, DATA_PAGES),
    "/my/data/opt-outs": ("staff_opt_outs.html", custodian_views.opt_out_figures, DATA_PAGES),
    "/my/operations/workers": ("staff_workers.html", operator_views.workers, OPERATION_PAGES),
    "/my/operations/queues": ("staff_queues.html", operator_views.queues, OPERATION_PAGES),
    "/my/operations/storage": ("staff_storage.html", operator_views.storage, OPERATION_PAGES),
}
"""The pages that take nothing but the session: each its template, its read and its group."""


def _plain(template: str, read: Read, pages: Pages) -> Callable[[Request], Response]:
    def show(request: Request) -> Response:
        return _page(request, template, read, pages)

    return show


for _path, (_template, _read, _pages) in PLAIN.items():
    router.add_api_route(
        _path, _plain(_template, _read, _pages), methods=["GET"], response_class=HTMLResponse
    )


@router.get("/my/data/quarantine", response_class=HTMLResponse)
def quarantine(request: Request, rule: str | None = None) -> Response:
    """The rejected records, every finding exactly as the load recorded it (a custodian)."""
    chosen = rule.strip() if rule and rule.strip() else None

    def read(env: Environment, credential: str) -> data.QuarantineView:
        return data.quarantine(env, credential, chosen, QUARANTINE_SHOWN)

    return _page(request, "staff_quarantine.html", read, DATA_PAGES, rule=chosen)
