"""Projects and their applications: the public list and waits, one project, and applying for
one (or revising an application after changes were asked for)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from starlette.exceptions import HTTPException

from fivesafes.api.deps import CallerDep, EnvironmentDep
from fivesafes.api.management import models
from fivesafes.environment import projects
from fivesafes.governance import Application

router = APIRouter(tags=["projects"])
ProjectId = Annotated[str, Path(pattern=models.PROJECT_ID, description="The project's id")]


@router.get("/projects", summary="Every project, its purpose, members and status (public)")
def listing(env: EnvironmentDep) -> list[models.Project]:
    return [models.Project.model_validate(p) for p in projects.listing(env)]


@router.get("/projects/waits", summary="How long applications waited at each step (public)")
def waits(env: EnvironmentDep) -> models.Waits:
    found, summary = projects.waits(env)
    return models.Waits(
        summary={step: {k: float(v) for k, v in s.items()} for step, s in summary.items()},
        waits=[models.Wait.model_validate(w) for w in found],
    )


@router.get("/projects/{project_id}", summary="One project (public)")
def show(project_id: ProjectId, env: EnvironmentDep) -> models.Project:
    for found in projects.listing(env):
        if found.project_id == project_id:
            return models.Project.model_validate(found)
    raise HTTPException(404, f"no project {project_id}")


def _form(given: models.ApplicationForm) -> Application:
    return Application.from_dict(given.model_dump(mode="json"))


@router.post(
    "/projects/{project_id}/application",
    status_code=201,
    summary="Apply for a new project (an analyst, who must be one of its members)",
)
def apply(
    project_id: ProjectId, form: models.ApplicationForm, env: EnvironmentDep, caller: CallerDep
) -> models.Applied:
    version = projects.apply(env, caller, project_id, _form(form))
    return models.Applied(project_id=project_id, version=version)


@router.put(
    "/projects/{project_id}/application",
    summary="Revise an application after an approver asked for changes (a member)",
)
def revise(
    project_id: ProjectId, form: models.ApplicationForm, env: EnvironmentDep, caller: CallerDep
) -> models.Applied:
    version = projects.revise(env, caller, project_id, _form(form))
    return models.Applied(project_id=project_id, version=version)


@router.post(
    "/projects/{project_id}/decision-statements",
    status_code=201,
    summary="Prepare an approver's decision for them to sign with their own key (an approver)",
    description="The exact statement the environment will record, with its canonical bytes to "
    "sign where the key is kept: the key is never sent. Every check of a decision is made now "
    "(an approver, not on the project, the application waiting for a decision); the statement "
    "pins the application's version, the verdict, the reasons' hash, the decider, their key, a "
    "nonce and an expiry.",
)
def prepare_decision(
    project_id: ProjectId,
    given: models.DecisionStatementRequest,
    env: EnvironmentDep,
    caller: CallerDep,
) -> models.PreparedStatement:
    made = projects.decision_statement(
        env, caller, project_id, given.verdict, given.reasons, given.until, given.key_id
    )
    return models.PreparedStatement.of(made)


@router.post(
    "/projects/{project_id}/decisions",
    status_code=201,
    summary="Record a prepared decision with the approver's signature (the same approver)",
    description="Recorded only if the statement is exactly what the environment prepared and "
    "would record now, has not expired, and the signature verifies against the approver's "
    "registered key; then it is in the ledger and on the project's public page.",
)
def record_decision(
    project_id: ProjectId, given: models.SignedDecision, env: EnvironmentDep, caller: CallerDep
) -> models.DecisionRecorded:
    made = projects.signed_decision(
        env, caller, project_id, given.statement, given.reasons, given.signature, given.seal
    )
    return models.DecisionRecorded.model_validate(made)
