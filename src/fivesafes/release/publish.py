"""Publishing an approved request: the files, their checks and approvals, signed, then logged.

Nothing is published on the strength of the state column alone: the two approvals are re-checked
(distinct reviewers, not the requester, signatures valid against their registered keys, for this
exact request), every file must still have the bytes it was requested with, and every table is
checked again against everything released from the data since — another release may have made a
table that was safe yesterday a differencing risk today. A table that failed a fixable rule is
published as the checker's safe version, never as written. What goes out joins the release
history, with its release and project, as one unit keyed by the release (written whole, once),
so the next request of any project is checked against it.

Publication survives a kill at any point (:func:`publish_release` says in what order it writes):
a folder is published by one rename of a complete, signed staging copy, the ``release`` entry is
promised by an ``intent`` entry before that rename, and recovery completes or undoes what a kill
cut short (:func:`release_resolved`). A published folder is never removed.
"""

from __future__ import annotations

import base64
import shutil
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from fivesafes.disclosure import (
    CheckReport,
    FileReleaseHistory,
    check_file,
)
from fivesafes.failpoints import failpoint
from fivesafes.governance import Principal, Role
from fivesafes.governance.signing import signature_valid
from fivesafes.governance.tables import PersonKey
from fivesafes.jobs.hashing import file_sha256
from fivesafes.ledger import Receipt
from fivesafes.ledger.intents import Intent
from fivesafes.ledger.keys import KEY_FILE, read_key
from fivesafes.ledger.note import NoteSigner
from fivesafes.release.files import FileKind
from fivesafes.release.manifest import FORMAT, MANIFEST_FILE, sign_manifest
from fivesafes.release.model import Outcome, ReleaseError, State, Verdict
from fivesafes.release.office import HISTORY_FOLDER, VIEW_ACTION, ReleaseOffice
from fivesafes.release.requests import kept_contributions, sha256_text
from fivesafes.release.reviews import VOTES_NEEDED
from fivesafes.release.summary import SummaryItem, draw_summary
from fivesafes.release.tables import ReleaseFileRow, ReleaseRequestRow, ReleaseVoteRow

CHECKS_FOLDER = "checks"
SUMMARY_FILE = "summary.png"
PARTIAL_SUFFIX = ".partial"
PENDING_FOLDER = ".pending"
"""Under the release history: the true counts of publications under way (no project id starts
with a dot, so it cannot be a project's history)."""
OPERATION = "release"
RETURN = "review"
"""The recoverable operations here, named by the kind of their outcome entry."""


@dataclass(frozen=True)
class Publication:
    """A published release: where it is, what went out (path → SHA-256) and the receipt."""

    release_id: str
    folder: Path
    files: dict[str, str]
    receipt: Receipt
    already: bool = False
    """Published by an earlier call: this one changed nothing."""


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
    history = office.batch_history()
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
            given = kept_contributions(study, row.path, row.job_id)
            report = check_file(source, office.profile, history, contributions_file=given)
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
    """Send the request back for changes: a recoverable ``review`` operation of its own."""
    cp = office.cp
    note = "\n".join(problems)
    with cp.operation(RETURN, release_id, partial(return_committed, office)) as operation:
        with cp.transaction() as session:
            request = session.get(ReleaseRequestRow, release_id, with_for_update=True)
            assert request is not None
            subject = {
                "release_id": release_id,
                "decision": State.RETURNED.value,
                "reason_sha256": sha256_text(note),
            }
            operation.intend(subject, "release")
            failpoint("publish.return-after-intent")
            request.state = State.RETURNED.value
            request.note = note
            request.updated_at = cp.now()
        failpoint("publish.return-after-commit")
        operation.commit()


def return_committed(office: ReleaseOffice, intent: Intent) -> bool:
    """Recovery's look at a return for changes: is the request returned with that very note?"""
    with office.cp.transaction() as session:
        request = session.get(ReleaseRequestRow, intent.key)
        return (
            request is not None
            and request.state == State.RETURNED.value
            and sha256_text(request.note) == intent.outcome["reason_sha256"]
        )


def _staging(folder: Path) -> Path:
    """Where a publication is assembled: beside its folder, so one rename publishes it."""
    return folder.with_name(f"{folder.name}{PARTIAL_SUFFIX}")


