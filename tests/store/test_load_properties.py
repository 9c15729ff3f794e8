"""The load's promises as properties: nothing valid lost, every reject explained,
idempotent, and no NHS number ever in the analysis layer."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fhir_factory import condition, icb, nhs_number, patient, practice, registration, write_ndjson
from fivesafes.ingest.rules import RULES
from fivesafes.store.config import DataDir
from fivesafes.store.database import Store
from fivesafes.store.load import load
from fivesafes.store.pseudonym import create_key

TODAY = date(2026, 1, 1)
FAULTS = ("bad_nhs_number", "orphan_condition", "bad_code", "future_date")


@st.composite
def populations(draw: st.DrawFn) -> tuple[list[dict], set[str], set[str]]:
    """Records, the ids that must load and the ids that must be quarantined."""
    records: list[dict] = [icb(), practice()]
    good: set[str] = {"icb1", "gp1"}
    bad: set[str] = set()
    n = draw(st.integers(1, 12))
    for i in range(n):
        birth = draw(st.dates(date(1920, 1, 1), date(2020, 12, 31)))
        gender = draw(st.sampled_from(["female", "male", "other", "unknown"]))
        fault = draw(st.sampled_from((None, None, *FAULTS)))
        pid = f"p{i}"
        nhs = nhs_number(i)
        if fault == "bad_nhs_number":
            nhs = nhs[:9] + str((int(nhs[9]) + 1) % 10)
            bad.add(pid)
        else:
            good.add(pid)
        records.append(patient(pid, nhs, birth=birth.isoformat(), gender=gender))
        if pid in good:
            records.append(registration(f"e{i}", pid, start=birth.isoformat()))
            good.add(f"e{i}")
            onset = draw(st.dates(birth, date(2025, 12, 31)))
            cid = f"c{i}"
            if fault == "orphan_condition":
                records.append(condition(cid, "nobody", onset=onset.isoformat()))
                bad.add(cid)
            elif fault == "bad_code":
                records.append(condition(cid, pid, code="44054007", onset=onset.isoformat()))
                bad.add(cid)
            elif fault == "future_date":
                records.append(condition(cid, pid, onset="2099-01-01"))
                bad.add(cid)
            else:
                records.append(condition(cid, pid, onset=onset.isoformat()))
                good.add(cid)
    order = draw(st.permutations(range(len(records))))
    return [records[i] for i in order], good, bad


def _ids(store: Store, schema_sql: str) -> set[str]:
    return {r[0] for r in store.con.execute(schema_sql).fetchall()}


ALL_LOADED = (
    " UNION ALL ".join(
        f'SELECT id FROM identifiable."{t}"' for t in ("Organization", "Patient", "EpisodeOfCare")
    )
    + ' UNION ALL SELECT id FROM identifiable."Condition"'
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(populations())
def test_load_keeps_every_valid_record_and_explains_every_reject(population) -> None:
    records, good, bad = population
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        src = write_ndjson(root / "in.ndjson", records)
        create_key(root / "key")
        with Store.open(DataDir(root / "data", root / "key")) as store:
            load(store, [src], today=TODAY)
            assert _ids(store, ALL_LOADED) == good
            assert _ids(store, "SELECT resource_id FROM meta.quarantine") == bad
            for rule, path, message in store.con.execute(
                "SELECT rule, path, message FROM meta.quarantine"
            ).fetchall():
                assert rule in RULES and path and message


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(populations())
def test_load_is_idempotent_and_analysis_layer_has_no_nhs_number(population) -> None:
    records, _, _ = population
    numbers = {
        ident["value"]
        for r in records
        if r["resourceType"] == "Patient"
        for ident in r["identifier"]
    }
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        src = write_ndjson(root / "in.ndjson", records)
        create_key(root / "key")
        with Store.open(DataDir(root / "data", root / "key")) as store:
            load(store, [src], today=TODAY)
            first = _analysis_values(store)
            second_report = load(store, [src], today=TODAY)
            assert second_report.totals["loaded"] == second_report.totals["updated"] == 0
            assert _analysis_values(store) == first
            for value in first:
                assert not any(n in value for n in numbers)


def _analysis_values(store: Store) -> list[str]:
    """Every value of every analysis-layer table, as text, in a stable order."""
    values: list[str] = []
    tables = store.con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'analysis' "
        "ORDER BY 1"
    ).fetchall()
    for (name,) in tables:
        rows = store.con.execute(f"SELECT * FROM analysis.{name}").fetchall()
        values += sorted(repr(cell) for row in rows for cell in row)
    return values
