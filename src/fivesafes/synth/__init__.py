"""Synthetic population generator: made-up people in England's real small areas, as FHIR R4.

``generate(out, patients, seed, faults)`` writes one NDJSON file per resource type
(organisations, patients, GP registrations, diagnoses, measurements, prescriptions,
admissions, A&E, vaccinations, appointments, deaths, consented wearables) plus the
``areas`` and ``workforce`` CSV tables, following docs/fhir-profile.md. Nothing in it
is about a real person: people, GP practices, trusts, postcodes, NHS numbers (999 test
range) and every record are synthetic. The places are real public geography: LSOAs with
their IMD 2019 deciles, ICBs and NHS England regions come from the official tables in
``fivesafes.model.lookups``, and ages and sexes follow ONS estimates, so dashboards on
demo data look like England (see geography.py). Prevalences vary with age, sex,
ethnicity and deprivation so analyses find real signal; the same seed gives the same
bytes; ``faults`` spoils a known share of records for validation.
"""

from fivesafes.synth.faults import FAULT_KINDS
from fivesafes.synth.generator import SynthSummary, WrittenFile, generate, max_patients

__all__ = ["FAULT_KINDS", "SynthSummary", "WrittenFile", "generate", "max_patients"]
