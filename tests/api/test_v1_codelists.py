"""Code lists over /api/v1 against a real server: an analyst on the approved project searches the
codes in the data (counts rounded, rare codes only counted), makes a list, adds and removes
codes, publishes a version and downloads it as OpenCodelists' CSV; what the environment refuses
is an RFC 9457 problem, and a version that is not published is not downloaded."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from api_support import serving
from v1_support import V1, V1World, build_v1_world, problem_of

from fivesafes.disclosure import profile
from fivesafes.disclosure.public import public_count
from fivesafes.query import codelist_from_csv

DIABETES = "44054006"  # every person of the API's population has it
ASTHMA = "195967001"
PEOPLE = 24  # two practices of twelve


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[V1World, httpx.Client]]:
    v1 = build_v1_world(tmp_path_factory.mktemp("v1codelists"))
    with (
        serving(v1.world.data_dir) as running,
        httpx.Client(base_url=running.base_url + V1, headers=v1.auth("ana"), timeout=60) as api,
    ):
        yield v1, api


def test_a_search_lists_common_codes_with_rounded_counts(
    target: tuple[V1World, httpx.Client],
) -> None:
    _, api = target
    found = api.get("/codes", params={"term": "diabetes", "system": "snomedct"})
    assert found.status_code == 200, found.text
    body = found.json()
    rules = profile("default")
    hits = [(h["code"], h["table"], h["patients"]) for h in body["hits"]]
    assert hits == [(DIABETES, "clinical_events", public_count(PEOPLE, rules))]
    assert body["threshold"] == rules.threshold and body["profile"] == "default"
    unknown = api.get("/codes", params={"term": "x", "system": "klingon"})
    assert unknown.status_code == 400 and "klingon" in problem_of(unknown)["detail"]


def test_a_list_is_built_published_and_downloaded(
    target: tuple[V1World, httpx.Client], tmp_path_factory: pytest.TempPathFactory
) -> None:
    _, api = target
    made = api.post("/codelists", json={"name": "Diabetes type 2", "system": "snomedct"})
    assert made.status_code == 201, made.text
    assert (made.json()["slug"], made.json()["owner"], made.json()["versions"]) == (
        "diabetes-type-2",
        "ana",
        [],
    )
    added = api.post(
        "/codelists/diabetes-type-2/additions", json={"codes": {DIABETES: None, ASTHMA: "Asthma"}}
    )
    assert added.status_code == 201, added.text
    assert added.json()["version"] == 1 and len(added.json()["codes"]) == 2
    unpublished = api.get("/codelists/diabetes-type-2/versions/1/csv")
    assert unpublished.status_code == 400 and "not published" in problem_of(unpublished)["detail"]
    removed = api.post("/codelists/diabetes-type-2/removals", json={"codes": [ASTHMA]})
    assert (removed.status_code, removed.json()["version"]) == (201, 2)
    published = api.post("/codelists/diabetes-type-2/versions/2/publication")
    assert published.status_code == 200, published.text
    assert published.json()["published_by"] == "ana" and published.json()["ledger_index"]
    again = api.post("/codelists/diabetes-type-2/versions/2/publication")
    assert again.json()["ledger_index"] == published.json()["ledger_index"]  # written once
    shown = api.get("/codelists/diabetes-type-2").json()
    assert [v["published_by"] for v in shown["versions"]] == [None, "ana"]
    assert "diabetes-type-2" in [c["slug"] for c in api.get("/codelists").json()]
    csv = api.get("/codelists/diabetes-type-2/versions/2/csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert "diabetes-type-2-2.csv" in csv.headers["content-disposition"]
    saved = tmp_path_factory.mktemp("study") / "diabetes.csv"
    saved.write_text(csv.text)
    assert codelist_from_csv(saved, column="code").codes == {DIABETES}


def test_what_the_environment_refuses_is_a_problem(
    target: tuple[V1World, httpx.Client],
) -> None:
    v1, api = target
    taken = api.post("/codelists", json={"name": "Diabetes type 2", "system": "snomedct"})
    assert taken.status_code == 400 and "already exists" in problem_of(taken)["detail"]
    wrong = api.post("/codelists/diabetes-type-2/additions", json={"codes": {"12345": None}})
    assert wrong.status_code == 400 and "12345" in problem_of(wrong)["detail"]
    missing = api.get("/codelists/no-such-list")
    assert missing.status_code == 400 and "no code list" in problem_of(missing)["detail"]
    ben = api.post("/codelists", json={"name": "Mine", "system": "icd10"}, headers=v1.auth("ben"))
    assert ben.status_code == 403 and "ben" in problem_of(ben)["detail"]
    anonymous = httpx.get(str(api.base_url).rstrip("/") + "/codelists")
    assert anonymous.status_code == 401 and problem_of(anonymous)["code"] == "UNAUTHORISED"
