"""The query model is immutable, shared and checked: equal definitions are equal values,
compiled once, and a node that could mean nothing cannot be made."""

from __future__ import annotations

import dataclasses
import re
from datetime import date, datetime

import pytest
import sqlglot
from generative import DATASETS
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from fivesafes import INTERVAL, Dataset, Measures, case, months, when
from fivesafes.query import model as m
from fivesafes.query.dataset import DatasetQuery, Measure, MeasureQuery
from fivesafes.query.engines import dataset_sql, measures_sql
from fivesafes.tables import clinical_events as ce
from fivesafes.tables import patients, practice_registrations


def _dataset() -> Dataset:
    dataset = Dataset()
    registration = practice_registrations.for_patient_on("2024-03-31")
    dataset.define_population(registration.exists_for_patient())
    dataset.practice = registration.practice_code
    dataset.imd = practice_registrations.for_patient_on("2024-03-31").imd_decile
    dataset.bmi = ce.where(ce.snomedct_code == "60621009").count_for_patient()
    return dataset


def test_equal_definitions_build_equal_models() -> None:
    assert _dataset().query() == _dataset().query()
    assert hash(_dataset().query()) == hash(_dataset().query())


def test_the_model_cannot_be_changed() -> None:
    query = _dataset().query()
    with pytest.raises(dataclasses.FrozenInstanceError):
        query.population = patients.exists_for_patient().node  # type: ignore[misc]


def test_a_value_used_three_times_is_computed_once() -> None:
    sql = dataset_sql(_dataset().query(), "analysis", excluded=False).sql("duckdb")
    assert sql.count('"analysis"."practice_registrations" AS r') == 1
    assert sql.count("ARG_MAX_NULL(") == 2  # the practice and the IMD decile of one pick


def test_every_value_from_one_table_comes_from_one_grouped_pass() -> None:
    dataset = _dataset()
    dataset.smoked = ce.where(ce.snomedct_code == "77176002").exists_for_patient()
    dataset.last_bmi = (
        ce.where(ce.snomedct_code == "60621009").sort_by(ce.date).last_for_patient().numeric_value
    )
    sql = dataset_sql(dataset.query(), "analysis", excluded=False).sql("duckdb")
    assert sql.count('"analysis"."clinical_events" AS r') == 1
    assert sql.count("GROUP BY") == 2
    assert "ROW_NUMBER" not in sql


@pytest.mark.parametrize("dialect", ["duckdb", "spark"])
def test_the_sql_reads_back_in_its_dialect(dialect: str) -> None:
    schema = "analysis" if dialect == "duckdb" else None
    sql = dataset_sql(_dataset().query(), schema, excluded=True, dialect=dialect).sql(dialect)
    assert sqlglot.parse_one(sql, read=dialect).sql(dialect) == sql


def test_measures_over_the_same_intervals_are_one_query_with_one_pass_per_table() -> None:
    measures = Measures()
    in_interval = ce.where(ce.date.is_during((INTERVAL.start_date, INTERVAL.end_date)))
    measures.define_defaults(
        denominator=patients.is_alive_on(INTERVAL.start_date),
        intervals=months(12).starting_on("2023-04-01"),
    )
    for code in ("60621009", "195967001", "13645005"):
        numerator = in_interval.where(ce.snomedct_code == code).exists_for_patient()
        measures.define_measure(f"recorded_{code}", numerator=numerator)
    measures.define_measure(
        "other_intervals",
        numerator=in_interval.exists_for_patient(),
        intervals=months(3).starting_on("2024-01-01"),
    )
    queries = measures_sql(measures.query(), "analysis", excluded=False)
    assert len(queries) == 2
    sql = queries[0].sql("duckdb")
    assert sql.count('"analysis"."clinical_events"') == 1
    assert sql.count("UNION ALL") == 2 + 11  # three measures stacked; twelve intervals


# --- an invalid model cannot be built, by any path ---------------------------------------

CE = m.TableFrame("clinical_events")
MEDS = m.TableFrame("medications")
PATIENTS = m.TableFrame("patients")
DATE = m.Column(CE, "date", m.Kind.DATE)
VALUE = m.Column(CE, "numeric_value", m.Kind.FLOAT)
BORN = m.Column(PATIENTS, "date_of_birth", m.Kind.DATE)
TRUE = m.Value(True, m.Kind.BOOL)
ONE = m.Value(1, m.Kind.INT)
LATER = m.Apply(m.Fn.GT, (DATE, m.Value(date(2020, 1, 1), m.Kind.DATE)), m.Kind.BOOL)
MEDS_DATE = m.Column(MEDS, "date", m.Kind.DATE)
MEDS_YEAR = m.Apply(m.Fn.YEAR, (MEDS_DATE,), m.Kind.INT)


