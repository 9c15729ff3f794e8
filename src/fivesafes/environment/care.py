"""Reading records for direct care: who may read whose record, and what they are shown.

The rules, in one place for every face:

- a **clinician** reads the records of people with a registration (EpisodeOfCare) or an
  encounter at the clinician's own organisation (the ODS code linked to the account); any other
  record only by **break glass**: with a stated reason, which the ledger entry carries and flags
  (``break_glass``) for review. A clinician with no ODS code linked reads nothing;
- a **person** reads their own record (the NHS number linked to their account);
- everyone else is refused, and the refusal logged;
- a **restricted** person (``meta.security`` ``R``, v3-Confidentiality) never has their address,
  telecom, GP or contacts returned to anyone but themselves, and never matches a search by
  postcode or GP;
- what a person **shared** (wearable and other patient-generated Observations) is shown to a
  clinician only while the person's consent for care holds, checked at every read;
- the token's SMART scopes can narrow all of this, never widen it;
- every read is an ``identifiable_read`` ledger entry (:func:`.records.log_reads`);
- a person's choices (opt-outs, consents to share) are part of their record: read under the
  same rules, as FHIR Consent (:func:`choices`).

Directory resources (Organization, Location, HealthcareService) are about services, not people:
any caller may read them.
"""

from __future__ import annotations

import copy
from collections.abc import Container, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
from sqlalchemy import select
from sqlalchemy.orm import Session

from fivesafes.environment.records import (
    Gone,
    NotFound,
    Records,
    caller,
    log_reads,
    require_scope,
)
from fivesafes.governance import Action
from fivesafes.governance.access import Caller
from fivesafes.governance.choices import ChoiceState, choices_of
from fivesafes.governance.scopes import DIRECTORY_TYPES, Permission
from fivesafes.governance.tables import Consent, OptOut
from fivesafes.store import resources as store
from fivesafes.store.resources import PARAMS, PATIENT_REF, Query, Stored, Within

CARE_ACTIONS = (Action.READ_CARE_RECORD, Action.MANAGE_OWN_RECORD)
PROTECTED = ("address", "telecom", "generalPractitioner", "contact")
"""What a restricted person's record never shows anyone else."""
HIDDEN_WHEN_RESTRICTED = frozenset({"address-postalcode", "general-practitioner"})
PATIENT_TYPES = tuple(t for t in PATIENT_REF if t != "Patient")
"""The resource types in a person's compartment, besides the Patient."""


def is_restricted(resource: dict[str, Any]) -> bool:
    meta = resource.get("meta")
    labels = meta.get("security") if isinstance(meta, dict) else None
    return isinstance(labels, list) and any(
        isinstance(label, dict) and label.get("code") == "R" for label in labels
    )


def is_shared(resource: dict[str, Any]) -> bool:
    """A person's own shared data: an Observation in the ``activity`` category."""
    for category in resource.get("category") or []:
        for coding in (category or {}).get("coding") or []:
            if isinstance(coding, dict) and coding.get("code") == "activity":
                return True
    return False


def redacted(resource: dict[str, Any]) -> dict[str, Any]:
    """A restricted Patient without what it must never show (others' resources unchanged)."""
    if resource.get("resourceType") != "Patient" or not is_restricted(resource):
        return resource
    kept = copy.deepcopy(resource)
    for key in PROTECTED:
        kept.pop(key, None)
    return kept


@dataclass(frozen=True)
class Access:
    """What a caller may see right now: whose records, and whose shared data."""

    caller: Caller
    own_patient: str | None
    ods_code: str | None
    consenting: tuple[str, ...] = ()
    """NHS numbers whose shared data may be shown to this clinician (consent for care)."""

    @property
    def is_person(self) -> bool:
        return self.caller.principal.may(Action.MANAGE_OWN_RECORD)

    def within(self, patient: str | None = None, hide_restricted: bool = False) -> Within:
        """The search clause: one break-glass patient, the person's own, or the clinician's."""
        shared = (
            'SELECT p.id FROM identifiable."Patient" p WHERE list_contains($cons, p.nhs_number)'
        )
        if patient is not None:
            return Within(
                "SELECT $bg",
                {"bg": patient, "cons": list(self.consenting)},
                hide_restricted,
                None if self.is_person else shared,
            )
        if self.is_person:
            return Within("SELECT $me", {"me": self.own_patient or ""}, False, None)
        return Within(
            store.RELATED_SQL,
            {"ods": self.ods_code, "cons": list(self.consenting)},
            hide_restricted,
            shared,
        )


