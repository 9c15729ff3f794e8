"""governance: safe people and safe projects — accounts, tokens, approvals, opt-outs, consent.

Open the control plane with :meth:`ControlPlane.open`; every operation takes the caller's
credential and checks it afresh. The job path calls :func:`authorise_job`, a release request
:func:`authorise_project_member`; extraction anti-joins :func:`excluded_patient_ids`. Everything
that changes is appended to the ledger.
"""

from typing import TYPE_CHECKING

from fivesafes.lazy import exports

if TYPE_CHECKING:  # the names offered here, each imported on first use (see fivesafes.lazy)
    from fivesafes.governance.access import (
        Caller,
        client_token,
        link_account,
        register_client,
    )
    from fivesafes.governance.accounts import (
        AccountView,
        IssuedToken,
        NewAccount,
        NewEnrolment,
        change_account,
        create_account,
        enrol,
        invite,
        issue_token,
        list_accounts,
        register_key,
        revoke_key,
        revoke_token,
        whoami,
    )
    from fivesafes.governance.control import ControlPlane, Principal
    from fivesafes.governance.identity import IdentityProvider, PersonalTokens
    from fivesafes.governance.optouts import (
        OptOutFileError,
        OptOutLoad,
        Purpose,
        add_opt_out,
        excluded_patient_ids,
        load_opt_outs,
        opt_out_report,
        record_opt_outs_applied,
        set_wearable_consent,
        wearable_consented_ids,
    )
    from fivesafes.governance.projects import (
        Application,
        DecisionRecord,
        JobAuthorisation,
        Status,
        Verdict,
        authorise_job,
        authorise_on_any_project,
        authorise_project_member,
        decide,
        decision_signature_valid,
        job_start_problem,
        list_projects,
        revise_project,
        submit_project,
        waiting_summary,
        waiting_times,
    )
    from fivesafes.governance.roles import (
        INCOMPATIBLE,
        PERMISSIONS,
        AccessDenied,
        Action,
        Role,
        roles_problem,
    )
    from fivesafes.governance.vocabulary import ConsentScope, OptOutKind
else:
    __getattr__, __dir__ = exports(__name__, __file__)

__all__ = [
    "INCOMPATIBLE",
    "PERMISSIONS",
    "AccessDenied",
    "AccountView",
    "Action",
    "Application",
    "Caller",
    "ConsentScope",
    "ControlPlane",
    "DecisionRecord",
    "IdentityProvider",
    "IssuedToken",
    "JobAuthorisation",
    "NewAccount",
    "NewEnrolment",
    "OptOutFileError",
    "OptOutKind",
    "OptOutLoad",
    "PersonalTokens",
    "Principal",
    "Purpose",
    "Role",
    "Status",
    "Verdict",
    "add_opt_out",
    "authorise_job",
    "authorise_on_any_project",
    "authorise_project_member",
    "change_account",
    "client_token",
    "create_account",
    "decide",
    "decision_signature_valid",
    "enrol",
    "excluded_patient_ids",
    "invite",
    "issue_token",
    "job_start_problem",
    "link_account",
    "list_accounts",
    "list_projects",
    "load_opt_outs",
    "opt_out_report",
    "record_opt_outs_applied",
    "register_client",
    "register_key",
    "revise_project",
    "revoke_key",
    "revoke_token",
    "roles_problem",
    "set_wearable_consent",
    "submit_project",
    "waiting_summary",
    "waiting_times",
    "wearable_consented_ids",
    "whoami",
]
