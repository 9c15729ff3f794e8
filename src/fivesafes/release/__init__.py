"""release: reviewed, signed, logged release of checked outputs (the last of the Five Safes:
safe outputs).

An analyst asks for files with :func:`request_release` (only moderately sensitive outputs of a
completed store job, checked automatically against everything the project released before); two
independent output checkers vote with :func:`review_release`, blind to each other until both are
in; :func:`publish_release` then writes the files, their checks and the approvals under the
project's released outputs, in a manifest signed with the environment's key, and feeds the
project's disclosure history. Every step is in the ledger. Start from a :class:`ReleaseOffice`.
"""

from typing import TYPE_CHECKING

from fivesafes.lazy import exports

if TYPE_CHECKING:  # the names offered here, each imported on first use (see fivesafes.lazy)
    from fivesafes.release.files import DEFAULT_RULES, FileKind, FileRefused, FileRules
    from fivesafes.release.manifest import verify_release
    from fivesafes.release.model import (
        FileCheck,
        Outcome,
        ReleaseError,
        ReleaseView,
        State,
        Verdict,
        Vote,
    )
    from fivesafes.release.office import ReleaseOffice
    from fivesafes.release.publish import Publication, publish_release
    from fivesafes.release.requests import (
        check_request_files,
        draft_release,
        request_release,
        submit_release,
    )
    from fivesafes.release.reviews import outcome_of, review_release
    from fivesafes.release.views import list_releases, show_release
else:
    __getattr__, __dir__ = exports(__name__, __file__)

__all__ = [
    "DEFAULT_RULES",
    "FileCheck",
    "FileKind",
    "FileRefused",
    "FileRules",
    "Outcome",
    "Publication",
    "ReleaseError",
    "ReleaseOffice",
    "ReleaseView",
    "State",
    "Verdict",
    "Vote",
    "check_request_files",
    "draft_release",
    "list_releases",
    "outcome_of",
    "publish_release",
    "request_release",
    "review_release",
    "show_release",
    "submit_release",
    "verify_release",
]
