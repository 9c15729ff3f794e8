"""Code lists as the environment layer runs them: search under the disclosure rules (attacked),
immutable versions (a property), publication in the ledger, OpenCodelists' CSV, and a study
that uses a published version, inside the environment."""

from __future__ import annotations

import csv
import io
import itertools
from pathlib import Path

import orjson
import pytest
from codelists_support import (
    ABSENT,
    ASTHMA,
    ASTHMA_PEOPLE,
    OPTED_OUT,
    PROJECT,
    RARE,
    coded_world,
    study_with_lists,
)
from environment_support import People, person
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from fhir_factory import nhs_number
from fivesafes.environment import Environment, RefusalKind, Refused, codelists, jobs
from fivesafes.environment.settings import Settings
from fivesafes.environment.setup import initialise
from fivesafes.governance import Role
from fivesafes.governance.codelist_tables import CodelistPublication, CodelistVersion
from fivesafes.query import codelist_from_csv
from fivesafes.store.config import DataDir
from jobs.jobs_support import needs_sandbox

COLUMN = "clinical_events.snomedct_code"


@pytest.fixture
def coded(people: People, tmp_path: Path) -> People:
    return coded_world(people, tmp_path)


def _entries(env: Environment, kind: str) -> list[dict[str, object]]:
    return [
        e["subject"] | {"actor": e["actor"]}
        for e in map(orjson.loads, env.cp.ledger.entries())
        if e["kind"] == kind
    ]


# --- search, and the disclosure rule it is under ----------------------------------------------


def test_a_search_finds_codes_by_term_with_rounded_counts(coded: People) -> None:
    found = codelists.search(coded.env, coded.tokens["ana"], "asthma", "snomedct")
    assert [(h.code, h.term, h.table, h.column) for h in found.hits] == [
        (ASTHMA, "Asthma", "clinical_events", "snomedct_code")
    ]
    # twelve people and twelve records, rounded to the profile's base of 5
    assert (found.hits[0].patients, found.hits[0].records) == (10, 10)
    assert found.threshold == 10 and found.profile == "default"
    by_code = codelists.search(coded.env, coded.tokens["ana"], ASTHMA)
    assert [h.code for h in by_code.hits] == [ASTHMA]


@pytest.mark.parametrize("code", sorted(RARE))
def test_attack_a_code_held_by_one_to_seven_people_never_shows_its_count(
    coded: People, code: str
) -> None:
    """A hostile analyst hunts for a rare code's count: by its code, by its term, by system,
    by every part of it; and by differencing the left-out counts of searches that do and do not
    match it. The code is never listed, and nothing a search says changes with whether it
    matches."""
    env, token = coded.env, coded.tokens["ana"]
    probes = [code, code[:4], code[-3:], "disorder", "pain", "a", "e"]
    answers = [codelists.search(env, token, p, s) for p in probes for s in (None, "snomedct")]
    for answer in answers:
        assert code not in {h.code for h in answer.hits}
        assert all(h.patients >= answer.threshold for h in answer.hits)
        assert answer.left_out == {COLUMN: len(RARE)}
    # a list of just that code: the job's note says it is rare, never how rare, nor even that
    # anyone has it
    notes = _notes_for(env, {code})
    assert notes[-1] == (
        f"warning: code list probe.csv (on {COLUMN}): fewer than 10 people in the data have "
        "any of its 1 codes, perhaps none; check its codes and code system"
    )
    assert _notes_for(env, {ABSENT})[-1] == notes[-1]  # nobody: the same words as a few


def _notes_for(env: Environment, codes: set[str]) -> list[str]:
    """What a job's log would say of a definition using these codes as ``probe.csv``."""
    from fivesafes import Dataset, codelist
    from fivesafes.query import serial
    from fivesafes.tables import clinical_events as ce
    from fivesafes.tables import patients

    dataset = Dataset()
    dataset.define_population(patients.exists_for_patient())
    dataset.has = ce.where(
        ce.snomedct_code.is_in(codelist(codes, system="snomedct", name="probe.csv"))
    ).exists_for_patient()
    return codelists.job_notes(env, serial.loads(serial.dumps(dataset.query())))


