"""FHIR R4 structural validation at the point of entry.

``validate_resource(resource)`` checks one parsed FHIR JSON resource against the HL7 R4
definitions (``r4.json.gz``, built by ``tools/build_fhir_schema.py``) and returns the
findings that reject it; the UK-specific and cross-record rules live with the loader.
"""

from fivesafes.ingest.fhir.validator import (
    FhirValidator,
    known_resource_types,
    register_extension,
    validate_json,
    validate_resource,
)

__all__ = [
    "FhirValidator",
    "known_resource_types",
    "register_extension",
    "validate_json",
    "validate_resource",
]
