"""A world for code lists: analysts on an approved project and a population whose codes are
held by known numbers of people (many have asthma; seven codes are each held by one to seven
people, counts the disclosure rules must never show)."""

from __future__ import annotations

import textwrap
from datetime import timedelta
from pathlib import Path

from environment.environment_support import People
from fhir_factory import (
    basic_population,
    condition,
    nhs_number,
    patient,
    registration,
    write_ndjson,
)
from fivesafes.environment import consent, projects
from fivesafes.governance import OptOutKind, Role, Verdict
from fivesafes.store.load import load
from governance.governance_support import application
from jobs.jobs_support import write_project

PROJECT = "codes"
GRANT = {
    "patients": ("patient_id", "sex"),
    "clinical_events": ("patient_id", "date", "snomedct_code"),
}
ASTHMA = "195967001"
ASTHMA_PEOPLE = 12
RARE = {  # code: how many people have it
    "13645005": 1,  # Chronic obstructive lung disease
    "35489007": 2,  # Depressive disorder
    "38341003": 3,  # Hypertensive disorder
    "6142004": 4,  # Influenza
    "840539006": 5,  # COVID-19
    "29857009": 6,  # Chest pain
    "21522001": 7,  # Abdominal pain
}
ABSENT = "125605004"  # Fracture of bone: a well-formed SNOMED CT code nobody in the data has
OPTED_OUT = 0
"""The patient (by number) whose national opt-out applies to the research project."""


def population() -> list[dict[str, object]]:
    """Fourteen patients, each registered; patients 0-11 have asthma, and patients 0..n-1 each
    rare code held by n people (``basic_population(0)``: just the organisations)."""
    found = basic_population(0)
    for i in range(14):
        found += [patient(f"p{i}", nhs_number(i)), registration(f"e{i}", f"p{i}")]
    found += [condition(f"a{i}", f"p{i}", ASTHMA) for i in range(ASTHMA_PEOPLE)]
    for n, (code, people) in enumerate(RARE.items()):
        found += [condition(f"r{n}-{i}", f"p{i}", code) for i in range(people)]
    return found


def coded_world(people: People, tmp_path: Path, repository: str | None = None) -> People:
    """Analysts 'ana' and 'bob' on approved research project 'codes' (whose application names
    ``repository``, if given); 'eve', an analyst on no project; the population above loaded;
    patient 0 opted out."""
    env = people.env
    for analyst in ("ana", "bob", "eve"):
        people.add(analyst, Role.ANALYST)
    people.add("val", Role.APPROVER)
    named = {"repository": repository} if repository else {}
    form = application("ana", "bob", datasets=GRANT, **named)
    projects.apply(env, people.tokens["ana"], PROJECT, form)
    until = env.cp.today() + timedelta(days=30)
    projects.decision(
        env, people.tokens["val"], PROJECT, Verdict.APPROVE, "ok", people.keys["val"], until
    )
    with env.store(read_only=False) as store:
        load(store, [write_ndjson(tmp_path / "people.ndjson", population())])
    consent.add(env, people.tokens["cus"], nhs_number(OPTED_OUT), OptOutKind.NATIONAL)
    return people


STUDY_YAML = """
version: 1
actions:
  extract:
    run: fivesafes generate-dataset analysis/study.py --output output/dataset.csv
    outputs:
      highly_sensitive: {dataset: output/dataset.csv}
"""
DEFINITION = """
from fivesafes import Dataset, codelist_from_csv
from fivesafes.tables import patients, clinical_events as events

asthma = codelist_from_csv("analysis/codelists/asthma.csv", column="code", system="snomedct")
fractures = codelist_from_csv("analysis/codelists/fractures.csv", column="code")
dataset = Dataset()
dataset.define_population(events.where(events.snomedct_code.is_in(asthma)).exists_for_patient())
dataset.fractures = events.where(events.snomedct_code.is_in(fractures)).count_for_patient()
"""
FRACTURES = f"code,term\n{ABSENT},Fracture of bone\n"
"""A list from elsewhere (not from this environment) whose one code nobody in the data has."""


def study_with_lists(root: Path, asthma_csv: str) -> Path:
    """A study of one extract using two code lists from its folder, as OpenCodelists'
    downloads are used: ``asthma.csv`` (as given) and ``fractures.csv`` (which finds nobody)."""
    files = {
        "analysis/study.py": textwrap.dedent(DEFINITION),
        "analysis/codelists/asthma.csv": asthma_csv,
        "analysis/codelists/fractures.csv": FRACTURES,
    }
    return write_project(root, STUDY_YAML, files)
