"""The portal's job submission: an analyst on an approved project queues a study at a commit of
the repository the approved application names, and follows it on the job's page.

The form is on the project's page; the page here parses it and calls
:func:`fivesafes.environment.jobs.submit_commit`, the use case ``POST /api/v1/projects/{id}/jobs``
calls, so who may submit, which repository is fetched and what the job may read are the
environment's to say. The job is queued, not run, here: a worker inside the environment runs it
(``fivesafes serve`` starts them, or ``fivesafes worker``). A refused submission shows the form
again with the environment's reason, linked to the commit.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fivesafes.environment import Refused, jobs
from fivesafes.web.rendering import STATUS, bad_form, env_of, render, to_sign_in
from fivesafes.web.sessions import csrf_ok, current

router = APIRouter(include_in_schema=False)


@router.post("/my/projects/{project_id}/jobs", response_class=HTMLResponse)
def submit_job(
    request: Request,
    project_id: str,
    commit: Annotated[str, Form()] = "",
    action: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    session = current(request)
    if session is None:
        return to_sign_in()
    if not csrf_ok(session, csrf_token):
        return bad_form(request, f"/my/projects/{project_id}")
    env = env_of(request)
    commit, action = commit.strip(), action.strip()
    try:
        view = jobs.submit_commit(env, session.credential, project_id, commit, action or None)
    except Refused as refused:
        return render(
            request,
            "submit_job.html",
            STATUS.get(refused.kind, 400),
            project_id=project_id,
            commit=commit,
            action=action,
            error=refused.reason,
        )
    return RedirectResponse(f"/my/jobs/{view.job_id}", status_code=303)
