"""Publishing an approved request: the files, their checks and approvals, signed, then logged.

Nothing is published on the strength of the state column alone: the two approvals are re-checked
(distinct reviewers, not the requester, signatures valid against their registered keys, for this
exact request), every file must still have the bytes it was requested with, and every table is
checked again against everything the project released since — another release may have made a
table that was safe yesterday a differencing risk today. A table that failed a fixable rule is
published as the checker's safe version, never as written. The true counts of what goes out join
the project's release history, so the next request is checked against it.
"""

from __future__ import annotations

import base64
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from fivesafes.disclosure import CheckReport, check_file
from fivesafes.governance import Role
from fivesafes.governance.signing import signature_valid
from fivesafes.governance.tables import PersonKey
from fivesafes.jobs.hashing import file_sha256
from fivesafes.ledger import Receipt
from fivesafes.ledger.keys import KEY_FILE, read_key
from fivesafes.ledger.note import NoteSigner
from fivesafes.release.files import FileKind
from fivesafes.release.manifest import FORMAT, MANIFEST_FILE, sign_manifest
from fivesafes.release.model import Outcome, ReleaseError, State, Verdict
from fivesafes.release.office import VIEW_ACTION, ReleaseOffice
from fivesafes.release.requests import sha256_text
from fivesafes.release.reviews import VOTES_NEEDED
from fivesafes.release.summary import SummaryItem, draw_summary
from fivesafes.release.tables import ReleaseFileRow, ReleaseRequestRow, ReleaseVoteRow

CHECKS_FOLDER = "checks"
SUMMARY_FILE = "summary.png"


@dataclass(frozen=True)
class Publication:
    """A published release: where it is, what went out (path → SHA-256) and the receipt."""

    release_id: str
    folder: Path
    files: dict[str, str]
    receipt: Receipt


def approvals(session: Session, request: ReleaseRequestRow) -> list[dict[str, Any]]:
    """The approving votes that verify: distinct reviewers other than the requester, each
    signed with their registered key over this request's hash."""
    found: dict[str, dict[str, Any]] = {}
    rows = session.scalars(
        select(ReleaseVoteRow).where(ReleaseVoteRow.release_id == request.release_id)
    )
    for vote in rows:
        statement = orjson.loads(vote.statement)
        key = session.get(PersonKey, vote.key_id)
        if (
            key is None
            or vote.verdict != Verdict.APPROVE.value
            or vote.person_id == request.requester
            or not key.person_id == vote.person_id == statement["person_id"]
            or statement["request_sha256"] != request.request_sha256
            or statement["decision"] != Verdict.APPROVE.value
            or not signature_valid(key.public_key, statement, vote.signature)
        ):
            continue
        found[vote.person_id] = {
            "statement": statement,
            "signature": vote.signature,
            "public_key": base64.b64encode(key.public_key).decode(),
        }
    return list(found.values())


def _environment_signer(office: ReleaseOffice) -> NoteSigner:
    """The ledger's own key, refused unless it is the key the ledger says is current."""
    signer = NoteSigner(office.cp.origin, read_key(office.data_dir.key_file.parent / KEY_FILE))
    if signer.verifier != office.cp.ledger.verifier:
        raise ReleaseError("the environment key on disk is not the ledger's current key")
    return signer


@dataclass(frozen=True)
class _Prepared:
    row: ReleaseFileRow
    source: Path
    report: CheckReport | None
    published_as: str


def _recheck(
    office: ReleaseOffice, request: ReleaseRequestRow, rows: list[ReleaseFileRow]
) -> tuple[list[_Prepared], list[str]]:
    """Each file still as requested, each table checked again against today's history and
    the files before it in the request (they leave together)."""
    study = Path(request.study)
    history = office.batch_history(request.project_id)
    prepared: list[_Prepared] = []
    problems: list[str] = []
    for row in rows:
        source = study / row.path
        if not source.is_file() or file_sha256(source) != row.sha256:
            problems.append(f"{row.path}: changed or removed since it was requested")
            continue
        report = None
        published_as = "original"
        if row.kind == FileKind.TABLE.value:
            report = check_file(source, office.profile, history)
            if not report.releasable:
                problems.append(f"{row.path}: no longer releasable\n{report.to_text()}")
                continue
            for record in report.records:
                history.record(record)
            if not report.passed:
                published_as = "safe_version"
                if row.outcome == Outcome.PASSED.value:
                    problems.append(f"{row.path}: now fails checks it passed when requested")
        prepared.append(_Prepared(row, source, report, published_as))
    return prepared, problems


