"""A small world for the API tests: two practices, a handful of people (one restricted, one
sharing a night's sleep), the accounts that reach them, and a real server on loopback."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from environment.environment_support import open_with_custodian
from fhir_factory import (
    LOCAL,
    SCT,
    condition,
    icb,
    nhs_number,
    patient,
    practice,
    registration,
    write_ndjson,
)
from fivesafes.api.app import create_app
from fivesafes.api.config import ServerConfig
from fivesafes.governance import Role, link_account, register_client
from fivesafes.store.config import DataDir
from fivesafes.store.load import load
from fivesafes.store.versions import writing

GP1, GP2 = "A81001", "B82002"
SCHEMA_WAIT = 120.0
"""Seconds a schemathesis test waits for the served OpenAPI document: the first request builds
it, which on a machine busy with the rest of a parallel run took more than its default 10 s."""
RESTRICTED = "p1"
SECRET_LINE, SECRET_PHONE = "7 Secret Lane", "07700900555"
"""What only the restricted person's own record may show."""
LOINC = "http://loinc.org"
SLEEP = "93832-4"


def observation(oid: str, pid: str, code: str = "271649006", when: str = "2021-03-04",
                value: float = 120.0) -> dict[str, Any]:  # fmt: skip
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "vital-signs",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": SCT, "code": code}]},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": when,
        "valueQuantity": {"value": value, "unit": "mmHg"},
    }


def sleep(oid: str | None, pid: str | None, minutes: float = 431.0, when: str = "2024-05-01"
          ) -> dict[str, Any]:  # fmt: skip
    found: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "activity",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": LOINC, "code": SLEEP, "display": "Sleep duration"}]},
        "effectiveDateTime": when,
        "valueQuantity": {"value": minutes, "unit": "min"},
    }
    if oid:
        found["id"] = oid
    if pid:
        found["subject"] = {"reference": f"Patient/{pid}"}
    return found


def population(n_per_practice: int = 4) -> list[dict[str, Any]]:
    """Two practices; people p0.. at GP1 and q0.. at GP2; p1 restricted, named and reachable."""
    out: list[dict[str, Any]] = [icb(), practice("gp1", GP1), practice("gp2", GP2)]
    for prefix, gp, base in (("p", "gp1", 0), ("q", "gp2", 100)):
        for i in range(n_per_practice):
            pid = f"{prefix}{i}"
            person = patient(pid, nhs_number(base + i), birth=f"19{70 + i}-05-17")
            person["generalPractitioner"] = [{"reference": f"Organization/{gp}"}]
            person["name"] = [{"family": f"Family{prefix.upper()}{i}", "given": ["Alex"]}]
            person["telecom"] = [{"system": "phone", "value": "07700900123", "use": "mobile"}]
            if pid == RESTRICTED:
                person["address"][0]["line"] = [SECRET_LINE]
                person["telecom"][0]["value"] = SECRET_PHONE
            if pid == RESTRICTED:
                person["meta"] = {
                    "security": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
                            "code": "R",
                        }
                    ]
                }
            reg = registration(f"e-{pid}", pid)
            reg["managingOrganization"] = {"reference": f"Organization/{gp}"}
            out += [person, reg, condition(f"c-{pid}", pid)]
            out += [observation(f"o-{pid}-{k}", pid, when=f"2021-0{k + 1}-04") for k in range(3)]
    out.append(sleep("pgd-night-1", "p0"))
    return out


ACCOUNTS = (
    ("dana", Role.CLINICIAN),  # at GP1
    ("gus", Role.CLINICIAN),  # at GP2
    ("nolink", Role.CLINICIAN),  # with no organisation linked
    ("pat", Role.PATIENT),  # p0
    ("quinn", Role.PATIENT),  # q0
    ("olly", Role.ORG_ADMIN),  # GP1's administrator
    ("ana", Role.ANALYST),
)


@dataclass
class World:
    data_dir: DataDir
    tokens: dict[str, str]
    client: tuple[str, str]

    def nhs(self, pid: str) -> str:
        base = 100 if pid.startswith("q") else 0
        return nhs_number(base + int(pid[1:]))


def build_world(root: Path, n_per_practice: int = 4) -> World:
    """An initialised environment (its key made on purpose, custodian ``cara``), the population
    loaded, and each account made by the custodian and enrolled by its own person."""
    data_dir = DataDir(root / "data", root / "data" / "keys" / "pseudonym.key")
    people = open_with_custodian(data_dir, "cara")
    try:
        for who, role in ACCOUNTS:
            people.add(who, role)
        cp, cara = people.env.cp, people.tokens["cara"]
        link_account(cp, cara, "dana", ods_code=GP1)
        link_account(cp, cara, "gus", ods_code=GP2)
        link_account(cp, cara, "olly", ods_code=GP1)
        link_account(cp, cara, "pat", nhs_number=nhs_number(0))
        link_account(cp, cara, "quinn", nhs_number=nhs_number(100))
        registered = register_client(cp, cara, "gp-system", "dana", "system/*.rs")
    finally:
        people.env.close()
    source = write_ndjson(root / "population.ndjson", population(n_per_practice))
    with writing(data_dir) as store:
        load(store, [source], workers=1)
    return World(data_dir, people.tokens, (registered.client_id, registered.client_secret))


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@dataclass
class Running:
    base_url: str

    @property
    def fhir(self) -> str:
        return self.base_url + "/fhir"


@contextmanager
def serving(data_dir: DataDir, base_url: str | None = None, **ssl: Any) -> Iterator[Running]:
    """A real uvicorn server for the environment at ``data_dir``, on a free loopback port."""
    sock = free_socket()
    port = sock.getsockname()[1]
    scheme = "https" if ssl else "http"
    url = f"{scheme}://127.0.0.1:{port}"
    app = create_app(ServerConfig(data_dir, base_url or url))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", **ssl))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the API server did not start")
        time.sleep(0.02)
    try:
        yield Running(url)
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()


__all__ = [
    "GP1",
    "GP2",
    "LOCAL",
    "RESTRICTED",
    "SECRET_LINE",
    "SECRET_PHONE",
    "SLEEP",
    "Running",
    "World",
    "build_world",
    "serving",
    "sleep",
]


@contextmanager
def working(data_dir: DataDir) -> Iterator[subprocess.Popen[str]]:
    """A real ``fivesafes worker`` on the environment's queue while the block runs, as
    ``fivesafes serve`` starts one beside the API; stopped (SIGTERM) after it."""
    fivesafes = str(Path(sys.executable).parent / "fivesafes")
    worker = subprocess.Popen(
        [fivesafes, "worker", "--data-dir", str(data_dir.root), "--poll", "0.2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        yield worker
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
