"""A person's choices (opt-outs and consents to share) as FHIR Consent resources, for
``/personal/`` (the person's own) and ``/fhir/`` (a clinician's view of the people in care)."""

from __future__ import annotations

from typing import Any

from fivesafes.api import bundles
from fivesafes.governance.choices import Choice, ChoiceState

CHOICE_IDS = tuple(c.value for c in Choice)


def parse_id(consent_id: str) -> tuple[str, Choice] | None:
    """``{patient id}-{choice}`` back into its parts, or None if it is not such an id."""
    for choice in Choice:
        suffix = "-" + choice.value
        if consent_id.endswith(suffix) and len(consent_id) > len(suffix):
            return consent_id[: -len(suffix)], choice
    return None


def consent(choice: ChoiceState, patient: str | None = None) -> dict[str, Any]:
    """One choice as a FHIR Consent: an opt-out is a ``deny``, a sharing consent a ``permit``.
    With ``patient`` (a Patient id, as ``/fhir/`` shows it) the id is the person's and the
    choice's, and the Consent names its patient; on ``/personal/`` the id is the choice's."""
    opt_out = choice.choice in (Choice.NATIONAL_OPT_OUT, Choice.TYPE1_OBJECTION)
    body: dict[str, Any] = {
        "resourceType": "Consent",
        "id": f"{patient}-{choice.choice.value}" if patient else choice.choice.value,
        "status": "active" if choice.made else "inactive",
        "scope": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                    "code": "research"
                    if choice.choice is not Choice.SHARE_FOR_CARE
                    else "treatment",
                }
            ]
        },
        "category": [
            {
                "coding": [
                    {
                        "system": "https://fivesafes.org/fhir/CodeSystem/choice",
                        "code": choice.choice.value,
                    }
                ]
            }
        ],
        "provision": {"type": "deny" if opt_out else "permit"},
    }
    if patient is not None:
        body["patient"] = {"reference": f"Patient/{patient}"}
    if choice.recorded_at is not None:
        body["dateTime"] = bundles.instant(choice.recorded_at)
    return body
