"""No input, however malformed, ends in a traceback or passes in silence.

Files are crafted the way real extracts go wrong (random bytes, byte order marks, CRLF, NUL
bytes, bytes that are not UTF-8, truncation, huge lines and fields, deep nesting, numbers out
of range, repeated property names) and run through `validate` as a supplier runs it and through
a load. Every outcome must be a finding that names the file, the line and a rule, or a clean
refusal; every line that holds anything must come back as a record.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from fhir_factory import basic_population
from fivesafes.cli import app
from fivesafes.ingest.rules import RULES
from fivesafes.store.database import Store
from fivesafes.store.load import load

runner = CliRunner()
# Each example is a real validate or load (about half a second): enough examples to meet every
# kind of damage several times, few enough for the suite's time.
SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


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
def mutated_resources(draw: st.DrawFn) -> dict[str, Any]:
    """A valid resource with one element replaced by an arbitrary JSON value."""
    resource = dict(draw(st.sampled_from(basic_population(1))))
    key = draw(st.sampled_from(sorted(resource)))
    resource[key] = draw(json_values)
    return resource


def _nested(depth: int) -> bytes:
    """Extensions nested ``depth`` deep, written by hand (JSON writers refuse such depth)."""
    inner = b'{"url":"https://fivesafes.org/x","valueString":"x"}'
    opening = b'{"url":"https://fivesafes.org/x","extension":['
    return opening * depth + inner + b"]}" * depth


# Ways one record's bytes go wrong, each given the record and a number to place the damage.
DAMAGE: dict[str, Callable[[bytes, int], bytes]] = {
    "truncated": lambda line, at: line[: at % max(len(line), 1)],
    "NUL byte": lambda line, at: line[: at % len(line)] + b"\x00" + line[at % len(line) :],
    "not UTF-8": lambda line, at: line[: at % len(line)] + b"\xff\xfe" + line[at % len(line) :],
    "Latin-1 name": lambda line, _: line.replace(b'"Test ICB"', '"Tést ICB"'.encode("latin-1")),
    "BOM inside": lambda line, at: (
        line[: at % len(line)] + b"\xef\xbb\xbf" + line[at % len(line) :]
    ),
    "repeated name": lambda line, _: line.replace(
        b'{"resourceType"', b'{"id":"x","resourceType"', 1
    ),
    "huge string": lambda line, _: line.replace(b'"id":"', b'"id":"' + b"x" * 1_100_000, 1),
    "deep nesting": lambda line, _: line[:-1] + b',"extension":[' + _nested(1500) + b"]}",
    "number too big": lambda line, _: line[:-1] + b',"multipleBirthInteger":' + b"9" * 30 + b"}",
    "number overflow": lambda line, _: line[:-1] + b',"multipleBirthInteger":1e400}',
    "random bytes": lambda _, at: bytes((at * 7 + i * 13) % 256 for i in range(at % 40 + 1)),
}


@st.composite
def crafted_ndjson(draw: st.DrawFn) -> bytes:
    """An NDJSON file of real records, some damaged, with the file's own oddities."""
    population = basic_population(1)
    lines = []
    for _ in range(draw(st.integers(1, 4))):
        line = orjson.dumps(draw(st.sampled_from(population)))
        damage = draw(st.sampled_from([None, *DAMAGE]))
        if damage is not None:
            line = DAMAGE[damage](line, draw(st.integers(0, 10_000)))
        lines.append(line.replace(b"\n", b" "))
    newline = draw(st.sampled_from([b"\n", b"\r\n"]))
    body = newline.join(lines) + draw(st.sampled_from([b"", newline, newline * 3]))
    return draw(st.sampled_from([b"", b"\xef\xbb\xbf"])) + body


CSV_HEADER = "organisation_code,staff_group,month,fte"
CSV_VALUES = st.sampled_from(
    [
        "A81001",
        "Midwives",
        "2024-01-01",
        "3.5",
        "",
        '"quoted, with comma"',
        '"unterminated',
        "nan",
        "-1e999",
        "99999999999999999999999",
        "٣",
        "2024-02-30",
        "x" * 140_000,
        "\x00",
        "\udcff",  # stands for a byte that is not UTF-8
    ]
)


@st.composite
def crafted_csv(draw: st.DrawFn) -> bytes:
    rows = [
        ",".join(draw(st.lists(CSV_VALUES, min_size=1, max_size=5)))
        for _ in range(draw(st.integers(0, 4)))
    ]
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    text = newline.join([CSV_HEADER, *rows]) + newline
    data = text.encode("utf-8", "surrogateescape")
    return draw(st.sampled_from([b"", b"\xef\xbb\xbf"])) + data