def test_searching_needs_an_analyst_on_an_approved_project(coded: People) -> None:
    env = coded.env
    for who in ("eve", "cus", "val"):  # on no project; a custodian; an approver
        with pytest.raises(Refused) as refused:
            codelists.search(env, coded.tokens[who], "asthma")
        assert refused.value.kind is RefusalKind.FORBIDDEN
    refusals = [e for e in _entries(env, "refusal") if e["action"] == "search_codes"]
    reasons = [str(e["reason"]) for e in refusals]
    assert reasons[0] == "eve is not a member of any approved project"
    assert reasons[1:] == [
        f"{who} may not build codelists: it needs the analyst role" for who in ("cus", "val")
    ]


def test_a_search_without_a_term_or_with_an_unknown_system_is_refused(coded: People) -> None:
    for term, system, said in (("  ", None, "give a term"), ("asthma", "read2", "read2")):
        with pytest.raises(Refused, match=said) as refused:
            codelists.search(coded.env, coded.tokens["ana"], term, system)
        assert refused.value.kind is RefusalKind.INVALID


# --- building and versioning --------------------------------------------------------------------


def test_each_change_is_a_new_version_and_old_versions_stay(coded: People) -> None:
    env, token = coded.env, coded.tokens["ana"]
    made = codelists.new(env, token, "Asthma diagnosis", "snomedct")
    assert (made.slug, made.system, made.owner, made.versions) == (
        "asthma-diagnosis",
        "snomedct",
        "ana",
        (),
    )
    one = codelists.add(env, token, made.slug, {ASTHMA: None})
    two = codelists.add(env, token, made.slug, {"13645005": "COPD, as a test"})
    three = codelists.remove(env, token, made.slug, [ASTHMA])
    assert [v.version for v in (one, two, three)] == [1, 2, 3]
    assert one.codes == (codelists.Code(ASTHMA, "Asthma"),)  # its term, from the environment
    assert {c.code for c in two.codes} == {ASTHMA, "13645005"}
    assert three.codes == (codelists.Code("13645005", "COPD, as a test"),)
    assert codelists.show(env, token, made.slug).versions == (one, two, three)
    assert three.change == f"removed {ASTHMA}"


def test_a_code_of_the_wrong_system_or_no_change_is_refused(coded: People) -> None:
    env, token = coded.env, coded.tokens["ana"]
    codelists.new(env, token, "Asthma", "snomedct")
    for codes, said in (
        ({"J45": None}, "not a well-formed SNOMED CT code"),
        ({"195967002": None}, "not a well-formed SNOMED CT code"),  # check digit wrong
    ):
        with pytest.raises(Refused, match=said):
            codelists.add(env, token, "asthma", codes)
    codelists.add(env, token, "asthma", {ASTHMA: None})
    with pytest.raises(Refused, match="no change"):
        codelists.add(env, token, "asthma", {ASTHMA: None})
    with pytest.raises(Refused, match="already exists"):
        codelists.new(env, token, "Asthma", "snomedct")
    with pytest.raises(Refused, match="no code 13645005 to remove"):
        codelists.remove(env, token, "asthma", ["13645005"])
    icd = codelists.new(env, token, "Asthma admissions", "icd10")
    assert codelists.add(env, token, icd.slug, {"J45": "Asthma"}).codes[0].code == "J45"


def test_only_the_owner_changes_or_publishes_a_list(coded: People) -> None:
    env = coded.env
    codelists.new(env, coded.tokens["ana"], "Asthma", "snomedct")
    codelists.add(env, coded.tokens["ana"], "asthma", {ASTHMA: None})
    for attempt in (
        lambda: codelists.add(env, coded.tokens["bob"], "asthma", {"13645005": None}),
        lambda: codelists.remove(env, coded.tokens["bob"], "asthma", [ASTHMA]),
        lambda: codelists.publish(env, coded.tokens["bob"], "asthma/1"),
    ):
        with pytest.raises(Refused, match="is ana's to change") as refused:
            attempt()
        assert refused.value.kind is RefusalKind.FORBIDDEN
    assert codelists.show(env, coded.tokens["bob"], "asthma").latest is not None  # bob may look
    assert _entries(env, "codelist") == []


LISTS = itertools.count()
"""A new list for each example: the environment lives on from one example to the next."""
CODES = sorted({ASTHMA, *RARE, ABSENT})
CHANGES = st.lists(
    st.tuples(
        st.sampled_from(["add", "remove", "publish"]),
        st.sets(st.sampled_from(CODES), min_size=1, max_size=3),
    ),
    min_size=1,
    max_size=8,
)


