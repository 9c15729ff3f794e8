"""Adult social care client level data at the point of entry: checked, pseudonymised, kept.

A local authority's CSV (``social_care_events*.csv``, the columns of
:data:`fivesafes.model.social_care.SOURCE_COLUMNS`) is checked row by row like every other
source: a row that breaks a rule goes to quarantine with the rule, the column and the reason,
never with the NHS number it carried. An accepted row's NHS number becomes ``patient_id``
with the environment's keyed hash, the same one FHIR records get, so a person's social care
and health records join without either carrying the number; the authority's event reference
is hashed the same way into ``event_id``. Neither the number nor the reference is stored.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date
from typing import Any

from fivesafes.ingest.rules import Finding, rule
from fivesafes.ingest.tabular import parse_row
from fivesafes.model.codes import is_valid_nhs_number
from fivesafes.model.social_care import SOURCE_COLUMNS, social_care_events

CLD_NHS_NUMBER = rule(
    "cld.nhs_number",
    "A social care record carries a valid NHS number",
    "The NHS number is what links a person's social care to their health records; a missing or "
    "mistyped one would link nobody, or the wrong person.",
    "social_care_events.csv line 8, column nhs_number: not a valid NHS number (Modulus 11)",
)
CLD_LOCAL_AUTHORITY = rule(
    "cld.local_authority",
    "A social care record names its local authority by ONS code",
    "Analyses by local authority, and replacing a corrected file's rows, need the authority.",
    "social_care_events.csv line 3, column la_code: 'Leeds' is not an ONS local authority "
    "code (E06, E07, E08 or E09 and six digits)",
)
CLD_EVENT = rule(
    "cld.event",
    "A social care event is complete for its type and its dates are in order",
    "A service with no type, a request with no route, or an end before the start would make "
    "journeys and waiting times wrong without saying so.",
    "social_care_events.csv line 5: a Service needs service_type",
)

LA_CODE = re.compile(r"^E0[6-9]\d{6}$")
REQUIRED_BY_TYPE = {
    "Request": "request_route_of_access",
    "Assessment": "assessment_type",
    "Service": "service_type",
    "Review": "review_reason",
}
"""The CLD field each event type must have."""
TABLE = social_care_events.name
DECLARED = replace(social_care_events, columns=social_care_events.columns[3:], key=())
"""The columns the authority's file shares with the analysis table, checked as declared."""


def is_social_care_file(name: str) -> bool:
    return name.lower().startswith(TABLE)


def header_problem(header: Sequence[str]) -> str | None:
    missing = [c for c in SOURCE_COLUMNS if c not in header]
    unknown = [h for h in header if h not in SOURCE_COLUMNS]
    parts = []
    if missing:
        parts.append("missing column " + ", ".join(repr(m) for m in missing))
    if unknown:
        parts.append("unknown column " + ", ".join(repr(u) for u in unknown))
    return "; ".join(parts) or None


def check_row(
    header: Sequence[str], values: Sequence[str], hash_id: Callable[[str], int], today: date
) -> tuple[tuple[Any, ...] | None, list[Finding]]:
    """One row of a CLD file as an analysis-layer row, or the findings that reject it."""
    if len(values) != len(header):
        message = f"has {len(values)} values but the header has {len(header)} columns"
        return None, [Finding(CLD_EVENT.id, TABLE, message)]
    raw = dict(zip(header, (v.strip() for v in values), strict=True))
    findings: list[Finding] = []
    if not is_valid_nhs_number(raw["nhs_number"]):
        # the value is not repeated: a near-miss NHS number is still identifying
        findings.append(Finding(CLD_NHS_NUMBER.id, f"{TABLE}.nhs_number",
                                "not a valid NHS number (ten digits, Modulus 11)"))  # fmt: skip
    if not LA_CODE.match(raw["la_code"]):
        findings.append(Finding(CLD_LOCAL_AUTHORITY.id, f"{TABLE}.la_code",
                                f"{raw['la_code']!r} is not an ONS local authority code (E06, "
                                "E07, E08 or E09 and six digits)"))  # fmt: skip
    if not raw["event_reference"]:
        findings.append(Finding(CLD_EVENT.id, f"{TABLE}.event_reference", "is empty"))
    # the other columns are the analysis table's, checked by its declaration
    parsed, column_findings = parse_row(DECLARED, list(DECLARED.column_names), [
        raw[c] for c in DECLARED.column_names])  # fmt: skip
    findings += column_findings
    if parsed is not None:
        row = dict(zip(DECLARED.column_names, parsed, strict=True))
        needed = REQUIRED_BY_TYPE[row["event_type"]]
        if row[needed] is None:
            findings.append(Finding(CLD_EVENT.id, f"{TABLE}.{needed}",
                                    f"a {row['event_type']} needs {needed}"))  # fmt: skip
        start, end = row["event_start_date"], row["event_end_date"]
        if start > today:
            findings.append(Finding(CLD_EVENT.id, f"{TABLE}.event_start_date",
                                    f"{start} is in the future"))  # fmt: skip
        if end is not None and end < start:
            findings.append(Finding(CLD_EVENT.id, f"{TABLE}.event_end_date",
                                    f"ends on {end}, before it starts on {start}"))  # fmt: skip
    if findings or parsed is None:
        return None, findings
    identified = (
        hash_id(raw["nhs_number"]),
        raw["la_code"],
        hash_id(f"{raw['la_code']}/{raw['event_reference']}"),
    )
    return (*identified, *parsed), []
