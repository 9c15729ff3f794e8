"""Asking for outputs to be released: only checked, vouched-for, moderately sensitive files.

A file may be requested only if it is an output of a job held inside the environment (the job's
copy of the study under the data directory's ``jobs/``, never a folder in anyone's hands), the
study declares it ``moderately_sensitive``, a completed job run against the store wrote exactly
these bytes (its hash is in the job record), and it is a plain file of an allowed type and size
with no ``patient_id`` column. The automatic disclosure checks
run now, against everything the project has already released, and their report goes into the
request for the reviewers; a file that failed a rule needs a written exception to go further.
Rules that nothing can fix (differencing, recoverable suppressions, too few degrees of freedom)
refuse the file outright: a reviewer's signature cannot make a disclosure safe.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Any

import orjson
from sqlalchemy import select

from fivesafes.disclosure import CheckReport, ReleaseHistory, TableError, check_file
from fivesafes.disclosure.charts import ChartRefused, check_chart
from fivesafes.disclosure.config import profile as named_profile
from fivesafes.disclosure.magnitude import contributions_path
from fivesafes.jobs import (
    JobRecord,
    JsonJobRecords,
    Privacy,
    ProjectError,
    load_project,
)
from fivesafes.jobs.hashing import file_sha256
from fivesafes.jobs.records import METADATA_DIR, job_for_output
from fivesafes.ledger import Receipt
from fivesafes.release.files import FileKind, FileRefused, check_release_file
from fivesafes.release.model import FileCheck, Outcome, ReleaseError, State
from fivesafes.release.office import ReleaseOffice
from fivesafes.release.tables import ReleaseFileRow, ReleaseRequestRow

STORE_BACKEND = "store"


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _relative(study: Path, file: Path | str) -> str:
    """The file's path inside the study, as the job records name it; refuse one outside."""
    candidate = Path(file)
    full = candidate if candidate.is_absolute() else study / candidate
    try:
        return PurePosixPath(full.resolve().relative_to(study.resolve())).as_posix()
    except ValueError:
        raise ReleaseError(f"{file}: not inside the study folder {study}") from None


def _vouched_job(study: Path, path: str, records: JsonJobRecords) -> JobRecord:
    """The completed store job that wrote exactly this file, declared moderately sensitive."""
    try:
        project = load_project(study)
    except ProjectError as exc:
        raise ReleaseError(f"the study's project.yaml has problems:\n{exc}") from None
    declared = {o.path.as_posix(): o for o in project.outputs}
    output = declared.get(path)
    if output is None:
        raise ReleaseError(f"{path}: not declared as an output of any action in project.yaml")
    if output.privacy is Privacy.HIGHLY_SENSITIVE:
        raise ReleaseError(
            f"{path}: declared highly_sensitive by action '{output.action}'; "
            "highly sensitive outputs never leave the environment"
        )
    job = job_for_output(records, study, path)
    if job is None:
        raise ReleaseError(
            f"{path}: no completed job wrote this file as it is now (missing, changed since, or "
            "from a failed run); run the study again with `fivesafes submit`"
        )
    written = next(o for o in job.outputs if o.path == path)
    if written.privacy != Privacy.MODERATELY_SENSITIVE.value:
        raise ReleaseError(
            f"{path}: job {job.job_id} wrote it as {written.privacy}, not moderately_sensitive"
        )
    if job.backend != STORE_BACKEND:
        raise ReleaseError(
            f"{path}: made by job {job.job_id} on {job.backend} data; only outputs of jobs run "
            "against the store (`fivesafes submit`) can be released"
        )
    return job


def _table_check(
    file: Path, path: str, profile: str, history: ReleaseHistory, given: Path | None
) -> tuple[Outcome, CheckReport]:
    try:
        report = check_file(file, profile, history, contributions_file=given)
    except TableError as exc:
        raise ReleaseError(f"{path}: cannot be checked as a table: {exc}") from None
    if not report.releasable:
        raise ReleaseError(f"{path}: not releasable; change the output\n{report.to_text()}")
    return (Outcome.PASSED if report.passed else Outcome.SAFE_VERSION), report


def kept_contributions(study: Path, path: str, job_id: str) -> Path | None:
    """The contributions behind a requested table of statistics, as ``_contributions``, for
    the job named by its id (how publishing finds them again)."""
    records = JsonJobRecords(study / METADATA_DIR).history()
    job = next((r for r in records if r.job_id == job_id), None)
    return None if job is None else _contributions(study, path, job)


def _contributions(study: Path, path: str, job: JobRecord) -> Path | None:
    """The contributions behind a table of statistics, if the same job kept them as a highly
    sensitive output with the bytes now on disk; else None (the checks then say so)."""
    kept = contributions_path(Path(path)).as_posix()
    record = next((o for o in job.outputs if o.path == kept), None)
    file = study / kept
    if record is None or record.privacy != Privacy.HIGHLY_SENSITIVE.value or not file.is_file():
        return None
    return file if file_sha256(file) == record.sha256 else None


