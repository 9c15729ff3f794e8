"""The custodian's and the operator's reads, attacked by role: whatever roles one person may
hold together, each read goes ahead exactly when the role model (``PERMISSIONS``) gives one of
them its action, and otherwise is refused as forbidden, with a ``refusal`` entry naming the read
and nothing of what it would have shown.

The expectation is computed from the role table, not written out, so the test follows the role
model: today operating the environment is a data custodian's (``operate``), so a custodian
sees the operator's pages; were an operator role split off, a custodian without it would be
refused them here with no change to this test."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from environment_support import People, open_with_custodian, person
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fhir_factory import icb, nhs_number, patient, practice, write_ndjson
from fivesafes.environment import (
    Environment,
    Refused,
    accounts,
    custodian_views,
    data,
    operator_views,
)
from fivesafes.environment.refusals import RefusalKind
from fivesafes.environment.settings import Settings
from fivesafes.environment.setup import initialise
from fivesafes.governance import Action, Role
from fivesafes.governance.roles import allowed, roles_problem
from fivesafes.store.config import DataDir

MARKER = "qz-oversight-4471"

READS: dict[str, tuple[Action, Callable[[Any, str], object]]] = {
    "view_loads": (Action.MANAGE_DATA, custodian_views.loads),
    "quarantine": (Action.MANAGE_DATA, data.quarantine),
    "view_opt_out_figures": (Action.VIEW_OPT_OUT_COUNTS, custodian_views.opt_out_figures),
    "view_workers": (Action.OPERATE, operator_views.workers),
    "view_queues": (Action.OPERATE, operator_views.queues),
    "view_storage": (Action.OPERATE, operator_views.storage),
}
"""Each read by the name its refusals carry: the action it needs, and the use case."""

HOLDABLE = [
    frozenset(roles)
    for n in range(1, len(Role) + 1)
    for roles in itertools.combinations(sorted(Role), n)
    if roles_problem(roles) is None
]
"""Every set of roles one person may hold."""


@pytest.fixture(scope="module")
def people(tmp_path_factory: pytest.TempPathFactory) -> Iterator[People]:
    """An environment whose custodian loaded a file of an ICB, a practice, a patient and one
    bad record (the marker: a patient born on a day no calendar has)."""
    root = tmp_path_factory.mktemp("oversight")
    found = open_with_custodian(DataDir(root / "data", root / "data" / "keys" / "pseudonym.key"))
    bad = patient(MARKER, nhs_number(3), birth="1970-02-31")
    file = write_ndjson(root / "in.ndjson", [icb(), practice(), patient("ok", nhs_number(2)), bad])
    data.load(found.env, found.tokens["cus"], [file])
    yield found
    found.env.close()


def _entries(people: People, kind: str) -> list[dict[str, Any]]:
    return [e for e in map(orjson.loads, people.env.cp.ledger.entries()) if e["kind"] == kind]


_made = itertools.count()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(roles=st.sampled_from(HOLDABLE), read=st.sampled_from(sorted(READS)))
def test_each_read_goes_ahead_only_for_the_roles_given_its_action(
    people: People, roles: frozenset[Role], read: str
) -> None:
    action, use_case = READS[read]
    person_id = f"p{next(_made)}"
    accounts.create(people.env, people.tokens["cus"], person(person_id, *roles))
    token = people.enrol(person_id)
    if allowed(roles, action):
        shown = use_case(people.env, token)
        if read == "quarantine":
            assert MARKER in repr(shown)
        return
    with pytest.raises(Refused) as refused:
        use_case(people.env, token)
    assert refused.value.kind is RefusalKind.FORBIDDEN
    assert MARKER not in refused.value.reason
    last = _entries(people, "refusal")[-1]["subject"]
    assert (last["action"], last["kind"]) == (read, "forbidden")
    login = [e["subject"] for e in _entries(people, "login") if e["actor"] == person_id][-1]
    assert login["action"] == action.value and login["outcome"].startswith("refused")


def test_a_token_that_does_not_check_out_is_refused_every_read(people: People) -> None:
    for read, (_, use_case) in READS.items():
        with pytest.raises(Refused) as refused:
            use_case(people.env, "fst_not-a-token")
        assert refused.value.kind is RefusalKind.FORBIDDEN, read


def test_the_custodian_sees_the_rejected_record_exactly_and_the_read_is_logged(
    people: People,
) -> None:
    cus = people.tokens["cus"]
    view = data.quarantine(people.env, cus)
    (finding,) = [f for f in view.findings if f.resource_id == MARKER]
    assert (finding.line, finding.path, finding.rule) == (4, "Patient.birthDate", "fhir.format")
    assert "1970-02-31" in finding.message and finding.rule in view.rules
    (load,) = custodian_views.loads(people.env, cus)
    assert (load.accepted, load.rejected, load.loaded_by) == (3, 1, "cus")
    assert [Path(f).name for f in load.files] == ["in.ndjson"]
    entry = orjson.loads(
        next(people.env.cp.ledger.entries(load.ledger_index, load.ledger_index + 1))
    )
    assert entry["kind"] == "load" and entry["subject"]["load_id"] == load.load_id
    reads = [e["subject"] for e in _entries(people, "identifiable_read") if e["actor"] == "cus"]
    assert reads and reads[-1]["table"] == "quarantine"


def test_the_reads_on_both_control_plane_databases(
    control_url: str, data_dir: DataDir, tmp_path: Path
) -> None:
    """Loads with their ledger entries, the queue, workers and storage, on SQLite and on a real
    PostgreSQL: there the ledger and the control plane are tables of the database server, so
    storage says they are not measured in the data directory rather than show nothing. (The
    SQLite control plane here is outside the data directory, where its URL puts it.)"""
    initialise(data_dir, Settings("Test"), person("cus", Role.DATA_CUSTODIAN), url=control_url)
    people = People(Environment.open(data_dir, url=control_url))
    try:
        cus = people.enrol("cus")
        file = write_ndjson(
            tmp_path / "in.ndjson", [icb(), practice(), patient("ok", nhs_number(2))]
        )
        data.load(people.env, cus, [file])
        (load,) = custodian_views.loads(people.env, cus)
        assert (load.accepted, load.rejected, load.loaded_by) == (3, 0, "cus")
        assert load.ledger_index is not None
        queue = operator_views.queues(people.env, cus)
        assert queue.counts["queued"] == 0 and queue.oldest_wait_seconds is None
        assert operator_views.workers(people.env, cus) == ()
        areas = {a.name: a for a in operator_views.storage(people.env, cus).areas}
    finally:
        people.env.close()
    assert areas["store"].bytes > 0
    on_sqlite = control_url.startswith("sqlite")
    for name in ("ledger", "control plane"):
        assert (areas[name].bytes > 0) is on_sqlite, name
        assert ("PostgreSQL" in areas[name].holds) is not on_sqlite, name
