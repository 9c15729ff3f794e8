"""People managing their own record: details, choices, shared data, and who read it.

In the manner of NHS England's Personal Demographics Service, so integrators find it familiar:
a person reads and changes only their own record (the NHS number linked to their account must
be the one asked for); a change is a JSON Patch against the version the person last saw
(``If-Match``) and may touch only their address, telecom (mobile and e-mail), contact
preferences, preferred language and interpreter need, and emergency contacts; each change has a
request id, and a retry with the same id is answered as the first and changes nothing.

Every change is a load (:func:`fivesafes.store.writes.write_resources`): the same checks as
``fivesafes load``, a new version in history, a ``load`` ledger entry carrying the new version's
SHA-256 under a signed checkpoint (the environment's signature on it), and the analysis rows of
the person brought up to date in the same transaction.

Choices (opt-outs, consents) go to the control plane's own tables, where the next extraction and
the next clinician read look. Shared data (steps, sleep, heart rate, weight, food, exercise:
the LOINC codes of ``fivesafes.ingest.flatten.WEARABLE_KINDS``, and the variants of a genome
summary, :mod:`fivesafes.ingest.genomics`) is uploaded as
patient-generated Observations: each marked as such, checked like any load (bad records rejected
with rule and path, the rest kept), visible to clinicians only under the person's consent for
care, and deletable by the person.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote

import orjson
from sqlalchemy.orm import Session

from fivesafes.environment.patches import PatchError, apply_patch, pointer
from fivesafes.environment.records import (
    Invalid,
    Issue,
    NotFound,
    PreconditionRequired,
    ReadEntry,
    Records,
    VersionMismatch,
    caller,
    log_reads,
    reads_of,
    rejections,
    require_scope,
)
from fivesafes.governance import Action
from fivesafes.governance.access import Caller
from fivesafes.governance.api_tables import AppliedRequest
from fivesafes.governance.choices import Choice, ChoiceState, choices_of, record_choice
from fivesafes.governance.scopes import Permission
from fivesafes.store import resources as store
from fivesafes.store.database import Store
from fivesafes.store.load import LoadReport, Verdict
from fivesafes.store.resources import Stored
from fivesafes.store.writes import delete_resources, write_resources

ACTION = Action.MANAGE_OWN_RECORD
CHANGEABLE = frozenset({"address", "telecom", "communication", "contact"})
"""The Patient elements a person may change themselves."""
CHANGEABLE_EXTENSIONS = frozenset(
    {
        "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-ContactPreference",
        "http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired",
    }
)
"""The Patient extensions a person may change: contact preferences and interpreter need."""
PATIENT_GENERATED = {
    "system": "https://fivesafes.org/fhir/CodeSystem/provenance",
    "code": "patient-generated",
    "display": "Shared by the person it is about",
}
ACTIVITY = {
    "system": "http://terminology.hl7.org/CodeSystem/observation-category",
    "code": "activity",
}
SHARED_ID_PREFIX = "pgd-"


@dataclass(frozen=True)
class Own:
    """The caller, checked to be the person whose record is asked for."""

    caller: Caller
    nhs_number: str


def _own(records: Records, session: Session, credential: str | None, nhs_number: str | None) -> Own:
    """The caller, if ``nhs_number`` is their own (None: whatever their own is)."""
    who = caller(records, session, credential, (ACTION,))
    if who.nhs_number is None:
        raise records.cp.refuse(who.principal, ACTION, "no NHS number is linked to this account")
    if nhs_number is not None and who.nhs_number != nhs_number:
        raise records.cp.refuse(who.principal, ACTION, "a person may use only their own record")
    return Own(who, who.nhs_number)


def _patient(records: Records, nhs_number: str) -> Stored:
    with records.reading() as cur:
        patient = store.patient_by_nhs_number(cur, nhs_number)
        found = store.read(cur, "Patient", patient) if patient else None
    if found is None or found.deleted:
        raise NotFound("there is no record with this NHS number here")
    return found


def own_record(records: Records, credential: str | None, nhs_number: str | None) -> Stored:
    """The person's own Patient resource, whole (a restricted person sees their own details)."""
    with records.cp.transaction() as session:
        own = _own(records, session, credential, nhs_number)
        require_scope(records.cp, own.caller, "Patient", Permission.READ, ACTION)
        found = _patient(records, own.nhs_number)
        log_reads(records, own.caller, [(found.id, ["Patient"], "self")])
        return found