def _consenting(session: Session) -> tuple[str, ...]:
    rows = session.scalars(
        select(Consent.nhs_number).where(Consent.scope == "care", Consent.granted.is_(True))
    )
    return tuple(sorted(rows))


def _access(
    records: Records,
    session: Session,
    cur: duckdb.DuckDBPyConnection,
    who: Caller,
    needs_consent: bool = True,
) -> Access:
    """What the caller may see; with ``needs_consent`` False (no shared data can be in the
    answer) the consents are not read."""
    if who.principal.may(Action.MANAGE_OWN_RECORD):
        if who.nhs_number is None:
            raise records.cp.refuse(
                who.principal, Action.MANAGE_OWN_RECORD, "no NHS number is linked to this account"
            )
        own = store.patient_by_nhs_number(cur, who.nhs_number)
        return Access(who, own, None)
    if who.ods_code is None:
        raise records.cp.refuse(
            who.principal,
            Action.READ_CARE_RECORD,
            f"{who.person_id} has no organisation (ODS code) linked, so no one is in their care",
        )
    return Access(who, None, who.ods_code, _consenting(session) if needs_consent else ())


def _in_care(records: Records, cur: duckdb.DuckDBPyConnection, access: Access) -> dict[str, str]:
    """Everyone related to the clinician's organisation, and how, in the version being read
    (worked out once a version: :func:`fivesafes.store.resources.relationships`)."""
    ods = access.ods_code
    assert ods is not None
    return records.follower.memo(("related", ods), lambda: store.relationships(cur, ods))


def _relationship(
    records: Records,
    cur: duckdb.DuckDBPyConnection,
    access: Access,
    patient: str,
    reason: str | None,
) -> str:
    """Why the caller may read ``patient``'s record, or a logged refusal."""
    who = access.caller
    if access.is_person:
        if patient != access.own_patient:
            raise records.cp.refuse(
                who.principal, Action.MANAGE_OWN_RECORD, "a person reads only their own record"
            )
        return "self"
    found = _in_care(records, cur, access).get(patient)
    if found:
        return found
    if reason and reason.strip():
        return "break-glass"
    raise records.cp.refuse(
        who.principal,
        Action.READ_CARE_RECORD,
        f"Patient/{patient} has no registration or encounter at {access.ods_code}; to read it "
        "in an emergency, give a reason (break glass), which is logged for review",
    )


def _with_history(records: Records, cur: duckdb.DuckDBPyConnection) -> frozenset[str]:
    """The types with earlier versions in the version of the store being read (once a version)."""
    return records.follower.memo("history-types", lambda: store.history_types(cur))


def _visible(access: Access, found: Stored, nhs_number: str | None) -> bool:
    """Whether a resource may be shown: shared data only under the person's consent for care."""
    if found.resource_type != "Observation" or access.is_person:
        return True
    if not is_shared(found.resource):
        return True
    return nhs_number is not None and nhs_number in access.consenting


def _shown(access: Access, found: Stored) -> Stored:
    if access.is_person:
        return found
    return Stored(
        found.resource_type,
        found.id,
        found.version,
        found.last_updated,
        redacted(found.resource),
        found.deleted,
    )


@dataclass(frozen=True)
class Read:
    """Resources read for a caller, already logged and filtered."""

    found: tuple[Stored, ...]
    total: int = 0
    included: tuple[Stored, ...] = ()
    warnings: tuple[str, ...] = field(default_factory=tuple)


def _authorised(
    records: Records, session: Session, credential: str | None, rtype: str, permission: Permission
) -> Caller:
    who = caller(records, session, credential, CARE_ACTIONS)
    action = (
        Action.MANAGE_OWN_RECORD
        if who.principal.may(Action.MANAGE_OWN_RECORD)
        else Action.READ_CARE_RECORD
    )
    require_scope(records.cp, who, rtype, permission, action)
    return who


