"""``/api/v1/``: the management API — applications, projects, jobs, outputs and their
disclosure checks, release requests and publication, the catalogue, code lists and the public
ledger.

Each route parses, calls one use case of the environment layer with the caller's bearer token,
and renders what comes back; a :class:`~fivesafes.environment.Refused` (already in the ledger)
is an RFC 9457 problem (:mod:`fivesafes.api.errors`). What the command line signs with a key
kept on the decider's own machine (an approver's decision, an output checker's vote) is not
offered here: the environment signs the statement as it decides, so the key would have to be
on the server (docs/api.md says so).
"""

from __future__ import annotations

from fastapi import APIRouter

from fivesafes.api.management import catalogue, codelists, jobs, ledger, projects, releases
from fivesafes.api.management.responses import MANAGEMENT_RESPONSES

router = APIRouter(prefix="/api/v1", responses=MANAGEMENT_RESPONSES)
for _area in (projects, jobs, releases, catalogue, codelists, ledger):
    router.include_router(_area.router)