def _operations(body: Any) -> list[Any]:
    """The operations of a JSON Patch, given bare or as ``{"patches": [...]}``."""
    if isinstance(body, dict) and isinstance(body.get("patches"), list):
        return list(body["patches"])
    if isinstance(body, list):
        return body
    raise Invalid(
        "the body must be a JSON Patch: an array of operations, or {'patches': [...]}",
        code="INVALID_UPDATE",
    )


def _kept(resource: dict[str, Any]) -> dict[str, Any]:
    """What a person may not change: everything but the changeable elements and extensions."""
    kept = {k: v for k, v in resource.items() if k not in CHANGEABLE and k != "extension"}
    kept["extension"] = [
        e
        for e in resource.get("extension") or []
        if not (isinstance(e, dict) and e.get("url") in CHANGEABLE_EXTENSIONS)
    ]
    return kept


def _check_paths(operations: Sequence[Any], before: dict[str, Any], after: dict[str, Any]) -> None:
    for n, op in enumerate(operations):
        paths = [op.get("path"), op.get("from")] if isinstance(op, dict) else []
        for path in (p for p in paths if isinstance(p, str)):
            tokens = pointer(path)
            if not tokens or (tokens[0] not in CHANGEABLE and tokens[0] != "extension"):
                raise Invalid(
                    f"patch[{n}]: {path} cannot be changed here; a person may change "
                    f"{', '.join(sorted(CHANGEABLE))} and contact preferences",
                    [Issue(path, "INVALID_UPDATE", f"{path} cannot be changed here")],
                    code="INVALID_UPDATE",
                )
    if _kept(before) != _kept(after):
        raise Invalid(
            "the patch changes an extension or element a person may not change",
            [Issue("/extension", "INVALID_UPDATE", "only contact preferences may change")],
            code="INVALID_UPDATE",
        )


