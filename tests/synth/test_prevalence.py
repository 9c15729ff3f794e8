"""Prevalence varies the way it does in England, so analyses of synthetic data find signal.

Read back from the written FHIR, on 3,000 people, with generous margins: these are
statistical checks of the direction and rough size of effects, not of exact rates.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from conftest import Output
from fivesafes.synth import vocabulary as v

TODAY = date(2026, 1, 1)


def _people(population: Output) -> tuple[dict[str, int], np.ndarray, np.ndarray, np.ndarray]:
    """Index by id, age at the generator's today, sex (1 male) and IMD decile of each patient."""
    patients = population.resources["Patient"]
    index = {p["id"]: i for i, p in enumerate(patients)}
    age = np.array([(TODAY - date.fromisoformat(p["birthDate"])).days / 365.25 for p in patients])
    male = np.array([p["gender"] == "male" for p in patients])
    deciles = {}
    for line in (population.path / "areas.csv").read_text().splitlines()[1:]:
        lsoa, decile, *_ = line.split(",")
        deciles[lsoa] = int(decile)
    imd = np.array([deciles[p["address"][0]["extension"][0]["valueCode"]] for p in patients])
    return index, age, male, imd


def _has(population: Output, index: dict[str, int], code: v.Code) -> np.ndarray:
    has = np.zeros(len(index), dtype=bool)
    for condition in population.resources["Condition"]:
        if condition["code"]["coding"][0]["code"] == code.code:
            has[index[condition["subject"]["reference"].removeprefix("Patient/")]] = True
    return has


def test_adult_prevalence_is_near_the_targets(population: Output) -> None:
    index, age, _, _ = _people(population)
    adult = age >= 18
    targets = {v.DIABETES: 0.07, v.HYPERTENSION: 0.14, v.COPD: 0.02, v.DEPRESSION: 0.12}
    for code, target in targets.items():
        rate = _has(population, index, code)[adult].mean()
        assert target / 2 < rate < target * 1.6, (code.display, rate)
    asthma = _has(population, index, v.ASTHMA).mean()
    assert 0.03 < asthma < 0.1


def test_prevalence_rises_with_age(population: Output) -> None:
    index, age, _, _ = _people(population)
    young, old = (age >= 18) & (age < 45), age >= 65
    for code in (v.DIABETES, v.HYPERTENSION, v.COPD):
        has = _has(population, index, code)
        assert has[old].mean() > 2.5 * has[young].mean(), code.display
    dead = np.array(["deceasedDateTime" in p for p in population.resources["Patient"]])
    assert dead[old].mean() > 5 * dead[young].mean()


def test_prevalence_rises_with_deprivation(population: Output) -> None:
    index, age, _, imd = _people(population)
    adult = age >= 18
    deprived, affluent = adult & (imd <= 3), adult & (imd >= 8)
    chronic = _has(population, index, v.DIABETES) | _has(population, index, v.COPD)
    assert chronic[deprived].mean() > 1.2 * chronic[affluent].mean()


def test_depression_is_commoner_in_women(population: Output) -> None:
    index, age, male, _ = _people(population)
    adult = age >= 18
    depressed = _has(population, index, v.DEPRESSION)
    assert depressed[adult & ~male].mean() > 1.2 * depressed[adult & male].mean()


def test_diabetics_have_hba1c_and_metformin(population: Output) -> None:
    index, _, _, _ = _people(population)
    diabetic = _has(population, index, v.DIABETES)
    tested = np.zeros(len(index), dtype=bool)
    for obs in population.resources["Observation"]:
        if obs["code"]["coding"][0]["code"] == v.HBA1C.code:
            tested[index[obs["subject"]["reference"].removeprefix("Patient/")]] = True
    assert tested[diabetic].mean() > 0.6
    assert tested[diabetic].mean() > 3 * tested[~diabetic].mean()
    metformin = {
        m["subject"]["reference"].removeprefix("Patient/")
        for m in population.resources["MedicationRequest"]
        if m["medicationCodeableConcept"]["coding"][0]["code"] == v.METFORMIN.code
    }
    assert all(diabetic[index[pid]] for pid in metformin)
