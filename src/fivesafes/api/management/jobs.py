"""Jobs and their outputs: submit a study by commit, a project's jobs, one job, its log, its
outputs, and the disclosure checks of outputs before a release is asked for.

A submission answers at once with the job queued (:func:`fivesafes.environment.jobs.submit_commit`):
a worker inside the environment runs it (``fivesafes serve`` starts them, or ``fivesafes
worker``), and the caller follows it by its status and log, or cancels it.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path

from fivesafes.api.deps import CallerDep, EnvironmentDep
from fivesafes.api.management import models
from fivesafes.api.management.projects import ProjectId
from fivesafes.environment import jobs, releases
from fivesafes.jobs import Limits

router = APIRouter(tags=["jobs"])
JobId = Annotated[str, Path(pattern=models.NAME, description="The job's id")]
MIB = 1024 * 1024


def _limits(given: models.JobSubmission) -> Limits:
    """The limits asked for; those not given keep their defaults (the project's ceiling lowers
    them in the environment)."""
    asked: dict[str, float] = {}
    if given.cpu_cores is not None:
        asked["cpu_cores"] = given.cpu_cores
    if given.memory_mb is not None:
        asked["memory_bytes"] = given.memory_mb * MIB
    if given.wall_seconds is not None:
        asked["wall_seconds"] = given.wall_seconds
    return Limits(**asked)  # type: ignore[arg-type]


@router.post(
    "/projects/{project_id}/jobs",
    status_code=202,
    summary="Queue a study to run on the project's data, inside the environment (a member)",
    description="The study is the commit given of the repository the project's approved "
    "application names; the environment fetches it itself. Answers at once with the job "
    "queued; a worker runs it.",
)
def submit(
    project_id: ProjectId, given: models.JobSubmission, env: EnvironmentDep, caller: CallerDep
) -> models.Job:
    view = jobs.submit_commit(env, caller, project_id, given.commit, given.action, _limits(given))
    return models.Job.model_validate(view)


@router.post(
    "/jobs/{job_id}/cancellation",
    summary="Cancel a job (its submitter, a member of its project or the custodian)",
    description="A queued job ends cancelled at once; a running one is stopped by its worker "
    "at its next heartbeat. A job that has already ended cannot be cancelled.",
)
def cancel(job_id: JobId, env: EnvironmentDep, caller: CallerDep) -> models.Job:
    return models.Job.model_validate(jobs.cancel(env, caller, job_id))


@router.get("/projects/{project_id}/jobs", summary="A project's jobs, oldest first")
def listing(
    project_id: ProjectId, env: EnvironmentDep, caller: CallerDep
) -> list[models.JobRecord]:
    return [models.JobRecord.model_validate(j) for j in jobs.listing(env, caller, project_id)]


@router.get("/jobs/{job_id}", summary="A job: its state, its actions and its outputs")
def status(job_id: JobId, env: EnvironmentDep, caller: CallerDep) -> models.Job:
    return models.Job.model_validate(jobs.status(env, caller, job_id))


@router.get("/jobs/{job_id}/log", summary="What the environment did for a job, step by step")
def log(job_id: JobId, env: EnvironmentDep, caller: CallerDep) -> models.JobLog:
    return models.JobLog(job_id=job_id, log=jobs.log(env, caller, job_id))


@router.get(
    "/jobs/{job_id}/codelists",
    summary="The code lists a job used, the published version each is, and any warning",
)
def codelists(job_id: JobId, env: EnvironmentDep, caller: CallerDep) -> list[models.ListCheck]:
    return [
        models.ListCheck(
            codelist=c.codelist,
            table=c.table,
            column=c.column,
            codes=c.codes,
            published=[
                models.PublishedAs(
                    slug=s, version=v, published_by=by, published_on=date.fromisoformat(on)
                )
                for s, v, by, on in c.published
            ],
            too_few=c.too_few,
            threshold=c.threshold,
        )
        for c in jobs.codelist_checks(env, caller, job_id)
    ]


@router.get(
    "/jobs/{job_id}/outputs",
    summary="The files a job made, by name, privacy and hash (never their bytes)",
)
def outputs(job_id: JobId, env: EnvironmentDep, caller: CallerDep) -> list[models.JobOutput]:
    return [models.JobOutput.model_validate(o) for o in jobs.status(env, caller, job_id).outputs]


@router.post(
    "/projects/{project_id}/jobs/{job_id}/disclosure-checks",
    summary="Would these outputs be accepted for release, and what do the checks say?",
    description="The dry run before a release request: each file's automatic disclosure "
    "checks against everything released from the data (a member of the approved project).",
)
def disclosure_checks(
    project_id: ProjectId,
    job_id: JobId,
    given: models.DisclosureCheckRequest,
    env: EnvironmentDep,
    caller: CallerDep,
) -> list[models.FileCheck]:
    found = releases.check(env, caller, project_id, job_id, given.files, given.exceptions)
    return [models.FileCheck.model_validate(f) for f in found]
