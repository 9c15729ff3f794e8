"""Sign-in through an organisation's OpenID Connect provider (SATRE 3.2.04; NHS CIS2 is one).

The provider does the interactive part — the person's password, smartcard or authenticator app —
and vouches for it in a signed ID token; fivesafes then treats that sign-in as it treats a TOTP
one (:mod:`.mfa`): a short-lived signed-in token, the only kind that may act under the standard
policy. The flow is the authorisation code flow with PKCE (RFC 7636) and a nonce, because it is
the one OpenID Connect recommends for a server-side relying party: the code travels through the
browser, but the ID token comes straight from the provider's token endpoint, and is checked here
anyway (signature against the provider's published keys, issuer, audience, expiry, nonce) so a
token minted for another client or replayed from another sign-in is refused.

A verified ``sub`` is mapped to the one account whose ``identity_provider`` and
``external_subject`` match (set when the custodian created the account): nobody gets an account
by signing in, and the provider says who someone is, never what they may do.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from sqlalchemy import select

from fivesafes.governance.accounts import IssuedToken, issue_signed_in
from fivesafes.governance.control import ControlPlane, account_problem
from fivesafes.governance.mfa import SIGNED_IN_LIFETIME
from fivesafes.governance.roles import AccessDenied, Action
from fivesafes.governance.tables import Account

CLOCK_SKEW = timedelta(minutes=2)
"""How far the provider's clock may be from ours when checking an ID token's times."""


@dataclass(frozen=True)
class OidcClient:
    """This environment registered as a client of one provider; ``name`` is what accounts
    signing in through it carry as their ``identity_provider``."""

    name: str
    issuer: str
    client_id: str
    client_secret: str
    redirect_uri: str


@dataclass(frozen=True)
class Discovery:
    """The provider's endpoints, from its own ``/.well-known/openid-configuration``."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


@dataclass(frozen=True)
class Pending:
    """A sign-in under way: where to send the browser, and what to check when it comes back
    (kept server-side, never shown to the browser but in ``url``)."""

    url: str
    state: str
    nonce: str
    verifier: str


def _get_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return dict(json.load(response))


