"""Roles, the actions each may take, and the one error every refusal raises.

SATRE asks for role-based access with least privilege and separation of duties: the custodian who
creates accounts cannot approve projects (only approvers decide), an approver cannot decide on a
project they are on, and only analysts run jobs. The table here is the whole policy, in one place,
so ``docs/security-model.md`` and the code cannot drift apart silently (a test compares them).
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ANALYST = "analyst"
    OUTPUT_CHECKER = "output_checker"
    DATA_CUSTODIAN = "data_custodian"
    APPROVER = "approver"
    CLINICIAN = "clinician"
    PATIENT = "patient"
    ORG_ADMIN = "org_admin"


class Action(StrEnum):
    MANAGE_ACCOUNTS = "manage_accounts"
    ISSUE_OWN_TOKEN = "issue_own_token"
    REGISTER_OWN_KEY = "register_own_key"
    SUBMIT_PROJECT = "submit_project"
    DECIDE_PROJECT = "decide_project"
    RUN_JOB = "run_job"
    MANAGE_OPT_OUTS = "manage_opt_outs"
    MANAGE_DATA = "manage_data"
    VIEW_OPT_OUT_COUNTS = "view_opt_out_counts"


PERMISSIONS: dict[Action, frozenset[Role]] = {
    Action.MANAGE_ACCOUNTS: frozenset({Role.DATA_CUSTODIAN}),
    Action.ISSUE_OWN_TOKEN: frozenset(Role),
    Action.REGISTER_OWN_KEY: frozenset({Role.APPROVER, Role.OUTPUT_CHECKER, Role.DATA_CUSTODIAN}),
    Action.SUBMIT_PROJECT: frozenset({Role.ANALYST}),
    Action.DECIDE_PROJECT: frozenset({Role.APPROVER}),
    Action.RUN_JOB: frozenset({Role.ANALYST}),
    Action.MANAGE_OPT_OUTS: frozenset({Role.DATA_CUSTODIAN}),
    Action.MANAGE_DATA: frozenset({Role.DATA_CUSTODIAN}),
    Action.VIEW_OPT_OUT_COUNTS: frozenset({Role.DATA_CUSTODIAN}),
}
"""Which roles may take each action (a person may hold several roles)."""


class AccessDenied(PermissionError):
    """The caller may not do this: bad, expired or revoked token or account, or wrong role."""


def allowed(roles: frozenset[Role], action: Action) -> bool:
    return bool(roles & PERMISSIONS[action])