def _stored(env: Environment) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    with env.cp.transaction() as session:
        versions = [
            (v.slug, v.version, v.codes, v.codes_sha256, v.change, v.created_by, v.created_at)
            for v in session.scalars(select(CodelistVersion))
        ]
        published = [
            (p.slug, p.version, p.published_by, p.published_at, p.ledger_index)
            for p in session.scalars(select(CodelistPublication))
        ]
    return versions, published


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(changes=CHANGES)
def test_property_no_change_ever_alters_a_version_or_publication_already_made(
    coded: People, changes: list[tuple[str, set[str]]]
) -> None:
    """Whatever sequence of adds, removes and publications is made (refused ones too), every
    version row and every publication already stored stays exactly as it was, and each version
    is its predecessor with just its own change; a change is refused exactly when it would
    change nothing."""
    env, token = coded.env, coded.tokens["ana"]
    slug = codelists.new(env, token, f"list {next(LISTS)}", "snomedct").slug
    before = _stored(env)
    held: set[str] = set()
    expected: list[set[str]] = []
    for what, codes in changes:
        would_change = {"add": not codes <= held, "remove": codes <= held}.get(what, bool(expected))
        try:
            if what == "add":
                codelists.add(env, token, slug, dict.fromkeys(codes))
                held |= codes
            elif what == "remove":
                codelists.remove(env, token, slug, codes)
                held -= codes
            else:
                codelists.publish(env, token, slug)
            refused = False
        except Refused:
            refused = True
        assert refused is not would_change
        if what != "publish" and not refused:
            expected.append(set(held))
        after = _stored(env)
        assert set(before[0]) <= set(after[0]) and set(before[1]) <= set(after[1])
        before = after
    versions = codelists.show(env, token, slug).versions
    assert [v.version for v in versions] == list(range(1, len(versions) + 1))
    assert [{c.code for c in v.codes} for v in versions] == expected


# --- publication, export --------------------------------------------------------------------


def test_publishing_is_a_ledger_entry_and_publishing_again_writes_none(coded: People) -> None:
    env, token = coded.env, coded.tokens["ana"]
    codelists.new(env, token, "Asthma", "snomedct")
    with pytest.raises(Refused, match="no codes yet"):
        codelists.publish(env, token, "asthma")
    codelists.add(env, token, "asthma", {ASTHMA: None})
    codelists.add(env, token, "asthma", {"13645005": None})
    done = codelists.publish(env, token, "asthma/1")
    assert (done.version, done.published_by, done.published) == (1, "ana", True)
    entries = _entries(env, "codelist")
    assert entries == [
        {
            "slug": "asthma",
            "version": 1,
            "code_system": "snomedct",
            "codes": 1,
            "codes_sha256": codelists.codes_sha256([ASTHMA]),
            "change": "published",
            "intent": entries[0]["intent"],  # the recoverable operation's intent, logged first
            "actor": "ana",
        }
    ]
    assert entries[0]["intent"] < done.ledger_index
    stored = orjson.loads(next(env.cp.ledger.entries(done.ledger_index, done.ledger_index + 1)))
    assert stored["kind"] == "codelist"
    assert codelists.publish(env, token, "asthma/1") == done  # a retry: the same publication
    assert len(_entries(env, "codelist")) == 1
    with pytest.raises(Refused, match="no version 9"):
        codelists.publish(env, token, "asthma/9")
    assert not codelists.show(env, token, "asthma").versions[1].published


def test_export_is_opencodelists_csv_of_a_published_version_and_reads_back(
    coded: People, tmp_path: Path
) -> None:
    env, token = coded.env, coded.tokens["ana"]
    codelists.new(env, token, "Asthma", "snomedct")
    codelists.add(env, token, "asthma", {ASTHMA: None, "13645005": 'COPD, "severe"'})
    with pytest.raises(Refused, match="is not published"):
        codelists.export_csv(env, token, "asthma/1")
    with pytest.raises(Refused, match="no published version"):
        codelists.export_csv(env, token, "asthma")
    codelists.publish(env, token, "asthma/1")
    codelists.add(env, coded.tokens["ana"], "asthma", {ABSENT: None})  # version 2, a draft
    text = codelists.export_csv(env, coded.tokens["bob"], "asthma")  # the latest published
    assert text == codelists.export_csv(env, token, "asthma/1")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [["code", "term"], ["13645005", 'COPD, "severe"'], [ASTHMA, "Asthma"]]
    path = tmp_path / "asthma.csv"
    path.write_text(text, encoding="utf-8")
    read = codelist_from_csv(path, column="code", system="snomedct")
    assert read.codes == {ASTHMA, "13645005"}
    assert read.category("term") == {ASTHMA: "Asthma", "13645005": 'COPD, "severe"'}
    assert codelists.to_csv(codelists.show(env, token, "asthma").versions[0].codes) == text


