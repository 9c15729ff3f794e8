"""Systems' tokens: the OAuth2 client credentials grant as a use case, so the token endpoint
renders an answer and decides nothing.

A registered client (``fivesafes client register``) trades its id and secret for a short-lived
token carrying the SMART scopes it asked for within those registered. Every way that fails is
already a ``refusal`` entry in the ledger when :class:`TokenRefused` is raised (the control
plane records it); the error says which OAuth2 error code (RFC 6749 section 5.2) a face
answers with, so a stranger learns only "invalid_client" whether the id or the secret was wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from fivesafes.environment.records import Records
from fivesafes.governance import AccessDenied
from fivesafes.governance.access import CLIENT_TOKEN_LIFETIME, client_token
from fivesafes.governance.scopes import ScopeError

LIFETIME_SECONDS = int(CLIENT_TOKEN_LIFETIME.total_seconds())


@dataclass(frozen=True)
class ClientCredentialsToken:
    """What the grant gives: the bearer token, its scopes and how long it lasts."""

    access_token: str
    scopes: str
    expires_in: int = LIFETIME_SECONDS


class TokenRefused(Exception):
    """The grant was refused, with the OAuth2 error code and a description safe to show."""

    def __init__(self, error: Literal["invalid_client", "invalid_scope"], description: str):
        super().__init__(description)
        self.error = error
        self.description = description


def grant(
    records: Records, client_id: str | None, secret: str | None, scope: str | None
) -> ClientCredentialsToken:
    """A token for the registered client, or :class:`TokenRefused` saying why not."""
    if not client_id or not secret:
        raise TokenRefused("invalid_client", "give client_id and client_secret")
    try:
        issued = client_token(records.cp, client_id, secret, scope)
    except ScopeError as exc:
        raise TokenRefused("invalid_scope", str(exc)) from None
    except AccessDenied as exc:
        if str(exc) == "invalid_scope":
            raise TokenRefused(
                "invalid_scope", "none of the scopes asked for is registered"
            ) from None
        raise TokenRefused("invalid_client", "unknown client or wrong secret") from None
    return ClientCredentialsToken(issued.token.token, issued.scopes)
