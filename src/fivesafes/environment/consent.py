"""People's choices as use cases: opt-outs, type-1 objections and consent to shared data.

Loading them is the custodian's (the person, through self-service, later); applying them is not
a use case of its own but part of every extraction (:mod:`.extraction`), so no face can forget.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from fivesafes.environment.refusals import refusing
from fivesafes.governance import (
    ConsentScope,
    OptOutKind,
    OptOutLoad,
    add_opt_out,
    load_opt_outs,
    opt_out_report,
    set_wearable_consent,
)
from fivesafes.governance.optouts import AppliedCount

if TYPE_CHECKING:
    from fivesafes.environment.core import Environment


def load_file(env: Environment, credential: str, path: Path) -> OptOutLoad:
    """Load an opt-out file in one transaction; a bad row loads nothing (custodian)."""
    with refusing(env.cp, "load_opt_outs"):
        return load_opt_outs(env.cp, credential, path)


def add(env: Environment, credential: str, nhs_number: str, kind: OptOutKind) -> bool:
    """Record one person's opt-out (custodian); True if it is new."""
    with refusing(env.cp, "add_opt_out"):
        return add_opt_out(env.cp, credential, nhs_number, kind)


def set_shared_data_consent(
    env: Environment, credential: str, nhs_number: str, scope: ConsentScope, granted: bool
) -> None:
    """Record consent to (or its withdrawal from) use of a person's shared wearable data."""
    with refusing(env.cp, "set_consent"):
        set_wearable_consent(env.cp, credential, nhs_number, scope, granted)


def report(env: Environment, credential: str) -> list[AppliedCount]:
    """How many people opt-outs removed from each extraction (custodian only)."""
    with refusing(env.cp, "opt_out_report"):
        return opt_out_report(env.cp, credential)
