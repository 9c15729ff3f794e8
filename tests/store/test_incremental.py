"""The analysis layer a load updates patient by patient is the one a full rebuild makes.

Loads of a synthetic population, in parts and then with records changed the ways that
reach other patients' rows (a record moved to another patient, an NHS number changed,
a practice's ODS code or an ICB's region changed, a service moved to another practice, a
procedure moved to another admission, an area's deprivation changed), are each followed
by a look at the layer as updated and as rebuilt from scratch: they must be the same rows.
"""

from __future__ import annotations

import copy
import csv
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fivesafes.model import TABLES
from fivesafes.model.codes import nhs_number_check_digit
from fivesafes.store import analysis
from fivesafes.store.analysis import ANALYSIS_SQL, rebuild_analysis_layer
from fivesafes.store.config import DataDir
from fivesafes.store.database import Store
from fivesafes.store.load import load
from fivesafes.store.pseudonym import create_key
from fivesafes.store.versions import writing
from fivesafes.store.writes import delete_resources, write_resources
from fivesafes.synth import generate

TODAY = date(2026, 1, 1)
ORG_LEVEL = ("Organization", "Location", "HealthcareService")
Resource = dict[str, Any]


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A small synthetic population's records by type, and its areas table."""
    out = tmp_path_factory.mktemp("synth")
    generate(out, 40, seed=5)
    records: dict[str, list[Resource]] = {}
    for path in sorted(out.glob("*.ndjson")):
        records[path.stem] = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    with (out / "areas.csv").open() as handle:
        areas = list(csv.DictReader(handle))
    return {"records": records, "areas": areas}


def _subject(resource: Resource) -> str | None:
    """The Patient id a resource is about (None for organisation-level resources)."""
    if resource["resourceType"] == "Patient":
        return str(resource["id"])
    for key in ("subject", "patient"):
        if key in resource:
            return str(resource[key]["reference"]).split("/")[1]
    for participant in resource.get("participant", ()):
        reference = participant["actor"]["reference"]
        if reference.startswith("Patient/"):
            return str(reference.split("/")[1])
    return None


def _set_subject(resource: Resource, pid: str) -> None:
    reference = {"reference": f"Patient/{pid}"}
    if resource["resourceType"] == "Appointment":
        resource["participant"][0]["actor"] = reference
    elif "patient" in resource:
        resource["patient"] = reference
    else:
        resource["subject"] = reference


def _fresh_nhs_number(n: int) -> str:
    """A valid NHS number outside those the generator hands out (999 0xx xxx x)."""
    k = n
    while True:
        first_nine = f"99900{k:04d}"
        check = nhs_number_check_digit(first_nine)
        if check is not None:
            return first_nine + str(check)
        k += 1


CHANGES = (
    "move_to_other_patient",
    "new_nhs_number",
    "gender",
    "swap_practice_codes",
    "icb_region",
    "service_to_other_practice",
    "procedure_to_other_admission",
    "area_deprivation",
)


@st.composite
def load_plans(draw: st.DrawFn) -> list[tuple[float, list[tuple[str, int, int]]]]:
    """Loads as (share of the remaining patients' records to add, changes to make)."""
    plans = []
    for _ in range(draw(st.integers(2, 4))):
        share = draw(st.sampled_from((0.0, 0.3, 1.0)))
        changes = draw(
            st.lists(
                st.tuples(st.sampled_from(CHANGES), st.integers(0, 10**6), st.integers(0, 10**6)),
                max_size=4,
            )
        )
        plans.append((share, changes))
    return plans


