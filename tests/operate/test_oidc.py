"""Sign-in through OpenID Connect against a real, published provider run on loopback (panva's
oidc-provider, OpenID Certified, in ``tests/operate/oidc``): the whole authorisation code flow
with PKCE, its development sign-in pages driven as a browser would, and the ID token checked
here. Then attacks: a replayed callback, a forged state, a token edited or meant for another
client, a nonce from another sign-in, and a subject nobody here signs in as."""

from __future__ import annotations

import base64
import html.parser
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest
from governance_support import ManualClock
from operate_support import People

from fivesafes.environment.configuration import load
from fivesafes.environment.doctor import Status, check_sign_in
from fivesafes.environment.sign_in import oidc_client
from fivesafes.governance import AccessDenied, ControlPlane, Role, whoami
from fivesafes.governance.oidc import (
    OidcClient,
    begin,
    discover,
    finish,
    verify_id_token,
)

PROVIDER = Path(__file__).parent / "oidc"
REDIRECT = "http://127.0.0.1:9/fivesafes/signed-in"  # never reached: the test stops at it


@pytest.fixture
def control_url(tmp_path: Path) -> str:
    """SQLite only: nothing here depends on the database, and a provider per run is enough."""
    return f"sqlite:///{tmp_path / 'control.sqlite'}"


@pytest.fixture
def clock() -> ManualClock:
    """The real time now, because the provider's ID tokens carry the real time."""
    made = ManualClock()
    made.now = datetime.now(UTC)
    return made


