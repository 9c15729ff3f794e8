"""``generate``: a whole synthetic population, written as FHIR R4 NDJSON and CSV.

People are generated in chunks of CHUNK so memory stays flat however many are asked
for; each chunk has its own random stream spawned from the seed, so the output is a
pure function of (patients, seed, faults): the same arguments give the same bytes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from rich.progress import Progress

from fivesafes.model.tables import areas, workforce
from fivesafes.synth.faults import Fault, FaultInjector
from fivesafes.synth.geography import Geography, build_geography
from fivesafes.synth.hospital import hospital_batches
from fivesafes.synth.immunisation import immunisation_batch
from fivesafes.synth.organisations import area_rows, gp_service_id, organisation_batches
from fivesafes.synth.output import FHIR_FILES, NdjsonFiles, write_csv
from fivesafes.synth.patients import death_batch, patient_batch, registration_batch
from fivesafes.synth.people import Cohort, make_cohort
from fivesafes.synth.primary_care import (
    appointment_batch,
    condition_batch,
    medication_batch,
    observation_batch,
)
from fivesafes.synth.records import Batch, Ids, Reference, references
from fivesafes.synth.social_care import COLUMNS, social_care_rows, spoil
from fivesafes.synth.social_care import FAULTS_FILE as CARE_FAULTS_FILE
from fivesafes.synth.wearables import wearable_batch
from fivesafes.synth.workforce import RETURNS_COLUMNS, workforce_returns, workforce_rows

CHUNK = 5_000
MIN_PATIENTS_FOR_FAULTS = 10
NHS_TEST_PREFIX = 999
FAULTS_FILE = "_faults.json"

ProgressLike = Progress | Callable[[int, int], Any] | None


@dataclass(frozen=True, slots=True)
class WrittenFile:
    """One output file: its name and how many records (NDJSON lines or CSV rows) it holds."""

    name: str
    records: int


@dataclass(frozen=True, slots=True)
class SynthSummary:
    """What ``generate`` wrote. ``files`` is in load order: reference tables, organisations,
    patients, then events, so every reference points at something already read."""

    out: Path
    patients: int
    seed: int
    fault_rate: float
    files: tuple[WrittenFile, ...]
    faults: int

    @property
    def records(self) -> int:
        return sum(f.records for f in self.files)


@cache
def _valid_test_numbers() -> np.ndarray:
    """Every Modulus-11-valid NHS number in the 999 test range, ascending."""
    bodies = NHS_TEST_PREFIX * 1_000_000 + np.arange(1_000_000, dtype=np.int64)
    weights = np.arange(10, 1, -1)
    digits = bodies[:, None] // 10 ** np.arange(8, -1, -1) % 10
    check = 11 - (digits @ weights) % 11
    check = np.where(check == 11, 0, check)
    ok = check != 10
    return bodies[ok] * 10 + check[ok]


def max_patients() -> int:
    """How many people fit in the NHS number test range (each needs a unique valid number)."""
    return len(_valid_test_numbers())


def _nhs_numbers(rng: np.random.Generator, n: int) -> list[str]:
    valid = _valid_test_numbers()
    return [str(x) for x in valid[rng.choice(len(valid), size=n, replace=False)].tolist()]


def _reporter(progress: ProgressLike, total: int) -> Callable[[int], None]:
    if progress is None:
        return lambda done: None
    if isinstance(progress, Progress):
        task = progress.add_task("Generating synthetic patients", total=total)
        return lambda done: progress.update(task, completed=done)
    return lambda done: progress(done, total)


def _chunk(
    rng: np.random.Generator,
    cohort: Cohort,
    geo: Geography,
    gp_services: list[Reference],
    ids: Ids,
) -> dict[str, Batch]:
    """Every resource about one chunk's people, by resource type."""
    subjects = references("Patient", cohort.ids)
    encounters, procedures = hospital_batches(rng, cohort, geo, subjects, ids)
    observations = observation_batch(rng, cohort, subjects, ids)
    observations.extend(wearable_batch(rng, cohort, subjects, ids))
    observations.extend(death_batch(cohort, subjects, ids))
    batches = [
        patient_batch(cohort, geo),
        registration_batch(cohort, geo, subjects, ids),
        encounters,
        procedures,
        condition_batch(cohort, subjects, ids),
        observations,
        medication_batch(rng, cohort, subjects, ids),
        immunisation_batch(rng, cohort, subjects, ids),
        appointment_batch(rng, cohort, subjects, gp_services, ids),
    ]
    return {b.resource_type: b for b in batches}


def _check(patients: int, faults: float) -> None:
    if patients < 1:
        raise ValueError("the population needs at least one patient")
    if patients > max_patients():
        raise ValueError(
            f"at most {max_patients():,} patients fit in the NHS number test range (999...)"
        )
    if not 0 <= faults < 1:
        raise ValueError("the fault rate is a fraction of records, from 0 up to (not including) 1")
    if faults > 0 and patients < MIN_PATIENTS_FOR_FAULTS:
        raise ValueError(f"injecting faults needs at least {MIN_PATIENTS_FOR_FAULTS} patients")