def discover(client: OidcClient) -> Discovery:
    """The provider's endpoints; refused unless it names itself as the configured issuer."""
    url = client.issuer.rstrip("/") + "/.well-known/openid-configuration"
    found = _get_json(url)
    if found.get("issuer") != client.issuer:
        raise AccessDenied(f"{url} names issuer {found.get('issuer')!r}, not {client.issuer!r}")
    return Discovery(
        client.issuer,
        str(found["authorization_endpoint"]),
        str(found["token_endpoint"]),
        str(found["jwks_uri"]),
    )


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def begin(client: OidcClient, discovery: Discovery) -> Pending:
    """A fresh state, nonce and PKCE verifier, and the provider's URL carrying them."""
    state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
    challenge = _b64url(hashlib.sha256(verifier.encode("ascii")).digest())
    query = urllib.parse.urlencode(
        {
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": client.redirect_uri,
            "scope": "openid",
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    return Pending(f"{discovery.authorization_endpoint}?{query}", state, nonce, verifier)


def _exchange(client: OidcClient, discovery: Discovery, code: str, verifier: str) -> str:
    body = urllib.parse.urlencode(
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": client.redirect_uri,
            "code_verifier": verifier,
        }
    ).encode("ascii")
    pair = f"{urllib.parse.quote(client.client_id)}:{urllib.parse.quote(client.client_secret)}"
    request = urllib.request.Request(
        discovery.token_endpoint,
        data=body,
        headers={
            "Authorization": "Basic " + base64.b64encode(pair.encode()).decode("ascii"),
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.load(response)
    except urllib.error.HTTPError as exc:
        raise AccessDenied(f"the provider refused the code: {exc.read().decode()[:200]}") from exc
    if "id_token" not in answer:
        raise AccessDenied("the provider's answer has no ID token")
    return str(answer["id_token"])


def _verify_signature(
    header: Mapping[str, Any], signed: bytes, signature: bytes, jwk: Mapping[str, Any]
) -> None:
    alg = header.get("alg")
    try:
        if alg == "RS256" and jwk.get("kty") == "RSA":
            numbers = rsa.RSAPublicNumbers(
                int.from_bytes(_unb64url(jwk["e"])), int.from_bytes(_unb64url(jwk["n"]))
            )
            numbers.public_key().verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
        elif alg == "ES256" and jwk.get("kty") == "EC" and jwk.get("crv") == "P-256":
            point = ec.EllipticCurvePublicNumbers(
                int.from_bytes(_unb64url(jwk["x"])),
                int.from_bytes(_unb64url(jwk["y"])),
                ec.SECP256R1(),
            )
            r, s = int.from_bytes(signature[:32]), int.from_bytes(signature[32:])
            point.public_key().verify(encode_dss_signature(r, s), signed, ec.ECDSA(hashes.SHA256()))
        else:
            raise AccessDenied(f"ID token signed with {alg!r}: only RS256 and ES256 are accepted")
    except InvalidSignature as exc:
        raise AccessDenied("the ID token's signature does not verify") from exc


def verify_id_token(
    token: str, keys: Mapping[str, Any], client: OidcClient, nonce: str, now: float
) -> dict[str, Any]:
    """The ID token's claims, once its signature (by one of the provider's published ``keys``),
    issuer, audience, times and nonce all check out; anything else is refused by name."""
    try:
        head, payload, sig = token.split(".")
        header, claims = json.loads(_unb64url(head)), json.loads(_unb64url(payload))
    except ValueError as exc:
        raise AccessDenied("the ID token is not a signed JWT") from exc
    candidates = [k for k in keys.get("keys", []) if k.get("kid") == header.get("kid")]
    if not candidates:
        raise AccessDenied(f"the ID token's key {header.get('kid')!r} is not the provider's")
    _verify_signature(header, f"{head}.{payload}".encode("ascii"), _unb64url(sig), candidates[0])
    audience = claims.get("aud")
    skew = CLOCK_SKEW.total_seconds()
    problems = [
        claims.get("iss") != client.issuer
        and f"issuer {claims.get('iss')!r} is not {client.issuer!r}",
        client.client_id not in (audience if isinstance(audience, list) else [audience])
        and f"it was issued to {audience!r}, not this environment",
        not (float(claims.get("exp", 0)) + skew > now) and "it has expired",
        float(claims.get("iat", now)) - skew > now and "it was issued in the future",
        claims.get("nonce") != nonce and "its nonce is not this sign-in's (a replay?)",
        not claims.get("sub") and "it names no subject",
    ]
    named = [p for p in problems if p]
    if named:
        raise AccessDenied("ID token refused: " + "; ".join(named))
    return dict(claims)


def _refused(cp: ControlPlane, client: OidcClient, person_id: str, reason: str) -> AccessDenied:
    outcome = f"refused: {reason}"
    subject = {"provider": client.name, "action": Action.SIGN_IN.value, "outcome": outcome}
    cp.log("login", subject, person_id)
    return AccessDenied(reason)


def finish(
    cp: ControlPlane,
    client: OidcClient,
    discovery: Discovery,
    pending: Pending,
    callback_url: str,
    lifetime: timedelta = SIGNED_IN_LIFETIME,
) -> IssuedToken:
    """The signed-in token for whoever the provider vouched for, when the browser comes back to
    ``callback_url``; every refusal is a refused ``login`` in the ledger."""
    try:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(callback_url).query)
        if query.get("state") != [pending.state]:
            raise AccessDenied("the callback's state is not this sign-in's")
        if "error" in query:
            raise AccessDenied(f"the provider refused the sign-in: {query['error'][0]}")
        token = _exchange(client, discovery, query.get("code", [""])[0], pending.verifier)
        keys = _get_json(discovery.jwks_uri)
        claims = verify_id_token(token, keys, client, pending.nonce, cp.now().timestamp())
    except AccessDenied as exc:
        raise _refused(cp, client, "unknown", str(exc)) from exc
    with cp.transaction() as session:
        account = session.scalar(
            select(Account).where(
                Account.identity_provider == client.name,
                Account.external_subject == str(claims["sub"]),
            )
        )
        if account is None:
            reason = f"nobody here signs in through {client.name} as {claims['sub']!r}"
            raise _refused(cp, client, "unknown", reason)
        problem = account_problem(account, cp.now())
        if problem:
            raise _refused(cp, client, account.person_id, problem)
        return issue_signed_in(cp, session, account, lifetime, "oidc")
