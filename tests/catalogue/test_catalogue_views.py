"""Hole 8: the catalogue and code usage as each person may see them.

A custodian sees exact counts and dates; anyone else sees counts rounded and suppressed by the
disclosure profile, coverage in months holding enough people, no load file names, and only
codes held by enough people — tested here as a curious member of the public would read them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from environment.environment_support import open_with_custodian
from fhir_factory import condition, icb, nhs_number, patient, practice, registration, write_ndjson
from fivesafes.cli import app
from fivesafes.disclosure import profile
from fivesafes.environment.catalogue import CUSTODIAN, PUBLIC, code_usage, view_catalogue
from fivesafes.governance import AccessDenied, Role
from fivesafes.store.config import DataDir
from store_holder import store_held_by_another_process

ASTHMA, RARE = "195967001", "13645005"
OUTLIER = "1991-03-04"  # one person's first event, far before everyone else's
runner = CliRunner()


@dataclass(frozen=True)
class Environment:
    data_dir: DataDir
    tokens: dict[str, str]

    @property
    def args(self) -> list[str]:
        return ["--data-dir", str(self.data_dir.root)]


@pytest.fixture(scope="module")
def environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Environment]:
    """43 people: 40 with asthma recorded across 2020, one of them also in 1991; three with
    a rare condition."""
    root = tmp_path_factory.mktemp("catalogue")
    data_dir = DataDir.from_env(root / "data")  # as the commands find it
    people = open_with_custodian(data_dir)  # made as environment init makes it
    people.add("ana", Role.ANALYST)
    people.env.close()
    tokens = dict(people.tokens)
    resources = [icb(), practice()]
    for i in range(43):
        resources += [patient(f"p{i}", nhs_number(i)), registration(f"e{i}", f"p{i}")]
        code = RARE if i >= 40 else ASTHMA
        resources.append(condition(f"c{i}", f"p{i}", code, f"2020-{i % 12 + 1:02d}-15"))
    resources.append(condition("old", "p0", ASTHMA, OUTLIER))
    source = write_ndjson(root / "people.ndjson", resources)
    loaded = runner.invoke(
        app, ["load", str(source), "--data-dir", str(data_dir.root), "--token", tokens["cus"]]
    )
    assert loaded.exit_code == 0, loaded.output
    yield Environment(data_dir, tokens)


def _dataset(catalogue, name: str):
    return next(d for d in catalogue.datasets if d.name == name)


def test_a_custodian_sees_exact_counts_and_dates(environment: Environment):
    catalogue = view_catalogue(environment.data_dir, environment.tokens["cus"])
    assert catalogue.view == CUSTODIAN
    events = _dataset(catalogue, "clinical_events")
    assert (events.rows, events.patients) == (44, 43)
    assert (events.first, events.last) == (OUTLIER, "2020-12-15")
    assert catalogue.loads[0].files  # which files were loaded


def test_anyone_else_sees_rounded_counts_months_and_no_file_names(environment: Environment):
    rules = profile("default")
    for credential in (None, environment.tokens["ana"]):  # anonymous, and an analyst
        catalogue = view_catalogue(environment.data_dir, credential)
        assert catalogue.view == PUBLIC and catalogue.profile == rules.name
        events = _dataset(catalogue, "clinical_events")
        assert (events.rows, events.patients) == (45, 45)  # 44 and 43, to the nearest 5
        assert events.first is None and events.last is None  # no month holds 10 people
        assert all(not load.files for load in catalogue.loads)
        text = catalogue.to_json().decode()
        assert OUTLIER not in text and "2020-12-15" not in text


def test_no_public_count_is_small_or_unrounded(environment: Environment):
    rules = profile("default")
    document = orjson.loads(view_catalogue(environment.data_dir).to_json())
    counts = [d[k] for d in document["datasets"] for k in ("rows", "patients")]
    counts += [c["filled"] for d in document["datasets"] for c in d["columns"]]
    counts += [n for load in document["loads"] for n in load["totals"].values()]
    shown = [n for n in counts if n is not None]
    assert shown and all(n == 0 or (n >= rules.threshold and n % 5 == 0) for n in shown)
    dates = [d[k] for d in document["datasets"] for k in ("first", "last") if d[k]]
    assert all(re.fullmatch(r"\d{4}-\d{2}", d) for d in dates)  # months, never days


def test_coverage_is_the_months_holding_enough_people(environment: Environment):
    catalogue = view_catalogue(environment.data_dir)
    registrations = _dataset(catalogue, "practice_registrations")
    assert (registrations.first, registrations.last) == ("2010-01", "2010-01")  # 43 people
    patients = _dataset(catalogue, "patients")
    assert patients.first == "1980-05"  # everyone's month of birth: 43 people, not one


def test_a_credential_that_does_not_check_out_is_refused(environment: Environment):
    with pytest.raises(AccessDenied):
        view_catalogue(environment.data_dir, "not-a-token")
    result = runner.invoke(app, ["catalogue", *environment.args, "--token", "not-a-token"])
    assert result.exit_code == 2 and "refused" in result.output


def test_the_catalogue_command_shows_the_public_view(environment: Environment):
    result = runner.invoke(app, ["catalogue", *environment.args, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.stdout)["view"] == PUBLIC
    exact = runner.invoke(
        app,
        ["catalogue", *environment.args, "--format", "json", "--token", environment.tokens["cus"]],
    )
    assert orjson.loads(exact.stdout)["view"] == CUSTODIAN
    text = runner.invoke(app, ["catalogue", *environment.args, "--columns"])
    assert text.exit_code == 0 and "clinical_events" in text.output


def test_codes_list_only_codes_held_by_enough_people(environment: Environment):
    exact = code_usage(environment.data_dir, environment.tokens["cus"], "clinical_events")
    assert {(c.code, c.patients, c.records) for c in exact.codes} == {
        (ASTHMA, 40, 41),
        (RARE, 3, 3),
    }
    public = code_usage(environment.data_dir, None, "clinical_events")
    assert [(c.code, c.patients, c.records) for c in public.codes] == [(ASTHMA, 40, 40)]
    assert public.left_out == {"clinical_events.snomedct_code": 1}  # how many, not which
    assert RARE not in public.to_json().decode()


def test_codes_are_searchable_by_term(environment: Environment):
    found = code_usage(environment.data_dir, None, search="asthm")
    assert [(c.table, c.code, c.term) for c in found.codes] == [
        ("clinical_events", ASTHMA, "Asthma")
    ]
    result = runner.invoke(app, ["codes", "--search", "asthma", *environment.args])
    assert result.exit_code == 0 and ASTHMA in result.output and "Asthma" in result.output
    ethnicity = code_usage(environment.data_dir, None, "patients.ethnicity")
    assert ethnicity.codes == ()  # nobody's ethnicity is stated in these records
    wrong = runner.invoke(app, ["codes", "no_such_table", *environment.args])
    assert wrong.exit_code == 2 and "coded columns:" in wrong.output


def test_a_store_held_by_another_process_is_a_one_line_error(environment: Environment) -> None:
    with store_held_by_another_process(environment.data_dir.root / "store.duckdb") as pid:
        for command in (["catalogue"], ["codes"]):
            result = runner.invoke(app, [*command, *environment.args])
            assert result.exit_code == 2, result.output
            told = " ".join(result.stderr.split())
            assert f"is in use by another process (process {pid})" in told


def test_the_codes_example_in_the_disclosure_rules_doc_is_what_the_command_prints(
    environment: Environment,
) -> None:
    """docs/disclosure-rules.md shows `codes` on data like this fixture's; run it as shown."""
    doc = (Path(__file__).parents[2] / "docs" / "disclosure-rules.md").read_text()
    block = re.search(r"```text\n\$ fivesafes (codes [^\n]*)\n(.*?)```", doc, re.S)
    assert block is not None
    command, shown = block.group(1).split(), block.group(2)
    result = runner.invoke(app, [*command, *environment.args])
    assert result.exit_code == 0, result.output

    def rows(text: str) -> list[list[str]]:
        return [
            [cell.strip() for cell in line.strip("│").split("│")]
            for line in text.splitlines()
            if line.startswith("│")
        ]

    assert rows(result.output) == rows(shown)
    assert shown.strip().splitlines()[-1] == result.output.strip().splitlines()[-1]
