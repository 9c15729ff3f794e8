"""A genome summary a person chooses to share: one Observation per variant, in the shape of
HL7's Genomics Reporting guide (a "genetic variant assessment", LOINC 69548-6, valued
"Present", with the gene studied and the DNA change as components).

Why only this much: people bring summaries from consumer and clinical tests, and what a
clinician can act on is the gene and the change in it. The check is of form, as every load
check is: the gene is an HGNC identifier, the change is written in HGVS notation against a
versioned reference sequence, and the allelic state (when given) is one of LOINC's answers.
Whether the change exists on that sequence is for the laboratory that reported it, not for
the environment.

A shared variant is kept in the identifiable layer, shown to clinicians only under the person's
consent for care like any shared data, and never enters the analysis layer: a genome is the
most identifying record a person has, and research on it needs an approval of its own.
"""

from __future__ import annotations

import re
from typing import Any

from fivesafes.ingest.checks import RecordChecker
from fivesafes.ingest.rules import rule

GENETIC_VARIANT = "69548-6"
"""LOINC: Genetic variant assessment."""
PRESENT = "LA9633-4"
GENE_STUDIED = "48018-6"
DNA_CHANGE = "48004-6"
ALLELIC_STATE = "53034-5"
LOINC = "http://loinc.org"
HGNC = "http://www.genenames.org/geneId"
HGVS = "http://varnomen.hgvs.org"
ALLELIC_STATES = {
    "LA6705-3": "homozygous",
    "LA6706-1": "heterozygous",
    "LA6707-9": "hemizygous",
    "LA6703-8": "heteroplasmic",
    "LA6704-6": "homoplasmic",
}
"""LOINC's answer list LL381-5 for the allelic state."""

_HGNC_ID = re.compile(r"HGNC:[1-9][0-9]{0,5}")
_HGVS_DNA = re.compile(
    r"(?:NM|NC|NG|NR|XM|XR|LRG)_[0-9]+(?:\.[0-9]+)?(?:t[0-9]+)?"
    r":[cgmnr]\.[0-9A-Za-z_+*\-?()>=\[\];]+"
)
"""A reference sequence with its version, a coordinate type, then the change (syntax only)."""

GENOME_VARIANT = rule(
    "genome.variant",
    "A shared genetic variant names its gene (HGNC) and its DNA change (HGVS), and is present",
    "A variant without its gene or with its change in no standard notation cannot be read "
    "safely by a clinician, and a wrong reading could change someone's care.",
    "Observation.component[1].valueCodeableConcept.coding[0].code: 'BRCA1 del' is not a DNA "
    "change in HGVS notation (for example NM_007294.4:c.68_69del)",
)


def _components(resource: dict[str, Any]) -> dict[str, tuple[int, dict[str, Any]]]:
    """Each component by its LOINC code, with its index (the first of each code counts)."""
    found: dict[str, tuple[int, dict[str, Any]]] = {}
    for n, component in enumerate(resource.get("component") or []):
        if not isinstance(component, dict):
            continue
        for c in (component.get("code") or {}).get("coding") or []:
            if isinstance(c, dict) and c.get("system") == LOINC and c.get("code"):
                found.setdefault(str(c["code"]), (n, component))
    return found


def _coding(element: Any) -> tuple[str | None, str | None]:
    codings = (element or {}).get("coding") if isinstance(element, dict) else None
    first = codings[0] if isinstance(codings, list) and codings else None
    if not isinstance(first, dict):
        return None, None
    system, code = first.get("system"), first.get("code")
    return (
        system if isinstance(system, str) else None,
        code if isinstance(code, str) else None,
    )


def check_variant(resource: dict[str, Any], c: RecordChecker) -> None:
    """Record a finding for each way the shared variant falls short of its form."""
    _, value = _coding(resource.get("valueCodeableConcept"))
    if value != PRESENT:
        c.fail(
            GENOME_VARIANT.id,
            "valueCodeableConcept.coding[0].code",
            f"{value!r} is not {PRESENT} (Present): people share the variants they carry",
        )
    components = _components(resource)
    wanted = ((GENE_STUDIED, HGNC, _HGNC_ID, "gene"), (DNA_CHANGE, HGVS, _HGVS_DNA, "DNA change"))
    for code, system, form, what in wanted:
        if code not in components:
            c.fail(GENOME_VARIANT.id, "component", f"no {what} component (LOINC {code})")
            continue
        n, component = components[code]
        path = f"component[{n}].valueCodeableConcept.coding[0]"
        given_system, given = _coding(component.get("valueCodeableConcept"))
        if given_system != system:
            c.fail(GENOME_VARIANT.id, f"{path}.system", f"{given_system!r} is not {system}")
        elif given is None or form.fullmatch(given) is None:
            example = "HGNC:1100" if code == GENE_STUDIED else "NM_007294.4:c.68_69del"
            c.fail(
                GENOME_VARIANT.id,
                f"{path}.code",
                f"{given!r} is not a {what} in {'HGNC' if code == GENE_STUDIED else 'HGVS'} "
                f"notation (for example {example})",
            )
    if ALLELIC_STATE in components:
        n, component = components[ALLELIC_STATE]
        _, state = _coding(component.get("valueCodeableConcept"))
        if state not in ALLELIC_STATES:
            c.fail(
                GENOME_VARIANT.id,
                f"component[{n}].valueCodeableConcept.coding[0].code",
                f"{state!r} is not an allelic state (one of {', '.join(ALLELIC_STATES)})",
            )