# --- a study that uses a published version, inside the environment ---------------------------


@needs_sandbox
def test_a_study_using_a_published_version_gets_its_patients_and_a_warning_for_an_empty_list(
    coded: People, tmp_path: Path
) -> None:
    env, token = coded.env, coded.tokens["ana"]
    codelists.new(env, token, "Asthma", "snomedct")
    codelists.add(env, token, "asthma", {ASTHMA: None})
    published = codelists.publish(env, token, "asthma/1")
    exported = codelists.export_csv(env, token, "asthma/1")
    root = study_with_lists(tmp_path / "study", exported)
    said: list[str] = []
    queued = jobs.submit(env, token, PROJECT, root)
    view = jobs.wait(env, token, queued.job_id, on_event=lambda a, m: said.append(f"{a}: {m}"))
    assert view.state == "succeeded", view.record.error
    extract = env.jobs_root / view.job_id / "study" / "output" / "dataset.csv"
    rows = list(csv.DictReader(extract.read_text().splitlines()))
    with env.store() as store:
        expected = {store.pseudonymise(nhs_number(i)) for i in range(ASTHMA_PEOPLE)}
        expected.discard(store.pseudonymise(nhs_number(OPTED_OUT)))
    assert {int(r["patient_id"]) for r in rows} == expected
    assert {r["fractures"] for r in rows} == {"0"}
    on_asthma = f"code list analysis/codelists/asthma.csv (on {COLUMN})"
    on_fractures = f"code list analysis/codelists/fractures.csv (on {COLUMN})"
    day = f"{published.published_at:%Y-%m-%d}"
    expected_notes = [
        f"extract: {on_asthma} is asthma/1, published by ana on {day}",
        f"extract: {on_fractures} is not a code list published in this environment",
        f"extract: warning: {on_fractures}: fewer than 10 people in the data have any of its "
        "1 codes, perhaps none; check its codes and code system",
    ]
    assert [s for s in said if "code list" in s] == expected_notes
    log = jobs.log(env, token, view.job_id)
    assert all(note.split(": ", 1)[1] in log for note in expected_notes)
    checks = jobs.codelist_checks(env, token, view.job_id)  # what the job's page shows
    assert [f"extract: {line}" for c in checks for line in c.lines] == expected_notes
    assert [(c.codelist, c.published, c.too_few) for c in checks] == [
        ("analysis/codelists/asthma.csv", (("asthma", 1, "ana", day),), False),
        ("analysis/codelists/fractures.csv", (), True),
    ]
    with pytest.raises(Refused) as refused:
        jobs.codelist_checks(env, coded.tokens["eve"], view.job_id)
    assert refused.value.kind is RefusalKind.FORBIDDEN


def test_lists_versions_and_publications_on_both_control_plane_databases(
    control_url: str, data_dir: DataDir, tmp_path: Path
) -> None:
    initialise(data_dir, Settings("Test"), person("cus", Role.DATA_CUSTODIAN), url=control_url)
    people = People(Environment.open(data_dir, url=control_url))
    try:
        people.enrol("cus")
        people.key("cus")
        world = coded_world(people, tmp_path)
        env, token = world.env, world.tokens["ana"]
        codelists.new(env, token, "Asthma", "snomedct")
        codelists.add(env, token, "asthma", {ASTHMA: None, ABSENT: None})
        codelists.remove(env, token, "asthma", [ABSENT])
        done = codelists.publish(env, token, "asthma/2")
        assert codelists.publish(env, token, "asthma/2") == done
        shown = codelists.show(env, token, "asthma")
        assert [(v.version, v.published) for v in shown.versions] == [(1, False), (2, True)]
        assert codelists.export_csv(env, token, "asthma") == f"code,term\n{ASTHMA},Asthma\n"
        assert len(_entries(env, "codelist")) == 1
        assert _notes_for(env, {ASTHMA}) == [
            f"code list probe.csv (on {COLUMN}) is asthma/2, published by ana on "
            f"{done.published_at:%Y-%m-%d}"
        ]
    finally:
        people.env.close()