def _change(
    records: dict[str, list[Resource]],
    areas: list[dict[str, str]],
    kind: str,
    a: int,
    b: int,
    serial: int,
) -> list[Resource]:
    """Change the records in place as ``kind`` says; returns the changed FHIR resources."""

    def pick(rtype: str, k: int, where: Any = lambda r: True) -> Resource | None:
        found = [r for r in records[rtype] if where(r)]
        return found[k % len(found)] if found else None

    patients = records["Patient"]
    if kind == "move_to_other_patient":
        rtype = ("Condition", "Observation", "MedicationRequest", "Encounter", "Appointment")[a % 5]
        resource = pick(rtype, a)
        if resource is None:
            return []
        _set_subject(resource, patients[b % len(patients)]["id"])
        return [resource]
    if kind == "new_nhs_number":
        resource = patients[a % len(patients)]
        resource["identifier"] = [{**resource["identifier"][0], "value": _fresh_nhs_number(serial)}]
        return [resource]
    if kind == "gender":
        resource = patients[a % len(patients)]
        resource["gender"] = "male" if resource["gender"] == "female" else "female"
        return [resource]
    if kind == "swap_practice_codes":

        def is_practice(r: Resource) -> bool:
            return "partOf" in r and r["type"][0]["coding"][0]["code"] == "gp_practice"

        first, second = pick("Organization", a, is_practice), pick("Organization", b, is_practice)
        if first is None or second is None or first is second:
            return []
        first["identifier"], second["identifier"] = second["identifier"], first["identifier"]
        return [first, second]
    if kind == "icb_region":
        resource = pick("Organization", a, lambda r: r["type"][0]["coding"][0]["code"] == "icb")
        if resource is None:
            return []
        regions = ("London", "Midlands", "North West", "South West")
        resource["extension"] = [{**resource["extension"][0], "valueString": regions[b % 4]}]
        return [resource]
    if kind == "service_to_other_practice":
        service = pick("HealthcareService", a)
        practice = pick("Organization", b, lambda r: "partOf" in r)
        if service is None or practice is None:
            return []
        service["providedBy"] = {"reference": f"Organization/{practice['id']}"}
        return [service]
    if kind == "procedure_to_other_admission":
        procedure = pick("Procedure", a)
        encounter = pick("Encounter", b, lambda r: r["class"]["code"] == "IMP")
        if procedure is None or encounter is None:
            return []
        procedure["encounter"] = {"reference": f"Encounter/{encounter['id']}"}
        return [procedure]
    row = areas[a % len(areas)]
    row["imd_decile"] = str(1 + (int(row["imd_decile"]) + b) % 10)
    return []


