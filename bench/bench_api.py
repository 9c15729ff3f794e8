"""Benchmark the FHIR API beside the same lookups made directly in the store (the floor).

Three lookups, as a clinician's system makes them: a Patient read by id, a Patient search by NHS
number, and a paged Observation search (100 a page). Each runs with 1 and with 32 concurrent
clients on loopback against ``fivesafes serve`` in its own process (every request authenticated
and its read written to the ledger, as in production), and the same lookups run in this process
straight on a read-only DuckDB connection (the floor: what the store alone costs), alternately,
in one run. Printed: requests per second, p50 and p99 latency, and the ratio to the floor; and
the server's peak memory.

    .venv/bin/python bench/bench_api.py                      # 100,000 patients (the store is
                                                              # built once, under --work)
    .venv/bin/python bench/bench_api.py --patients 10000 --requests 400
    .venv/bin/python bench/bench_api.py --load-while-reading --patients 100000
    .venv/bin/python bench/bench_api.py --writes 5           # what a small API write costs

``--load-while-reading`` instead loads a second population of the same size with ``fivesafes
load`` while 8 clients read, and reports every answer: no request may fail, and reads after the
load must see the new data.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
import httpx
import orjson

from fivesafes.environment import Environment, accounts
from fivesafes.environment.delivery import OUTBOX
from fivesafes.environment.settings import Settings
from fivesafes.environment.setup import initialise
from fivesafes.governance import NewAccount, Role
from fivesafes.store import resources
from fivesafes.store.config import DataDir
from fivesafes.store.resources import Query, Within

BIN = Path(sys.executable).parent
NHS = "https://fhir.nhs.uk/Id/nhs-number"
SEED = "11"
"""The synthetic population's seed: the store's, and its newcomers' for a load while reading."""


@dataclass(frozen=True)
class Setup:
    data_dir: DataDir
    token: str
    custodian: str
    ods: str
    patients: list[tuple[str, str]]
    """(Patient id, NHS number) of people registered at the clinician's practice."""


