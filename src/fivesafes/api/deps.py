"""What every route gets from the application: the open environment (and its records) and the
caller's credential."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from fivesafes.api.config import ServerConfig
from fivesafes.environment import Environment
from fivesafes.environment.records import Records

bearer = HTTPBearer(auto_error=False, description="A personal token or an OAuth2 access token")


def records(request: Request) -> Records:
    found: Records = request.app.state.records
    return found


def environment(request: Request) -> Environment:
    """The open environment: use cases run side by side on it, each in its own thread (the
    caller a refusal names, ``cp.acting``, is the thread's own)."""
    found: Environment = request.app.state.env
    return found


def config(request: Request) -> ServerConfig:
    found: ServerConfig = request.app.state.config
    return found


def credential(
    given: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> str | None:
    """The bearer token, if any: the environment decides what a missing one means."""
    return given.credentials if given is not None else None


def required_credential(given: Annotated[str | None, Depends(credential)]) -> str:
    """The bearer token, or nothing: the environment refuses (and logs) a missing one."""
    return given or ""


RecordsDep = Annotated[Records, Depends(records)]
EnvironmentDep = Annotated[Environment, Depends(environment)]
CallerDep = Annotated[str, Depends(required_credential)]
ConfigDep = Annotated[ServerConfig, Depends(config)]
CredentialDep = Annotated[str | None, Depends(credential)]
