"""Adult social care journeys consistent with each person's health, in the layout a local
authority sends (``social_care_events.csv``, NHS England's Client Level Data shortened).

Journeys start where they start in England: most from a discharge from hospital of an older
person (the chance rising with age and with the number of long-term conditions, the proxy
here for frailty), the rest from the community among people aged 75 and over. A request leads,
as the Short and Long Term (SALT) returns show in proportion, to information and advice only,
to reablement (ST-Max) and then, for some, long-term support at home or in a care home, or to
a long-term assessment first; long-term support is reviewed within a year. Dates follow the
discharge by days to weeks, so discharge-to-service times and readmissions can be studied.
Each person's local authority is the district of the LSOA they live in.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

import numpy as np

from fivesafes.model.lookups import load_lsoa_geography
from fivesafes.model.social_care import SOURCE_COLUMNS
from fivesafes.synth.calendar import STUDY_END, YEAR, day, iso
from fivesafes.synth.geography import Geography
from fivesafes.synth.hospital import INPATIENT
from fivesafes.synth.people import Cohort
from fivesafes.synth.records import Batch

COLUMNS = SOURCE_COLUMNS
COMMUNITY_RATE_75 = 0.03
"""Yearly chance of a request from the community at 75 and over."""
PSR = (
    ("Physical Support: Personal care support", 0.55),
    ("Physical Support: Access and mobility only", 0.15),
    ("Support with Memory and Cognition", 0.18),
    ("Mental Health Support", 0.05),
    ("Sensory Support", 0.03),
    ("Social Support", 0.04),
)


@cache
def _district_of_lsoa() -> dict[str, str]:
    table = load_lsoa_geography(2022)
    return dict(zip(table["lsoa_code"].to_pylist(), table["lad_code"].to_pylist(), strict=True))


class _Rows:
    """The rows of one chunk, with each event's reference numbered in the authority."""

    def __init__(self, first: int) -> None:
        self.rows: list[list[str]] = []
        self.first = first

    def add(self, la: str, nhs: str, kind: str, start: int, end: int | None, outcome: str,
            psr: str, **fields: str) -> None:  # fmt: skip
        if start > STUDY_END:
            return
        closed = None if end is None or end > STUDY_END else iso(end)
        values = {
            "la_code": la,
            "event_reference": f"{la}-{self.first}-{len(self.rows) + 1}",
            "nhs_number": nhs,
            "event_type": kind,
            "event_start_date": iso(start),
            "event_end_date": closed or "",
            "event_outcome": outcome,
            "primary_support_reason": psr,
            **fields,
        }
        self.rows.append([values.get(c, "") for c in COLUMNS])


def _journey(rng: np.random.Generator, out: _Rows, la: str, nhs: str, start: int, route: str,
             death: int) -> None:  # fmt: skip
    """One request and what follows it, cut short by death."""
    psr = PSR[int(rng.choice(len(PSR), p=[w for _, w in PSR]))][0]
    roll = rng.random()
    outcome = (
        "NFA - Information & Advice / Signposting only" if roll < 0.3
        else "Progress to Reablement/ST-Max" if roll < 0.75
        else "Progress to Assessment"
    )  # fmt: skip
    out.add(la, nhs, "Request", start, start, outcome, psr, request_route_of_access=route)
    if roll < 0.3:
        return
    at = start + int(rng.integers(0, 15))
    if at >= death:
        return
    if roll < 0.75:
        ends = at + int(rng.integers(14, 43))
        done = "Long Term Support" if rng.random() < 0.35 else "Service ended as planned"
        out.add(la, nhs, "Service", at, min(ends, death), done, psr,
                service_type="Short Term Support: ST-Max")  # fmt: skip
        if done != "Long Term Support" or ends >= death:
            return
        at = ends + 1
    else:
        assessed = min(at + int(rng.integers(0, 22)), death)
        out.add(la, nhs, "Assessment", at, assessed, "Long Term Support", psr,
                assessment_type="Long Term Assessment")  # fmt: skip
        at = assessed + int(rng.integers(1, 15))
    if at >= death:
        return
    kind = (
        "Long Term Support: Community" if rng.random() < 0.7
        else "Long Term Support: Residential Care" if rng.random() < 0.6
        else "Long Term Support: Nursing Care"
    )  # fmt: skip
    out.add(la, nhs, "Service", at, death if death <= STUDY_END else None,
            "Continuation of support", psr, service_type=kind)  # fmt: skip
    review = at + int(rng.integers(42, 366))
    if review < death:
        out.add(la, nhs, "Review", review, review, "No change in package", psr,
                review_reason="Planned")  # fmt: skip


