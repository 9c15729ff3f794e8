"""Adult social care in the common data model, after NHS England's Adult Social Care Client
Level Data (CLD) set: each local authority's events for each person (requests for support,
assessments, services with their start and end, reviews), linked to health data through the
pseudonymous ``patient_id`` made from the NHS number the authority records.

The CLD names and values are kept (``event_type`` Request, Assessment, Service, Review; the
routes of access, service types and primary support reasons of the specification), shortened
to what analyses of journeys between health and social care use. The file a local authority
sends carries the NHS number (``SOURCE_COLUMNS``); it is checked and turned into
``patient_id`` on the way in and never stored (see ``fivesafes.ingest.social_care``). The
local authority's own event reference is kept only as a keyed hash, ``event_id``, so a
corrected file replaces the events it restates.
"""

from __future__ import annotations

from datetime import date

from fivesafes.model.schema import Column, ColumnType, Table, TableKind

T = ColumnType
EARLIEST_EVENT = date(1990, 1, 1)
"""Client level data starts long after this: an earlier date is a data-entry error."""

EVENT_TYPES = ("Request", "Assessment", "Service", "Review")
ROUTES_OF_ACCESS = (
    "Discharge from Hospital",
    "Diversion from Hospital Services",
    "Community / Other route",
    "Planned Entry (Transition)",
    "Self-Funder with depleted funds",
)
ASSESSMENT_TYPES = ("Short Term Assessment", "Long Term Assessment", "Carer Assessment")
SERVICE_TYPES = (
    "Long Term Support: Nursing Care",
    "Long Term Support: Residential Care",
    "Long Term Support: Community",
    "Short Term Support: ST-Max",
    "Short Term Support: Ongoing Low Level",
    "Short Term Support: Other Short Term",
)
PRIMARY_SUPPORT_REASONS = (
    "Physical Support: Access and mobility only",
    "Physical Support: Personal care support",
    "Sensory Support",
    "Support with Memory and Cognition",
    "Learning Disability Support",
    "Mental Health Support",
    "Social Support",
)
REVIEW_REASONS = ("Planned", "Unplanned", "Hospital admission", "Safeguarding")

social_care_events = Table(
    "social_care_events",
    TableKind.EVENT,
    "Adult social care events (requests, assessments, services, reviews) by local authority, "
    "as in NHS England's Client Level Data.",
    "CSV (Adult Social Care Client Level Data)",
    (
        Column(
            "patient_id",
            T.PATIENT_ID,
            "Pseudonymous patient identifier (keyed hash of the NHS number the authority holds)",
            nullable=False,
        ),
        Column(
            "local_authority_code",
            T.STRING,
            "ONS code of the local authority (E06, E07, E08 or E09 and six digits)",
            nullable=False,
        ),
        Column(
            "event_id",
            T.INTEGER,
            "Keyed hash of the authority's own reference for the event",
            nullable=False,
        ),
        Column("event_type", T.STRING, "CLD event type", nullable=False, categories=EVENT_TYPES),
        Column(
            "event_start_date",
            T.DATE,
            "Date the request was made, or the assessment, service or review began",
            nullable=False,
            minimum=EARLIEST_EVENT,
        ),
        Column(
            "event_end_date",
            T.DATE,
            "Date the event ended; empty while it continues",
            minimum=EARLIEST_EVENT,
        ),
        Column("event_outcome", T.STRING, "What came of the event, in the authority's words"),
        Column(
            "request_route_of_access",
            T.STRING,
            "How a request came (requests only)",
            categories=ROUTES_OF_ACCESS,
        ),
        Column(
            "assessment_type",
            T.STRING,
            "Kind of assessment (assessments only)",
            categories=ASSESSMENT_TYPES,
        ),
        Column(
            "service_type", T.STRING, "Kind of service (services only)", categories=SERVICE_TYPES
        ),
        Column(
            "primary_support_reason",
            T.STRING,
            "The person's main reason for support",
            categories=PRIMARY_SUPPORT_REASONS,
        ),
        Column(
            "review_reason",
            T.STRING,
            "Why a review took place (reviews only)",
            categories=REVIEW_REASONS,
        ),
    ),
    key=("local_authority_code", "event_id"),
)

SOURCE_COLUMNS = (
    "la_code",
    "event_reference",
    "nhs_number",
    *(c.name for c in social_care_events.columns[3:]),
)
"""The columns of the CSV a local authority sends: the analysis table's, with the NHS number
and the authority's event reference in place of ``patient_id`` and ``event_id``."""
