"""Batches of generated FHIR resources, with what the fault injector needs to know.

Resources are plain dicts serialised with orjson. Constant parts (codes, categories,
references to one patient) are shared between records rather than rebuilt, which is
most of what makes generation fast; anything that changes a record must therefore copy
it first (see faults.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

if TYPE_CHECKING:
    from fivesafes.synth.vocabulary import Code

Resource = dict[str, Any]
Reference = orjson.Fragment
"""A pre-serialised FHIR Reference (see :func:`references`)."""

LOCAL_CODES = "https://fivesafes.org/fhir/CodeSystem/"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
UCUM = "http://unitsofmeasure.org"


def constant(value: Any) -> orjson.Fragment:
    """JSON serialised once and reused verbatim in every record that holds it."""
    return orjson.Fragment(orjson.dumps(value))


def local_concept(name: str, code: str) -> orjson.Fragment:
    """A CodeableConcept in one of fivesafes' local code systems."""
    return constant({"coding": [{"system": LOCAL_CODES + name, "code": code}]})


def category(code: str) -> orjson.Fragment:
    """Observation.category with one HL7 observation category."""
    return constant([{"coding": [{"system": OBSERVATION_CATEGORY, "code": code}]}])


def references(kind: str, ids: list[str]) -> list[orjson.Fragment]:
    """A pre-serialised ``{"reference": "<kind>/<id>"}`` for each id."""
    return [orjson.Fragment(b'{"reference":"%s/%s"}' % (kind.encode(), i.encode())) for i in ids]


def quantity(value: float, unit: str, ucum: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": ucum}


def order_by_person(who: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Indices that put events in person order, then date order (stable)."""
    return np.lexsort((days, who))


@dataclass(slots=True)
class Batch:
    """Resources of one type from one chunk, in file order.

    ``patients[i]`` is the chunk index of the person record i is about (-1: none);
    ``faultable[i]`` says whether the fault injector may spoil it (records others point
    at, like admissions with procedures, are never spoiled so one fault stays one
    finding); ``codes[i]`` is its main SNOMED CT or dm+d code, which may be spoiled.
    """

    resource_type: str
    resources: list[Resource] = field(default_factory=list)
    patients: list[int] = field(default_factory=list)
    faultable: list[bool] = field(default_factory=list)
    codes: list[Code | None] = field(default_factory=list)

    def append(
        self,
        resources: list[Resource],
        patients: list[int],
        faultable: bool,
        codes: list[Code] | None = None,
    ) -> None:
        """Add records in file order; ``codes`` (one per record) only when they may be spoiled."""
        self.resources.extend(resources)
        self.patients.extend(patients)
        self.faultable.extend([faultable] * len(resources))
        self.codes.extend(codes if codes is not None else [None] * len(resources))

    def extend(self, other: Batch) -> None:
        self.resources.extend(other.resources)
        self.patients.extend(other.patients)
        self.faultable.extend(other.faultable)
        self.codes.extend(other.codes)

    def keep(self, mask: list[bool]) -> None:
        """Drop the records whose ``mask`` entry is False."""
        for name in ("resources", "patients", "faultable", "codes"):
            values = getattr(self, name)
            setattr(self, name, [x for x, k in zip(values, mask, strict=True) if k])

    def __len__(self) -> int:
        return len(self.resources)


class Ids:
    """Resource ids per prefix for one chunk, ``<prefix>-<chunk>-<n>``: numbered in write
    order within the chunk, so a chunk's ids never depend on how many records the chunks
    before it made (chunks are made side by side)."""

    def __init__(self, chunk: int) -> None:
        self._chunk = chunk + 1
        self._next: dict[str, int] = {}

    def take(self, prefix: str, n: int) -> list[str]:
        start = self._next.get(prefix, 1)
        self._next[prefix] = start + n
        return [f"{prefix}-{self._chunk}-{i}" for i in range(start, start + n)]