def social_care_rows(
    rng: np.random.Generator, cohort: Cohort, geo: Geography, encounters: Batch
) -> list[list[str]]:
    """The client level data of one chunk's people, from their hospital spells and ages."""
    district = _district_of_lsoa()
    out = _Rows(cohort.first)
    frailty = cohort.condition_count()
    for resource, i in zip(encounters.resources, encounters.patients, strict=True):
        # the class is a pre-serialised constant: compare it as such
        if resource.get("class") is not INPATIENT or "end" not in resource["period"]:
            continue
        left = day_of(resource["period"]["end"])
        age = (left - cohort.birth[i]) / YEAR
        if age < 65 or left >= cohort.death[i]:
            continue
        chance = min(0.4, 0.06 + 0.01 * (age - 65) + 0.04 * frailty[i])
        if rng.random() < chance:
            la = district[geo.lsoa_codes[cohort.lsoa[i]]]
            _journey(rng, out, la, cohort.nhs_numbers[i], left + int(rng.integers(0, 3)),
                     "Discharge from Hospital", int(cohort.death[i]))  # fmt: skip
    for i in range(len(cohort.ids)):
        old_from = max(int(cohort.start[i]), int(cohort.birth[i] + 75 * YEAR))
        last = min(int(cohort.end[i]), int(cohort.death[i]) - 1)
        if last <= old_from:
            continue
        n = rng.poisson(COMMUNITY_RATE_75 * (last - old_from) / YEAR)
        for when in sorted(rng.integers(old_from, last, n).tolist()):
            la = district[geo.lsoa_codes[cohort.lsoa[i]]]
            _journey(rng, out, la, cohort.nhs_numbers[i], int(when), "Community / Other route",
                     int(cohort.death[i]))  # fmt: skip
    return out.rows


def day_of(text: str) -> int:
    return day(date.fromisoformat(text[:10]))


FAULT_RULES = {
    "bad_nhs_number": "cld.nhs_number",
    "bad_la_code": "cld.local_authority",
    "incomplete_event": "cld.event",
    "dates_out_of_order": "cld.event",
    "future_start": "cld.event",
}
"""Each kind of fault spoiled into a social care file, and the rule that must catch it."""
FAULTS_FILE = "_social_care_faults.json"


def _wrong_check_digit(nhs: str) -> str:
    """The NHS number with its check digit changed to one that fails Modulus 11."""
    return nhs[:9] + str((int(nhs[9]) + 1) % 10)


def spoil(rng: np.random.Generator, rows: list[list[str]], rate: float) -> list[dict[str, object]]:
    """Spoil about ``rate`` of the rows, one fault each, and list them (line numbers count the
    header as line 1)."""
    at = {c: COLUMNS.index(c) for c in COLUMNS}
    found: list[dict[str, object]] = []
    kinds = sorted(FAULT_RULES)
    chosen = np.flatnonzero(rng.random(len(rows)) < rate).tolist()
    for n, index in enumerate(chosen):
        row = rows[index]
        kind = kinds[n % len(kinds)]
        if kind == "bad_nhs_number":
            row[at["nhs_number"]] = _wrong_check_digit(row[at["nhs_number"]])
        elif kind == "bad_la_code":
            row[at["la_code"]] = "Leeds"
        elif kind == "incomplete_event":
            needed = {"Request": "request_route_of_access", "Assessment": "assessment_type",
                      "Service": "service_type", "Review": "review_reason"}  # fmt: skip
            row[at[needed[row[at["event_type"]]]]] = ""
        elif kind == "dates_out_of_order":
            start = date.fromisoformat(row[at["event_start_date"]])
            row[at["event_end_date"]] = (start - timedelta(days=3)).isoformat()
        else:
            row[at["event_start_date"]] = "2099-01-01"
            row[at["event_end_date"]] = ""
        found.append({"kind": kind, "line": index + 2, "rule": FAULT_RULES[kind]})
    return found
