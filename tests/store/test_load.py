"""Loading: counts, idempotence, updates with history, and the whole-load checks."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

from fhir_factory import basic_population, condition, nhs_number, patient, write_ndjson
from fivesafes.ingest.flatten import FLATTENINGS
from fivesafes.store.analysis import ANALYSIS_SQL, DATASETS_OF
from fivesafes.store.config import DataDir
from fivesafes.store.database import Store
from fivesafes.store.load import load

TODAY = date(2026, 1, 1)


def _snapshot(store: Store) -> dict[str, list[tuple]]:
    """Every row of every identifiable and analysis table, for before/after comparisons."""
    tables = store.con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_schema IN ('identifiable', 'analysis') ORDER BY 1, 2"
    ).fetchall()
    snap = {}
    for schema, name in tables:
        drop = {"load_id", "loaded_at"}
        cols = [
            c
            for (c,) in store.con.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
                [schema, name],
            ).fetchall()
            if c not in drop
        ]
        col_sql = ", ".join(f'"{c}"' for c in cols)
        snap[f"{schema}.{name}"] = sorted(
            store.con.execute(f'SELECT {col_sql} FROM {schema}."{name}"').fetchall(), key=repr
        )
    return snap


def test_load_counts_and_builds_analysis_layer(store: Store, tmp_path: Path) -> None:
    src = write_ndjson(tmp_path / "pop.ndjson", basic_population(3))
    report = load(store, [src], today=TODAY)
    assert report.committed
    assert report.counts["Patient"]["loaded"] == 3
    assert report.counts["Condition"]["loaded"] == 3
    assert report.counts["Organization"]["loaded"] == 2
    assert not report.rules
    rows = store.con.execute("SELECT sex, date_of_birth FROM analysis.patients").fetchall()
    assert rows == [("female", date(1980, 5, 1))] * 3  # month precision only
    regs = store.con.execute(
        "SELECT practice_code, region, lsoa_code FROM analysis.practice_registrations"
    ).fetchall()
    assert set(regs) == {("A81001", "London", "E01000001")}
    events = store.con.execute(
        "SELECT e.snomedct_code, e.patient_id = p.patient_id FROM analysis.clinical_events e "
        "JOIN analysis.patients p USING (patient_id)"
    ).fetchall()
    assert events == [("44054006", True)] * 3


def test_loading_twice_changes_nothing(store: Store, tmp_path: Path) -> None:
    src = write_ndjson(tmp_path / "pop.ndjson", basic_population(4))
    load(store, [src], today=TODAY)
    before = _snapshot(store)
    again = load(store, [src], today=TODAY)
    assert again.totals["loaded"] == 0 and again.totals["updated"] == 0
    assert again.totals["unchanged"] == len(basic_population(4))
    assert _snapshot(store) == before


def test_newer_version_replaces_older_and_keeps_history(store: Store, tmp_path: Path) -> None:
    load(store, [write_ndjson(tmp_path / "a.ndjson", basic_population(1))], today=TODAY)
    changed = condition("c0", "p0", code="195967001")
    report = load(store, [write_ndjson(tmp_path / "b.ndjson", [changed])], today=TODAY)
    assert report.counts["Condition"]["updated"] == 1
    codes = store.con.execute("SELECT snomedct_code FROM analysis.clinical_events").fetchall()
    assert codes == [("195967001",)]
    history = store.con.execute(
        "SELECT resource_type, id, source_file FROM identifiable.history"
    ).fetchall()
    assert history == [("Condition", "c0", str(tmp_path / "a.ndjson"))]
    current = store.con.execute('SELECT source_file FROM identifiable."Condition"').fetchall()
    assert current == [(str(tmp_path / "b.ndjson"),)]


def _rules(store: Store) -> list[tuple[str, str, str]]:
    return store.con.execute(
        "SELECT resource_id, rule, path FROM meta.quarantine ORDER BY resource_id"
    ).fetchall()


def test_a_load_names_every_dataset_its_records_enter(store: Store, tmp_path: Path) -> None:
    """What the datasets register is checked against at a load (SATRE 3.1.04): no resource type
    enters no dataset (else its records would skip the check), every FHIR-built table has a
    source, and records that change nothing, or are quarantined, enter nothing."""
    assert all(DATASETS_OF[rtype] for rtype in FLATTENINGS)
    assert {t for fed in DATASETS_OF.values() for t in fed} == set(ANALYSIS_SQL)
    src = write_ndjson(tmp_path / "pop.ndjson", basic_population(2))
    first = load(store, [src], today=TODAY)
    assert first.datasets() == [
        "clinical_events", "deaths", "organisations", "patients", "practice_registrations"
    ]  # fmt: skip
    assert load(store, [src], today=TODAY).datasets() == []
    orphan = write_ndjson(tmp_path / "orphan.ndjson", [condition("c9", "nobody")])
    rejected = load(store, [orphan], today=TODAY)
    assert rejected.totals["quarantined"] == 1 and rejected.datasets() == []


def test_unresolved_reference_is_quarantined(store: Store, tmp_path: Path) -> None:
    records = [*basic_population(1), condition("orphan", "nobody")]
    report = load(store, [write_ndjson(tmp_path / "x.ndjson", records)], today=TODAY)
    assert report.counts["Condition"]["quarantined"] == 1
    assert _rules(store) == [("orphan", "reference.unresolved", "Condition.subject")]


def test_reference_resolves_against_the_store(store: Store, tmp_path: Path) -> None:
    load(store, [write_ndjson(tmp_path / "a.ndjson", basic_population(1))], today=TODAY)
    report = load(
        store, [write_ndjson(tmp_path / "b.ndjson", [condition("later", "p0")])], today=TODAY
    )
    assert report.counts["Condition"]["loaded"] == 1


def test_duplicate_nhs_number_in_load_and_against_store(store: Store, tmp_path: Path) -> None:
    records = [*basic_population(1), patient("twin", nhs_number(0))]
    load(store, [write_ndjson(tmp_path / "a.ndjson", records)], today=TODAY)
    load(
        store,
        [write_ndjson(tmp_path / "b.ndjson", [patient("late-twin", nhs_number(0))])],
        today=TODAY,
    )
    assert _rules(store) == [
        ("late-twin", "patient.duplicate-nhs-number", "Patient.identifier"),
        ("twin", "patient.duplicate-nhs-number", "Patient.identifier"),
    ]
    assert store.con.execute("SELECT count(*) FROM analysis.patients").fetchone() == (1,)


def test_events_before_birth_and_after_death(store: Store, tmp_path: Path) -> None:
    records = [
        *basic_population(0),
        patient("p", nhs_number(1), birth="1990-06-01", death="2020-01-01"),
        condition("early", "p", onset="1989-01-01"),
        condition("late", "p", onset="2021-01-01"),
        condition("fine", "p", onset="2000-01-01"),
    ]
    load(store, [write_ndjson(tmp_path / "a.ndjson", records)], today=TODAY)
    assert _rules(store) == [
        ("early", "date.before-birth", "Condition.onsetDateTime"),
        ("late", "date.after-death", "Condition.onsetDateTime"),
    ]
    deaths = store.con.execute("SELECT date FROM analysis.deaths").fetchall()
    assert deaths == [(date(2020, 1, 1),)]


def test_same_id_twice_in_one_load(store: Store, tmp_path: Path) -> None:
    records = [
        *basic_population(1),
        condition("c0", "p0"),  # exact repeat: harmless
        condition("c0", "p0", code="195967001"),  # conflicting version: quarantined
    ]
    report = load(store, [write_ndjson(tmp_path / "a.ndjson", records)], today=TODAY)
    assert _rules(store) == [("c0", "resource.duplicate-id", "Condition.id")]
    assert report.counts["Condition"]["loaded"] == 1
    codes = store.con.execute("SELECT snomedct_code FROM analysis.clinical_events").fetchall()
    assert codes == [("44054006",)]


def test_malformed_line_costs_one_record(store: Store, tmp_path: Path) -> None:
    src = write_ndjson(tmp_path / "a.ndjson", basic_population(2))
    with src.open("ab") as handle:
        handle.write(b'{"resourceType": "Patient", "id": "trunc\n')
    report = load(store, [src], today=TODAY)
    assert report.counts["Patient"]["loaded"] == 2
    assert report.rules["json.malformed"] == 1
    line = store.con.execute("SELECT line FROM meta.quarantine").fetchone()
    assert line == (len(basic_population(2)) + 1,)


def test_validate_mode_keeps_nothing(store: Store, tmp_path: Path) -> None:
    src = write_ndjson(tmp_path / "a.ndjson", [*basic_population(1), condition("x", "ghost")])
    report = load(store, [src], today=TODAY, commit=False, verdicts=True)
    assert not report.committed
    assert [v.accepted for v in report.verdicts].count(False) == 1
    assert len(report.verdicts) == len(basic_population(1)) + 1
    assert store.con.execute("SELECT count(*) FROM analysis.patients").fetchone() == (0,)
    assert store.con.execute("SELECT count(*) FROM meta.loads").fetchone() == (0,)


def test_a_reader_spills_to_its_own_temporary_folder(data_dir: DataDir) -> None:
    """A read-only store (a sandboxed extraction) may not be able to write beside its file:
    what does not fit in DuckDB's memory goes to a private folder, removed on close."""
    Store.open(data_dir).close()
    reader = Store.open(data_dir, read_only=True)
    spill = Path(reader.con.execute("SELECT current_setting('temp_directory')").fetchall()[0][0])
    assert spill.parent == Path(tempfile.gettempdir()) and spill.is_dir()
    reader.con.execute("SET memory_limit = '20MB'; SET threads = 1")
    rows = reader.con.sql("SELECT i FROM range(3000000) t(i) ORDER BY hash(i)").fetchall()
    assert len(rows) == 3_000_000
    reader.close()
    assert not spill.exists()
