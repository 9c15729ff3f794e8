"""FHIR Organization, Location and HealthcareService resources for the generated geography
(real ICBs, synthetic practices and trusts), and the ``areas`` reference table (the real LSOAs
people live in, with their IMD 2019 decile, local authority, Sub ICB Location, ICB and region).
An ICB and a practice carry the ONS code of the area they answer for (the ICB's own, the
practice's Sub ICB Location), so registrations can be counted by either."""

from __future__ import annotations

from fivesafes.model.codes import ODS_CODE_SYSTEM, CodeSystem
from fivesafes.model.tables import REGIONS
from fivesafes.synth.geography import Geography, Organisation
from fivesafes.synth.records import Batch, Resource, local_concept

REGION_EXTENSION = "https://fivesafes.org/fhir/StructureDefinition/nhs-region"
AREA_EXTENSION = "https://fivesafes.org/fhir/StructureDefinition/ons-area"
SERVICES = {
    "gp_practice": (("gp", "general-practice", "GP appointments"),),
    "nhs_trust": (
        ("ae", "emergency-department", "Emergency department"),
        ("ip", "inpatient", "Inpatient care"),
    ),
}
"""Services each kind of organisation offers: id suffix, service-type code, name."""


def gp_service_id(practice: Organisation) -> str:
    """Id of the HealthcareService that offers a practice's GP appointments."""
    return f"hcs-{practice.code}-gp"


def _organization(org: Organisation, icbs: tuple[Organisation, ...]) -> Resource:
    resource: Resource = {
        "resourceType": "Organization",
        "id": org.code,
        "identifier": [{"system": ODS_CODE_SYSTEM, "value": org.code}],
        "active": True,
        "type": [local_concept("organisation-kind", org.kind)],
        "name": org.name,
        "address": [{"postalCode": org.postcode}],
    }
    extensions: list[dict[str, object]] = []
    if org.kind == "icb":
        extensions.append({"url": REGION_EXTENSION, "valueString": REGIONS[org.region]})
    else:
        resource["partOf"] = {"reference": f"Organization/{icbs[org.icb].code}"}
    if org.area:
        system = CodeSystem.ICB if org.kind == "icb" else CodeSystem.SUB_ICB
        extensions.append(
            {"url": AREA_EXTENSION, "valueCoding": {"system": system.value, "code": org.area}}
        )
    if extensions:
        resource["extension"] = extensions
    return resource


def organisation_batches(geo: Geography) -> tuple[Batch, Batch, Batch]:
    """Organization (ICBs first, so ``partOf`` points backwards), Location, HealthcareService."""
    orgs, locations, services = Batch("Organization"), Batch("Location"), Batch("HealthcareService")
    for org in (*geo.icbs, *geo.practices, *geo.trusts):
        orgs.append([_organization(org, geo.icbs)], [-1], faultable=False)
    for org in (*geo.practices, *geo.trusts):
        site = org.name if org.kind == "gp_practice" else f"{org.name.split()[0]} General Hospital"
        location_id = f"loc-{org.code}"
        locations.append(
            [
                {
                    "resourceType": "Location",
                    "id": location_id,
                    "status": "active",
                    "name": site,
                    "address": {"postalCode": org.postcode},
                    "managingOrganization": {"reference": f"Organization/{org.code}"},
                }
            ],
            [-1],
            faultable=False,
        )
        for suffix, service_type, name in SERVICES[org.kind]:
            services.append(
                [
                    {
                        "resourceType": "HealthcareService",
                        "id": f"hcs-{org.code}-{suffix}",
                        "active": True,
                        "providedBy": {"reference": f"Organization/{org.code}"},
                        "type": [local_concept("service-type", service_type)],
                        "location": [{"reference": f"Location/{location_id}"}],
                        "name": f"{org.name}: {name}",
                    }
                ],
                [-1],
                faultable=False,
            )
    return orgs, locations, services


def area_rows(geo: Geography) -> list[dict[str, object]]:
    """Rows of the ``areas`` table, one per LSOA the population lives in."""
    return [
        {
            "lsoa_code": code,
            "imd_decile": int(decile),
            "icb_code": geo.icbs[int(icb)].code,
            "region": REGIONS[int(region)],
            "local_authority_code": geo.local_authorities[int(la)].code,
            "sub_icb_code": geo.sub_icbs[int(sub)].code,
        }
        for code, decile, icb, region, la, sub in zip(
            geo.lsoa_codes,
            geo.lsoa_decile,
            geo.lsoa_icb,
            geo.lsoa_region,
            geo.lsoa_local_authority,
            geo.lsoa_sub_icb,
            strict=True,
        )
    ]
