"""The deployment's OpenID Connect client, from its settings (``oidc_*``), for the sign-in of
:mod:`fivesafes.governance.oidc` and for ``doctor``'s check that the provider answers.

The client secret is read from a file of its own (0600, beside the other keys), never from the
config file or a variable, which are shown by ``fivesafes settings`` and copied into units.
"""

from __future__ import annotations

from fivesafes.environment.configuration import Configuration
from fivesafes.governance.oidc import OidcClient

PROVIDER_NAME = "oidc"
"""The ``identity_provider`` of accounts that sign in through the deployment's provider."""

NEEDED = ("oidc_client_id", "oidc_client_secret_file", "oidc_redirect_uri")


def oidc_client(config: Configuration) -> OidcClient | None:
    """The configured client, None when no provider is configured; a half-configured one is a
    :class:`ValueError` naming what is missing."""
    issuer = config.get("oidc_issuer")
    if issuer is None:
        return None
    missing = [key for key in NEEDED if config.get(key) is None]
    if missing:
        raise ValueError(f"oidc_issuer is set but {', '.join(missing)} is not")
    secret_file = config.path("oidc_client_secret_file")
    assert secret_file is not None  # checked above
    secret = secret_file.read_text().strip()
    if not secret:
        raise ValueError(f"{secret_file} holds no client secret")
    client_id, redirect = config.get("oidc_client_id"), config.get("oidc_redirect_uri")
    assert client_id is not None and redirect is not None  # checked above
    return OidcClient(PROVIDER_NAME, issuer, client_id, secret, redirect)
