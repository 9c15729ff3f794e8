"""``/api/v1/``: the management API — applications and their signed decisions, projects, jobs,
outputs and their disclosure checks, release requests, signed votes and publication, the
catalogue, code lists and the public ledger.

Each route parses, calls one use case of the environment layer with the caller's bearer token,
and renders what comes back; a :class:`~fivesafes.environment.Refused` (already in the ledger)
is an RFC 9457 problem (:mod:`fivesafes.api.errors`). What is signed with the decider's own key
(an approver's decision, an output checker's vote) takes two calls, so the key never reaches
the server: one prepares the statement, the other brings back its signature
(:mod:`fivesafes.environment.prepared`).
"""

from __future__ import annotations

from fastapi import APIRouter

from fivesafes.api.management import catalogue, codelists, jobs, ledger, projects, releases
from fivesafes.api.management.responses import MANAGEMENT_RESPONSES

router = APIRouter(prefix="/api/v1", responses=MANAGEMENT_RESPONSES)
for _area in (projects, jobs, releases, catalogue, codelists, ledger):
    router.include_router(_area.router)
