"""jobs: a study's pipeline of actions, run in dependency order, sandboxed inside the environment.

``load_project`` reads and checks ``project.yaml``; ``run_project`` runs its actions
(on dummy data, or against the store with every action sandboxed) and records each
job; ``sandbox_available`` says whether bubblewrap can isolate actions here.
"""

from typing import TYPE_CHECKING

from fivesafes.lazy import exports

if TYPE_CHECKING:  # the names offered here, each imported on first use (see fivesafes.lazy)
    from fivesafes.jobs.process import Limits, Usage
    from fivesafes.jobs.project import (
        Action,
        Output,
        Privacy,
        Problem,
        Project,
        ProjectError,
        load_project,
    )
    from fivesafes.jobs.records import (
        FileRecord,
        JobRecord,
        JobRecords,
        JsonJobRecords,
        job_for_output,
    )
    from fivesafes.jobs.runner import (
        Backend,
        JobResult,
        RunInProgress,
        RunOptions,
        run_project,
    )
    from fivesafes.jobs.sandbox import SandboxUnavailable, sandbox_available
else:
    __getattr__, __dir__ = exports(__name__, __file__)

__all__ = [
    "Action",
    "Backend",
    "FileRecord",
    "JobRecord",
    "JobRecords",
    "JobResult",
    "JsonJobRecords",
    "Limits",
    "Output",
    "Privacy",
    "Problem",
    "Project",
    "ProjectError",
    "RunInProgress",
    "RunOptions",
    "SandboxUnavailable",
    "Usage",
    "job_for_output",
    "load_project",
    "run_project",
    "sandbox_available",
]
