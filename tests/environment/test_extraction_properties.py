"""No extraction, by any path, holds an opted-out patient or shared data without consent.

Every path to patient-level rows goes through one cut (``extraction.cut_for`` and the copy it
makes): a job's extraction, a custodian's extract, and (with no store at all) a dummy run. The
property is tried hard on the cut, over any opt-outs, any consents and any purpose, and then, on
a few of the same cases, end to end through a submitted job and a custodian's extract.
"""

from __future__ import annotations

import csv
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from environment_support import (
    PROJECT,
    People,
    approved_world,
    open_with_custodian,
    study,
    submitted,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fhir_factory import nhs_number
from fivesafes.environment import Environment, consent, extraction
from fivesafes.environment.local import run_on_dummy_data
from fivesafes.governance import ConsentScope, OptOutKind, Purpose
from fivesafes.jobs import Limits
from fivesafes.jobs.snapshot import analysis_snapshot
from fivesafes.store.config import DataDir
from jobs.jobs_support import needs_sandbox

PEOPLE = 6  # approved_world loads six people, each sharing a day's steps
ALREADY_OPTED_OUT = {1}  # and person 1's national data opt-out


@dataclass(frozen=True)
class Choices:
    """Who opted out (and how), and who consented to what use of what they share."""

    opted_out: dict[int, OptOutKind]
    research: frozenset[int]
    care: frozenset[int]
    purpose: Purpose


@st.composite
def choices(draw: st.DrawFn) -> Choices:
    people = st.integers(0, PEOPLE - 1)
    return Choices(
        draw(st.dictionaries(people, st.sampled_from(list(OptOutKind)), max_size=PEOPLE)),
        frozenset(draw(st.sets(people))),
        frozenset(draw(st.sets(people))),
        draw(st.sampled_from(list(Purpose))),
    )


def _allowed(c: Choices) -> tuple[set[int], set[int]]:
    """Who may be in an extract for the purpose, and whose shared rows may be."""
    opted = set(c.opted_out) | ALREADY_OPTED_OUT
    excluded = opted if c.purpose is not Purpose.DIRECT_CARE else set()
    present = set(range(PEOPLE)) - excluded
    scope = c.care if c.purpose is Purpose.DIRECT_CARE else c.research
    return present, present & set(scope)


def _choose(people: People, c: Choices) -> None:
    env, cus = people.env, people.tokens["cus"]
    for i, kind in c.opted_out.items():
        consent.add(env, cus, nhs_number(i), kind)
    for scope, chosen in ((ConsentScope.RESEARCH, c.research), (ConsentScope.CARE, c.care)):
        for i in range(PEOPLE):
            consent.set_shared_data_consent(env, cus, nhs_number(i), scope, i in chosen)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """An environment with the approved project and its six people, made once."""
    root = tmp_path_factory.mktemp("extraction")
    people = approved_world(open_with_custodian(DataDir.from_env(root / "env")), root)
    for i in range(PEOPLE):  # no one has consented yet: the examples decide
        for scope in ConsentScope:
            consent.set_shared_data_consent(
                people.env, people.tokens["cus"], nhs_number(i), scope, False
            )
    people.env.close()
    yield root / "env", dict(people.tokens)


def _copy(template: tuple[Path, dict[str, str]], into: Path) -> People:
    shutil.copytree(template[0], into)
    return People(Environment.open(DataDir.from_env(into)), dict(template[1]))


def _ids(env: Environment) -> dict[int, int]:
    with env.store() as store:
        return {i: store.pseudonymise(nhs_number(i)) for i in range(PEOPLE)}


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(c=choices())
def test_the_cut_every_extraction_reads_holds_no_one_it_must_not(template, c: Choices) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        people = _copy(template, Path(tmp) / "env")
        try:
            _choose(people, c)
            env = people.env
            ids = _ids(env)
            with env.store() as store:
                cut = extraction.cut_for(env, store, c.purpose, extraction.EVERY_COLUMN, None)
            copy = analysis_snapshot(env.data_dir.database, cut, Path(tmp) / "copy.duckdb")
            with duckdb.connect(str(copy), read_only=True) as con:
                tables = [r[0] for r in con.execute(
                    "SELECT table_name FROM duckdb_columns() WHERE schema_name = 'analysis' "
                    "AND column_name = 'patient_id'"
                ).fetchall()]  # fmt: skip
                rows = 'SELECT patient_id FROM analysis."{}"'
                seen = {t: {r[0] for r in con.execute(rows.format(t)).fetchall()} for t in tables}
        finally:
            people.env.close()
    present, sharing = _allowed(c)
    allowed = {ids[i] for i in present}
    assert all(rows <= allowed for rows in seen.values()), c
    assert seen["patients"] == allowed
    assert seen["wearable_observations"] == {ids[i] for i in sharing}


def _extract_rows(path: Path) -> dict[int, dict[str, str]]:
    return {int(r["patient_id"]): r for r in csv.DictReader(path.read_text().splitlines())}


@needs_sandbox
@pytest.mark.slow
@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))
@given(c=choices().filter(lambda c: c.purpose is Purpose.RESEARCH))
def test_a_job_and_a_custodians_extract_hold_no_one_they_must_not(
    template, c: Choices, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same property end to end: the project is for research, its job's extract and a
    custodian's research extract, both through the sandboxes, both cut."""
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(tmp)
        people = _copy(template, where / "env")
        try:
            _choose(people, c)
            env = people.env
            ids = _ids(env)
            folder = study(where / "study")
            view = submitted(env, people.tokens["ana"], PROJECT, folder)
            assert view.state == "succeeded", view.record.error
            job = _extract_rows(env.jobs_root / view.job_id / "study/output/dataset.csv")
            monkeypatch.chdir(folder)
            out = where / "custodian.csv"
            extraction.custodian_extract(
                env, people.tokens["cus"], Path("analysis/study.py"), out, Purpose.RESEARCH
            )
            custodian = _extract_rows(out)
        finally:
            people.env.close()
    present, sharing = _allowed(c)
    for rows in (job, custodian):
        assert set(rows) == {ids[i] for i in present}, c
        shared = {pid for pid, r in rows.items() if int(r["shared_days"]) > 0}
        assert shared == {ids[i] for i in sharing}, c


def test_a_dummy_run_reaches_no_store_even_when_pointed_at_one(
    template, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = _copy(template, tmp_path / "env")
    ids = set(_ids(people.env).values())
    people.env.close()
    monkeypatch.setenv("FIVESAFES_DATA_DIR", str(tmp_path / "env"))
    folder = study(tmp_path / "study")
    results = run_on_dummy_data(folder, None, sandbox=False, limits=Limits())
    assert [r.status for r in results] == ["ran", "ran"]
    rows = _extract_rows(folder / "output" / "dataset.csv")
    assert rows and not set(rows) & ids