@pytest.fixture(scope="module")
def client() -> Iterator[OidcClient]:
    if shutil.which("node") is None or not (PROVIDER / "node_modules").is_dir():
        if os.environ.get("CI"):
            pytest.fail("the OIDC provider is missing: .ci/run installs nodejs, make test npm ci")
        pytest.skip("node or the OIDC provider (npm ci --prefix tests/operate/oidc) is missing")
    secret = "s3cret-" + base64.b16encode(os.urandom(16)).decode()
    process = subprocess.Popen(
        ["node", str(PROVIDER / "provider.mjs"), "fivesafes-test", secret, REDIRECT],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        issuer = json.loads(process.stdout.readline())["issuer"]
        yield OidcClient("nhs-trust", issuer, "fivesafes-test", secret, REDIRECT)
    finally:
        process.terminate()
        process.wait(timeout=30)


class _Form(html.parser.HTMLParser):
    """The first form of a page: its action and its hidden inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = found.get("action")
        elif tag == "input" and found.get("type") == "hidden" and found.get("name"):
            self.fields[str(found["name"])] = found.get("value") or ""


def browse(url: str, login: str) -> str:
    """What a person's browser does: follow the provider's pages, sign in as ``login`` and
    consent, until the provider sends the browser back to us; the URL it is sent back to."""
    with httpx.Client(timeout=30) as browser:
        response = browser.get(url)
        for _ in range(20):
            if response.is_redirect:
                target = urljoin(str(response.url), response.headers["location"])
                if target.startswith(REDIRECT):
                    return target
                response = browser.get(target)
                continue
            form = _Form()
            form.feed(response.text)
            assert response.status_code == 200 and form.action, response.text[:500]
            fields = {**form.fields, "login": login, "password": "anything"}
            response = browser.post(urljoin(str(response.url), form.action), data=fields)
    raise AssertionError("the provider never sent the browser back")


def _olivia(cp: ControlPlane) -> People:
    people = People.start(cp)
    people.add(
        "olivia",
        Role.ANALYST,
        skip=frozenset({"mfa"}),
        identity_provider="nhs-trust",
        external_subject="olivia@trust.nhs.uk",
    )
    return people


def _logins(cp: ControlPlane) -> list[dict[str, str]]:
    entries = [json.loads(e) for e in cp.ledger.entries()]
    return [e["subject"] for e in entries if e["kind"] in {"login", "account"}]


def test_the_oidc_flow_signs_in_against_the_loopback_provider(
    cp: ControlPlane, client: OidcClient
) -> None:
    people = _olivia(cp)
    with pytest.raises(AccessDenied, match="must sign in with a second factor"):
        whoami(cp, people.first["olivia"])  # the first factor alone does nothing
    discovery = discover(client)
    pending = begin(client, discovery)
    assert "code_challenge_method=S256" in pending.url
    callback = browse(pending.url, "olivia@trust.nhs.uk")
    signed_in = finish(cp, client, discovery, pending, callback)
    assert whoami(cp, signed_in.token).person_id == "olivia"
    assert {"person_id": "olivia", "change": "signed_in", "factor": "oidc"} in _logins(cp)

    with pytest.raises(AccessDenied, match="refused the code"):
        finish(cp, client, discovery, pending, callback)  # the same code, replayed
    assert _logins(cp)[-1]["outcome"].startswith("refused: the provider refused the code")


def test_forged_callbacks_and_strangers_are_refused_and_logged(
    cp: ControlPlane, client: OidcClient
) -> None:
    _olivia(cp)
    discovery = discover(client)
    pending = begin(client, discovery)
    callback = browse(pending.url, "olivia@trust.nhs.uk")
    forged = callback.replace(pending.state, "attacker-state")
    with pytest.raises(AccessDenied, match="state is not this sign-in's"):
        finish(cp, client, discovery, pending, forged)

    stranger = begin(client, discovery)
    with pytest.raises(AccessDenied, match="nobody here signs in through nhs-trust as 'mallory'"):
        finish(cp, client, discovery, stranger, browse(stranger.url, "mallory"))
    assert _logins(cp)[-1]["outcome"].startswith("refused: nobody here")


def test_an_id_token_edited_replayed_or_for_another_client_is_refused(
    cp: ControlPlane, client: OidcClient
) -> None:
    discovery = discover(client)
    pending = begin(client, discovery)
    code = httpx.URL(browse(pending.url, "olivia@trust.nhs.uk")).params["code"]
    answer = httpx.post(
        discovery.token_endpoint,
        auth=(client.client_id, client.client_secret),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": pending.verifier,
        },
    ).json()
    token, keys, now = answer["id_token"], httpx.get(discovery.jwks_uri).json(), cp.now()
    claims = verify_id_token(token, keys, client, pending.nonce, now.timestamp())
    assert claims["sub"] == "olivia@trust.nhs.uk"

    head, payload, signature = token.split(".")
    edited = json.loads(base64.urlsafe_b64decode(payload + "=="))
    edited["sub"] = "someone-else"
    forged_payload = base64.urlsafe_b64encode(json.dumps(edited).encode()).rstrip(b"=").decode()
    with pytest.raises(AccessDenied, match="signature does not verify"):
        verify_id_token(f"{head}.{forged_payload}.{signature}", keys, client, pending.nonce, 0)
    with pytest.raises(AccessDenied, match="nonce is not this sign-in's"):
        verify_id_token(token, keys, client, "another-nonce", now.timestamp())
    other = OidcClient("nhs-trust", client.issuer, "another-client", "x", REDIRECT)
    with pytest.raises(AccessDenied, match="issued to 'fivesafes-test'"):
        verify_id_token(token, keys, other, pending.nonce, now.timestamp())
    with pytest.raises(AccessDenied, match="expired"):
        verify_id_token(token, keys, client, pending.nonce, now.timestamp() + 24 * 3600)
    with pytest.raises(AccessDenied, match="not the provider's"):
        verify_id_token(token, {"keys": []}, client, pending.nonce, now.timestamp())


def test_the_deployment_s_provider_comes_from_its_settings_and_doctor_checks_it(
    tmp_path: Path, client: OidcClient
) -> None:
    secret = tmp_path / "oidc-secret"
    secret.write_text(client.client_secret + "\n")
    secret.chmod(0o600)
    settings = {
        "FIVESAFES_OIDC_ISSUER": client.issuer,
        "FIVESAFES_OIDC_CLIENT_ID": client.client_id,
        "FIVESAFES_OIDC_CLIENT_SECRET_FILE": str(secret),
        "FIVESAFES_OIDC_REDIRECT_URI": REDIRECT,
    }
    configured = oidc_client(load(settings))
    assert configured == OidcClient("oidc", client.issuer, client.client_id,
                                    client.client_secret, REDIRECT)  # fmt: skip
    [found] = check_sign_in(load(settings))
    assert found.status is Status.OK and "publishes its endpoints" in found.message

    secret.chmod(0o644)
    wrong = {**settings, "FIVESAFES_OIDC_ISSUER": client.issuer.replace("127.0.0.1", "localhost")}
    findings = list(check_sign_in(load(wrong)))
    assert [f.status for f in findings] == [Status.FAIL, Status.FAIL]
    assert "readable by others" in findings[0].message
    assert "did not answer" in findings[1].message  # it names itself as another issuer
    half = {k: v for k, v in settings.items() if k != "FIVESAFES_OIDC_REDIRECT_URI"}
    [refused] = check_sign_in(load(half))
    assert refused.status is Status.FAIL and "oidc_redirect_uri is not" in refused.message