def read(
    records: Records,
    credential: str | None,
    rtype: str,
    rid: str,
    *,
    version: int | None = None,
    history: bool = False,
    reason: str | None = None,
) -> Read:
    """One resource (its current version, one version, or every version), for care."""
    if rtype not in PARAMS:
        raise NotFound(f"this server holds no {rtype} resources")
    with records.cp.transaction() as session, records.reading() as cur:
        who = _authorised(records, session, credential, rtype, Permission.READ)
        access = (
            None
            if rtype in DIRECTORY_TYPES
            else _access(records, session, cur, who, rtype == "Observation")
        )
        if history or version is not None:
            versions = store.versions(cur, rtype, rid)
        else:
            current = store.read(cur, rtype, rid, _with_history(records, cur))
            versions = [current] if current is not None else []
        if not versions:
            raise NotFound(f"{rtype}/{rid} is not known")
        if access is None:
            return _pick(versions, version, history)
        patient = (rid if rtype == "Patient" else store.patient_of(cur, rtype, rid)) or _patient_in(
            versions[-1]
        )
        if patient is None:
            raise NotFound(f"{rtype}/{rid} is not known")
        relationship = _relationship(records, cur, access, patient, reason)
        chosen = _pick(versions, version, history)
        shared = rtype == "Observation" and any(is_shared(v.resource) for v in chosen.found)
        nhs = store.nhs_number_of(cur, patient) if shared else None
        shown = tuple(_shown(access, v) for v in chosen.found if _visible(access, v, nhs))
        if not shown:
            raise NotFound(f"{rtype}/{rid} is not known")
        log_reads(records, who, [(patient, [rtype], relationship)], reason)
        return Read(shown, len(shown))


def _patient_in(found: Stored) -> str | None:
    """The patient of a deleted resource, from its last version's reference."""
    for key in ("subject", "patient"):
        ref = found.resource.get(key)
        if isinstance(ref, dict) and str(ref.get("reference", "")).startswith("Patient/"):
            return str(ref["reference"]).split("/", 1)[1]
    return found.id if found.resource_type == "Patient" else None


def _pick(versions: Sequence[Stored], version: int | None, history: bool) -> Read:
    if history:
        return Read(tuple(reversed(versions)), len(versions))
    if version is not None:
        for v in versions:
            if v.version == version:
                if v.deleted:
                    raise Gone(f"{v.resource_type}/{v.id} version {version} was a deletion")
                return Read((v,), 1)
        raise NotFound(f"{versions[-1].resource_type}/{versions[-1].id} has no version {version}")
    last = versions[-1]
    if last.deleted:
        raise Gone(f"{last.resource_type}/{last.id} was deleted")
    return Read((last,), 1)


def _single_patient(cur: duckdb.DuckDBPyConnection, query: Query) -> str | None:
    """The one patient a search is about, if it names one (for break glass)."""
    for name, _, values in query.conditions:
        if len(values) != 1:
            continue
        value = values[0]
        if name in ("patient", "subject") or (query.rtype == "Patient" and name == "_id"):
            return value.rsplit("/", 1)[-1]
        if query.rtype == "Patient" and name == "identifier":
            return store.patient_by_nhs_number(cur, value.rpartition("|")[2])
    return None


def search(
    records: Records,
    credential: str | None,
    query: Query,
    *,
    include: Sequence[tuple[str, str, str]] = (),
    revinclude: Sequence[tuple[str, str]] = (),
    reason: str | None = None,
) -> Read:
    """One search, within what the caller may see; ``include`` is (type, param, target type)
    and ``revinclude`` (type, param) of the references to follow."""
    with records.cp.transaction() as session, records.reading() as cur:
        who = _authorised(records, session, credential, query.rtype, Permission.SEARCH)
        if query.rtype in DIRECTORY_TYPES:
            total, found = store.search(cur, query, None, _with_history(records, cur))
            return Read(tuple(found), total)
        shared_possible = query.rtype == "Observation" or any(
            source == "Observation" for source, _ in revinclude
        )
        access = _access(records, session, cur, who, shared_possible)
        names = {name for name, _, _ in query.conditions}
        hide = bool(names & HIDDEN_WHEN_RESTRICTED)
        within = access.within(hide_restricted=hide)
        relationship_of: dict[str, str] = {}
        target = _single_patient(cur, query)
        if target is not None and not access.is_person:
            if target in _in_care(records, cur, access):
                # The search names one person in the caller's care, so only their resources can
                # match: asking for that one person is the same answer, without the join.
                within = access.within(target, hide_restricted=hide)
            elif reason and reason.strip():
                relationship = _relationship(records, cur, access, target, reason)
                if relationship == "break-glass":
                    within = access.within(target, hide_restricted=hide)
                    relationship_of[target] = relationship
        total, found = store.search(cur, query, within, _with_history(records, cur))
        included = _included(cur, who, query.rtype, found, include, revinclude, within)
        matches = tuple(_shown(access, f) for f in found)
        extra = tuple(_shown(access, f) for f in included)
        reads: dict[str, set[str]] = {}
        for item in (*found, *included):
            patient = _patient_in(item) if item.resource_type != "Patient" else item.id
            if patient is not None:
                reads.setdefault(patient, set()).add(item.resource_type)
        log_reads(
            records,
            who,
            [
                (p, types, relationship_of.get(p, "self" if access.is_person else "in-care"))
                for p, types in sorted(reads.items())
            ],
            reason,
        )
        return Read(matches, total, extra)


