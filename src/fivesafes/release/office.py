"""Where the release workflow keeps things, and who may take each of its steps.

Released outputs are published under ``<data dir>/released/<project>/<release>/``. What they
cover, which differencing needs, stays in one ``<data dir>/release-history/`` for every project
released from the data (a subfolder per project): inside the environment, never beside the
published files.

Each step is a governance action, so the roles table (``fivesafes.governance.roles``) is the
whole policy: a request is ``request_release`` (the analyst role, as a member of the approved,
unexpired project), a vote is ``review_output`` (the output_checker role; the conflict check that
the checker is not on the project is the review's own), and looking at requests needs only a
verified account, what each person sees being decided per request. Every refusal names the role
or the condition that was missing, and is a ``login`` entry in the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from fivesafes.disclosure import FileReleaseHistory, MemoryReleaseHistory
from fivesafes.governance import Action, ControlPlane, Principal, authorise_project_member
from fivesafes.release.files import DEFAULT_RULES, FileRules
from fivesafes.release.model import ReleaseError
from fivesafes.release.tables import missing_release_tables
from fivesafes.store.config import DataDir

RELEASED_FOLDER = "released"
HISTORY_FOLDER = "release-history"
REQUEST_ACTION = Action.REQUEST_RELEASE
"""What a requester (or a dry run of a request) authenticates for, as a project member."""
REVIEW_ACTION = Action.REVIEW_OUTPUT
"""What a reviewer authenticates for: held only by output checkers."""
VIEW_ACTION = Action.ISSUE_OWN_TOKEN
"""Any verified person; what they may see is decided per request."""


def release_history(data_dir: DataDir) -> FileReleaseHistory:
    """Where an environment keeps everything released from its data, whatever the project,
    with what each table covers (never with the released files): what every differencing
    check reads, since one project may not subtract another's tables any more than its own."""
    return FileReleaseHistory(data_dir.root / HISTORY_FOLDER)


@dataclass
class ReleaseOffice:
    """The release stage of one environment: its control plane, data directory and rules.

    The control plane's migrations create the release tables (revision 0003) when it is opened;
    an office on a database that has not been migrated that far refuses to start rather than
    make tables behind the migrations' back.
    """

    cp: ControlPlane
    data_dir: DataDir
    file_rules: FileRules = field(default_factory=lambda: DEFAULT_RULES)
    profile: str = "default"

    def __post_init__(self) -> None:
        missing = missing_release_tables(self.cp.engine)
        if missing:
            raise ReleaseError(
                f"the control-plane database has no {', '.join(missing)} table: it is not "
                "migrated to this version; open it with ControlPlane.open, which migrates it"
            )

    def released_folder(self, project_id: str) -> Path:
        """The project's released outputs: what may be handed out."""
        return self.data_dir.root / RELEASED_FOLDER / project_id

    def history(self) -> FileReleaseHistory:
        """Everything released from the data, by every project, for differencing."""
        return release_history(self.data_dir)

    def batch_history(self) -> MemoryReleaseHistory:
        """The history, to which each file of one request is added once checked.

        Files requested together leave together, so each is checked against everything
        released before *and* the files checked before it in the same request: subtracting one
        file of a request from another must expose nothing either.
        """
        return MemoryReleaseHistory(self.history().released())

    def job_of(self, study: str) -> str:
        """The job whose study (``<data dir>/jobs/<job>/study``) a request was made from."""
        try:
            return Path(study).relative_to(self.data_dir.jobs.resolve()).parts[0]
        except (ValueError, IndexError):
            raise ReleaseError(f"{study} is not a job's study in this environment") from None

    def requester(self, credential: str, project_id: str) -> Principal:
        """Authenticate someone asking to release a project's outputs: the analyst role, as a
        member of the approved, unexpired project; or refuse, saying which was missing."""
        return authorise_project_member(self.cp, credential, project_id, REQUEST_ACTION)

    def output_checker(self, session: Session, credential: str) -> Principal:
        """Authenticate a reviewer: the output_checker role, or refuse naming it."""
        return self.cp.authenticate(session, credential, REVIEW_ACTION)