@pytest.mark.parametrize(
    ("build", "problem"),
    [
        (lambda: m.TableFrame("nope"), "no table 'nope'"),
        (lambda: m.TableFrame("workforce"), "not about patients"),
        (lambda: m.Filter(PATIENTS, TRUE), "needs many rows per patient"),
        (lambda: m.Filter(CE, ONE), "must be true/false"),
        (lambda: m.Filter(CE, m.Apply(m.Fn.IS_NULL, (MEDS_DATE,), m.Kind.BOOL)), "another table"),
        (lambda: m.Filter(CE, "date > 2020"), "must be a series"),
        (lambda: m.Sort(CE, ()), "at least one key"),
        (lambda: m.SortKey(m.Value(date(2020, 1, 1), m.Kind.DATE)), "a value per row"),
        (lambda: m.SortKey(LATER), "cannot be true/false"),
        (lambda: m.Sort(CE, (m.SortKey(MEDS_DATE),)), "another table"),
        (lambda: m.PickOne(CE, last=False), "only sorted rows"),  # type: ignore[arg-type]
        (lambda: m.Column(CE, "nope", m.Kind.DATE), "no column 'nope'"),
        (lambda: m.Column(CE, "date", m.Kind.INT), "is date, not integer"),
        (lambda: m.Column(CE, "snomedct_code", m.Kind.CODE), "holds codes of"),
        (lambda: m.Column(PATIENTS, "patient_id", m.Kind.INT), "do not read patient_id"),
        (lambda: m.Value(1, m.Kind.STR), "not a string value"),
        (lambda: m.Value(True, m.Kind.INT), "not a integer value"),
        (lambda: m.Value(1, m.Kind.FLOAT), "not a float value"),
        (lambda: m.Value(float("nan"), m.Kind.FLOAT), "not a float value"),
        (lambda: m.Value(2**63, m.Kind.INT), "not a integer value"),
        (lambda: m.Value(datetime(2020, 1, 1), m.Kind.DATE), "not a date value"),
        (lambda: m.Value("x", "text"), "not a kind of value"),  # type: ignore[arg-type]
        (lambda: m.IntervalBound(end=True, kind=m.Kind.INT), "bounds are dates"),
        (lambda: m.Apply(m.Fn.ADD, (DATE, ONE), m.Kind.DATE), "+ cannot take (date, integer)"),
        (lambda: m.Apply(m.Fn.EQ, (ONE,), m.Kind.BOOL), "= cannot take (integer)"),
        (lambda: m.Apply(m.Fn.EQ, (ONE, ONE), m.Kind.INT), "gives boolean, not integer"),
        (lambda: m.Apply(m.Fn.ADD, (ONE, ONE), m.Kind.FLOAT), "gives integer, not float"),
        (lambda: m.Apply(m.Fn.AND, [TRUE, TRUE], m.Kind.BOOL), "must be a tuple"),  # type: ignore[arg-type]
        (lambda: m.Apply(m.Fn.LT, (DATE, MEDS_DATE), m.Kind.BOOL), "two different sets"),
        (lambda: m.Apply("plus", (ONE, ONE), m.Kind.INT), "not an operation"),  # type: ignore[arg-type]
        (lambda: m.IsIn(DATE, frozenset({None})), "cannot look for NULL"),
        (lambda: m.IsIn(VALUE, frozenset({"a"})), "was given ['a']"),
        (lambda: m.IsIn(VALUE, frozenset({1})), "was given [1]"),
        (lambda: m.IsIn(VALUE, {1.0}), "must be a frozenset"),  # type: ignore[arg-type]
        (lambda: m.Case((), ONE, m.Kind.INT), "at least one branch"),
        (lambda: m.Case(((ONE, ONE),), ONE, m.Kind.INT), "must be true/false"),
        (lambda: m.Case(((TRUE, VALUE),), ONE, m.Kind.INT), "was given a float value"),
        (lambda: m.Case(((TRUE, ONE),), VALUE, m.Kind.INT), "has a float otherwise"),
        (
            lambda: m.Case(
                ((LATER, ONE),), m.Apply(m.Fn.YEAR, (MEDS_DATE,), m.Kind.INT), m.Kind.INT
            ),
            "two different sets",
        ),
        (lambda: m.Aggregate(m.Agg.SUM, BORN, m.Kind.DATE), "needs many values per patient"),
        (lambda: m.Aggregate(m.Agg.SUM, DATE, m.Kind.DATE), "cannot take date values"),
        (lambda: m.Aggregate(m.Agg.MAX, LATER, m.Kind.BOOL), "cannot take boolean values"),
        (lambda: m.Aggregate(m.Agg.MEAN, VALUE, m.Kind.INT), "gives float, not integer"),
        (lambda: m.Aggregate(m.Agg.EXISTS, DATE, m.Kind.BOOL), "must be a frame"),
        (lambda: m.Aggregate(m.Agg.COUNT, CE, m.Kind.BOOL), "gives integer, not boolean"),
        (lambda: m.Aggregate(m.Agg.SUM, CE, m.Kind.INT), "must be a series"),
    ],
)
def test_a_node_that_cannot_mean_anything_is_refused(build, problem: str) -> None:
    with pytest.raises(m.InvalidModel, match=re.escape(problem)):
        build()


