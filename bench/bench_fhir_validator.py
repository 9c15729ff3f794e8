"""Throughput of the fivesafes FHIR R4 validator beside ``fhir.resources`` on the same records.

Why: the point of entry must keep up with bulk loads. This prints, in one run, resources per
second for (1) our validator on parsed resources, (2) orjson parse + our validator (what
the loader does per line), and (3) ``fhir.resources`` (pydantic, R4B models, the closest
R4 entry point in v8) parsing the same parsed resources, and the ratios.

The mix is the HL7 R4 examples from ``../shared/fhir-examples/r4-examples`` plus generated
typical records (Patient, Observation, Condition, Encounter shaped like the fivesafes feed).

Run: ``.venv/bin/python bench/bench_fhir_validator.py [--seconds S] [--typical N]``
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from fivesafes.ingest.fhir import validate_resource

SHARED = Path(__file__).resolve().parents[2] / "shared/fhir-examples"
EXAMPLES = SHARED / "r4-examples"
CASES = SHARED / "validator-cases"


def typical_resources(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """Generated Patient/Observation/Condition/Encounter records of realistic size."""
    rng = random.Random(seed)
    records: list[dict[str, Any]] = []
    for index in range(count):
        patient = f"p{index % 997}"
        day = f"20{rng.randint(10, 23)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        kind = index % 4
        if kind == 0:
            records.append(
                {
                    "resourceType": "Patient",
                    "id": patient,
                    "meta": {"lastUpdated": day + "T10:00:00Z"},
                    "identifier": [
                        {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9990000018"}
                    ],
                    "name": [{"use": "official", "family": "Smith", "given": ["Jo", "A"]}],
                    "gender": rng.choice(["male", "female", "other", "unknown"]),
                    "birthDate": f"19{rng.randint(30, 99)}-0{rng.randint(1, 9)}-{day[-2:]}",
                    "address": [{"postalCode": "LS1 4AP", "city": "Leeds", "line": ["1 Road"]}],
                    "generalPractitioner": [{"reference": "Organization/B82005"}],
                }
            )
        elif kind == 1:
            records.append(
                {
                    "resourceType": "Observation",
                    "id": f"o{index}",
                    "status": "final",
                    "category": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/"
                                    "observation-category",
                                    "code": "vital-signs",
                                }
                            ]
                        }
                    ],
                    "code": {"coding": [{"system": "http://snomed.info/sct", "code": "27113001"}]},
                    "subject": {"reference": f"Patient/{patient}"},
                    "effectiveDateTime": day + "T09:30:00+01:00",
                    "valueQuantity": {
                        "value": round(rng.uniform(40, 120), 1),
                        "unit": "kg",
                        "system": "http://unitsofmeasure.org",
                        "code": "kg",
                    },
                }
            )
        elif kind == 2:
            records.append(
                {
                    "resourceType": "Condition",
                    "id": f"c{index}",
                    "clinicalStatus": {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/"
                                "condition-clinical",
                                "code": "active",
                            }
                        ]
                    },
                    "code": {
                        "coding": [
                            {
                                "system": "http://snomed.info/sct",
                                "code": "44054006",
                                "display": "Diabetes mellitus type 2",
                            }
                        ]
                    },
                    "subject": {"reference": f"Patient/{patient}"},
                    "onsetDateTime": day,
                    "recordedDate": day,
                }
            )
        else:
            records.append(
                {
                    "resourceType": "Encounter",
                    "id": f"e{index}",
                    "status": "finished",
                    "class": {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                        "code": "AMB",
                    },
                    "type": [
                        {"coding": [{"system": "http://snomed.info/sct", "code": "185347001"}]}
                    ],
                    "subject": {"reference": f"Patient/{patient}"},
                    "period": {"start": day + "T09:00:00Z", "end": day + "T09:20:00Z"},
                    "serviceProvider": {"reference": "Organization/B82005"},
                }
            )
    return records


def example_resources() -> list[dict[str, Any]]:
    """The HL7 R4 example resources (JSON files only)."""
    if not EXAMPLES.is_dir():
        return []
    records = []
    for path in sorted(EXAMPLES.glob("*.json")):
        data = orjson.loads(path.read_bytes())
        if isinstance(data, dict) and "resourceType" in data:
            records.append(data)
    return records


def rate(work: Callable[[Any], object], items: list[Any], seconds: float) -> float:
    """Best items-per-second of ``work`` over whole passes, spread over about ``seconds``.

    The best pass, not the mean, because on a shared machine other processes only ever
    slow a pass down; every measurement in the table is taken the same way.
    """
    best = 0.0
    deadline = time.perf_counter() + seconds
    while True:
        start = time.perf_counter()
        for item in items:
            work(item)
        end = time.perf_counter()
        best = max(best, len(items) / (end - start))
        if end >= deadline:
            return best


def fhir_resources_parser() -> Callable[[dict[str, Any]], object]:
    """``fhir.resources`` R4B model_validate by resourceType; rejections count as parsed."""
    from fhir.resources.R4B import get_fhir_model_class

    def parse(resource: dict[str, Any]) -> object:
        try:
            return get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        except Exception as error:  # a rejection is a valid outcome here
            return error

    return parse


def agreement(parse: Callable[[dict[str, Any]], object]) -> None:
    """Accept/reject agreement with HL7's reference validator on its R4 cases, both tools.

    All cases are counted, including the two whose reference verdict depends on a validator
    setting (see tests/ingest/test_fhir_validator_cases.py for the excluded view).
    """
    manifest = CASES / "manifest.json"
    if not manifest.exists():
        return
    cases = orjson.loads(manifest.read_bytes())["cases"]
    ours_agree = theirs_agree = ours_caught = theirs_caught = invalid = 0
    for case in cases:
        raw = (CASES / case["file"]).read_bytes().removeprefix(b"\xef\xbb\xbf")
        reference_rejects = case["hapi_error_count"] > 0
        try:
            resource = orjson.loads(raw)
        except orjson.JSONDecodeError:
            ours_rejects = theirs_rejects = True
        else:
            ours_rejects = bool(validate_resource(resource))
            theirs_rejects = isinstance(parse(resource), Exception)
        ours_agree += ours_rejects == reference_rejects
        theirs_agree += theirs_rejects == reference_rejects
        invalid += reference_rejects
        ours_caught += reference_rejects and ours_rejects
        theirs_caught += reference_rejects and theirs_rejects
    total = len(cases)
    print(f"\nHL7 validator cases ({total}, {invalid} invalid per the reference validator):")
    print(f"  agreement      ours {ours_agree}/{total}   fhir.resources {theirs_agree}/{total}")
    print(
        f"  invalid caught ours {ours_caught}/{invalid}   fhir.resources {theirs_caught}/{invalid}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    parser.add_argument("--typical", type=int, default=2000, help="generated typical records")
    args = parser.parse_args()
    typical = typical_resources(args.typical)
    examples = example_resources()
    pydantic = fhir_resources_parser()
    print(f"{'mix':<26}{'n':>6}{'ours':>12}{'ours+orjson':>13}{'fhir.resources':>16}{'ratio':>8}")
    for name, items in (("typical (P/O/C/E)", typical), ("HL7 r4-examples", examples)):
        if not items:
            continue
        lines = [orjson.dumps(item) for item in items]
        ours = rate(validate_resource, items, args.seconds)
        piped = rate(lambda line: validate_resource(orjson.loads(line)), lines, args.seconds)
        theirs = rate(pydantic, items, args.seconds)
        print(
            f"{name:<26}{len(items):>6}{ours:>12,.0f}{piped:>13,.0f}{theirs:>16,.0f}"
            f"{piped / theirs:>7.1f}x"
        )
    print("resources/second (best pass), one core; ratio = (orjson parse + ours) / fhir.resources")
    agreement(pydantic)


if __name__ == "__main__":
    main()