def _layer(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every FHIR-built analysis table's rows, sorted (row order is not part of the layer)."""
    return {
        name: sorted(
            store.con.execute(f"SELECT * FROM analysis.{name}").fetchall(),
            key=lambda row: tuple((v is None, str(v)) for v in row),
        )
        for name in ANALYSIS_SQL
    }


def _write_areas(path: Path, areas: list[dict[str, str]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, TABLES["areas"].column_names, lineterminator="\n")
        writer.writeheader()
        writer.writerows(areas)
    return path


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(plans=load_plans(), first_share=st.sampled_from((0.25, 0.5)))
def test_an_updated_layer_is_the_rebuilt_layer(
    population: dict[str, Any],
    plans: list[tuple[float, list[tuple[str, int, int]]]],
    first_share: float,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(analysis, "REBUILD_SHARE", float("inf"))  # always update in place
    records = copy.deepcopy(population["records"])
    areas = copy.deepcopy(population["areas"])
    patient_ids = [r["id"] for r in records["Patient"]]
    waiting = patient_ids[int(len(patient_ids) * first_share) :]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = DataDir(root / "data", root / "key")
        create_key(data.key_file)  # as `fivesafes environment init` makes it

        def records_of(pids: set[str]) -> list[Resource]:
            return [r for rtype in records for r in records[rtype] if _subject(r) in pids]

        first = [r for rtype in ORG_LEVEL for r in records[rtype]]
        first += records_of(set(patient_ids) - set(waiting))
        batches: list[tuple[list[Resource], bool]] = [(first, True)]
        serial = 0
        for share, changes in plans:
            cut = round(len(waiting) * share)
            batch = records_of(set(waiting[:cut]))
            waiting = waiting[cut:]
            areas_changed = False
            for kind, a, b in changes:
                serial += 1
                batch += _change(records, areas, kind, a, b, serial)
                areas_changed |= kind == "area_deprivation"
            batches.append((batch, areas_changed))

        with Store.open(data) as store:
            for n, (batch, with_areas) in enumerate(batches):
                folder = root / f"load-{n}"
                folder.mkdir()
                if batch:
                    lines = b"".join(orjson.dumps(r) + b"\n" for r in batch)
                    (folder / "records.ndjson").write_bytes(lines)
                if with_areas:
                    _write_areas(folder / "areas.csv", areas)
                if not any(folder.iterdir()):
                    continue
                report = load(store, [folder], today=TODAY)
                assert report.committed
                updated = _layer(store)
                store.con.execute("BEGIN TRANSACTION")
                rebuild_analysis_layer(store.con)
                rebuilt = _layer(store)
                store.con.execute("ROLLBACK")
                for name in ANALYSIS_SQL:
                    assert updated[name] == rebuilt[name], f"load {n}: {name} differs"


def test_a_small_load_into_a_large_store_remakes_only_its_patients(tmp_path: Path) -> None:
    """The update path is the one taken: rows of untouched patients are never rewritten."""
    generate(tmp_path / "all", 30, seed=2)
    data = DataDir(tmp_path / "data", tmp_path / "key")
    create_key(data.key_file)  # as `fivesafes environment init` makes it
    changed = orjson.loads((tmp_path / "all" / "Patient.ndjson").read_bytes().splitlines()[0])
    changed["gender"] = "male" if changed["gender"] == "female" else "female"
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "Patient.ndjson").write_bytes(orjson.dumps(changed) + b"\n")
    with Store.open(data) as store:
        load(store, [tmp_path / "all"], today=TODAY)
        con = store.con
        before = con.execute("SELECT patient_id, rowid FROM analysis.patients").fetchall()
        load(store, [tmp_path / "one"], today=TODAY)
        after = dict(con.execute("SELECT patient_id, rowid FROM analysis.patients").fetchall())
    moved = [pid for pid, rowid in before if after[pid] != rowid]
    assert len(moved) == 1  # the changed patient's row was remade, and no other
    assert len(after) == len(before) == 30


def test_the_apis_writes_and_deletes_update_the_layer_as_a_rebuild_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A self-service change and a deletion (of a record, a practice, a whole patient) remake
    the rows that read them at once: a later load updates only its own patients, so a layer
    left stale by a write would stay stale."""
    monkeypatch.setattr(analysis, "REBUILD_SHARE", float("inf"))  # always update in place
    generate(tmp_path / "all", 30, seed=4)
    data = DataDir(tmp_path / "data", tmp_path / "key")
    create_key(data.key_file)  # as `fivesafes environment init` makes it
    with writing(data) as store:
        load(store, [tmp_path / "all"], today=TODAY)
    read = {
        rtype: [orjson.loads(line) for line in (tmp_path / "all" / f"{rtype}.ndjson").open("rb")]
        for rtype in ("Patient", "Condition", "Organization")
    }
    changed = read["Patient"][0]
    changed["gender"] = "male" if changed["gender"] == "female" else "female"
    assert write_resources(data, [changed], label="test", today=TODAY).committed
    practice = next(r for r in read["Organization"] if "partOf" in r)
    gone = [
        ("Condition", read["Condition"][0]["id"]),
        ("Organization", practice["id"]),
        ("Patient", read["Patient"][1]["id"]),
    ]
    with Store.open(data, read_only=True) as store:
        before = _layer(store)
    delete_resources(data, gone)
    with Store.open(data) as store:
        updated = _layer(store)
        store.con.execute("BEGIN TRANSACTION")
        rebuild_analysis_layer(store.con)
        rebuilt = _layer(store)
        store.con.execute("ROLLBACK")
    for name in ("patients", "clinical_events", "practice_registrations"):
        assert len(updated[name]) < len(before[name]), f"{name}: nothing was deleted"
    for name in ANALYSIS_SQL:
        assert updated[name] == rebuilt[name], f"{name} differs"