def _write(folder: Path, item: _Prepared) -> Path:
    target = folder / item.row.path
    target.parent.mkdir(parents=True, exist_ok=True)
    if item.published_as == "safe_version":
        assert item.report is not None and item.report.safe is not None
        item.report.safe.write_csv(target)
    else:
        shutil.copyfile(item.source, target)
    return target


def _return(office: ReleaseOffice, release_id: str, problems: list[str]) -> None:
    cp = office.cp
    with cp.transaction() as session:
        request = session.get(ReleaseRequestRow, release_id)
        assert request is not None
        request.state = State.RETURNED.value
        request.note = "\n".join(problems)
        request.updated_at = cp.now()
        subject = {"release_id": release_id, "decision": State.RETURNED.value}
        cp.log("review", {**subject, "reason_sha256": sha256_text(request.note)}, "release")


def publish_release(office: ReleaseOffice, credential: str, release_id: str) -> Publication:
    """Publish an approved request to the project's released outputs; returns where and the
    ledger receipt. The requester or an output checker may do it."""
    cp = office.cp
    with cp.transaction() as session:
        me = cp.authenticate(session, credential, VIEW_ACTION)
        request = session.get(ReleaseRequestRow, release_id)
        if request is None:
            raise ReleaseError(f"no release request {release_id}")
        if me.person_id != request.requester and Role.OUTPUT_CHECKER not in me.roles:
            raise cp.refuse(me, VIEW_ACTION, "only the requester or an output checker publishes")
        if request.state != State.APPROVED.value:
            raise ReleaseError(f"{release_id} is {request.state}; only approved requests publish")
        signed = approvals(session, request)
        if len(signed) < VOTES_NEEDED:
            raise ReleaseError(f"{release_id} has {len(signed)} valid approval(s), needs two")
        rows = list(
            session.scalars(select(ReleaseFileRow).where(ReleaseFileRow.release_id == release_id))
        )
    prepared, problems = _recheck(office, request, rows)
    if problems:
        _return(office, release_id, problems)
        raise ReleaseError(f"{release_id} returned for changes:\n" + "\n".join(problems))
    signer = _environment_signer(office)
    folder = office.released_folder(request.project_id) / release_id
    staging = folder.with_name(f"{release_id}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / CHECKS_FOLDER).mkdir(parents=True)
    entries, items = [], []
    for item in prepared:
        target = _write(staging, item)
        report = item.report.to_dict() if item.report else orjson.loads(item.row.report)
        check_path = f"{CHECKS_FOLDER}/{item.row.path.replace('/', '__')}.json"
        (staging / check_path).write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
        entries.append(
            {
                "path": item.row.path,
                "sha256": file_sha256(target),
                "source_sha256": item.row.sha256,
                "job_id": item.row.job_id,
                "kind": item.row.kind,
                "published_as": item.published_as,
                "check_report": check_path,
                "check_report_sha256": file_sha256(staging / check_path),
                "exception_sha256": sha256_text(item.row.exception),
            }
        )
        items.append(SummaryItem(item.row.path, target, report))
    draw_summary(staging / SUMMARY_FILE, release_id, items)
    manifest = {
        "format": FORMAT,
        "release_id": release_id,
        "project_id": request.project_id,
        "requester": request.requester,
        "request_sha256": request.request_sha256,
        "justification_sha256": sha256_text(request.justification),
        "published_at": cp.now().isoformat(),
        "profile": office.profile,
        "files": entries,
        "summary": SUMMARY_FILE,
        "approvals": signed,
    }
    sign_manifest(staging, manifest, signer)
    history = office.history(request.project_id)
    try:
        with cp.transaction() as session:
            row = session.get(ReleaseRequestRow, release_id, with_for_update=True)
            assert row is not None
            if row.state != State.APPROVED.value:
                raise ReleaseError(f"{release_id} is {row.state}; only approved requests publish")
            staging.replace(folder)
            for item in prepared:
                for record in item.report.records if item.report else ():
                    history.record(record)
            row.state = State.RELEASED.value
            row.updated_at = cp.now()
            subject = {
                "release_id": release_id,
                "project_id": request.project_id,
                "files": [{"path": e["path"], "sha256": e["sha256"]} for e in entries],
                "manifest_sha256": file_sha256(folder / MANIFEST_FILE),
            }
            receipt = cp.log("release", subject, me.person_id)
    except BaseException:
        shutil.rmtree(folder if folder.exists() else staging, ignore_errors=True)
        raise
    return Publication(release_id, folder, {e["path"]: e["sha256"] for e in entries}, receipt)
