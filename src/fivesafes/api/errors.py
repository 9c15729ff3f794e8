"""The one error layer: every refusal and failure as JSON, and on FHIR routes as an
OperationOutcome with ``application/fhir+json``.

The environment says no in a few ways (:mod:`fivesafes.environment.records`, governance's
``AccessDenied``, and the use cases' one :class:`~fivesafes.environment.Refused`); each becomes
one HTTP status here, and nothing else decides a status. On the management API (``/api/v1``)
every error is an RFC 9457 problem (``application/problem+json``). An
error nobody expected is a 500 with an OperationOutcome that says so without a traceback (the
traceback goes to the server's log).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from fivesafes.environment import RefusalKind, Refused
from fivesafes.environment.patches import PatchError
from fivesafes.environment.records import (
    Gone,
    Invalid,
    NotFound,
    PreconditionRequired,
    VersionMismatch,
)
from fivesafes.governance import AccessDenied
from fivesafes.governance.scopes import ScopeError
from fivesafes.store.resources import SearchError

FHIR_JSON = "application/fhir+json"
FHIR_PREFIXES = ("/fhir", "/personal", "/directory")
PROBLEM_JSON = "application/problem+json"
MANAGEMENT_PREFIX = "/api/v1"
REFUSAL_STATUS = {RefusalKind.FORBIDDEN: 403, RefusalKind.INVALID: 400,
                  RefusalKind.UNAVAILABLE: 503}  # fmt: skip
"""A use case's no, by its kind (:class:`~fivesafes.environment.RefusalKind`)."""
log = logging.getLogger("fivesafes.api")
UNAUTHENTICATED = ("this needs a bearer token", "unknown token")
"""Refusals that mean "who are you?" (401), not "you may not" (403); with a token that was
revoked or expired ("token ... was revoked")."""

ISSUE_TYPE = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found", 405:
              "not-supported", 409: "conflict", 410: "deleted", 412: "conflict", 422:
              "processing", 500: "exception", 503: "transient"}  # fmt: skip


class FhirResponse(JSONResponse):
    media_type = FHIR_JSON


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_JSON


def problem(status: int, message: str, code: str | None = None) -> dict[str, Any]:
    """An RFC 9457 problem: ``type`` names the kind of error, ``detail`` says what was wrong."""
    kind = code or HTTPStatus(status).name
    return {
        "type": f"https://fivesafes.org/problems/{kind.lower().replace('_', '-')}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": message,
        "code": kind,
    }


def outcome(status: int, message: str, code: str | None = None, path: str = "") -> dict[str, Any]:
    issue: dict[str, Any] = {
        "severity": "error",
        "code": ISSUE_TYPE.get(status, "processing"),
        "diagnostics": message,
    }
    if code:
        issue["details"] = {
            "coding": [{"system": "https://fivesafes.org/fhir/CodeSystem/api-error", "code": code}]
        }
    if path:
        issue["expression"] = [path]
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def render_error(
    request: Request,
    status: int,
    message: str,
    code: str | None = None,
    issues: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """One error, in the form the route's callers read."""
    if request.url.path.startswith(FHIR_PREFIXES):
        body = outcome(status, message, code)
        if issues:
            body["issue"].extend(issues)
        return FhirResponse(body, status_code=status, headers=dict(headers or {}))
    if request.url.path.startswith(MANAGEMENT_PREFIX):
        body = problem(status, message, code)
        return ProblemResponse(body, status_code=status, headers=dict(headers or {}))
    return JSONResponse(
        {"error": code or ISSUE_TYPE.get(status, "error"), "message": message},
        status_code=status,
        headers=dict(headers or {}),
    )


def _invalid(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Invalid)
    issues = [
        {
            "severity": "error",
            "code": "invalid",
            "diagnostics": f"{i.code}: {i.message}",
            **({"expression": [i.path]} if i.path else {}),
        }
        for i in exc.issues
    ]
    return render_error(request, 400, str(exc), exc.code, issues)


def _unauthenticated(message: str) -> bool:
    return message in UNAUTHENTICATED or message.startswith("token ")


def _denied(request: Request, exc: Exception) -> Response:
    message = str(exc) or "not allowed"
    if _unauthenticated(message):
        return render_error(
            request, 401, message, "UNAUTHORISED", headers={"WWW-Authenticate": "Bearer"}
        )
    return render_error(request, 403, message, "ACCESS_DENIED")


def _refused(request: Request, exc: Exception) -> Response:
    """A use case's refusal (already in the ledger): 401 for "who are you?", else by its kind."""
    assert isinstance(exc, Refused)
    if exc.kind is RefusalKind.FORBIDDEN:
        return _denied(request, AccessDenied(exc.reason))
    status = REFUSAL_STATUS[exc.kind]
    return render_error(request, status, exc.reason, "REFUSED_" + exc.kind.value.upper())


def install(app: FastAPI) -> None:
    """Register the handlers: every error the API can meet has exactly one rendering."""

    def simple(status: int, code: str) -> Callable[[Request, Exception], Response]:
        def handler(request: Request, exc: Exception) -> Response:
            return render_error(request, status, str(exc), code)

        return handler

    app.add_exception_handler(Invalid, _invalid)
    app.add_exception_handler(Refused, _refused)
    app.add_exception_handler(AccessDenied, _denied)
    app.add_exception_handler(NotFound, simple(404, "RESOURCE_NOT_FOUND"))
    app.add_exception_handler(Gone, simple(410, "RESOURCE_DELETED"))
    app.add_exception_handler(VersionMismatch, simple(409, "RESOURCE_VERSION_MISMATCH"))
    app.add_exception_handler(PreconditionRequired, simple(412, "PRECONDITION_FAILED"))
    app.add_exception_handler(SearchError, simple(400, "INVALID_SEARCH_DATA"))
    app.add_exception_handler(ScopeError, simple(400, "INVALID_SCOPE"))
    app.add_exception_handler(PatchError, simple(400, "INVALID_UPDATE"))
    app.add_exception_handler(FileNotFoundError, simple(503, "SERVICE_UNAVAILABLE"))

    def validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return render_error(request, 400, f"{where}: {first.get('msg', 'invalid')}", "INVALID")

    def http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return render_error(request, exc.status_code, str(exc.detail), None, headers=exc.headers)

    def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return render_error(request, 500, "the server failed; the error is in its log")

    def model(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ValidationError)
        errors = exc.errors()
        where = ".".join(str(p) for p in errors[0]["loc"]) if errors else ""
        message = errors[0]["msg"] if errors else "invalid"
        return render_error(request, 400, f"body.{where}: {message}", "INVALID")

    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(ValidationError, model)
    app.add_exception_handler(HTTPException, http)
    app.add_exception_handler(Exception, unexpected)