def generate(
    out: Path, patients: int, seed: int, faults: float = 0.0, progress: ProgressLike = None
) -> SynthSummary:
    """Write a synthetic population of ``patients`` people to ``out`` and say what was written.

    ``faults`` is the fraction of records to spoil (see faults.py); when it is above zero,
    ``_faults.json`` lists every spoiled record. ``progress`` may be a rich Progress (a task
    is added to it) or a callable taking (patients done, patients in total); without one
    nothing is shown.
    """
    _check(patients, faults)
    # a sixth stream for social care leaves the first five, and so every other file, as before
    geo_seq, nhs_seq, work_seq, fault_seq, chunk_seq, care_seq = np.random.SeedSequence(seed).spawn(
        6
    )
    care_rng = np.random.Generator(np.random.PCG64(care_seq))
    care_rows: list[list[str]] = []
    n_chunks = math.ceil(patients / CHUNK)
    chunk_seqs = chunk_seq.spawn(n_chunks)
    geo = build_geography(np.random.Generator(np.random.PCG64(geo_seq)), patients)
    nhs = _nhs_numbers(np.random.Generator(np.random.PCG64(nhs_seq)), patients)
    injector = (
        FaultInjector(np.random.Generator(np.random.PCG64(fault_seq)), faults, patients)
        if faults > 0
        else None
    )
    report = _reporter(progress, patients)
    out.mkdir(parents=True, exist_ok=True)

    written = [
        WrittenFile("areas.csv", write_csv(out / "areas.csv", areas.column_names,
                    ([r[c] for c in areas.column_names] for r in area_rows(geo)))),
        WrittenFile("workforce.csv", write_csv(out / "workforce.csv", workforce.column_names,
                    workforce_rows(np.random.Generator(np.random.PCG64(work_seq)), geo, patients))),
    ]  # fmt: skip
    gp_services = references("HealthcareService", [gp_service_id(p) for p in geo.practices])
    found: list[dict[str, object]] = []
    ids = Ids()
    with NdjsonFiles(out) as files:
        for batch in organisation_batches(geo):
            files.write(batch, {})
        for c in range(n_chunks):
            rng = np.random.Generator(np.random.PCG64(chunk_seqs[c]))
            lo, hi = c * CHUNK, min(patients, (c + 1) * CHUNK)
            cohort = make_cohort(rng, geo, lo, nhs[lo:hi], ensure_death=c == 0)
            batches = _chunk(rng, cohort, geo, gp_services, ids)
            care_rows.extend(social_care_rows(care_rng, cohort, geo, batches["Encounter"]))
            spoiled: list[Fault] = injector.inject(cohort, batches, c == 0) if injector else []
            before = dict(files.lines)
            for name in FHIR_FILES:
                if name in batches:
                    cut = {
                        f.index: float(rng.uniform(0.2, 0.9))
                        for f in spoiled
                        if f.resource_type == name and f.kind == "malformed_json"
                    }
                    files.write(batches[name], cut)
            found.extend(
                {
                    "kind": f.kind,
                    "file": f"{f.resource_type}.ndjson",
                    "line": before[f.resource_type] + f.index + 1,
                    "resource_type": f.resource_type,
                    "id": f.id,
                }
                for f in spoiled
            )
            report(hi)
        written.extend(WrittenFile(f"{name}.ndjson", files.lines[name]) for name in FHIR_FILES)

    care_faults = spoil(care_rng, care_rows, faults) if faults > 0 else []
    care_file = "social_care_events.csv"
    written.append(WrittenFile(care_file, write_csv(out / care_file, COLUMNS, care_rows)))
    care_faults_path = out / CARE_FAULTS_FILE
    if care_faults:
        care_faults_path.write_bytes(orjson.dumps(care_faults, option=orjson.OPT_INDENT_2))
    elif care_faults_path.exists():
        care_faults_path.unlink()
    faults_path = out / FAULTS_FILE
    if injector is not None:
        faults_path.write_bytes(orjson.dumps(found, option=orjson.OPT_INDENT_2))
    elif faults_path.exists():
        faults_path.unlink()
    return SynthSummary(out, patients, seed, faults, tuple(written), len(found))


def write_published_workforce(path: Path, patients: int, seed: int = 0) -> Path:
    """Write the published workforce statistics of the organisations ``generate(patients,
    seed)`` makes (same geography, same staff in post), for a board to read beside the
    environment's released outputs."""
    _check(patients, 0.0)
    geo_seq, _, work_seq, _, _ = np.random.SeedSequence(seed).spawn(5)
    geo = build_geography(np.random.Generator(np.random.PCG64(geo_seq)), patients)
    rows = workforce_returns(np.random.Generator(np.random.PCG64(work_seq)), geo, patients)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_csv(path, list(RETURNS_COLUMNS), rows)
    return path