def _pending_history(office: ReleaseOffice, release_id: str) -> FileReleaseHistory:
    """The true counts of a publication under way, kept inside the environment (never beside
    the files) until the publication is made; then they join the data's history."""
    return FileReleaseHistory(office.data_dir.root / HISTORY_FOLDER / PENDING_FOLDER / release_id)


def _move_history(
    pending: FileReleaseHistory, history: FileReleaseHistory, project_id: str, release_id: str
) -> None:
    """Add the release's pending tables to the history as one unit keyed by the release, so
    however often this is interrupted and run again the release is there once, whole. The
    pending unit goes only after the request's state says released, so it is missing only
    when the history already has the release."""
    tables = pending.recorded(release_id)
    if tables is None:
        if history.recorded(release_id) is None:
            raise ReleaseError(
                f"{release_id} is published but its pending history is gone and the release "
                "history does not hold it: restore the pending history before going on"
            )
        return
    history.record_release(release_id, project_id, tables, before_rename=_history_renaming)


def _history_renaming() -> None:
    """Between the history unit's write and its rename: a kill test kills here."""
    failpoint("publish.history-before-rename")


def _complete(office: ReleaseOffice, project_id: str, release_id: str) -> None:
    """Finish a publication whose folder is in place: its history, then the request's state."""
    pending = _pending_history(office, release_id)
    _move_history(pending, office.history(), project_id, release_id)
    failpoint("publish.after-history")
    cp = office.cp
    with cp.transaction() as session:
        row = session.get(ReleaseRequestRow, release_id, with_for_update=True)
        assert row is not None
        if row.state == State.APPROVED.value:
            row.state = State.RELEASED.value
            row.updated_at = cp.now()
        elif row.state != State.RELEASED.value:
            raise ReleaseError(f"{release_id} is published but the control plane says {row.state}")
    failpoint("publish.after-state")
    shutil.rmtree(pending.folder, ignore_errors=True)


def _discard(office: ReleaseOffice, project_id: str, release_id: str) -> None:
    """Remove what an unpublished attempt left: its staging folder and pending history."""
    folder = office.released_folder(project_id) / release_id
    shutil.rmtree(_staging(folder), ignore_errors=True)
    shutil.rmtree(_pending_history(office, release_id).folder, ignore_errors=True)


def release_resolved(office: ReleaseOffice, intent: Intent) -> bool:
    """Recovery's look at a publication: made if its folder holds the manifest the intent named.

    Then the history and the request's state are completed (the folder may already have been
    handed out, so the publication stands); otherwise the staging copy is removed. A published
    folder is never removed here or anywhere else.
    """
    project_id, release_id = intent.outcome["project_id"], intent.key
    manifest = office.released_folder(project_id) / release_id / MANIFEST_FILE
    if manifest.is_file() and file_sha256(manifest) == intent.outcome["manifest_sha256"]:
        _complete(office, project_id, release_id)
        return True
    _discard(office, project_id, release_id)
    return False


def _stage(
    office: ReleaseOffice,
    request: ReleaseRequestRow,
    prepared: list[_Prepared],
    signed: list[dict[str, Any]],
    staging: Path,
) -> list[dict[str, Any]]:
    """Write the files, their checks, the summary and the signed manifest into ``staging``."""
    signer = _environment_signer(office)
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
    draw_summary(staging / SUMMARY_FILE, request.release_id, items)
    manifest = {
        "format": FORMAT,
        "release_id": request.release_id,
        "project_id": request.project_id,
        "requester": request.requester,
        "request_sha256": request.request_sha256,
        "justification_sha256": sha256_text(request.justification),
        "published_at": office.cp.now().isoformat(),
        "profile": office.profile,
        "files": entries,
        "summary": SUMMARY_FILE,
        "approvals": signed,
    }
    sign_manifest(staging, manifest, signer)
    return entries


