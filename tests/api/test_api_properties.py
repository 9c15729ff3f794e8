"""The API's privacy promises as properties over who asks, for whom, and how (hypothesis),
against a real server: nobody reads or changes another person's record; a clinician reads
nothing outside their care without break glass; a restricted person's protected details never
appear; withdrawn consent hides shared data from the next read and the next extraction; every
read is in the ledger; a replayed X-Request-ID changes nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import duckdb
import httpx
import orjson
import pytest
from api_support import SECRET_LINE, SECRET_PHONE, Running, World, build_world, serving
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fivesafes.environment import Environment
from fivesafes.environment.extraction import EVERY_COLUMN, cut_for
from fivesafes.governance import ControlPlane, Purpose
from fivesafes.jobs.snapshot import analysis_snapshot, remove_snapshot

PEOPLE = [f"{p}{i}" for p in "pq" for i in range(4)]
OWN = {"pat": "p0", "quinn": "q0"}
PRACTICE = {"dana": "p", "gus": "q"}
SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def paths(pid: str) -> list[str]:
    return [
        f"/Patient/{pid}",
        f"/Patient/{pid}/_history",
        f"/Patient/{pid}/_history/1",
        f"/Patient/{pid}/$everything",
        f"/Condition/c-{pid}",
        f"/Observation/o-{pid}-1",
        f"/EpisodeOfCare/e-{pid}",
        f"/Observation?patient={pid}",
        f"/Condition?subject=Patient/{pid}",
    ]


ASKS = st.sampled_from(PEOPLE).flatmap(
    lambda pid: st.tuples(st.just(pid), st.sampled_from(paths(pid)))
)


def get(server: Running, world: World, who: str, path: str, **headers: str) -> httpx.Response:
    return httpx.get(
        server.fhir + path, headers={"Authorization": f"Bearer {world.tokens[who]}", **headers}
    )


def entries(answer: httpx.Response) -> list[dict[str, object]]:
    body = answer.json()
    if body.get("resourceType") == "Bundle":
        return [e["resource"] for e in body.get("entry", []) if "resource" in e]
    return [body]


def about(resource: dict[str, object]) -> str | None:
    if resource.get("resourceType") == "Patient":
        return str(resource["id"])
    for key in ("subject", "patient"):
        ref = resource.get(key)
        if isinstance(ref, dict):
            return str(ref["reference"]).split("/")[-1]
    return None


@SETTINGS
@given(who=st.sampled_from(sorted(OWN)), ask=ASKS)
def test_a_person_reads_only_their_own_record(
    server: Running, world: World, who: str, ask: tuple[str, str]
) -> None:
    pid, path = ask
    answer = get(server, world, who, path)
    if pid == OWN[who]:
        assert answer.status_code == 200
    elif "?" in path:  # a search of someone else's finds nothing
        assert answer.status_code == 200 and entries(answer) == []
    else:
        assert answer.status_code in (403, 404), answer.text
    if answer.status_code == 200:
        assert {about(r) for r in entries(answer)} <= {OWN[who], None}


@SETTINGS
@given(who=st.sampled_from(sorted(OWN)), target=st.sampled_from(PEOPLE))
def test_a_person_changes_only_their_own_record(
    server: Running, world: World, who: str, target: str
) -> None:
    if target == OWN[who]:
        return
    url = f"{server.base_url}/personal/Patient/{world.nhs(target)}"
    headers = {
        "Authorization": f"Bearer {world.tokens[who]}",
        "If-Match": 'W/"1"',
        "X-Request-ID": str(uuid.uuid4()),
    }
    op = [{"op": "replace", "path": "/telecom/0/value", "value": "07700900000"}]
    assert httpx.patch(url, json=op, headers=headers).status_code == 403
    assert httpx.get(url, headers=headers).status_code == 403


@SETTINGS
@given(who=st.sampled_from(sorted(PRACTICE)), ask=ASKS)
def test_a_clinician_reads_only_within_their_care_without_break_glass(
    server: Running, world: World, who: str, ask: tuple[str, str]
) -> None:
    pid, path = ask
    answer = get(server, world, who, path)
    if pid.startswith(PRACTICE[who]):
        assert answer.status_code == 200
    elif "?" in path:  # a search outside their care finds nothing
        assert answer.status_code == 200 and entries(answer) == []
    else:
        assert answer.status_code in (403, 404)
    if answer.status_code == 200:
        assert all(p is None or p.startswith(PRACTICE[who]) for p in map(about, entries(answer)))


@SETTINGS
@given(
    who=st.sampled_from(["dana", "gus", "quinn"]),
    path=st.sampled_from(
        [
            *paths("p1"),
            "/Patient?family=familyp1",
            "/Patient?address-postalcode=LS9",
            "/Patient?general-practitioner=gp1",
            "/Patient?_count=50",
        ]
    ),
    glass=st.booleans(),
)
def test_a_restricted_persons_protected_details_never_appear(
    server: Running, world: World, who: str, path: str, glass: bool
) -> None:
    extra = {"X-Break-Glass-Reason": "emergency"} if glass else {}
    answer = get(server, world, who, path, **extra)
    assert SECRET_LINE not in answer.text and SECRET_PHONE not in answer.text
    if answer.status_code == 200:
        for resource in entries(answer):
            if resource.get("id") == "p1":
                assert not {"address", "telecom", "generalPractitioner", "contact"} & set(resource)


@SETTINGS
@given(who=st.sampled_from(["dana", "gus", "pat", "quinn"]), ask=ASKS)
def test_every_read_of_a_record_is_in_the_ledger(
    server: Running, world: World, who: str, ask: tuple[str, str]
) -> None:
    _, path = ask
    with ControlPlane.open(world.data_dir) as cp:
        before = sum(1 for _ in cp.ledger.of_kinds(["identifiable_read"]))
    answer = get(server, world, who, path)
    read = {p for p in map(about, entries(answer)) if p} if answer.status_code == 200 else set()
    with ControlPlane.open(world.data_dir) as cp:
        new = [orjson.loads(e) for e in cp.ledger.of_kinds(["identifiable_read"])][before:]
    logged = {e["subject"]["patient"] for e in new if e["actor"] == who}
    assert read <= logged


@pytest.fixture(scope="module")
def sharing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, Running]]:
    world = build_world(tmp_path_factory.mktemp("sharing"))
    with serving(world.data_dir) as running:
        yield world, running


@settings(max_examples=12, deadline=None)
@given(steps=st.lists(st.tuples(st.sampled_from(["share-for-care", "share-for-research"]),
                                st.booleans()), min_size=1, max_size=4))  # fmt: skip
def test_withdrawn_consent_hides_shared_data_from_the_next_read_and_extraction(
    sharing: tuple[World, Running], steps: list[tuple[str, bool]]
) -> None:
    world, running = sharing
    person = {"Authorization": f"Bearer {world.tokens['pat']}"}
    held = httpx.get(f"{running.base_url}/personal/Consent", headers=person).json()
    state = {e["resource"]["id"]: e["resource"]["status"] == "active" for e in held["entry"]}
    for choice, made in steps:
        body = {"resourceType": "Consent", "status": "active" if made else "inactive"}
        headers = {**person, "X-Request-ID": str(uuid.uuid4())}
        answer = httpx.put(
            f"{running.base_url}/personal/Consent/{choice}", json=body, headers=headers
        )
        assert answer.status_code == 200
        state[choice] = made
        seen = get(running, world, "dana", "/Observation?patient=p0&category=activity")
        assert bool(entries(seen)) == state.get("share-for-care", False)
        direct = get(running, world, "dana", "/Observation/pgd-night-1")
        assert (direct.status_code == 200) == state.get("share-for-care", False)
        with Environment.open(world.data_dir) as env, env.store() as store:
            cut = cut_for(env, store, Purpose.RESEARCH, EVERY_COLUMN, None)
        copy = analysis_snapshot(world.data_dir.database, cut, world.data_dir.root / "cut.duckdb")
        with duckdb.connect(str(copy), read_only=True) as con:
            rows = con.execute("SELECT count(*) FROM analysis.wearable_observations").fetchone()
        remove_snapshot(copy)
        assert (rows is not None and rows[0] > 0) == state.get("share-for-research", False)


@settings(max_examples=6, deadline=None)
@given(replays=st.lists(st.integers(min_value=0, max_value=2), min_size=1, max_size=4))
def test_a_replayed_request_id_changes_nothing(
    sharing: tuple[World, Running], replays: list[int]
) -> None:
    world, running = sharing
    url = f"{running.base_url}/personal/Patient/{world.nhs('p0')}"
    person = {"Authorization": f"Bearer {world.tokens['pat']}"}
    start = int(httpx.get(url, headers=person).headers["ETag"][3:-1])
    ids = [str(uuid.uuid4()) for _ in range(3)]
    applied: list[str] = []
    for n in replays:
        version = start + len(applied)
        headers = {**person, "X-Request-ID": ids[n], "If-Match": f'W/"{version}"'}
        value = f"07{int(ids[n][:8], 16) % 10**9:09d}"  # new for every request id
        op = [{"op": "replace", "path": "/telecom/0/value", "value": value}]
        if ids[n] in applied:
            headers["If-Match"] = f'W/"{start + applied.index(ids[n])}"'
        answer = httpx.patch(url, json=op, headers=headers)
        assert answer.status_code == 200, answer.text
        if ids[n] not in applied:
            applied.append(ids[n])
    assert httpx.get(url, headers=person).headers["ETag"] == f'W/"{start + len(applied)}"'
