"""How systems get tokens and SMART clients find out how: OAuth2 client credentials and
``/.well-known/smart-configuration``.

A registered client (``fivesafes client register``) posts its id and secret to ``/oauth/token``
(``grant_type=client_credentials``, HTTP Basic or form fields, RFC 6749 section 4.4) and gets a
short-lived bearer token with the SMART scopes it asked for within those registered. People use
their personal tokens (``fivesafes token``) directly.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Header
from fastapi.responses import JSONResponse

from fivesafes.api.deps import ConfigDep, RecordsDep
from fivesafes.environment.client_tokens import TokenRefused, grant

router = APIRouter(tags=["authorisation"])
SCOPES_SUPPORTED = ["system/*.rs", "user/*.rs", "patient/*.rs", "patient/*.cruds"]


def smart_configuration(base_url: str) -> dict[str, Any]:
    base = base_url.rstrip("/")
    return {
        "issuer": base,
        "token_endpoint": f"{base}/oauth/token",
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "grant_types_supported": ["client_credentials"],
        "scopes_supported": SCOPES_SUPPORTED,
        "capabilities": ["client-confidential-symmetric", "permission-v2", "permission-v1"],
        "code_challenge_methods_supported": ["S256"],
    }


@router.get("/.well-known/smart-configuration", summary="SMART discovery")
def smart(config: ConfigDep) -> dict[str, Any]:
    """Where SMART clients get tokens, and what the server supports (SMART App Launch 2.x)."""
    return smart_configuration(config.base_url)


def _oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )


def _basic(authorization: str | None) -> tuple[str, str] | None:
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else None


@router.post(
    "/oauth/token",
    summary="OAuth2 token (client credentials)",
    responses={400: {"description": "OAuth2 error"}, 401: {"description": "invalid client"}},
)
def token(
    records: RecordsDep,
    grant_type: Annotated[Literal["client_credentials"], Form()],
    scope: Annotated[str | None, Form()] = None,
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form()] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """A short-lived access token for a registered system (``grant_type=client_credentials``)."""
    basic = _basic(authorization)
    cid, secret = basic if basic else (client_id, client_secret)
    try:
        issued = grant(records, cid, secret, scope)
    except TokenRefused as refused:
        status = 401 if refused.error == "invalid_client" else 400
        return _oauth_error(refused.error, refused.description, status)
    return JSONResponse(
        {
            "access_token": issued.access_token,
            "token_type": "Bearer",
            "expires_in": issued.expires_in,
            "scope": issued.scopes,
        },
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )
