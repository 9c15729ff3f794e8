"""No input, however malformed, ends in a traceback: it is quarantined with a reason."""

from __future__ import annotations

import json
import tempfile
from datetime import date
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fhir_factory import basic_population
from fivesafes.store.database import Store
from fivesafes.store.load import load


def _dumps(value: object) -> bytes:
    """Standard-library JSON, which (unlike orjson) writes integers of any size."""
    return json.dumps(value).encode()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)


@st.composite
def mutated_resources(draw: st.DrawFn) -> dict:
    """A valid resource with one element replaced by an arbitrary JSON value."""
    resource = dict(draw(st.sampled_from(basic_population(1))))
    key = draw(st.sampled_from(sorted(resource)))
    resource[key] = draw(json_values)
    return resource


lines = st.one_of(
    st.binary(max_size=40),
    json_values.map(_dumps),
    mutated_resources().map(_dumps),
)


def _load(files: dict[str, bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name, content in files.items():
            (root / name).write_bytes(content)
        with Store.in_memory(b"k" * 32) as store:
            report = load(store, [root / n for n in files], today=date(2026, 1, 1))
            quarantined = store.con.execute(
                "SELECT count(*) FROM meta.quarantine WHERE rule IS NULL OR message IS NULL"
            ).fetchone()
    assert report.committed
    assert quarantined == (0,)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(lines, min_size=1, max_size=6))
def test_any_ndjson_lines_load_or_quarantine(body: list[bytes]) -> None:
    _load({"data.ndjson": b"\n".join(line.replace(b"\n", b" ") for line in body)})


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=60), json_values.map(_dumps)))
def test_any_json_document_loads_or_quarantines(document: bytes) -> None:
    _load({"bundle.json": document})


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=120))
def test_any_csv_loads_or_quarantines(text: str) -> None:
    _load({"workforce.csv": ("organisation_code,staff_group,month,fte\n" + text).encode()})
