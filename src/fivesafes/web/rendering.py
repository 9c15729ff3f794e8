"""What every signed-in page shares: the environment the server opened, a page rendered in the
signed-in section, the way to sign in, and how a refusal or a forged form is shown.

A ``Refused`` becomes an error summary whose status says what kind of no it was (403 when the
person may not); a POST whose form token is not the session's is a 403 before anything is
called. Kept apart from the pages so each module of them renders alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from fivesafes.environment import Environment, Refused
from fivesafes.environment.refusals import RefusalKind

STATUS = {RefusalKind.FORBIDDEN: 403, RefusalKind.INVALID: 400, RefusalKind.UNAVAILABLE: 503}
Page = Callable[..., HTMLResponse]


def env_of(request: Request) -> Environment:
    env: Environment = request.app.state.env
    return env


def render(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    page: Page = request.app.state.render_page
    return page(request, template, status, section="/my", **values)


def to_sign_in() -> RedirectResponse:
    return RedirectResponse("/sign-in", status_code=303)


def refused_page(request: Request, refused: Refused, back: str) -> HTMLResponse:
    status = STATUS.get(refused.kind, 400)
    return render(request, "refused.html", status, reason=refused.reason, back=back)


def bad_form(request: Request, back: str = "/my/projects") -> HTMLResponse:
    reason = "This form has expired or did not come from this site. Go back and try again."
    return render(request, "refused.html", 403, reason=reason, back=back)


def form_text(value: object) -> str | None:
    """A posted form field as text (``None`` for an upload or nothing)."""
    return value if isinstance(value, str) else None
