"""The management API's projects, applications, catalogue and public ledger through HTTP: the
public reads, an analyst applying and revising, the refusals (a patient applying, an analyst
applying for a project they are not on, no token), the catalogue as each role may see it, and
the ledger's proofs checked as any client would check them."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import orjson
import pytest
from api_support import Running, serving
from v1_support import V1, V1World, build_v1_world, problem_of
from v1_support import application_form as form

from environment.environment_support import PROJECT
from fivesafes.environment import Environment
from fivesafes.ledger.merkle import root_from_inclusion_proof, verify_consistency


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[V1World, Running]]:
    v1 = build_v1_world(tmp_path_factory.mktemp("v1gov"))
    with serving(v1.world.data_dir) as running:
        yield v1, running


def call(served: tuple[V1World, Running], method: str, path: str, who: str | None = None,
         **kwargs: Any) -> httpx.Response:  # fmt: skip
    v1, running = served
    headers = v1.auth(who) if who else kwargs.pop("headers", {})
    return httpx.request(method, f"{running.base_url}{V1}{path}", headers=headers, **kwargs)


def test_projects_and_waits_are_public(served: tuple[V1World, Running]) -> None:
    listed = call(served, "GET", "/projects").json()
    (heat,) = [p for p in listed if p["project_id"] == PROJECT]
    assert heat["status"] == "approved" and heat["members"] == ["ana"]
    assert call(served, "GET", f"/projects/{PROJECT}").json() == heat
    missing = call(served, "GET", "/projects/nope")
    assert missing.status_code == 404 and problem_of(missing)["code"] == "NOT_FOUND"
    waits = call(served, "GET", "/projects/waits").json()
    assert any(w["project_id"] == PROJECT and w["seconds"] is not None for w in waits["waits"])
    assert "awaiting_decision" in waits["summary"]


def test_an_analyst_applies_and_the_application_waits_for_a_decision(
    served: tuple[V1World, Running],
) -> None:
    made = call(served, "POST", "/projects/sleep-steps/application", "ben", json=form("ben"))
    assert made.status_code == 201, made.text
    assert made.json() == {"project_id": "sleep-steps", "version": 1}
    shown = call(served, "GET", "/projects/sleep-steps").json()
    assert shown["status"] == "submitted" and shown["members"] == ["ben"]
    again = call(served, "POST", "/projects/sleep-steps/application", "ben", json=form("ben"))
    assert again.status_code == 400, again.text  # one application a project
    early = call(served, "PUT", "/projects/sleep-steps/application", "ben", json=form("ben"))
    assert early.status_code == 400, early.text  # nobody asked for changes


def test_who_may_not_apply_is_refused(served: tuple[V1World, Running]) -> None:
    patient = call(served, "POST", "/projects/by-pat/application", "pat", json=form("pat"))
    assert patient.status_code == 403 and "analyst" in str(problem_of(patient)["detail"])
    tokenless = call(served, "POST", "/projects/by-none/application", json=form("ana"))
    assert tokenless.status_code == 401
    assert tokenless.headers["www-authenticate"] == "Bearer"
    not_on_it = call(served, "POST", "/projects/for-ana/application", "ben", json=form("ana"))
    assert not_on_it.status_code in (400, 403), not_on_it.text
    unknown = call(served, "POST", "/projects/x-y-z/application", "ben", json={"title": "x"})
    assert unknown.status_code == 400 and problem_of(unknown)["code"] == "INVALID"


def test_the_catalogue_is_exact_for_a_custodian_and_rounded_for_anyone_else(
    served: tuple[V1World, Running],
) -> None:
    exact = call(served, "GET", "/catalogue", "cara").json()
    public = call(served, "GET", "/catalogue").json()
    analyst = call(served, "GET", "/catalogue", "ana").json()
    assert exact["view"] == "custodian" and public["view"] == analyst["view"] == "public"
    patients = {d["name"]: d for d in exact["datasets"]}["patients"]
    shown = {d["name"]: d for d in public["datasets"]}["patients"]
    assert patients["rows"] == 24 and shown["rows"] != 24  # rounded to the base
    forged = {"Authorization": "Bearer fse_not-a-token"}
    assert call(served, "GET", "/catalogue", headers=forged).status_code == 401
    codes = call(served, "GET", "/catalogue/codes", params={"column": "nosuch"})
    assert codes.status_code == 400


def test_the_ledgers_proofs_check_out_against_its_signed_checkpoints(
    served: tuple[V1World, Running],
) -> None:
    checkpoints = call(served, "GET", "/ledger/checkpoints").json()
    assert checkpoints and all("\n\n" in c["note"] for c in checkpoints)
    first = call(served, "GET", "/ledger/entries", params={"start": 0, "count": 3}).json()
    assert [e["index"] for e in first] == [0, 1, 2]
    far = call(served, "GET", "/ledger/entries", params={"start": 10**30})  # schemathesis's 500
    assert far.status_code == 200 and far.json() == []
    receipt = call(served, "GET", "/ledger/entries/1").json()
    assert receipt["entry"] == first[1]
    proof = receipt["proof"]
    head = receipt["checkpoint"].split("\n")
    size, root = int(head[1]), head[2]
    root_hash = root_from_inclusion_proof(
        proof["index"], proof["tree_size"], bytes.fromhex(proof["leaf_hash"]),
        [bytes.fromhex(p) for p in proof["path"]],
    )  # fmt: skip
    assert proof["tree_size"] == size and root_hash is not None
    assert base64.b64encode(root_hash).decode() == root
    small = checkpoints[0]["size"]
    consistent = call(served, "GET", "/ledger/consistency", params={"old_size": small}).json()
    assert verify_consistency(
        consistent["old_size"], consistent["new_size"], bytes.fromhex(consistent["old_root"]),
        bytes.fromhex(consistent["new_root"]), [bytes.fromhex(p) for p in consistent["path"]],
    )  # fmt: skip
    beyond = call(served, "GET", "/ledger/entries/100000000")
    assert beyond.status_code == 400 and "does not exist" in str(problem_of(beyond)["detail"])
    too_big = call(served, "GET", "/ledger/consistency", params={"old_size": 10**9})
    assert too_big.status_code == 400


def test_each_refusal_names_its_own_caller_while_others_are_served_beside_it(
    served: tuple[V1World, Running],
) -> None:
    """A hostile pattern: refused calls fired among allowed ones of the same use case, all at
    once. The control plane is shared by every request the server answers; each refusal in
    the ledger must still name the person refused, never the analyst served beside them."""
    v1, _ = served
    calls = 120

    def one(i: int) -> int:  # ben is signed in, and is not on the project; ana is
        who = "ben" if i % 2 else "ana"
        return call(served, "GET", f"/projects/{PROJECT}/jobs", who).status_code

    with Environment.open(v1.world.data_dir, recover=False) as env:
        before = env.cp.ledger.size
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(one, range(calls)))
    assert set(answers[1::2]) == {403} and set(answers[::2]) == {200}
    with Environment.open(v1.world.data_dir, recover=False) as env:
        entries = [orjson.loads(e) for e in env.cp.ledger.entries(before)]
    mine = [e for e in entries if e["kind"] == "refusal"
            and e["subject"]["action"] == "list_jobs"]  # fmt: skip
    assert len(mine) == calls // 2 and {e["actor"] for e in mine} == {"ben"}
