"""The FHIR R4 structural rules, declared once in the point-of-entry rule registry.

Every finding the R4 validator produces names one of these rules, so a data manager reading
a quarantine entry can look the rule up in ``docs/loading-data.md`` and see why it exists.
"""

from __future__ import annotations

from fivesafes.ingest.rules import rule

JSON = rule(
    "fhir.json",
    "The record is a JSON object",
    "The loader reads FHIR JSON only; anything that does not parse as one JSON object per "
    "record (XML, truncated files, stray characters) cannot be interpreted safely.",
    "line 15: not valid JSON (unexpected character '#' at column 11)",
)
RESOURCE_TYPE = rule(
    "fhir.resource-type",
    "resourceType is present and names an R4 resource",
    "Without a known resourceType there is no definition to check the record against and "
    "no table to store it in.",
    "resourceType: 'Patinet' is not an FHIR R4 resource type",
)
UNKNOWN_ELEMENT = rule(
    "fhir.unknown-element",
    "Every property is defined for its element in R4",
    "Unknown properties are usually typos or data for another FHIR version; silently "
    "dropping them would lose data the supplier thinks they sent.",
    "Patient.birthdate: unknown property 'birthdate' (not defined for Patient in FHIR R4)",
)
EMPTY = rule(
    "fhir.empty",
    "No nulls, empty strings, empty objects or empty arrays",
    "FHIR JSON forbids empty values: an element is either absent or has content, so an "
    "empty value means the extract lost something.",
    "DocumentReference.category[0].coding: an array must not be empty; omit the property",
)
ARRAY = rule(
    "fhir.array",
    "Repeating elements are arrays and single elements are not",
    "FHIR JSON always writes an element that may repeat as an array; the wrong shape means "
    "the extract does not follow the R4 definition.",
    "Patient.name: expected an array of HumanName, found an object",
)
CARDINALITY = rule(
    "fhir.cardinality",
    "Required elements are present and no element repeats more than allowed",
    "R4 makes some elements mandatory (e.g. Observation.code); a record without them cannot "
    "be interpreted.",
    "Observation.code: required element is missing (min 1)",
)
TYPE = rule(
    "fhir.type",
    "Values have the JSON type their FHIR type requires",
    "A number sent as a string or an object where a string belongs is read differently by "
    "every consumer; the record must be fixed at source.",
    "Observation.valueQuantity.value: expected a JSON number (decimal), found a string",
)
FORMAT = rule(
    "fhir.format",
    "Primitive values match their R4 format",
    "Dates, times, URIs, codes and other primitives have exact formats in R4; a value that "
    "does not match cannot be compared, sorted or linked.",
    "Patient.birthDate: '1980-13-01' is not a valid FHIR date (YYYY, YYYY-MM or YYYY-MM-DD)",
)
RESOURCE_ID = rule(
    "fhir.id",
    "Resource ids are 1-64 letters, digits, '-' or '.'",
    "The id is how other records refer to this one; R4 restricts its characters and length.",
    "Location.id: '/foobar==' is not a valid resource id (1-64 of A-Z a-z 0-9 - .)",
)
CODE = rule(
    "fhir.code",
    "Codes bound to a required R4 value set come from that set",
    "Elements such as Patient.gender or Observation.status have a fixed list of codes in R4; "
    "any other code has no defined meaning.",
    "Patient.gender: 'M' is not in the required value set administrative-gender "
    "(male, female, other, unknown)",
)
CODING_SYSTEM = rule(
    "fhir.coding-system",
    "Coding.system is an absolute URI naming a code system",
    "A code means nothing without the code system it comes from; a local name or a value "
    "set URL in its place makes the code uninterpretable.",
    "Observation.code.coding[0].system: 'Location1' must be an absolute URI",
)
XHTML = rule(
    "fhir.xhtml",
    "Narrative is well-formed XHTML using only the elements and attributes R4 allows",
    "Narrative is shown to people; scripts, event handlers, unknown entities or broken markup "
    "are a safety and rendering risk (R4 txt-1, txt-2).",
    "Patient.text.div: element <script> is not allowed in FHIR narrative",
)
MARKDOWN = rule(
    "fhir.markdown",
    "Markdown does not embed HTML tags",
    "Markdown is rendered by presentation layers that escape or strip HTML; embedded tags "
    "are either lost or a security risk, so they are rejected at entry. R4 itself allows them "
    "(HL7's validator warns, or refuses with its noHtmlInMarkdown setting, which the "
    "environment turns on): `validate --fhir-only` does not apply this rule.",
    "Communication.note[0].text: markdown contains what looks like an HTML tag at '<r'",
)
EXTENSION = rule(
    "fhir.extension",
    "Extensions are known, well-formed and carry the value types they are defined with",
    "An extension nobody here knows cannot be interpreted; extensions must be HL7 core ones "
    "or registered with this environment (e.g. UK Core), with value[x] or nested extensions.",
    "MedicationRequest.extension[0]: extension 'http://acme.org/x' is not known",
)
INVARIANT = rule(
    "fhir.invariant",
    "R4 core invariants hold (per-1, ras-2, att-1, qty-3, obs-6, inv-1, ...)",
    "The R4 definitions constrain values against each other, e.g. a period may not end "
    "before it starts; a record that breaks one is self-contradictory.",
    "Encounter.period: per-1 failed: start '2023-06-21' is not before end '2023-06-20'",
)
EXAMPLE_URL = rule(
    "fhir.example-url",
    "url elements do not point at example domains",
    "example.org/.com/.net are reserved for documentation; a url there in live data is "
    "placeholder content left in the extract. R4 itself allows them (HL7's validator refuses "
    "them unless told to allow examples; its own test suite allows them): `validate "
    "--fhir-only` does not apply this rule.",
    "DocumentReference.content[0].attachment.url: 'http://example.org/x' is an example URL",
)
CONTAINED = rule(
    "fhir.contained",
    "Contained resources follow the R4 rules (dom-2, dom-3, dom-4, dom-5, ref-1)",
    "A contained resource exists only for its container: it must be referenced from it, "
    "must not nest further, and local references must find it.",
    "Condition.contained[0]: contained resource 'p1' is not referenced from the resource",
)
BUNDLE = rule(
    "fhir.bundle",
    "Bundles are internally consistent (bdl-1..12, fullUrl, links, search entries)",
    "A Bundle is a unit: its entries, links and fullUrls must agree with its type, or the "
    "records in it cannot be placed correctly.",
    "Bundle.entry[0].fullUrl: 'Patient/1' must be an absolute URL",
)
REFERENCE = rule(
    "fhir.reference",
    "References inside a document, message or Parameters resolve within it",
    "These are self-contained packages by definition; a reference that points at nothing "
    "inside them is a broken link.",
    "Parameters.parameter[2].resource.beneficiary: 'Patient/2' does not resolve",
)
