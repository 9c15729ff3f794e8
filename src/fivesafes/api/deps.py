"""What every route gets from the application: the open records and the caller's credential."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from fivesafes.api.config import ServerConfig
from fivesafes.environment.records import Records

bearer = HTTPBearer(auto_error=False, description="A personal token or an OAuth2 access token")


def records(request: Request) -> Records:
    found: Records = request.app.state.records
    return found


def config(request: Request) -> ServerConfig:
    found: ServerConfig = request.app.state.config
    return found


def credential(
    given: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> str | None:
    """The bearer token, if any: the environment decides what a missing one means."""
    return given.credentials if given is not None else None


RecordsDep = Annotated[Records, Depends(records)]
ConfigDep = Annotated[ServerConfig, Depends(config)]
CredentialDep = Annotated[str | None, Depends(credential)]
