"""Organisations keeping their own directory entries: Organization, Location, HealthcareService.

An organisation administrator (``org_admin``, with their organisation's ODS code linked to the
account) creates and updates their own organisation's entries, and no one else's: the
Organization must carry their ODS code, and a Location or HealthcareService must belong to it
(``managingOrganization``, ``providedBy``). Each write is a load (the same checks, a new version
in history) and a ``load`` ledger entry with the new content's SHA-256 under a signed checkpoint.
Reading and searching the directory needs no token: it is public information.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb
import orjson

from fivesafes.environment.records import (
    Invalid,
    NotFound,
    Records,
    VersionMismatch,
    caller,
    rejections,
    require_scope,
)
from fivesafes.governance import Action
from fivesafes.governance.access import Caller
from fivesafes.governance.scopes import DIRECTORY_TYPES, Permission
from fivesafes.model.codes import ODS_CODE_SYSTEM
from fivesafes.store import resources as store
from fivesafes.store.database import Store
from fivesafes.store.load import LoadReport
from fivesafes.store.resources import Query, Stored
from fivesafes.store.writes import write_resources

ACTION = Action.MANAGE_DIRECTORY
OWNER_REFERENCE = {"Location": "managingOrganization", "HealthcareService": "providedBy"}


@dataclass(frozen=True)
class Written:
    resource: dict[str, Any]
    version: int
    created: bool


def _ods_of(resource: dict[str, Any]) -> str | None:
    for ident in resource.get("identifier") or []:
        if isinstance(ident, dict) and ident.get("system") == ODS_CODE_SYSTEM:
            value = ident.get("value")
            return value if isinstance(value, str) else None
    return None


def _organisation_of(cur: duckdb.DuckDBPyConnection, ods_code: str) -> str | None:
    row = cur.execute(
        'SELECT id FROM identifiable."Organization" WHERE ods_code = ?', [ods_code]
    ).fetchone()
    return None if row is None else str(row[0])


def _owner_problem(
    cur: duckdb.DuckDBPyConnection, who: Caller, resource: dict[str, Any]
) -> str | None:
    """Why this entry is not the caller's organisation's to write, or None."""
    rtype = resource.get("resourceType")
    if rtype == "Organization":
        if _ods_of(resource) != who.ods_code:
            return f"an Organization written here must carry your ODS code {who.ods_code}"
        existing = store.read(cur, "Organization", str(resource.get("id")))
        if existing is not None and _ods_of(existing.resource) != who.ods_code:
            return f"Organization/{resource.get('id')} belongs to another organisation"
        return None
    element = OWNER_REFERENCE[str(rtype)]
    own = _organisation_of(cur, who.ods_code or "")
    ref = resource.get(element)
    target = ref.get("reference") if isinstance(ref, dict) else None
    if own is None or target != f"Organization/{own}":
        return f"{rtype}.{element} must be your own Organization"
    rid = resource.get("id")
    if rid is not None and store.read(cur, str(rtype), str(rid)) is not None:
        prior = cur.execute(
            f'SELECT organisation_ref FROM identifiable."{rtype}" WHERE id = ?', [rid]
        ).fetchone()
        if prior is not None and prior[0] != own:
            return f"{rtype}/{rid} belongs to another organisation"
    return None


def write(
    records: Records,
    credential: str | None,
    resource: Any,
    *,
    rid: str | None = None,
    if_match: int | None = None,
    today: date | None = None,
) -> Written:
    """Create (``rid`` None) or update one of the caller's organisation's entries."""
    if not isinstance(resource, dict) or resource.get("resourceType") not in DIRECTORY_TYPES:
        raise Invalid(f"the directory holds {', '.join(DIRECTORY_TYPES)} resources")
    rtype = str(resource["resourceType"])
    with records.cp.transaction() as session:
        who = caller(records, session, credential, (ACTION,))
        permission = Permission.UPDATE if rid else Permission.CREATE
        require_scope(records.cp, who, rtype, permission, ACTION)
        if who.ods_code is None:
            raise records.cp.refuse(who.principal, ACTION, "no ODS code is linked to this account")
    entry = dict(resource)
    if rid is not None and entry.get("id") not in (None, rid):
        raise Invalid("the resource's id is not the id in the path")
    entry["id"] = rid or entry.get("id") or uuid.uuid4().hex[:16]
    entry.pop("meta", None)
    with records.reading() as cur:
        problem = _owner_problem(cur, who, entry)
        current = store.read(cur, rtype, entry["id"])
    if problem:
        raise records.cp.refuse(who.principal, ACTION, problem)
    created = current is None or current.deleted
    if rid is None and not created:
        raise Invalid(f"{rtype}/{entry['id']} exists: update it with PUT")
    version = 0 if created or current is None else current.version
    if if_match is not None and if_match != version:
        raise VersionMismatch(f"{rtype}/{entry['id']} is at version {version}, not {if_match}")
    digest = hashlib.sha256(orjson.dumps(entry, option=orjson.OPT_SORT_KEYS)).hexdigest()

    def commit(report: LoadReport, written: Store) -> None:
        problems = rejections(report)
        if problems:
            raise Invalid("the entry fails the environment's checks", problems)
        now = store.read(written.con, rtype, entry["id"])
        if now is not None and not created and now.version == version:
            return  # unchanged: nothing to log
        subject = {
            "what": "directory",
            "resource": f"{rtype}/{entry['id']}",
            "ods_code": who.ods_code,
            "content_sha256": digest,
        }
        records.cp.log("load", subject, who.person_id)

    write_resources(records.data_dir, [entry], label="directory", today=today, before_commit=commit)
    records.cp.ledger.checkpoint()
    with records.reading() as cur:
        stored = store.read(cur, rtype, entry["id"])
    assert stored is not None
    return Written(stored.resource, stored.version, created)


def read(records: Records, rtype: str, rid: str) -> Stored:
    """A directory entry: public."""
    if rtype not in DIRECTORY_TYPES:
        raise NotFound(f"the directory holds no {rtype}")
    with records.reading() as cur:
        found = store.read(cur, rtype, rid)
    if found is None or found.deleted:
        raise NotFound(f"{rtype}/{rid} is not in the directory")
    return found


def search(records: Records, query: Query) -> tuple[int, list[Stored]]:
    """Search the directory: public."""
    if query.rtype not in DIRECTORY_TYPES:
        raise NotFound(f"the directory holds no {query.rtype}")
    with records.reading() as cur:
        return store.search(cur, query)
