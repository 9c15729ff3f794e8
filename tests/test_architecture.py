"""The one-way flow of DESIGN.md, checked on the code: each stage imports only from stages to
its left (and the cross-cutting ones it is allowed); the environment layer, which owns the use
cases, may call every stage but no face; and the faces sit above it all."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "fivesafes"
TESTS = Path(__file__).resolve().parent

FLOW = ("model", "ingest", "store", "query", "jobs", "disclosure", "release", "dashboards")
CROSS_CUTTING: dict[str, set[str]] = {
    # stage: what it may import besides model
    "ledger": set(),
    "stats": set(),
    "synth": set(),
    "catalogue": {"store"},
    "governance": {"store", "ledger"},
}
FACES = {"cli", "api", "web"}
ENVIRONMENT = "environment"


def allowed(stage: str) -> set[str]:
    if stage == ENVIRONMENT:
        return {p.name for p in SRC.iterdir() if p.is_dir()} - FACES - {ENVIRONMENT}
    if stage in FLOW:
        left = set(FLOW[: FLOW.index(stage)])
        # the stages right of the store run under governance and write to the ledger
        extra = {"governance", "ledger"} if FLOW.index(stage) > FLOW.index("jobs") else set()
        extra |= {"stats"} if stage == "dashboards" else set()
        return left | extra
    return {"model", *CROSS_CUTTING[stage]}


def imported_stages(package: Path) -> set[str]:
    found: set[str] = set()
    for file in package.rglob("*.py"):
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                parts = name.split(".")
                if parts[0] == "fivesafes" and len(parts) > 1:
                    found.add(parts[1])
    return found - {package.name}


def test_every_stage_imports_only_from_its_left() -> None:
    stages = [p for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()]
    wrong = {}
    for package in stages:
        if package.name in FACES:
            continue
        known = {p.name for p in stages} | {"tables"}
        bad = (imported_stages(package) & known) - allowed(package.name) - {"tables"}
        if bad:
            wrong[package.name] = sorted(bad)
    assert wrong == {}, f"arrows against the flow: {wrong}"


def test_test_modules_have_unique_names() -> None:
    """pytest imports test modules by file name: two with one name break collection."""
    names = Counter(p.name for p in TESTS.rglob("test_*.py"))
    assert [n for n, c in names.items() if c > 1] == []


USE_CASES: dict[str, frozenset[str]] = {
    # the stage: the names in it that carry out a use case the environment layer owns
    "fivesafes.governance": frozenset(
        {
            "authorise_job",
            "authorise_on_any_project",
            "authorise_project_member",
            "excluded_patient_ids",
            "wearable_consented_ids",
            "record_opt_outs_applied",
            "create_account",
            "change_account",
            "enrol",
            "invite",
            "issue_token",
            "revoke_token",
            "register_key",
            "revoke_key",
            "list_accounts",
            "whoami",
            "submit_project",
            "revise_project",
            "decide",
            "list_projects",
            "waiting_times",
            "load_opt_outs",
            "add_opt_out",
            "set_wearable_consent",
            "opt_out_report",
            "link_account",
            "register_client",
        }
    ),
    "fivesafes.governance.access": frozenset({"link_account", "register_client", "client_token"}),
    # the operator's use cases, on the layer in environment/incidents, operations, datasets,
    # onboarding and projects
    "fivesafes.governance.incidents": frozenset(
        {"open_incident", "close_incident", "list_incidents"}
    ),
    "fivesafes.governance.suspension": frozenset({"suspend", "resume"}),
    "fivesafes.governance.security_log": frozenset({"security_report"}),
    "fivesafes.governance.project_records": frozenset({"record_document", "set_ceiling"}),
    "fivesafes.governance.datasets": frozenset({"register_dataset", "approve_dataset"}),
    "fivesafes.governance.delegates": frozenset(
        {"record_delegate", "confirm_delegate", "withdraw_delegate", "check_egress", "undelegated"}
    ),
    "fivesafes.governance.mfa": frozenset(
        {"set_up_totp", "confirm_totp", "reset_second_factor", "sign_in"}
    ),
    "fivesafes.governance.onboarding": frozenset(
        {"record_identity_check", "record_training", "accept_terms"}
    ),
    "fivesafes.environment.backup": frozenset({"backup"}),
    "fivesafes.environment.decommission": frozenset({"decommission"}),
    "fivesafes.environment.usage": frozenset({"usage_report"}),
    "fivesafes.environment.project_close": frozenset({"close_project"}),
    "fivesafes.environment.holdings": frozenset({"holdings"}),
    # code lists: the usage counts behind a search, outside the one rule they are shown under
    "fivesafes.environment.catalogue": frozenset({"usage_in"}),
    "fivesafes.query.codes_used": frozenset({"codelists_used"}),
    # the queue's mechanics: a face queues, waits, works or cancels through environment.jobs
    "fivesafes.environment.job_queue": frozenset(
        {"claim", "claim_next", "unclaim", "renew", "ask_to_cancel", "Heartbeat"}
    ),
    "fivesafes.environment.job_records": frozenset({"create", "start", "finish", "close_orphans"}),
    "fivesafes.jobs.process": frozenset({"stop_running"}),
    "fivesafes.jobs": frozenset({"run_project", "RunOptions", "Backend"}),
    "fivesafes.jobs.runner": frozenset({"run_project", "RunOptions", "Backend"}),
    "fivesafes.jobs.snapshot": frozenset({"analysis_snapshot", "DataCut"}),
    "fivesafes.jobs.submission": frozenset({"copy_study"}),
    "fivesafes.jobs.extract": frozenset({"evaluate_definition"}),
    "fivesafes.store.load": frozenset({"load"}),
    # what the public may see (environment/public.py): a face that read decisions, waits or
    # release requests itself could show what the rule there keeps back
    "fivesafes.governance.projects": frozenset(
        {
            "decision_signature_valid",
            "waiting_times",
            "list_projects",
            "submit_new",
            "decide",
            "decision_statement",
        }
    ),
    # an applicant's drafts (environment/applications.py): whose a draft is, and its submission
    "fivesafes.governance.drafts": frozenset(
        {"save_draft", "draft_of", "drafts_of", "submit_draft"}
    ),
    "fivesafes.release.reviews": frozenset({"review_release", "vote_statement"}),
    "fivesafes.release.tables": frozenset({"ReleaseRequestRow", "ReleaseFileRow"}),
    "fivesafes.release": frozenset(
        {
            "request_release",
            "draft_release",
            "submit_release",
            "review_release",
            "publish_release",
            "check_request_files",
        }
    ),
}
"""What a face may not import: a stage's functions that authorise, exclude, extract, load, run a
job or move a release along. A face asks the environment layer for the use case instead, so a
new face (the API, the portal) cannot get a rule wrong by leaving one out."""


def _face_imports() -> list[tuple[str, str, str]]:
    """(face module, imported module, name) for every ``from ... import name`` in the faces,
    and (face module, module, "*") for every plain ``import module``."""
    found = []
    for face in FACES:
        for file in (SRC / face).rglob("*.py"):
            where = str(file.relative_to(SRC.parent))
            for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.module:
                    found += [(where, node.module, a.name) for a in node.names]
                elif isinstance(node, ast.Import):
                    found += [(where, a.name, "*") for a in node.names]
    return found


def test_no_face_does_a_use_case_the_environment_owns() -> None:
    wrong = [
        f"{face}: {module}.{name}"
        for face, module, name in _face_imports()
        if name in USE_CASES.get(module, ()) or (name == "*" and module in USE_CASES)
    ]
    assert wrong == [], "faces must call fivesafes.environment for these: " + ", ".join(wrong)


def test_the_rule_names_real_things() -> None:
    """A name renamed in a stage must be renamed here, or the rule above would guard nothing."""
    import importlib

    missing = [
        f"{module}.{name}"
        for module, names in USE_CASES.items()
        for name in names
        if not hasattr(importlib.import_module(module), name)
    ]
    assert missing == []


CONTROL_PLANE_ALLOWED: dict[str, str] = {
    # face module: why it may reach the control plane itself rather than through an Environment
    # (none today: every face opens an Environment and calls a use case of the layer)
}
"""The faces that may open the control plane directly, each with its reason."""


def _reaches_the_control_plane(file: Path) -> list[str]:
    """Where ``file`` imports ``ControlPlane`` or calls ``ControlPlane.open``."""
    found = []
    for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith("fivesafes.governance"):
                found += [f"imports {a.name}" for a in node.names if a.name == "ControlPlane"]
        elif (
            isinstance(node, ast.Attribute)
            and node.attr in ("open", "for_data_root")
            and isinstance(node.value, ast.Name)
            and node.value.id == "ControlPlane"
        ):
            found.append(f"calls ControlPlane.{node.attr}")
    return found


def test_no_face_opens_the_control_plane_for_a_use_case() -> None:
    """A face opens an Environment, so refusals are logged and the deployment's access policy
    and crash recovery apply; it never assembles a use case on the control plane itself."""
    wrong = [
        f"{where}: {what}"
        for face in FACES
        for file in sorted((SRC / face).rglob("*.py"))
        if (where := str(file.relative_to(SRC.parent))) not in CONTROL_PLANE_ALLOWED
        for what in _reaches_the_control_plane(file)
    ]
    assert wrong == [], "faces must open fivesafes.environment.Environment: " + ", ".join(wrong)


def test_the_control_plane_allow_list_names_real_files() -> None:
    assert [f for f in CONTROL_PLANE_ALLOWED if not (SRC.parent / f).is_file()] == []