def _fingerprint(*parts: Any) -> str:
    return hashlib.sha256(orjson.dumps(parts, option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass(frozen=True)
class Applied:
    """A change's answer: the resource as it now stands, and whether this was a replay."""

    resource: dict[str, Any]
    version: int
    replayed: bool = False


def _replay(session: Session, request_id: str, person_id: str, fingerprint: str) -> Applied | None:
    try:
        uuid.UUID(request_id)
    except ValueError:
        raise Invalid("X-Request-ID must be a UUID", code="INVALID_VALUE") from None
    row = session.get(AppliedRequest, request_id.lower())
    if row is None:
        return None
    if row.person_id != person_id or row.fingerprint != fingerprint:
        raise Invalid(
            "this X-Request-ID was already used for a different request", code="DUPLICATE_REQUEST"
        )
    return Applied(orjson.loads(row.body), int(row.etag or 0), True)


def _remember(
    records: Records, request_id: str, person_id: str, fingerprint: str, applied: Applied
) -> None:
    with records.cp.transaction() as session:
        session.add(
            AppliedRequest(
                request_id=request_id.lower(),
                person_id=person_id,
                fingerprint=fingerprint,
                status=200,
                body=orjson.dumps(applied.resource).decode(),
                etag=str(applied.version),
                applied_at=records.cp.now(),
            )
        )


def _version_of(store_: Store, rtype: str, rid: str) -> int:
    found = store.read(store_.con, rtype, rid)
    return 0 if found is None or found.deleted else found.version


def change_own(
    records: Records,
    credential: str | None,
    nhs_number: str | None,
    body: Any,
    *,
    if_match: int | None,
    request_id: str,
    today: date | None = None,
) -> Applied:
    """Apply the person's JSON Patch to their own Patient, once per request id."""
    with records.cp.transaction() as session:
        own = _own(records, session, credential, nhs_number)
        require_scope(records.cp, own.caller, "Patient", Permission.UPDATE, ACTION)
        fingerprint = _fingerprint("patch", own.nhs_number, body)
        replayed = _replay(session, request_id, own.caller.person_id, fingerprint)
    if replayed is not None:
        return replayed
    if if_match is None:
        raise PreconditionRequired("a change needs If-Match with the version it changes")
    operations = _operations(body)
    current = _patient(records, own.nhs_number)
    if current.version != if_match:
        raise VersionMismatch(
            f"the record is at version {current.version}, not {if_match}: read it again"
        )
    try:
        changed = apply_patch(current.resource, operations)
    except PatchError as exc:
        raise Invalid(str(exc), code="INVALID_UPDATE") from None
    _check_paths(operations, current.resource, changed)
    changed.pop("meta", None)  # versionId and lastUpdated are the store's to say
    if current.resource.get("meta", {}).get("security"):
        changed["meta"] = {"security": current.resource["meta"]["security"]}
    digest = hashlib.sha256(orjson.dumps(changed, option=orjson.OPT_SORT_KEYS)).hexdigest()
    paths = sorted({str(op.get("path")) for op in operations if isinstance(op, dict)})

    def commit(report: LoadReport, written: Store) -> None:
        problems = rejections(report)
        if problems:
            raise Invalid("the changed record fails the environment's checks", problems)
        if _version_of(written, "Patient", current.id) not in (if_match, if_match + 1):
            raise VersionMismatch("the record changed while this change was made: read it again")
        subject = {
            "what": "self_service_change",
            "resource": f"Patient/{current.id}",
            "version": if_match + 1,
            "content_sha256": digest,
            "paths": paths,
            "request_id": request_id.lower(),
        }
        records.cp.log("load", subject, own.caller.person_id)

    write_resources(
        records.data_dir, [changed], label="self-service", today=today, before_commit=commit
    )
    records.cp.ledger.checkpoint()  # the change's hash is signed at once
    now = _patient(records, own.nhs_number)
    applied = Applied(now.resource, now.version)
    _remember(records, request_id, own.caller.person_id, fingerprint, applied)
    return applied


def choices(records: Records, credential: str | None, nhs_number: str | None) -> list[ChoiceState]:
    """The person's opt-outs and consents as they stand."""
    with records.cp.transaction() as session:
        own = _own(records, session, credential, nhs_number)
        require_scope(records.cp, own.caller, "Consent", Permission.READ, ACTION)
        return choices_of(session, own.nhs_number)


def set_choice(
    records: Records, credential: str | None, nhs_number: str | None, choice: Choice, made: bool
) -> ChoiceState:
    """Make or withdraw one choice; it holds from the very next extraction and read."""
    with records.cp.transaction() as session:
        own = _own(records, session, credential, nhs_number)
        require_scope(records.cp, own.caller, "Consent", Permission.UPDATE, ACTION)
        return record_choice(
            records.cp, session, own.nhs_number, choice, made, own.caller.person_id
        )


@dataclass(frozen=True)
class Shared:
    """What an upload kept (resource ids) and what it rejected, with rule and path."""

    kept: tuple[str, ...]
    rejected: tuple[tuple[int, Issue], ...]


def _marked(resource: Any, patient: str, source: str) -> dict[str, Any] | Issue:
    """The resource as stored: marked patient-generated, about the person, with an id of
    shared data; or why it cannot be taken."""
    if not isinstance(resource, dict) or resource.get("resourceType") != "Observation":
        return Issue("resourceType", "personal.type", "people share Observations here")
    subject = resource.get("subject")
    ref = subject.get("reference") if isinstance(subject, dict) else None
    if ref not in (None, f"Patient/{patient}"):
        return Issue("subject", "personal.subject", "a person shares only their own data")
    rid = resource.get("id")
    if rid is not None and not (isinstance(rid, str) and rid.startswith(SHARED_ID_PREFIX)):
        return Issue("id", "personal.id", f"shared data has ids starting {SHARED_ID_PREFIX!r}")
    marked = dict(resource)
    marked["id"] = rid or SHARED_ID_PREFIX + uuid.uuid4().hex[:20]
    marked["subject"] = {"reference": f"Patient/{patient}"}
    categories = list(marked.get("category") or [])
    if not any(ACTIVITY in (c.get("coding") or []) for c in categories if isinstance(c, dict)):
        categories.append({"coding": [ACTIVITY]})
    marked["category"] = categories
    meta = dict(marked.get("meta") or {})
    tags = [t for t in meta.get("tag") or [] if t != PATIENT_GENERATED]
    meta["tag"] = [*tags, PATIENT_GENERATED]
    meta["source"] = source
    for key in ("versionId", "lastUpdated"):
        meta.pop(key, None)
    marked["meta"] = meta
    return marked


def share(
    records: Records,
    credential: str | None,
    nhs_number: str | None,
    resources: Sequence[Any],
    *,
    device: str = "unspecified device",
    today: date | None = None,
) -> Shared:
    """Upload the person's own data; each record checked like a load, the good ones kept."""
    with records.cp.transaction() as session:
        own = _own(records, session, credential, nhs_number)
        require_scope(records.cp, own.caller, "Observation", Permission.CREATE, ACTION)
    patient = _patient(records, own.nhs_number).id
    source = f"urn:fivesafes:shared:{quote(own.caller.person_id)}:{quote(device[:100])}"
    taken: list[tuple[int, dict[str, Any]]] = []
    rejected: list[tuple[int, Issue]] = []
    with records.reading() as cur:
        for n, resource in enumerate(resources):
            marked = _marked(resource, patient, source)
            if isinstance(marked, Issue):
                rejected.append((n, marked))
                continue
            existing = store.read(cur, "Observation", marked["id"])
            if existing is not None and store.patient_of(cur, "Observation", marked["id"]) not in (
                None,
                patient,
            ):
                rejected.append((n, Issue("id", "personal.id", "that id is someone else's")))
                continue
            taken.append((n, marked))
    if not taken:
        return Shared((), tuple(rejected))
    kept: list[str] = []

    def commit(report: LoadReport, written: Store) -> None:
        verdicts: dict[int, Verdict] = {v.line: v for v in report.verdicts}
        for line, (n, marked) in enumerate(taken, start=1):
            verdict = verdicts.get(line)
            if verdict is not None and not verdict.accepted:
                for path, rule, message in verdict.findings:
                    rejected.append((n, Issue(path, rule, message)))
            else:
                kept.append(marked["id"])
        subject = {
            "what": "shared_data",
            "patient": patient,
            "kept": len(kept),
            "rejected": len(taken) - len(kept),
        }
        records.cp.log("load", subject, own.caller.person_id)

    write_resources(
        records.data_dir,
        [m for _, m in taken],
        label="shared",
        today=today,
        before_commit=commit,
    )
    return Shared(tuple(kept), tuple(sorted(rejected, key=lambda r: r[0])))


def delete_shared(
    records: Records, credential: str | None, nhs_number: str | None, observation_id: str
) -> None:
    """Delete one Observation the person shared (never one a clinician recorded)."""
    with records.cp.transaction() as session:
        own = _own(records, session, credential, nhs_number)
        require_scope(records.cp, own.caller, "Observation", Permission.DELETE, ACTION)
    patient = _patient(records, own.nhs_number).id
    with records.reading() as cur:
        found = store.read(cur, "Observation", observation_id)
        mine = store.patient_of(cur, "Observation", observation_id) == patient
    if found is None or found.deleted or not mine:
        raise NotFound(f"you have shared no Observation/{observation_id}")
    tags = (found.resource.get("meta") or {}).get("tag") or []
    if PATIENT_GENERATED not in tags:
        raise Invalid("only data you shared can be deleted here", code="INVALID_UPDATE")

    def commit(written: Store) -> None:
        subject = {"what": "shared_data_deleted", "resource": f"Observation/{observation_id}"}
        records.cp.log("load", subject, own.caller.person_id)

    delete_resources(records.data_dir, [("Observation", observation_id)], before_commit=commit)


@dataclass(frozen=True)
class Usage:
    """How the person's data is used: who read their record and why."""

    reads: tuple[ReadEntry, ...]


def usage(records: Records, credential: str | None, nhs_number: str | None) -> Usage:
    with records.cp.transaction() as session:
        own = _own(records, session, credential, nhs_number)
        require_scope(records.cp, own.caller, "Patient", Permission.READ, ACTION)
    patient = _patient(records, own.nhs_number).id
    return Usage(tuple(reads_of(records.cp, patient)))