def _approved(
    office: ReleaseOffice, credential: str, release_id: str
) -> tuple[Principal, ReleaseRequestRow, list[dict[str, Any]], list[ReleaseFileRow]]:
    """The caller, checked; the request (approved, or already released); its valid approvals
    and its files."""
    cp = office.cp
    with cp.transaction() as session:
        me = cp.authenticate(session, credential, VIEW_ACTION)
        request = session.get(ReleaseRequestRow, release_id)
        if request is None:
            raise ReleaseError(f"no release request {release_id}")
        if me.person_id != request.requester and Role.OUTPUT_CHECKER not in me.roles:
            raise cp.refuse(me, VIEW_ACTION, "only the requester or an output checker publishes")
        if request.state == State.RELEASED.value:
            return me, request, [], []
        if request.state != State.APPROVED.value:
            raise ReleaseError(f"{release_id} is {request.state}; only approved requests publish")
        signed = approvals(session, request)
        if len(signed) < VOTES_NEEDED:
            raise ReleaseError(f"{release_id} has {len(signed)} valid approval(s), needs two")
        rows = list(
            session.scalars(select(ReleaseFileRow).where(ReleaseFileRow.release_id == release_id))
        )
    return me, request, signed, rows


def _already_published(office: ReleaseOffice, request: ReleaseRequestRow) -> Publication:
    """A retry of a publication that was made: the same folder and the same ledger entry."""
    folder = office.released_folder(request.project_id) / request.release_id
    if not (folder / MANIFEST_FILE).is_file():
        raise ReleaseError(f"{request.release_id} is released but {folder} has no manifest")
    manifest = orjson.loads((folder / MANIFEST_FILE).read_bytes())
    ledger = office.cp.ledger
    index = max(
        row.index
        for row in ledger.public_view().rows
        if row.kind == OPERATION and row.fields.get("release_id") == request.release_id
    )
    files = {f["path"]: f["sha256"] for f in manifest["files"]}
    return Publication(request.release_id, folder, files, ledger.prove(index), already=True)


def publish_release(office: ReleaseOffice, credential: str, release_id: str) -> Publication:
    """Publish an approved request to the project's released outputs; returns where and the
    ledger receipt. The requester or an output checker may do it.

    A recoverable operation (:mod:`fivesafes.ledger.intents`), in this order: the files, checks,
    summary and signed manifest are assembled in a staging folder and the release's tables in
    a pending history unit; the ``intent`` entry names the manifest's hash; one rename publishes the
    folder; the history and the request's state follow; the ``release`` entry closes it. A kill
    anywhere is settled by recovery from the folder (:func:`release_resolved`), and publishing a
    released request again returns the same publication: one folder, one manifest, one entry.
    """
    cp = office.cp
    with cp.operation(OPERATION, release_id, partial(release_resolved, office)) as operation:
        me, request, signed, rows = _approved(office, credential, release_id)
        if request.state == State.RELEASED.value:
            return _already_published(office, request)
        folder = office.released_folder(request.project_id) / release_id
        if folder.exists():
            raise ReleaseError(
                f"{folder} exists but {release_id} is not released: it is not this "
                "environment's doing; check it and move it aside before publishing"
            )
        prepared, problems = _recheck(office, request, rows)
        if problems:
            _return(office, release_id, problems)
            raise ReleaseError(f"{release_id} returned for changes:\n" + "\n".join(problems))
        staging = operation.scratch(_staging(folder))
        pending = _pending_history(office, release_id)
        operation.scratch(pending.folder)
        try:
            entries = _stage(office, request, prepared, signed, staging)
            shutil.rmtree(pending.folder, ignore_errors=True)
            records = [r for item in prepared if item.report for r in item.report.records]
            pending.record_release(release_id, request.project_id, records)
            failpoint("publish.before-intent")
            subject = {
                "release_id": release_id,
                "project_id": request.project_id,
                "files": [{"path": e["path"], "sha256": e["sha256"]} for e in entries],
                "manifest_sha256": file_sha256(staging / MANIFEST_FILE),
            }
            operation.intend(subject, me.person_id)
        except BaseException:
            if not operation.pending:
                _discard(office, request.project_id, release_id)
            raise
        failpoint("publish.after-intent")
        staging.replace(folder)
        failpoint("publish.after-rename")
        _complete(office, request.project_id, release_id)
        receipt = operation.commit()
        failpoint("publish.after-outcome")
    return Publication(release_id, folder, {e["path"]: e["sha256"] for e in entries}, receipt)
