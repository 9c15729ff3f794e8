"""The query model as JSON (``query.serial``): what goes in comes out, and nothing else can.

A definition against real data is evaluated where there is no data; only this JSON crosses to
the extraction. So the round trip must be exact, the document must stay the size of the
definition, and a document written by someone else must not be able to make anything but the
query model.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import orjson
import pytest

from fivesafes import INTERVAL, Dataset, Measures, case, codelist, months, when
from fivesafes.query import serial
from fivesafes.query.dataset import DatasetQuery
from fivesafes.query.study import load_dataset
from fivesafes.tables import clinical_events as ce
from fivesafes.tables import hospital_admissions, patients, practice_registrations

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _rich_dataset() -> DatasetQuery:
    """A definition using most of the language: frames, picks, aggregates, case, dates, codes."""
    asthma = codelist(["195967001", "233678006"], system="snomedct")
    events = ce.where(ce.snomedct_code.is_in(asthma) & ce.date.is_on_or_before("2024-01-01"))
    first = events.sort_by(ce.date).first_for_patient()
    registration = practice_registrations.for_patient_on("2024-01-01")
    age = patients.age_on("2024-01-01")
    dataset = Dataset()
    dataset.define_population(
        registration.exists_for_patient() & patients.is_alive_on(date(2024, 1, 1))
    )
    dataset.age_band = case(
        when(age < 18).then("0-17"), when(age < 65).then("18-64"), otherwise="65+"
    )
    dataset.first_asthma = first.date
    dataset.years_since = first.date.difference_in_years("2024-01-01")
    dataset.events = events.count_for_patient()
    dataset.mean_value = ce.numeric_value.mean_for_patient()
    dataset.highest = ce.numeric_value.maximum_for_patient()
    dataset.admitted = hospital_admissions.exists_for_patient()
    dataset.ratio = (events.count_for_patient() * 1.5).as_float() / 2
    dataset.missing_sex = patients.sex.is_null()
    dataset.known_decile = registration.imd_decile.when_null_then(0)
    dataset.configure_dummy_data(population_size=123)
    return dataset.query()


def _measures() -> object:
    measures = Measures()
    measures.define_measure(
        "admitted",
        numerator=hospital_admissions.where(
            hospital_admissions.admission_date.is_during((INTERVAL.start_date, INTERVAL.end_date))
        ).exists_for_patient(),
        denominator=patients.exists_for_patient(),
        group_by={"sex": patients.sex},
        intervals=months(3).starting_on("2023-04-01"),
    )
    return measures.query()


def _types(node: object) -> list[tuple[str, type]]:
    """Every value in a model with its exact type: == alone lets a StrEnum pass for a str."""
    found: list[tuple[str, type]] = []
    if dataclasses.is_dataclass(node):
        for f in dataclasses.fields(node):
            value = getattr(node, f.name)
            found += [(f.name, type(value)), *_types(value)]
    elif isinstance(node, tuple | frozenset):
        for item in node:
            found += [("item", type(item)), *_types(item)]
    return found


def test_a_rich_dataset_comes_back_exactly() -> None:
    query = _rich_dataset()
    text = serial.dumps(query)
    again = serial.loads(text)
    assert again == query and _types(again) == _types(query)
    assert serial.dumps(again) == text  # canonical: the same model, the same bytes


def test_measures_come_back_exactly() -> None:
    query = _measures()
    again = serial.loads(serial.dumps(query))  # type: ignore[arg-type]
    assert again == query and _types(again) == _types(query)


@pytest.mark.parametrize("study", sorted(EXAMPLES.glob("*/analysis/study.py")), ids=str)
def test_the_example_studies_come_back_exactly(
    study: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(study.parents[1])  # code lists are read relative to the study
    query = load_dataset(study.relative_to(study.parents[1]))
    again = serial.loads(serial.dumps(query))
    assert again == query and _types(again) == _types(query)


def test_a_shared_sub_graph_is_written_once() -> None:
    """x | x, twelve times over, is 4,096 paths but seventeen nodes."""
    condition = patients.sex == "female"
    for _ in range(12):
        condition = condition | condition
    dataset = Dataset()
    dataset.define_population(condition)
    text = serial.dumps(dataset.query())
    assert len(orjson.loads(text)["nodes"]) == 17
    assert serial.dumps(serial.loads(text)) == text  # (== would walk every path)


def _document(nodes: list[object], root: int | None = None) -> bytes:
    root = len(nodes) - 1 if root is None else root
    return orjson.dumps({"format": serial.FORMAT, "nodes": nodes, "root": root})


@pytest.mark.parametrize(
    "document, says",
    [
        (b"not json", "not JSON"),
        (orjson.dumps({"format": "pickle", "nodes": [], "root": 0}), "not a fivesafes"),
        (_document([{"type": "PosixPath", "fields": {}}]), "not a query model node"),
        (_document([{"type": "Measures", "fields": {}}]), "not a query model node"),
        (_document([{"type": "TableFrame", "fields": {"table": "patients", "x": 1}}]), "unknown"),
        (_document([{"type": "Column", "fields": {"source": {"ref": 0}}}]), "not an earlier"),
        (
            _document(
                [
                    {"type": "TableFrame", "fields": {"table": "patients"}},
                    {
                        "type": "Column",
                        "fields": {
                            "source": {"ref": 0},
                            "name": "sex",
                            "kind": {"enum": "Signals", "value": "SIGKILL"},
                        },
                    },
                ]
            ),
            "not a query model enum",
        ),
        (_document([{"type": "TableFrame", "fields": {"table": "patients"}}]), "not a dataset"),
        (_document([{"type": "Value", "fields": {"value": [1, 2], "kind": None}}]), "bare list"),
    ],
)
def test_a_document_makes_nothing_but_the_model(document: bytes, says: str) -> None:
    with pytest.raises(serial.SerialError, match=says):
        serial.loads(document)


def test_an_oversized_document_is_refused_unread() -> None:
    with pytest.raises(serial.SerialError, match="refused"):
        serial.loads(b" " * (serial.MAX_BYTES + 1))


def test_only_query_models_are_written() -> None:
    with pytest.raises(serial.SerialError, match="expected a dataset or measures"):
        serial.dumps(Path("/etc/passwd"))  # type: ignore[arg-type]
