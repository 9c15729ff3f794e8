"""Roles, the actions each may take, the roles no one person may hold together, and the one
error every refusal raises.

SATRE asks for role-based access with least privilege (1.5.03) and for outputs to be released
with approval from people independent of the project (3.1.07, 3.3.05). Per role, the custodian
who creates accounts cannot approve projects (only approvers decide), an approver cannot decide
on a project they are on, only analysts run jobs and request releases (as members of the
project), and only output checkers review outputs (never of a project they are on).

Separation of duties must hold per person too, or one account holding two roles undoes it: so
:data:`INCOMPATIBLE` lists the pairs of roles no one person may combine, each with the reason,
and an account is refused them when it is created or changed and whenever it acts. The tables
here are the whole policy, in one place, so ``docs/security-model.md`` and the code cannot drift
apart silently (a test compares them).
"""

from __future__ import annotations

from collections.abc import Iterable
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
    REQUEST_RELEASE = "request_release"
    REVIEW_OUTPUT = "review_output"
    READ_CARE_RECORD = "read_care_record"
    MANAGE_OWN_RECORD = "manage_own_record"
    MANAGE_DIRECTORY = "manage_directory"
    SIGN_IN = "sign_in"
    GOVERN_PROJECT = "govern_project"
    APPROVE_DATASET = "approve_dataset"
    MANAGE_INCIDENTS = "manage_incidents"
    OPERATE = "operate"
    BUILD_CODELISTS = "build_codelists"


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
    # and, in the release stage, only as a member of the approved project:
    Action.REQUEST_RELEASE: frozenset({Role.ANALYST}),
    # and, in the release stage, never on a project the checker is a member of:
    Action.REVIEW_OUTPUT: frozenset({Role.OUTPUT_CHECKER}),
    # and, in the environment, only for people in the clinician's care (or by break glass):
    Action.READ_CARE_RECORD: frozenset({Role.CLINICIAN}),
    # and only one's own record, details and choices:
    Action.MANAGE_OWN_RECORD: frozenset({Role.PATIENT}),
    # and only one's own organisation's entries:
    Action.MANAGE_DIRECTORY: frozenset({Role.ORG_ADMIN}),
    # set up one's own second factor and sign in with it (fivesafes.governance.mfa):
    Action.SIGN_IN: frozenset(Role),
    # record a project's documents and resource ceilings (part of approving it):
    Action.GOVERN_PROJECT: frozenset({Role.APPROVER}),
    # agree, for the data controller, that a registered dataset may be loaded and used:
    Action.APPROVE_DATASET: frozenset({Role.APPROVER}),
    Action.MANAGE_INCIDENTS: frozenset({Role.DATA_CUSTODIAN}),
    # back up, restore, decommission, read the security log:
    Action.OPERATE: frozenset({Role.DATA_CUSTODIAN}),
    # and only as a member of an approved project; a list is changed and published by its owner:
    Action.BUILD_CODELISTS: frozenset({Role.ANALYST}),
}
"""Which roles may take each action (a person may hold several roles)."""


INCOMPATIBLE: dict[frozenset[Role], str] = {
    frozenset({Role.DATA_CUSTODIAN, Role.APPROVER}): (
        "a custodian creates the accounts that apply for projects and may grant their roles; "
        "the one who approves access must not also make the people it is given to"
    ),
    frozenset({Role.DATA_CUSTODIAN, Role.ANALYST}): (
        "a custodian may extract from the whole store outside any project; an analyst's work "
        "must stay inside an approved project's data"
    ),
    frozenset({Role.DATA_CUSTODIAN, Role.OUTPUT_CHECKER}): (
        "a custodian creates accounts, so could make the second checker of a release; the two "
        "votes that let outputs leave must come from independent people"
    ),
    frozenset({Role.ANALYST, Role.APPROVER}): (
        "those who use patient data must not be those who oversee access to it (SATRE 4.2.02)"
    ),
    frozenset({Role.ANALYST, Role.OUTPUT_CHECKER}): (
        "those who make outputs from patient data must not be those who check them for release "
        "(SATRE 3.1.07, 3.3.05)"
    ),
    frozenset({Role.ANALYST, Role.CLINICIAN}): (
        "a clinician reads records by NHS number; an analyst holding that too could put names "
        "to the pseudonymous rows analysts must never be able to identify"
    ),
    **{
        frozenset({Role.PATIENT, other}): (
            "a patient's account is for their own records and choices; staff work needs its own "
            "account, with the checks that go with it"
        )
        for other in Role
        if other is not Role.PATIENT
    },
}
"""Pairs of roles no one person may hold together, and why (docs/security-model.md)."""


def conflicting_roles(roles: Iterable[Role]) -> list[tuple[frozenset[Role], str]]:
    """Every incompatible pair among ``roles``, with its reason; empty when they may be held."""
    held = frozenset(roles)
    return [(pair, why) for pair, why in INCOMPATIBLE.items() if pair <= held]


def roles_problem(roles: Iterable[Role]) -> str | None:
    """Why one person may not hold ``roles``, in words, or None if they may."""
    found = conflicting_roles(roles)
    if not found:
        return None
    pair, why = found[0]
    first, second = sorted(r.value for r in pair)
    return f"no one person may be both {first} and {second}: {why}"


class AccessDenied(PermissionError):
    """The caller may not do this: bad, expired or revoked token or account, or wrong role."""


def allowed(roles: frozenset[Role], action: Action) -> bool:
    return bool(roles & PERMISSIONS[action])


def needed_roles(action: Action) -> str:
    """The roles that allow ``action``, in words, so a refusal can say what was missing."""
    names = sorted(role.value for role in PERMISSIONS[action])
    if len(names) == 1:
        return f"the {names[0]} role"
    return f"one of the roles {', '.join(names[:-1])} or {names[-1]}"
