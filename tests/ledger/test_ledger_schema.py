"""One definition of each entry kind's fields, shared by every writer and the public view.

Issue 18, hole 11: job entries were written with ``project`` and ``git_commit`` while the public
view kept ``project_id`` and ``commit``, so the public never saw which project a job ran for.
These tests hold the three sides together: the schema is coherent, the ledger refuses a subject
that does not fit its kind, the public view shows exactly the declared public fields (old names
included), and every writer in the code base, read from its source, uses declared field names.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ledger_support import job, open_ledger

from fivesafes.ledger import ENTRY_KINDS, KINDS, Ledger, PatientDataError
from fivesafes.ledger.entry import encode_entry, names_personal_data
from fivesafes.ledger.public import public_view
from fivesafes.ledger.schema import PUBLIC_KINDS, EntryKind

SRC = Path(__file__).resolve().parents[2] / "src" / "fivesafes"


def test_every_kind_is_coherent() -> None:
    for kind in ENTRY_KINDS.values():
        assert kind.required <= kind.fields
        assert not kind.public & kind.detail
        assert not any(names_personal_data(f) for f in kind.fields), kind.name
    # DESIGN.md: the public view shows projects, purposes, jobs and releases (and who decided),
    # and that a custodian drew an extract from the store, and for what purpose.
    public = {"account", "project", "approval", "job", "release_request", "review", "release"}
    public |= {"extract"}
    # issue 15: what the public may know of projects' documents and closure, the datasets
    # held, incidents that affect them, and the environment's own life (its decommissioning)
    public |= {"project_record", "dataset", "incident", "environment"}
    # issue 14: which code lists were published for studies, by whom (docs/codelists.md)
    public |= {"codelist"}
    # issue 14: which studies of the open library were reused, and at which commit (docs/portal.md)
    public |= {"reuse"}
    assert public == PUBLIC_KINDS


def test_a_kind_cannot_declare_a_field_named_like_personal_data() -> None:
    with pytest.raises(ValueError, match="personal data"):
        EntryKind("bad", detail=frozenset({"nhs_number"}))


def _value(field: str) -> object:
    special = {
        "outputs": {"output/a.csv": "ab" * 32},
        "files": [],
        "members": ["ann"],
        "operation": "job",  # an intent promises an entry of a real kind...
        "outcome": job("J-1"),  # ...with a subject that kind accepts
        "intent": 3,
    }
    return special.get(field, f"{field}-value")


@st.composite
def subjects(draw: st.DrawFn) -> tuple[str, dict[str, object]]:
    """A kind a caller may append, and a subject with its required fields and any others."""
    kind = ENTRY_KINDS[draw(st.sampled_from(sorted(KINDS)))]
    optional = sorted(kind.fields - kind.required)
    extra = draw(st.lists(st.sampled_from(optional), unique=True)) if optional else []
    return kind.name, {f: _value(f) for f in sorted(kind.required | set(extra))}


_LEDGERS: dict[Path, Ledger] = {}


@settings(
    deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=80
)
@given(case=subjects())
def test_the_public_view_shows_exactly_the_declared_public_fields(
    tmp_path: Path, case: tuple[str, dict[str, object]]
) -> None:
    name, subject = case
    ledger = _LEDGERS.setdefault(tmp_path, open_ledger(tmp_path))
    index = ledger.append(name, subject, actor="ann").index
    rows = [r for r in ledger.public_view().to_list() if r["index"] == index]
    if name not in PUBLIC_KINDS:
        assert rows == []
        return
    (row,) = rows
    shown = set(row) - {"index", "time", "kind", "actor"}
    assert shown == set(subject) & ENTRY_KINDS[name].public


def test_a_field_the_kind_does_not_declare_is_refused_by_name(tmp_path: Path) -> None:
    ledger = open_ledger(tmp_path)
    old_style = {**job("J-1"), "project": "P-7"}
    del old_style["project_id"]
    with pytest.raises(ValueError, match="'job' ledger entry has no field project;"):
        ledger.append("job", old_style)
    with pytest.raises(ValueError, match="needs commit"):
        ledger.append("job", {k: v for k, v in job("J-1").items() if k != "commit"})
    with pytest.raises(PatientDataError):
        ledger.append("job", {**job("J-1"), "nhs_number": "x"})
    assert ledger.size == 1


def test_an_intent_must_promise_an_outcome_its_kind_accepts(tmp_path: Path) -> None:
    """The outcome entry is written after the state changed: it must not be refusable then."""
    ledger = open_ledger(tmp_path)
    promise = {"operation": "job", "key": "J-1", "outcome": job("J-1")}
    ledger.append("intent", promise)
    with pytest.raises(ValueError, match="no field git_commit"):
        ledger.append("intent", {**promise, "outcome": {**job("J-1"), "git_commit": "c"}})
    for kind in ("jobs", "key_rotation"):
        with pytest.raises(ValueError, match="must promise a subject of a kind"):
            ledger.append("intent", {**promise, "operation": kind})
    assert ledger.size == 2


def test_a_writer_can_build_a_checked_subject() -> None:
    assert ENTRY_KINDS["job"].subject(**job("J-1")) == job("J-1")
    with pytest.raises(ValueError, match="no field git_commit"):
        ENTRY_KINDS["job"].subject(**job("J-1"), git_commit="x")


def test_job_entries_written_before_the_fix_still_show_their_project_and_commit() -> None:
    """The log is append-only: entries with the old names stay, and the view reads them."""
    old = {"project": "P-7", "job_id": "J-1", "action": "a", "git_commit": "c0ffee",
           "status": "succeeded", "outputs": {}, "command": "python a.py"}  # fmt: skip
    entry = encode_entry(3, "2026-01-02T03:04:05.000006Z", "job", "ann", old)
    (row,) = public_view([entry]).to_list()
    assert (row["project_id"], row["commit"]) == ("P-7", "c0ffee")
    assert "command" not in row and "project" not in row


# --- every writer in the code base, read from its source ---------------------------------


def _log_calls(tree: ast.AST) -> Iterator[tuple[str, ast.expr, dict[str, ast.Dict]]]:
    """(kind, subject expression, dict literals assigned in the function) of each call that
    logs a literal kind: ``cp.log("job", ...)``, ``ledger.append("job", ...)``."""
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        assigned = {
            target.id: node.value
            for node in ast.walk(function)
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        for call in ast.walk(function):
            if (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr in {"log", "append"}
                and len(call.args) >= 2
                and isinstance(call.args[0], ast.Constant)
                and call.args[0].value in ENTRY_KINDS
            ):
                yield call.args[0].value, call.args[1], assigned


def _returned_dicts(tree: ast.AST) -> dict[str, ast.Dict]:
    """Functions whose body returns a dict literal (``def _job_entry(...): return {...}``)."""
    found = {}
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef):
            for node in ast.walk(function):
                if isinstance(node, ast.Return) and isinstance(node.value, ast.Dict):
                    found[function.name] = node.value
    return found


def _literal_keys(
    subject: ast.expr, assigned: dict[str, ast.Dict], builders: dict[str, ast.Dict]
) -> set[str] | None:
    if isinstance(subject, ast.Name):
        subject = assigned.get(subject.id, subject)
    elif isinstance(subject, ast.Call) and isinstance(subject.func, ast.Name):
        subject = builders.get(subject.func.id, subject)
    if not isinstance(subject, ast.Dict):
        return None
    return {k.value for k in subject.keys if isinstance(k, ast.Constant)}


def _subject_builders(tree: ast.AST) -> Iterator[tuple[str, set[str]]]:
    """(kind, keyword names) of each ``ENTRY_KINDS["kind"].subject(...)`` call."""
    for call in ast.walk(tree):
        if (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and call.func.attr == "subject"
            and isinstance(call.func.value, ast.Subscript)
            and isinstance(call.func.value.slice, ast.Constant)
        ):
            yield call.func.value.slice.value, {k.arg for k in call.keywords if k.arg}


def test_every_writer_in_the_code_uses_declared_field_names() -> None:
    checked, wrong = 0, []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        builders = _returned_dicts(tree)
        found = [
            (kind, keys)
            for kind, subject, assigned in _log_calls(tree)
            if (keys := _literal_keys(subject, assigned, builders)) is not None
        ]
        found += list(_subject_builders(tree))
        for kind, keys in found:
            checked += 1
            unknown = keys - ENTRY_KINDS[kind].fields
            if unknown:
                wrong.append(f"{path.relative_to(SRC)}: {kind} writes {sorted(unknown)}")
    assert wrong == []
    assert checked >= 10  # the scan found the writers (accounts, projects, releases, jobs...)
