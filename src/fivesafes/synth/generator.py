"""``generate``: a whole synthetic population, written as FHIR R4 NDJSON and CSV.

People are generated in chunks of CHUNK, each a pure function of (seed, population size,
chunk number): its random streams, record ids (``obs-<chunk>-<n>``), NHS numbers and faults
are its own, never carried over from the chunk before. So chunks can be made on every core
at once and written in order, and the output is the same bytes whatever the number of
workers. Memory stays flat however many people are asked for: the parent holds the few
chunks in flight (:func:`fivesafes.workers.ordered_map`) and every NHS number is derived
from the patient's position, never from a list of the whole population.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
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
from fivesafes.synth.output import FHIR_FILES, NdjsonFiles, ndjson_lines, write_csv
from fivesafes.synth.patients import death_batch, patient_batch, registration_batch
from fivesafes.synth.people import Cohort, make_cohort
from fivesafes.synth.primary_care import (
    appointment_batch,
    condition_batch,
    medication_batch,
    observation_batch,
)
from fivesafes.synth.records import Batch, Ids, Reference, references
from fivesafes.synth.social_care import COLUMNS as CARE_COLUMNS
from fivesafes.synth.social_care import FAULTS_FILE as CARE_FAULTS_FILE
from fivesafes.synth.social_care import social_care_rows, spoil
from fivesafes.synth.wearables import wearable_batch
from fivesafes.synth.workforce import RETURNS_COLUMNS, workforce_returns, workforce_rows
from fivesafes.workers import ordered_map

CHUNK = 5_000
MIN_PATIENTS_FOR_FAULTS = 10
NHS_TEST_PREFIX = 999
FAULTS_FILE = "_faults.json"
CARE_FILE = "social_care_events.csv"

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


NHS_BLOCK = 909_090
"""People per three-digit prefix of NHS numbers: every prefix from 900 to 999 has at least
this many Modulus-11-valid numbers."""
NHS_PREFIXES = 100
"""999 first (the test range NHS England sets aside), then 998, 997 ... 900: numbers starting
with 9 are never issued to patients (England issues 300-799 million), so a population too
large for 999 alone stays made up."""
PARALLEL_FROM = 4 * CHUNK
"""Below this many people one process makes them all: starting workers would cost more."""
_STREAMS = ("geography", "nhs", "workforce", "faults", "chunks", "social_care")
"""Named streams, in spawn order: a new one goes last, so every earlier stream (and so every
file made from it) stays as it was."""


def _stream(seed: int, name: str, *key: int) -> np.random.Generator:
    """The random stream ``name`` (for chunk or block ``key``) of a seed: the very stream
    ``SeedSequence(seed).spawn(...)`` would hand out there, made without spawning the others."""
    sequence = np.random.SeedSequence(seed, spawn_key=(_STREAMS.index(name), *key))
    return np.random.Generator(np.random.PCG64(sequence))


@cache
def _valid_numbers(prefix: int) -> np.ndarray:
    """Every Modulus-11-valid NHS number starting with the three digits ``prefix``, ascending."""
    bodies = prefix * 1_000_000 + np.arange(1_000_000, dtype=np.int64)
    weights = np.arange(10, 1, -1)
    digits = bodies[:, None] // 10 ** np.arange(8, -1, -1) % 10
    check = 11 - (digits @ weights) % 11
    check = np.where(check == 11, 0, check)
    ok = check != 10
    numbers: np.ndarray = bodies[ok] * 10 + check[ok]
    return numbers


def _valid_test_numbers() -> np.ndarray:
    """Every Modulus-11-valid NHS number in the 999 test range, ascending."""
    return _valid_numbers(NHS_TEST_PREFIX)


def max_patients() -> int:
    """How many people get NHS numbers that are never issued (each needs a unique one)."""
    return NHS_BLOCK * NHS_PREFIXES


@lru_cache(maxsize=2)
def _block_numbers(seed: int, block: int) -> np.ndarray:
    """The NHS numbers of people ``block * NHS_BLOCK`` onwards: a shuffle of prefix
    ``999 - block``'s valid numbers, drawn from the seed (two blocks cached: a chunk spans
    at most two)."""
    valid = _valid_numbers(NHS_TEST_PREFIX - block)
    return valid[_stream(seed, "nhs", block).permutation(len(valid))[:NHS_BLOCK]]


def _nhs_numbers(seed: int, first: int, n: int) -> list[str]:
    """NHS numbers of people ``first`` to ``first + n - 1``: unique, valid, never issued."""
    numbers: list[str] = []
    person, end = first, first + n
    while person < end:
        block, offset = divmod(person, NHS_BLOCK)
        take = min(end - person, NHS_BLOCK - offset)
        chosen = _block_numbers(seed, block)[offset : offset + take]
        numbers.extend(str(x) for x in chosen.tolist())
        person += take
    return numbers


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


@dataclass(frozen=True, slots=True)
class _Job:
    """One chunk to make: everything its output depends on."""

    seed: int
    patients: int
    faults: float
    chunk: int


@dataclass(frozen=True, slots=True)
class _Made:
    """One chunk's NDJSON lines by resource type, and its faults (index in its type's lines);
    its social care rows, already spoiled, and their faults (``line`` counted within the
    chunk's rows, the header as line 1)."""

    lines: dict[str, tuple[bytes, int]]
    faults: tuple[Fault, ...]
    care: tuple[list[str], ...]
    care_faults: tuple[dict[str, object], ...]


@lru_cache(maxsize=1)
def _places(seed: int, patients: int) -> tuple[Geography, list[Reference]]:
    """The population's geography and GP services: each worker makes them once, the same."""
    geo = build_geography(_stream(seed, "geography"), patients)
    return geo, references("HealthcareService", [gp_service_id(p) for p in geo.practices])


def _make(job: _Job) -> _Made:
    """Every record about one chunk's people, serialised (runs in a worker)."""
    geo, gp_services = _places(job.seed, job.patients)
    c = job.chunk
    rng = _stream(job.seed, "chunks", c)
    lo, hi = c * CHUNK, min(job.patients, (c + 1) * CHUNK)
    cohort = make_cohort(rng, geo, lo, _nhs_numbers(job.seed, lo, hi - lo), ensure_death=c == 0)
    batches = _chunk(rng, cohort, geo, gp_services, Ids(c))
    # social care comes from the hospital spells as made, before any are spoiled, on a stream
    # of its own: the chunk's other streams, and so every other file, are as without it
    care_rng = _stream(job.seed, "social_care", c)
    care = social_care_rows(care_rng, cohort, geo, batches["Encounter"])
    care_faults = spoil(care_rng, care, job.faults) if job.faults > 0 else []
    spoiled: list[Fault] = []
    if job.faults > 0:
        injector = FaultInjector(_stream(job.seed, "faults", c), job.faults, job.patients, c)
        spoiled = injector.inject(cohort, batches, c == 0)
    lines = {}
    for name in FHIR_FILES:
        if name in batches:
            cut = {
                f.index: float(rng.uniform(0.2, 0.9))
                for f in spoiled
                if f.resource_type == name and f.kind == "malformed_json"
            }
            lines[name] = (ndjson_lines(batches[name], cut), len(batches[name]))
    return _Made(lines, tuple(spoiled), tuple(care), tuple(care_faults))


def generate(
    out: Path,
    patients: int,
    seed: int,
    faults: float = 0.0,
    progress: ProgressLike = None,
    workers: int | None = None,
) -> SynthSummary:
    """Write a synthetic population of ``patients`` people to ``out`` and say what was written.

    ``faults`` is the fraction of records to spoil (see faults.py); when it is above zero,
    ``_faults.json`` lists every spoiled record. ``progress`` may be a rich Progress (a task
    is added to it) or a callable taking (patients done, patients in total); without one
    nothing is shown. ``workers`` processes make the chunks (default: every core for a large
    population); the bytes written do not depend on it.
    """
    _check(patients, faults)
    if workers is None:
        workers = (os.cpu_count() or 1) if patients >= PARALLEL_FROM else 1
    geo, _ = _places(seed, patients)
    report = _reporter(progress, patients)
    out.mkdir(parents=True, exist_ok=True)

    written = [
        WrittenFile("areas.csv", write_csv(out / "areas.csv", areas.column_names,
                    ([r[c] for c in areas.column_names] for r in area_rows(geo)))),
        WrittenFile("workforce.csv", write_csv(out / "workforce.csv", workforce.column_names,
                    workforce_rows(_stream(seed, "workforce"), geo, patients))),
    ]  # fmt: skip
    found: list[dict[str, object]] = []
    care_found: list[dict[str, object]] = []
    care_written = 0
    jobs = (_Job(seed, patients, faults, c) for c in range(math.ceil(patients / CHUNK)))
    with (
        NdjsonFiles(out) as files,
        (out / CARE_FILE).open("w", encoding="utf-8", newline="") as care_handle,
    ):
        care_csv = csv.writer(care_handle, lineterminator="\n")
        care_csv.writerow(CARE_COLUMNS)
        for batch in organisation_batches(geo):
            files.write(batch.resource_type, ndjson_lines(batch, {}), len(batch))
        for c, made in enumerate(ordered_map(_make, jobs, workers, __name__)):
            before = dict(files.lines)
            for name, (data, count) in made.lines.items():
                files.write(name, data, count)
            found.extend(
                {
                    "kind": f.kind,
                    "file": f"{f.resource_type}.ndjson",
                    "line": before[f.resource_type] + f.index + 1,
                    "resource_type": f.resource_type,
                    "id": f.id,
                }
                for f in made.faults
            )
            care_csv.writerows(made.care)
            care_found.extend(
                {**f, "line": care_written + int(str(f["line"]))} for f in made.care_faults
            )
            care_written += len(made.care)
            report(min(patients, (c + 1) * CHUNK))
        written.extend(WrittenFile(f"{name}.ndjson", files.lines[name]) for name in FHIR_FILES)
    written.append(WrittenFile(CARE_FILE, care_written))

    _write_faults(out / CARE_FAULTS_FILE, care_found if care_found else None)
    _write_faults(out / FAULTS_FILE, found if faults > 0 else None)
    return SynthSummary(out, patients, seed, faults, tuple(written), len(found))


def _write_faults(path: Path, found: list[dict[str, object]] | None) -> None:
    """Write a list of spoiled records, or remove a stale one when there is none to write."""
    if found is not None:
        path.write_bytes(orjson.dumps(found, option=orjson.OPT_INDENT_2))
    elif path.exists():
        path.unlink()


def write_published_workforce(path: Path, patients: int, seed: int = 0) -> Path:
    """Write the published workforce statistics of the organisations ``generate(patients,
    seed)`` makes (same geography, same staff in post), for a board to read beside the
    environment's released outputs."""
    _check(patients, 0.0)
    geo, _ = _places(seed, patients)
    rows = workforce_returns(_stream(seed, "workforce"), geo, patients)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_csv(path, list(RETURNS_COLUMNS), rows)
    return path