EXISTS = m.Aggregate(m.Agg.EXISTS, PATIENTS, m.Kind.BOOL)
SPAN = ((date(2024, 1, 1), date(2024, 1, 31)),)
BACKWARDS = ((date(2024, 2, 1), date(2024, 1, 1)),)


@pytest.mark.parametrize(
    ("build", "problem"),
    [
        (lambda: DatasetQuery(ONE, ()), "must be a true/false condition"),
        (lambda: DatasetQuery(LATER, ()), "has many values per patient"),
        (lambda: DatasetQuery(EXISTS, (("d", DATE),)), "column 'd' has many values"),
        (lambda: DatasetQuery(EXISTS, (("a", BORN), ("a", BORN))), "repeated names"),
        (lambda: DatasetQuery(EXISTS, (("patient_id", BORN),)), "invalid or repeated"),
        (lambda: DatasetQuery(EXISTS, (("a", m.IntervalBound(True)),)), "interval outside"),
        (lambda: DatasetQuery(EXISTS, (), dummy_patients=0), "at least one patient"),
        (lambda: Measure("m", VALUE, EXISTS, (), SPAN), "numerator of 'm'"),
        (lambda: Measure("m", EXISTS, BORN, (), SPAN), "denominator of 'm' is not a count"),
        (lambda: Measure("m", EXISTS, EXISTS, (), ()), "needs (start, end) date intervals"),
        (
            lambda: Measure("m", EXISTS, EXISTS, (), ((date(2024, 2, 1), date(2024, 1, 1)),)),
            "intervals",
        ),
        (lambda: Measure("m", EXISTS, EXISTS, (), SPAN * 2), "an interval twice"),
        (lambda: Measure("m", EXISTS, EXISTS, (("g", LATER),), SPAN), "group 'g' has many values"),
        (lambda: MeasureQuery(()), "at least one measure"),
        (
            lambda: MeasureQuery(
                (
                    Measure("a", EXISTS, EXISTS, (("g", BORN),), SPAN),
                    Measure("b", EXISTS, EXISTS, (("g", EXISTS),), SPAN),
                )
            ),
            "groups called 'g' differ in type",
        ),
    ],
)
def test_a_dataset_or_measure_that_cannot_mean_anything_is_refused(build, problem: str) -> None:
    with pytest.raises(m.InvalidModel, match=re.escape(problem)):
        build()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DATASETS, st.data())
def test_changing_the_kind_a_node_claims_is_refused(dataset: DatasetQuery, data) -> None:
    """An operation, column or aggregation gives exactly one kind of value: a node claiming
    any other (as a hand-built or corrupted serialised model might) cannot be made."""
    nodes = [
        n
        for _, s in dataset.columns
        for n in m.walk(s)
        if isinstance(n, m.Apply | m.Column | m.Aggregate)
    ]
    assume(nodes)
    node = data.draw(st.sampled_from(nodes))
    other = data.draw(st.sampled_from([k for k in m.Kind if k is not node.kind]))
    with pytest.raises(m.InvalidModel):
        dataclasses.replace(node, kind=other)


def test_the_language_builds_only_valid_nodes_for_widened_values() -> None:
    """``case`` and ``when_null_then`` mixing integers and floats give floats; a NULL branch
    takes the case's kind (each was once a node the model now refuses)."""
    age = patients.age_on("2024-01-01")
    band = case(when(age < 18).then(None), otherwise=2.5).node
    assert band.kind is m.Kind.FLOAT
    assert isinstance(band, m.Case) and band.branches[0][1] == m.Value(None, m.Kind.FLOAT)
    assert age.when_null_then(0.5).node.kind is m.Kind.FLOAT
    assert ce.numeric_value.when_null_then(0).node.kind is m.Kind.FLOAT