def _validate(name: str, content: bytes) -> tuple[int, list[dict[str, Any]], Path]:
    """Run `validate --format json` on one file; assert it ended as a user may see it end."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(content)
        result = runner.invoke(app, ["validate", str(path), "--format", "json"])
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            result.exception
        )
        assert result.exit_code in (0, 1, 3), result.output
        records: list[dict[str, Any]] = orjson.loads(result.stdout)["records"]
    for record in records:
        assert record["file"] == str(path)
        assert record["line"] >= 1
        assert (record["verdict"] == "accepted") == (not record["findings"])
        for finding in record["findings"]:
            assert finding["rule"] in RULES and finding["message"], finding
    return result.exit_code, records, path


@SETTINGS
@given(crafted_ndjson())
def test_crafted_ndjson_is_reported_line_by_line(content: bytes) -> None:
    code, records, _ = _validate("data.ndjson", content)
    lines = content.removeprefix(b"\xef\xbb\xbf").split(b"\n")
    written = [n for n, line in enumerate(lines, start=1) if line.strip()]
    if not written:
        assert [f["rule"] for r in records for f in r["findings"]] == ["file.empty"]
    else:
        assert sorted(r["line"] for r in records) == written  # no line passes in silence
    rejected = sum(r["verdict"] == "rejected" for r in records)
    assert code == (0 if not rejected else 3 if rejected == len(records) else 1)


@SETTINGS
@given(crafted_csv())
def test_crafted_csv_is_reported_line_by_line(content: bytes) -> None:
    _, records, _ = _validate("workforce.csv", content)
    rows = content.removeprefix(b"\xef\xbb\xbf").replace(b"\r\n", b"\n").split(b"\n")[1:]
    if not any(rows):
        assert [f["rule"] for r in records for f in r["findings"]] == ["file.empty"]
    else:
        assert records  # quoted fields may join lines, but every row is accounted for
        assert all(r["findings"] or r["resource_type"] == "workforce" for r in records)


@pytest.mark.parametrize(("encoding", "name"), [("utf-16", "UTF-16"), ("utf-32", "UTF-32")])
def test_a_file_in_another_unicode_encoding_is_named_as_such(encoding: str, name: str) -> None:
    for file, text in (
        ("data.ndjson", '{"resourceType": "Patient"}\n'),
        ("workforce.csv", "a,b\n"),
    ):
        _, records, _ = _validate(file, text.encode(encoding))
        [(rule, message)] = [(f["rule"], f["message"]) for r in records for f in r["findings"]]
        assert rule == "text.encoding"
        assert message.startswith(f"the file is {name}")


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


lines = st.one_of(
    st.binary(max_size=40),
    json_values.map(_dumps),
    mutated_resources().map(_dumps),
)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(lines, crafted_ndjson()), min_size=1, max_size=6))
def test_any_ndjson_lines_load_or_quarantine(body: list[bytes]) -> None:
    _load({"data.ndjson": b"\n".join(line.replace(b"\n", b" ") for line in body)})


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=60), json_values.map(_dumps)))
def test_any_json_document_loads_or_quarantines(document: bytes) -> None:
    _load({"bundle.json": document})


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(crafted_csv(), st.text(max_size=120).map(lambda t: (CSV_HEADER + "\n" + t).encode()))
)
def test_any_csv_loads_or_quarantines(content: bytes) -> None:
    _load({"workforce.csv": content})


def _without_one_element(node: Any, depth: int = 3) -> list[Any]:
    """``node`` once for each element down to ``depth`` levels, without that element (the
    first item of an array stands for the array)."""
    if isinstance(node, list) and node:
        return [[smaller, *node[1:]] for smaller in _without_one_element(node[0], depth)]
    if not isinstance(node, dict) or depth == 0:
        return []
    variants = []
    for key, value in node.items():
        if key in ("resourceType", "id"):
            continue
        variants.append({k: v for k, v in node.items() if k != key})
        variants += [node | {key: smaller} for smaller in _without_one_element(value, depth - 1)]
    return variants


def test_a_record_missing_any_element_is_loaded_or_quarantined(tmp_path: Path) -> None:
    """Every element the data model needs (a patient's sex, an organisation's name and kind,
    a service's type, an admission's method and diagnosis, a wearable's value, an appointment's
    service) is a finding when absent, not a NOT NULL failure that takes the load down."""
    from fivesafes.synth import generate

    generate(tmp_path / "synth", patients=30, seed=3)
    population = [
        orjson.loads(line)
        for path in sorted((tmp_path / "synth").glob("*.ndjson"))
        for line in path.read_bytes().splitlines()
    ]
    seen: set[str] = set()
    variants = []
    for resource in population:
        if resource["resourceType"] in seen:
            continue
        seen.add(resource["resourceType"])
        for n, variant in enumerate(_without_one_element(resource)):
            variants.append(variant | {"id": f"{resource['id']}-without-{n}"})
    assert len(seen) >= 10
    source = tmp_path / "variants.ndjson"
    source.write_bytes(b"\n".join(orjson.dumps(v) for v in [*population, *variants]))
    with Store.in_memory(b"k" * 32) as store:
        report = load(store, [source], today=date(2026, 1, 1))
    assert report.committed
    assert report.totals["quarantined"] > 0