def run(*args: str, env: dict[str, str]) -> None:
    done = subprocess.run([str(BIN / "fivesafes"), *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"fivesafes {args[0]} failed: {done.stderr[-2000:]}")


def account(person_id: str, role: Role) -> NewAccount:
    today = date.today()
    return NewAccount(
        person_id,
        f"Bench {person_id}",
        "Bench",
        frozenset({role}),
        today + timedelta(days=30),
        today - timedelta(days=1),
        contact=f"{person_id}@bench.example",
    )


def enrolled(env: Environment, person_id: str) -> str:
    """The person's own token, made with the enrolment code the outbox holds for them."""
    sent = [
        p.read_text() for p in sorted((env.data_dir.root / OUTBOX).glob("*.eml"))
        if f"To: {person_id}@bench.example\n" in p.read_text()
    ]  # fmt: skip
    found = re.search(r"fivesafes user enrol (\S+)", sent[-1])
    assert found is not None
    return accounts.enrol(env, found.group(1)).token


STORE_CODE = (
    "src/fivesafes/store",
    "src/fivesafes/ingest",
    "src/fivesafes/synth",
    "src/fivesafes/model",
)


def code_version() -> str:
    """The git trees of the code that makes a store's contents: a cached store is reused only
    while they are unchanged (uncommitted edits are not seen: commit before benchmarking)."""
    repo = Path(__file__).resolve().parents[1]
    trees = subprocess.run(
        ["git", "rev-parse", *(f"HEAD:{folder}" for folder in STORE_CODE)],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return hashlib.sha256(trees.encode()).hexdigest()[:12]


def build(work: Path, patients: int) -> Setup:
    """Synthetic people, loaded once (kept under ``work``, keyed by the code version, for the
    next run), and a clinician linked to the practice with the most registrations."""
    root = work / f"store-{patients}-{code_version()}"
    data_dir = DataDir(root / "data", root / "data" / "keys" / "pseudonym.key")
    env = {**os.environ, "FIVESAFES_DATA_DIR": str(data_dir.root)}
    tokens = root / "tokens"
    if not tokens.exists():
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        print(f"building a store of {patients:,} patients under {root} (once)...", flush=True)
        run(
            "synth",
            "--patients",
            str(patients),
            "--seed",
            SEED,
            "--out",
            str(root / "fhir"),
            env=env,
        )
        initialise(data_dir, Settings("Bench"), account("cara", Role.DATA_CUSTODIAN))
        with Environment.open(data_dir) as opened:
            custodian = enrolled(opened, "cara")
        started = time.perf_counter()
        run("load", str(root / "fhir"), "--token", custodian, env=env)
        print(f"loaded in {time.perf_counter() - started:.0f} s", flush=True)
        with duckdb.connect(str(data_dir.database), read_only=True) as con:
            ods = con.execute(
                """SELECT o.ods_code FROM identifiable."EpisodeOfCare" e
                   JOIN identifiable."Organization" o ON o.id = e.organisation_ref
                   GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"""
            ).fetchone()[0]  # type: ignore[index]
        with Environment.open(data_dir) as opened:
            accounts.create(opened, custodian, account("dana", Role.CLINICIAN))
            clinician = enrolled(opened, "dana")
            accounts.link(opened, custodian, "dana", ods_code=ods)
        tokens.write_text(f"{custodian}\n{clinician}\n{ods}\n")
    custodian, clinician, ods = tokens.read_text().split()
    with duckdb.connect(str(data_dir.database), read_only=True) as con:
        people = con.execute(
            """SELECT p.id, p.nhs_number FROM identifiable."Patient" p
               JOIN identifiable."EpisodeOfCare" e ON e.patient_ref = p.id
               JOIN identifiable."Organization" o ON o.id = e.organisation_ref
               WHERE o.ods_code = ? ORDER BY p.id LIMIT 200""",
            [ods],
        ).fetchall()
    return Setup(data_dir, clinician, custodian, ods, [(str(a), str(b)) for a, b in people])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str

    def peak_memory_mib(self) -> float:
        """Peak resident memory of the server and its worker processes, summed."""
        pids = [self.process.pid]
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        if children.exists():
            pids += [int(p) for p in children.read_text().split()]
        total = 0
        for pid in pids:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        return total / 1024


def start_server(setup: Setup, workers: int = 1) -> Server:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "FIVESAFES_DATA_DIR": str(setup.data_dir.root)}
    command = [str(BIN / "fivesafes"), "serve", "--port", str(port), "--workers", str(workers)]
    process = subprocess.Popen(command, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{url}/fhir/metadata").raise_for_status()
            return Server(process, url)
        except httpx.HTTPError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit("the server did not start") from None
            time.sleep(0.2)


Lookup = Callable[[int], object]


def api_lookups(server: Server, setup: Setup) -> dict[str, Callable[[httpx.Client, int], None]]:
    people = setup.patients

    def read(client: httpx.Client, n: int) -> None:
        client.get(f"/fhir/Patient/{people[n % len(people)][0]}").raise_for_status()

    def by_nhs(client: httpx.Client, n: int) -> None:
        nhs = people[n % len(people)][1]
        client.get("/fhir/Patient", params={"identifier": f"{NHS}|{nhs}"}).raise_for_status()

    def observations(client: httpx.Client, n: int) -> None:
        client.get(
            "/fhir/Observation", params={"_count": 100, "_offset": (n % 5) * 100, "_sort": "date"}
        ).raise_for_status()

    return {
        "Patient read by id": read,
        "Patient search by NHS number": by_nhs,
        "Observation search, 100 a page": observations,
    }


def floor_lookups(setup: Setup) -> dict[str, Callable[[duckdb.DuckDBPyConnection, int], None]]:
    people = setup.patients
    within = Within(resources.RELATED_SQL, {"ods": setup.ods})

    def read(cur: duckdb.DuckDBPyConnection, n: int) -> None:
        resources.read(cur, "Patient", people[n % len(people)][0])

    def by_nhs(cur: duckdb.DuckDBPyConnection, n: int) -> None:
        query = Query("Patient", (("identifier", None, (f"{NHS}|{people[n % len(people)][1]}",)),))
        resources.search(cur, query, within)

    def observations(cur: duckdb.DuckDBPyConnection, n: int) -> None:
        query = Query("Observation", (), ("date",), 100, (n % 5) * 100)
        resources.search(cur, query, within)

    return {
        "Patient read by id": read,
        "Patient search by NHS number": by_nhs,
        "Observation search, 100 a page": observations,
    }


def _call(lookup: Callable[[Any, int], None], handles: Sequence[Any], c: int, n: int) -> None:
    lookup(handles[c], n)


@dataclass
class Figures:
    per_second: float
    p50_ms: float
    p99_ms: float


def measure(clients: int, requests: int, one: Callable[[int, int], None]) -> Figures:
    """``requests`` calls spread over ``clients`` threads; each call is timed."""
    latencies: list[float] = []
    lock = threading.Lock()
    per_client = max(requests // clients, 1)

    def worker(c: int) -> None:
        mine = []
        for i in range(per_client):
            started = time.perf_counter()
            one(c, c * per_client + i)
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, range(clients)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return Figures(len(latencies) / elapsed, statistics.median(latencies) * 1000, p99 * 1000)


def benchmark(setup: Setup, requests: int, rounds: int, workers: int, only: str = "") -> None:
    server = start_server(setup, workers)
    try:
        headers = {"Authorization": f"Bearer {setup.token}"}
        api = api_lookups(server, setup)
        floor = floor_lookups(setup)
        con = duckdb.connect(str(setup.data_dir.database), read_only=True, config={"threads": 2})
        print(
            f"\n{len(setup.patients)} patients sampled at {setup.ods}; {requests} requests "
            f"a measurement (a tenth for the paged search), best of {rounds}, API ({workers} "
            "worker process(es)) and floor alternately\n"
        )
        print(
            f"{'lookup':32} {'clients':>7} {'API req/s':>10} {'p50 ms':>8} {'p99 ms':>8} "
            f"{'floor req/s':>12} {'p50 ms':>8} {'p99 ms':>8} {'p50 x floor':>12}"
        )
        for name in (n for n in api if only.lower() in n.lower()):
            for clients in (1, 32):
                pool = [
                    httpx.Client(base_url=server.url, headers=headers, timeout=60)
                    for _ in range(clients)
                ]
                cursors = [con.cursor() for _ in range(clients)]
                ours: list[Figures] = []
                theirs: list[Figures] = []
                via_store = partial(_call, floor[name], cursors)
                via_api = partial(_call, api[name], pool)
                # A paged search costs a hundred reads: it is measured over a tenth as many.
                many = requests if name.startswith("Patient") else max(requests // 10, clients)
                for _ in range(rounds):
                    theirs.append(measure(clients, many, via_store))
                    ours.append(measure(clients, many, via_api))
                best_api = max(ours, key=lambda f: f.per_second)
                best_floor = max(theirs, key=lambda f: f.per_second)
                ratio = best_api.p50_ms / best_floor.p50_ms
                print(
                    f"{name:32} {clients:>7} {best_api.per_second:>10.0f} {best_api.p50_ms:>8.1f} "
                    f"{best_api.p99_ms:>8.1f} {best_floor.per_second:>12.0f} "
                    f"{best_floor.p50_ms:>8.1f} {best_floor.p99_ms:>8.1f} {ratio:>12.1f}",
                    flush=True,
                )
                for client in pool:
                    client.close()
                for cursor in cursors:
                    cursor.close()
        print(f"\nserver peak memory: {server.peak_memory_mib():.0f} MiB")
        con.close()
    finally:
        server.process.terminate()
        server.process.wait(timeout=60)


def _newcomer(line: bytes, patients: int, chunks: int) -> bool:
    """Whether a resource of a population twice the store's size is about someone the store does
    not hold: people are numbered (``pat-N``), their records by chunk (``enc-C-N``); what is
    numbered neither way (organisations, services) is shared, and loads as an update."""
    resource = orjson.loads(line)
    if resource["resourceType"] == "Patient":
        return int(resource["id"].removeprefix("pat-")) > patients
    numbered = re.fullmatch(r"[a-z]+-(\d+)-\d+", resource["id"])
    return numbered is None or int(numbered[1]) > chunks


def newcomers(work: Path, patients: int, env: dict[str, str]) -> Path:
    """``patients`` more people for the store: the second half of a population twice its size
    made from the store's own seed, so their ids and NHS numbers are none of the store's (a
    population from another seed would reuse both: a load of updates and duplicates)."""
    from fivesafes.synth.generator import CHUNK

    second = work / f"newcomers-{patients}"
    if not second.exists():
        both = work / f"both-{patients}"
        run("synth", "--patients", str(2 * patients), "--seed", SEED, "--out", str(both), env=env)
        staging = second.with_suffix(".partial")
        staging.mkdir(parents=True, exist_ok=True)
        for made in both.glob("*.ndjson"):
            with made.open("rb") as lines, (staging / made.name).open("wb") as kept:
                kept.writelines(x for x in lines if _newcomer(x, patients, patients // CHUNK))
        staging.rename(second)
        shutil.rmtree(both)
    return second


def load_while_reading(setup: Setup, work: Path, patients: int) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "api"))
    from readload import ReadLoad

    env = {**os.environ, "FIVESAFES_DATA_DIR": str(setup.data_dir.root)}
    second = newcomers(work, patients, env)
    people = setup.patients
    paths = [
        f"/fhir/Patient/{people[0][0]}",
        f"/fhir/Patient?identifier={NHS}|{people[1][1]}",
        "/fhir/Observation?_count=100",
    ]
    with (second / "Patient.ndjson").open("rb") as lines:
        newcomer = orjson.loads(lines.readline())
    number = next(i["value"] for i in newcomer["identifier"] if i["system"] == NHS)
    server = start_server(setup)
    # Someone of the second population, read with a (logged) break-glass reason since they are
    # registered nowhere the clinician works: not there before the load, there after it.
    glass = {"Authorization": f"Bearer {setup.token}", "X-Break-Glass-Reason": "bench: new data"}
    url = f"{server.url}/fhir/Patient?identifier={NHS}|{number}"

    def found() -> int:
        answer = httpx.get(url, headers=glass, timeout=60)
        answer.raise_for_status()
        return len(answer.json().get("entry", []))

    try:
        before = found()
        with ReadLoad(server.url, setup.token, paths, clients=8) as reads:
            reads.wait_for(50)
            started = time.perf_counter()
            run("load", str(second), "--token", setup.custodian, env=env)
            took = time.perf_counter() - started
            during = sum(reads.statuses.values())
        print(
            f"load of {patients:,} patients took {took:.0f} s while 8 clients read: "
            f"{during:,} answers, {dict(reads.statuses)}, {len(reads.failures)} failed"
        )
        for failure in reads.failures[:10]:
            print("  ", failure)
        print(f"a newcomer found by NHS number: {before} before the load, {found()} after it")
    finally:
        server.process.terminate()
        server.process.wait(timeout=60)


def write_tokens(setup: Setup) -> tuple[str, str, str]:
    """A person (linked to the first sampled patient) and the practice's org_admin, made once:
    (person's token, their NHS number, org_admin's token)."""
    saved = setup.data_dir.root.parent / "write-tokens"
    if not saved.exists():
        nhs = setup.patients[0][1]
        with Environment.open(setup.data_dir) as opened:
            accounts.create(opened, setup.custodian, account("pia", Role.PATIENT))
            person = enrolled(opened, "pia")
            accounts.link(opened, setup.custodian, "pia", nhs_number=nhs)
            accounts.create(opened, setup.custodian, account("oren", Role.ORG_ADMIN))
            admin = enrolled(opened, "oren")
            accounts.link(opened, setup.custodian, "oren", ods_code=setup.ods)
        saved.write_text(f"{person}\n{nhs}\n{admin}\n")
    person, nhs, admin = saved.read_text().split()
    return person, nhs, admin


def writes(setup: Setup, times: int) -> None:
    """What a small API write costs at this size: a person's PATCH of their telephone number and
    an org_admin's update of their practice's Organization, each ``times`` times, beside a bare
    copy of the store file (what the copy-on-write design pays before it writes anything)."""
    import uuid

    person, nhs, admin = write_tokens(setup)
    size = setup.data_dir.database.stat().st_size
    copies = []
    for _ in range(times):
        started = time.perf_counter()
        shutil.copyfile(setup.data_dir.database, setup.data_dir.database.with_suffix(".bench"))
        copies.append(time.perf_counter() - started)
    setup.data_dir.database.with_suffix(".bench").unlink()
    server = start_server(setup)
    try:
        me = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {person}"})
        org = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {admin}"})
        patches, updates = [], []
        for n in range(times):
            own = me.get(f"/personal/Patient/{nhs}")
            own.raise_for_status()
            phone = {"system": "phone", "value": f"0770090{n:04d}", "use": "mobile"}
            change = [{"op": "add", "path": "/telecom", "value": [phone]}]
            headers = {"If-Match": own.headers["ETag"], "X-Request-ID": str(uuid.uuid4())}
            started = time.perf_counter()
            done = me.patch(f"/personal/Patient/{nhs}", json=change, headers=headers)
            if done.status_code != 200:
                raise SystemExit(f"the PATCH failed: {done.status_code} {done.text[:500]}")
            patches.append(time.perf_counter() - started)
            found = org.get(
                "/directory/Organization",
                params={"identifier": f"https://fhir.nhs.uk/Id/ods-organization-code|{setup.ods}"},
            ).json()["entry"][0]["resource"]
            found["telecom"] = [{"system": "phone", "value": f"0113496{n:04d}", "use": "work"}]
            found.pop("meta", None)
            started = time.perf_counter()
            org.put(f"/directory/Organization/{found['id']}", json=found).raise_for_status()
            updates.append(time.perf_counter() - started)
        print(
            f"\nsmall writes at {size / 1e6:,.0f} MB of store, median of {times}:\n"
            f"  copy of the store file alone     {statistics.median(copies):6.2f} s\n"
            f"  self-service PATCH (telecom)      {statistics.median(patches):6.2f} s\n"
            f"  directory update (Organization)   {statistics.median(updates):6.2f} s"
        )
    finally:
        server.process.terminate()
        server.process.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=1000, help="per measurement")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--work", type=Path, default=Path("bench/out/api"))
    parser.add_argument("--load-while-reading", action="store_true")
    parser.add_argument("--workers", type=int, default=1, help="the server's worker processes")
    parser.add_argument("--only", default="", help="only the lookups whose name contains this")
    parser.add_argument("--writes", type=int, default=0, help="time this many small writes")
    args = parser.parse_args()
    setup = build(args.work.resolve(), args.patients)
    if args.writes:
        writes(setup, args.writes)
    elif args.load_while_reading:
        load_while_reading(setup, args.work.resolve(), args.patients)
    else:
        benchmark(setup, args.requests, args.rounds, args.workers, args.only)


if __name__ == "__main__":
    main()
