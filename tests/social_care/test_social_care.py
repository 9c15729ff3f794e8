"""Adult social care client level data: checked at the door, pseudonymised, linked to health.

A synthetic population with social care journeys is generated with faults spoiled into its
local authority file; the load must quarantine each fault under the rule meant to catch it,
and nothing else, keep no NHS number anywhere in the analysis layer or the quarantine, and
give each event the ``patient_id`` its person's health records have.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import duckdb
import orjson
import pytest

from fivesafes.ingest.pipeline import check_csv_file
from fivesafes.ingest.social_care import check_row
from fivesafes.model.social_care import SOURCE_COLUMNS
from fivesafes.store.config import DataDir
from fivesafes.store.database import Store
from fivesafes.store.load import load
from fivesafes.store.pseudonym import Pseudonymiser, create_key
from fivesafes.synth import generate
from fivesafes.synth.social_care import FAULT_RULES, FAULTS_FILE

TODAY = date(2026, 1, 1)
CARE = "social_care_events.csv"


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DataDir, object]:
    root = tmp_path_factory.mktemp("social-care")
    source = root / "source"
    generate(source, 1500, seed=7, faults=0.03)
    data = DataDir(root / "data", root / "keys" / "pseudonym.key")
    create_key(data.key_file)  # as environment init does: a store never makes its own key
    with Store.open(data) as store:
        report = load(store, [source], today=TODAY, verdicts=True)
    return source, data, report


def _rows(source: Path) -> list[dict[str, str]]:
    with (source / CARE).open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_journeys_start_from_hospital_discharge_and_the_community(loaded: tuple) -> None:
    source, _, _ = loaded
    rows = _rows(source)
    routes = {r["request_route_of_access"] for r in rows if r["event_type"] == "Request"}
    assert {"Discharge from Hospital", "Community / Other route"} <= routes
    assert {r["event_type"] for r in rows} == {"Request", "Assessment", "Service", "Review"}
    services = {r["service_type"] for r in rows if r["event_type"] == "Service"}
    assert "Short Term Support: ST-Max" in services


def test_each_fault_is_quarantined_under_its_rule_and_nothing_else(loaded: tuple) -> None:
    source, _, report = loaded
    faults = orjson.loads((source / FAULTS_FILE).read_bytes())
    assert {f["kind"] for f in faults} == set(FAULT_RULES)
    rejected = {
        v.line: {rule for _, rule, _ in v.findings}
        for v in report.verdicts  # type: ignore[attr-defined]
        if not v.accepted and Path(v.file).name == CARE
    }
    assert set(rejected) == {f["line"] for f in faults}
    for fault in faults:
        assert FAULT_RULES[fault["kind"]] in rejected[fault["line"]], fault


def test_no_nhs_number_is_kept_anywhere(loaded: tuple) -> None:
    source, data, _ = loaded
    numbers = {r["nhs_number"] for r in _rows(source)}
    with duckdb.connect(str(data.database), read_only=True) as con:
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema IN ('analysis', 'meta')"
        ).fetchall()
        for schema, table in tables:
            text = con.execute(f'SELECT * FROM {schema}."{table}"').fetchall()
            found = {str(v) for row in text for v in row} & numbers
            assert found == set(), f"{schema}.{table} holds NHS numbers"


def test_events_link_to_health_records_through_the_pseudonym(loaded: tuple) -> None:
    source, data, _ = loaded
    with Store.open(data) as store:
        pseudonym = Pseudonymiser(store.key)
    expected = {pseudonym(r["nhs_number"]) for r in _rows(source)}
    with duckdb.connect(str(data.database), read_only=True) as con:
        found = con.execute("SELECT patient_id FROM analysis.social_care_events").fetchall()
        ids = {r[0] for r in found}
        linked = con.execute(
            "SELECT count(*) FROM analysis.social_care_events e "
            "WHERE e.patient_id IN (SELECT patient_id FROM analysis.patients)"
        ).fetchone()
        total = con.execute("SELECT count(*) FROM analysis.social_care_events").fetchone()
    assert ids <= expected and linked is not None and total is not None
    # a person whose own health record was spoiled on purpose (and quarantined) is known to
    # social care only: their events stay, unlinked, as a real authority's would
    spoiled = [
        f
        for f in orjson.loads((source / "_faults.json").read_bytes())
        if f["resource_type"] == "Patient"
    ]
    assert total[0] - len(spoiled) <= linked[0] <= total[0]
    # people whose NHS number was spoiled on purpose are the only ones not loaded
    assert len(expected - ids) <= len(orjson.loads((source / FAULTS_FILE).read_bytes()))


def test_loading_the_same_file_again_changes_nothing(loaded: tuple) -> None:
    source, data, _ = loaded
    with Store.open(data) as store:
        again = load(store, [source / CARE], today=TODAY)
    counts = again.counts["social_care_events"]
    assert counts["loaded"] == 0 and counts["unchanged"] > 0


HEADER = list(SOURCE_COLUMNS)


def _row(**changes: str) -> list[str]:
    base = {
        "la_code": "E08000025",
        "event_reference": "R1",
        "nhs_number": "9434765919",
        "event_type": "Service",
        "event_start_date": "2024-05-01",
        "event_end_date": "2024-06-01",
        "event_outcome": "Service ended as planned",
        "service_type": "Short Term Support: ST-Max",
        "primary_support_reason": "Physical Support: Personal care support",
    }
    base.update(changes)
    return [base.get(c, "") for c in HEADER]


@pytest.mark.parametrize(
    ("changes", "rule", "words"),
    [
        ({"nhs_number": "9434765918"}, "cld.nhs_number", "Modulus 11"),
        ({"la_code": "Leeds"}, "cld.local_authority", "'Leeds' is not an ONS local authority"),
        ({"service_type": ""}, "cld.event", "a Service needs service_type"),
        ({"event_end_date": "2024-04-01"}, "cld.event", "before it starts"),
        ({"event_start_date": "2099-01-01", "event_end_date": ""}, "cld.event", "in the future"),
        ({"service_type": "Meals"}, "csv.value", "'Meals' is not one of"),
        ({"event_start_date": "1 May 2024"}, "csv.value", "a date as YYYY-MM-DD"),
    ],
)
def test_each_rule_names_the_column_and_never_the_nhs_number(
    changes: dict[str, str], rule: str, words: str
) -> None:
    row, findings = check_row(HEADER, _row(**changes), lambda _: 1, TODAY)
    assert row is None
    assert [f.rule for f in findings] == [rule]
    assert words in findings[0].message
    assert "943476591" not in findings[0].message


def test_a_good_row_becomes_pseudonymous(tmp_path: Path) -> None:
    row, findings = check_row(HEADER, _row(), lambda text: len(text), TODAY)
    assert findings == [] and row is not None
    assert row[:3] == (10, "E08000025", len("E08000025/R1"))
    path = tmp_path / "social_care_events_2024.csv"
    path.write_text(",".join(HEADER[:-1]) + "\n")
    (checked,) = check_csv_file(path)
    assert (
        checked.findings[0].rule == "csv.header" and "review_reason" in checked.findings[0].message
    )