def _text_report(path: str) -> dict[str, Any]:
    return {
        "output": path,
        "kind": "text",
        "passed": False,
        "releasable": True,
        "rules": [],
        "safe_table": None,
        "notes": ["not a table: no rule can read it, so the reviewers check it by eye"],
    }


def check_request_files(
    office: ReleaseOffice,
    project_id: str,
    study: Path,
    files: Sequence[Path | str],
    exceptions: Mapping[str, str] | None = None,
) -> list[FileCheck]:
    """Every gate a file passes before it can be requested, and its automatic checks; raises
    ``ReleaseError`` naming the first file refused. Nothing is recorded: this is the dry run an
    analyst sees before asking (``fivesafes release check``)."""
    if not files:
        raise ReleaseError("name at least one file to release")
    if not study.resolve().is_relative_to(office.data_dir.jobs.resolve()):
        raise ReleaseError(
            f"{study}: only the outputs of a job held in the environment can be released, not "
            "files in a folder of your own; submit the study with `fivesafes submit`"
        )
    records = JsonJobRecords(study / METADATA_DIR)
    history = office.batch_history()
    exceptions = {_relative(study, k): v for k, v in (exceptions or {}).items()}
    found: list[tuple[str, JobRecord, FileKind]] = []
    for file in files:
        path = _relative(study, file)
        if any(p == path for p, _, _ in found):
            raise ReleaseError(f"{path}: named twice")
        job = _vouched_job(study, path, records)
        try:
            kind = check_release_file(study / path, path, office.file_rules)
        except FileRefused as exc:
            raise ReleaseError(str(exc)) from None
        found.append((path, job, kind))
    unknown = sorted(set(exceptions) - {p for p, _, _ in found})
    if unknown:
        raise ReleaseError(f"exception given for a file not in the request: {', '.join(unknown)}")
    checks: list[FileCheck] = []
    tables: dict[str, tuple[Path, CheckReport]] = {}
    for path, job, kind in sorted(found, key=lambda f: f[2] is FileKind.CHART):
        written = next(o for o in job.outputs if o.path == path)
        if kind is FileKind.TABLE:
            given = _contributions(study, path, job)
            outcome, report = _table_check(study / path, path, office.profile, history, given)
            for record in report.records:
                history.record(record)
            tables[path] = (study / path, report)
            data = report.to_dict()
        elif kind is FileKind.CHART:
            try:
                data = check_chart(study / path, path, tables, named_profile(office.profile))
            except ChartRefused as exc:
                raise ReleaseError(str(exc)) from None
            outcome = Outcome.PASSED
        else:
            outcome, data = Outcome.REVIEW_ONLY, _text_report(path)
        check = FileCheck(path, written.sha256, written.size, job.job_id, kind, outcome, data)
        checks.append(replace(check, exception=exceptions.get(path, "").strip()))
    return checks


def request_digest(project_id: str, justification: str, checks: Sequence[FileCheck]) -> str:
    """What reviewers sign: the project, the justification and each file's bytes and report."""
    document = {
        "project_id": project_id,
        "justification_sha256": sha256_text(justification),
        "files": [
            {
                "path": c.path,
                "sha256": c.sha256,
                "job_id": c.job_id,
                "outcome": c.outcome.value,
                "report_sha256": hashlib.sha256(
                    orjson.dumps(c.report, option=orjson.OPT_SORT_KEYS)
                ).hexdigest(),
                "exception_sha256": sha256_text(c.exception),
            }
            for c in checks
        ],
    }
    return hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _require_exceptions(checks: Sequence[FileCheck]) -> None:
    missing = [c.path for c in checks if c.needs_exception and not c.exception]
    if missing:
        raise ReleaseError(
            "these files did not pass every automatic check; give a written exception saying "
            f"why each should still be considered: {', '.join(missing)}"
        )


def _file_row(release_id: str, check: FileCheck) -> ReleaseFileRow:
    return ReleaseFileRow(
        release_id=release_id,
        path=check.path,
        sha256=check.sha256,
        size=check.size,
        job_id=check.job_id,
        kind=check.kind.value,
        outcome=check.outcome.value,
        report=orjson.dumps(check.report).decode(),
        exception=check.exception,
    )


def _log_submission(
    office: ReleaseOffice, row: ReleaseRequestRow, checks: Sequence[FileCheck]
) -> Receipt:
    subject = {
        "release_id": row.release_id,
        "project_id": row.project_id,
        "job_id": sorted({c.job_id for c in checks}),
        "files": [{"path": c.path, "sha256": c.sha256, "outcome": c.outcome.value} for c in checks],
        "request_sha256": row.request_sha256,
        "justification_sha256": sha256_text(row.justification),
    }
    return office.cp.log("release_request", subject, row.requester)


