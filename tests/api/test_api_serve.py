"""``fivesafes serve`` as an operator starts it: a process of its own, on a free loopback port,
with TLS from a certificate made here (self-signed, with the cryptography package), answering
until it is stopped; and the commands that link accounts and register clients."""

from __future__ import annotations

import datetime
import ipaddress
import os
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson
import pytest
from api_support import World, free_socket
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from fivesafes.governance import ControlPlane

BIN = Path(sys.executable).parent


def self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def test_serve_with_tls_until_stopped(world: World, tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    env = {**os.environ, "FIVESAFES_DATA_DIR": str(world.data_dir.root)}
    command = [str(BIN / "fivesafes"), "serve", "--port", str(port), "--cert", str(cert),
               "--key", str(key), "--base-url", "https://fhir.example.org"]  # fmt: skip
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        url = f"https://127.0.0.1:{port}"
        trusted = ssl.create_default_context(cafile=str(cert))
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = httpx.get(f"{url}/fhir/metadata", verify=trusted)
                break
            except httpx.ConnectError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        assert answer.status_code == 200
        assert answer.json()["implementation"]["url"] == "https://fhir.example.org/fhir"
        headers = {"Authorization": f"Bearer {world.tokens['dana']}"}
        assert (
            httpx.get(f"{url}/fhir/Patient/p0", headers=headers, verify=trusted).status_code == 200
        )
        try:
            httpx.get(f"{url}/fhir/metadata")  # the default trust store does not know this cert
            raise AssertionError("an unknown certificate was trusted")
        except httpx.ConnectError:
            pass
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
    assert server.returncode == 0


def test_serve_refuses_half_a_tls_setup(world: World, tmp_path: Path) -> None:
    cert, _ = self_signed(tmp_path)
    env = {**os.environ, "FIVESAFES_DATA_DIR": str(world.data_dir.root)}
    run = subprocess.run([str(BIN / "fivesafes"), "serve", "--cert", str(cert)], env=env,
                         capture_output=True, text=True, check=False)  # fmt: skip
    assert run.returncode == 2 and "both --cert and --key" in run.stderr


def test_serve_refuses_a_folder_that_is_not_an_environment(tmp_path: Path) -> None:
    """Issue 18: a face starts only in an initialised environment, never on defaults."""
    env = {**os.environ, "FIVESAFES_DATA_DIR": str(tmp_path / "nothing")}
    run = subprocess.run([str(BIN / "fivesafes"), "serve", "--port", "0"], env=env,
                         capture_output=True, text=True, check=False, timeout=60)  # fmt: skip
    assert run.returncode == 2 and "no environment at" in run.stderr, run.stderr
    assert not (tmp_path / "nothing" / "keys").exists()


def test_link_and_register_a_client_from_the_command_line(world: World) -> None:
    env = {**os.environ, "FIVESAFES_DATA_DIR": str(world.data_dir.root),
           "FIVESAFES_TOKEN": world.tokens["cara"]}  # fmt: skip
    fivesafes = str(BIN / "fivesafes")
    linked = subprocess.run([fivesafes, "link", "nolink", "--ods", "B82002"], env=env,
                            capture_output=True, text=True, check=False)  # fmt: skip
    assert linked.returncode == 0, linked.stderr
    made = subprocess.run([fivesafes, "client", "register", "audit-tool", "--as", "gus",
                           "--scopes", "system/Patient.rs"], env=env, capture_output=True,
                          text=True, check=False)  # fmt: skip
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip().splitlines()[-1]
    assert len(secret) > 30
    refused = subprocess.run([fivesafes, "link", "gus", "--ods", "not an ods"], env=env,
                             capture_output=True, text=True, check=False)  # fmt: skip
    assert refused.returncode == 2 and "not an ODS code" in refused.stderr
    with ControlPlane.open(world.data_dir) as cp:
        logged = [orjson.loads(e) for e in cp.ledger.of_kinds(["refusal"])]
    assert any(e["subject"]["action"] == "link_account" for e in logged)


@pytest.mark.slow
def test_two_worker_processes_serve_and_log_every_read_in_one_ledger(
    fresh_world: World,
) -> None:
    """``--workers 2``: two processes append to one ledger at once; every read is logged once,
    the log does not fork, and it still verifies."""
    from concurrent.futures import ThreadPoolExecutor

    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    env = {**os.environ, "FIVESAFES_DATA_DIR": str(fresh_world.data_dir.root)}
    command = [str(BIN / "fivesafes"), "serve", "--port", str(port), "--workers", "2"]
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {fresh_world.tokens['dana']}"}
    try:
        deadline = time.monotonic() + 150  # each worker imports the command line first
        while True:
            try:
                httpx.get(f"{url}/fhir/metadata").raise_for_status()
                break
            except httpx.HTTPError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)

        def read(n: int) -> int:
            with httpx.Client(base_url=url, headers=headers) as client:
                return sum(
                    client.get(f"/fhir/Patient/p{(n + i) % 4}").status_code == 200
                    for i in range(10)
                )

        with ThreadPoolExecutor(8) as pool:
            assert sum(pool.map(read, range(8))) == 80
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)
    assert server.returncode == 0
    with ControlPlane.open(fresh_world.data_dir) as cp:
        reads = [orjson.loads(e) for e in cp.ledger.of_kinds(["identifiable_read"])]
        assert cp.ledger.verify().ok
    assert len([r for r in reads if r["actor"] == "dana"]) == 80
