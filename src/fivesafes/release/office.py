"""Where the release workflow keeps things, and who may take each of its steps.

Released outputs are published under ``<data dir>/released/<project>/<release>/``. The true
counts behind them, which differencing needs, stay in ``<data dir>/release-history/<project>/``:
inside the environment, never beside the published files.

Governance has no release-specific actions yet, so each step authenticates with the nearest
existing one and then checks the role itself (see :data:`REQUEST_ACTION`, :data:`REVIEW_ACTION`):
requests are made by analysts on an approved project (the job gate), reviews by output checkers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from fivesafes.disclosure import FileReleaseHistory
from fivesafes.governance import Action, ControlPlane, Principal, Role
from fivesafes.release.files import DEFAULT_RULES, FileRules
from fivesafes.release.tables import create_release_tables
from fivesafes.store.config import DataDir

RELEASED_FOLDER = "released"
HISTORY_FOLDER = "release-history"
REVIEW_ACTION = Action.REGISTER_OWN_KEY
"""The governance action a reviewer authenticates for: held only by deciders with signing keys;
the output_checker role is then required on top."""
VIEW_ACTION = Action.ISSUE_OWN_TOKEN
"""Any verified person; what they may see is decided per request."""


@dataclass
class ReleaseOffice:
    """The release stage of one environment: its control plane, data directory and rules."""

    cp: ControlPlane
    data_dir: DataDir
    file_rules: FileRules = field(default_factory=lambda: DEFAULT_RULES)
    profile: str = "default"

    def __post_init__(self) -> None:
        create_release_tables(self.cp.engine)

    def released_folder(self, project_id: str) -> Path:
        """The project's released outputs: what may be handed out."""
        return self.data_dir.root / RELEASED_FOLDER / project_id

    def history(self, project_id: str) -> FileReleaseHistory:
        """Everything the project has released, with true counts, for differencing."""
        return FileReleaseHistory(self.data_dir.root / HISTORY_FOLDER / project_id)

    def output_checker(self, session: Session, credential: str) -> Principal:
        """Authenticate a reviewer: a decider holding the output_checker role, or refuse."""
        me = self.cp.authenticate(session, credential, REVIEW_ACTION)
        if Role.OUTPUT_CHECKER not in me.roles:
            raise self.cp.refuse(me, REVIEW_ACTION, f"{me.person_id} is not an output checker")
        return me