def _create(
    office: ReleaseOffice,
    credential: str,
    project_id: str,
    study: Path,
    files: Sequence[Path | str],
    justification: str,
    exceptions: Mapping[str, str] | None,
    state: State,
) -> tuple[str, Receipt | None]:
    justification = justification.strip()
    if not justification:
        raise ReleaseError("say why these outputs should be released (--justification)")
    me = office.requester(credential, project_id)
    checks = check_request_files(office, project_id, study, files, exceptions)
    if state is State.SUBMITTED:
        _require_exceptions(checks)
    cp = office.cp
    with cp.transaction() as session:
        release_id = f"rel-{secrets.token_hex(4)}"
        while session.get(ReleaseRequestRow, release_id) is not None:
            release_id = f"rel-{secrets.token_hex(4)}"
        row = ReleaseRequestRow(
            release_id=release_id,
            project_id=project_id,
            requester=me.person_id,
            study=str(study.resolve()),
            justification=justification,
            state=state.value,
            note="",
            request_sha256=request_digest(project_id, justification, checks),
            created_at=cp.now(),
            updated_at=cp.now(),
        )
        session.add(row)
        session.flush()
        session.add_all(_file_row(release_id, c) for c in checks)
        session.flush()
        receipt = _log_submission(office, row, checks) if state is State.SUBMITTED else None
    return release_id, receipt


def request_release(
    office: ReleaseOffice,
    credential: str,
    project_id: str,
    study: Path,
    files: Sequence[Path | str],
    justification: str,
    exceptions: Mapping[str, str] | None = None,
) -> tuple[str, Receipt]:
    """Submit a release request; returns its id and the requester's ledger receipt.

    Only a member of the approved, unexpired project with the analyst role may ask (governance
    action ``request_release``). Raises ``ReleaseError`` or ``AccessDenied`` with the reason.
    """
    release_id, receipt = _create(
        office, credential, project_id, study, files, justification, exceptions, State.SUBMITTED
    )
    assert receipt is not None
    return release_id, receipt


def draft_release(
    office: ReleaseOffice,
    credential: str,
    project_id: str,
    study: Path,
    files: Sequence[Path | str],
    justification: str,
    exceptions: Mapping[str, str] | None = None,
) -> str:
    """Keep a request as a draft: checked like a request, seen only by the project, not yet
    in the ledger nor open to reviewers; exceptions may still be missing. Submit it later."""
    release_id, _ = _create(
        office, credential, project_id, study, files, justification, exceptions, State.DRAFT
    )
    return release_id


def submit_release(
    office: ReleaseOffice,
    credential: str,
    release_id: str,
    exceptions: Mapping[str, str] | None = None,
) -> Receipt:
    """Submit a draft (its requester only), with any exceptions still needed. The files must
    still be the bytes drafted; the checks run again, against today's release history."""
    cp = office.cp
    with cp.transaction() as session:
        row = session.get(ReleaseRequestRow, release_id)
        if row is None:
            raise ReleaseError(f"no release request {release_id}")
        drafted = {
            f.path: f
            for f in session.scalars(
                select(ReleaseFileRow).where(ReleaseFileRow.release_id == release_id)
            )
        }
    me = office.requester(credential, row.project_id)
    if me.person_id != row.requester:
        raise ReleaseError(f"only {row.requester}, who drafted {release_id}, may submit it")
    if row.state != State.DRAFT.value:
        raise ReleaseError(f"{release_id} is {row.state}, not a draft")
    given = {**{p: f.exception for p, f in drafted.items() if f.exception}, **(exceptions or {})}
    checks = check_request_files(office, row.project_id, Path(row.study), list(drafted), given)
    changed = [c.path for c in checks if c.sha256 != drafted[c.path].sha256]
    if changed:
        raise ReleaseError(f"changed since the draft: {', '.join(changed)}; draft again")
    _require_exceptions(checks)
    with cp.transaction() as session:
        current = session.get(ReleaseRequestRow, release_id, with_for_update=True)
        assert current is not None
        if current.state != State.DRAFT.value:
            raise ReleaseError(f"{release_id} is {current.state}, not a draft")
        for check in checks:
            stored = session.get(ReleaseFileRow, (release_id, check.path))
            assert stored is not None
            stored.outcome = check.outcome.value
            stored.report = orjson.dumps(check.report).decode()
            stored.exception = check.exception
        current.state = State.SUBMITTED.value
        current.request_sha256 = request_digest(current.project_id, current.justification, checks)
        current.updated_at = cp.now()
        return _log_submission(office, current, checks)