def _included(
    cur: duckdb.DuckDBPyConnection,
    who: Caller,
    rtype: str,
    found: Sequence[Stored],
    include: Sequence[tuple[str, str, str]],
    revinclude: Sequence[tuple[str, str]],
    within: Within,
) -> list[Stored]:
    ids = [f.id for f in found]
    extra: list[Stored] = []
    seen = {(f.resource_type, f.id) for f in found}
    for source, param, target in include:
        if source != rtype or not who.scopes.grants(target, Permission.READ):
            continue
        for ref in store.references(cur, rtype, param, ids):
            query = Query(target, (("_id", None, (ref,)),), count=1)
            _, hits = store.search(cur, query, within if target in PATIENT_REF else None)
            for hit in hits:
                if (hit.resource_type, hit.id) not in seen:
                    seen.add((hit.resource_type, hit.id))
                    extra.append(hit)
    for source, param in revinclude:
        if source not in PARAMS or not who.scopes.grants(source, Permission.SEARCH):
            continue
        for hit in store.referencing(cur, source, param, ids, within):
            if (hit.resource_type, hit.id) not in seen:
                seen.add((hit.resource_type, hit.id))
                extra.append(hit)
    return extra


def everything(
    records: Records, credential: str | None, patient: str, *, reason: str | None = None
) -> Read:
    """``Patient/{id}/$everything``: the Patient and every resource in their compartment."""
    with records.cp.transaction() as session, records.reading() as cur:
        who = _authorised(records, session, credential, "Patient", Permission.READ)
        access = _access(records, session, cur, who)
        current = store.read(cur, "Patient", patient)
        if current is None or current.deleted:
            raise NotFound(f"Patient/{patient} is not known")
        relationship = _relationship(records, cur, access, patient, reason)
        within = access.within(patient)
        found: list[Stored] = [current]
        for rtype in PATIENT_TYPES:
            if not who.scopes.grants(rtype, Permission.READ):
                continue
            order = ("date",) if "date" in PARAMS[rtype] else ()
            query = Query(rtype, (("patient", None, (patient,)),), order, count=10_000)
            found.extend(store.search(cur, query, within)[1])
        types = sorted({f.resource_type for f in found})
        log_reads(records, who, [(patient, types, relationship)], reason)
        shown = tuple(_shown(access, f) for f in found)
        return Read(shown, len(shown))


@dataclass(frozen=True)
class Choices:
    """One person's opt-outs and consents, as a clinician (or the person) is shown them."""

    patient: str
    states: tuple[ChoiceState, ...]


def _recorded_patients(
    session: Session, cur: duckdb.DuckDBPyConnection, among: Container[str]
) -> list[str]:
    """The patients in ``among`` with any choice recorded (opt-out or consent row)."""
    numbers = sorted(
        {*session.scalars(select(OptOut.nhs_number)), *session.scalars(select(Consent.nhs_number))}
    )
    if not numbers:
        return []
    rows = cur.execute(
        'SELECT id FROM identifiable."Patient" WHERE nhs_number IN (SELECT unnest(?::VARCHAR[]))',
        [numbers],
    ).fetchall()
    return sorted(str(r[0]) for r in rows if str(r[0]) in among)


def choices(
    records: Records,
    credential: str | None,
    patient: str | None = None,
    *,
    reason: str | None = None,
) -> list[Choices]:
    """People's choices (national opt-out, type-1 objection, consents to share) for care, under
    the same rules as their record: a clinician sees those of the people in their care (any one
    person's by break glass), a person their own. Each person's are one ``identifiable_read``
    entry of type Consent. Without ``patient``, a clinician gets everyone in their care who has
    made or withdrawn a choice."""
    with records.cp.transaction() as session, records.reading() as cur:
        permission = Permission.READ if patient else Permission.SEARCH
        who = _authorised(records, session, credential, "Consent", permission)
        access = _access(records, session, cur, who, needs_consent=False)
        if patient is None and access.is_person:
            patient = access.own_patient
        if patient is not None:
            relationship = _relationship(records, cur, access, patient, reason)
            targets = [(patient, relationship)]
        else:
            related = _in_care(records, cur, access)
            targets = [(p, "in-care") for p in _recorded_patients(session, cur, related)]
        found = []
        for pid, _ in targets:
            nhs = store.nhs_number_of(cur, pid)
            if nhs is None:
                raise NotFound(f"Patient/{pid} is not known")
            found.append(Choices(pid, tuple(choices_of(session, nhs))))
        log_reads(records, who, [(p, ["Consent"], how) for p, how in targets], reason)
        return found
