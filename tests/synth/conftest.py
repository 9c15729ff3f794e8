"""Small synthetic populations, generated once per test session and read back from disk."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest

from fivesafes.synth import SynthSummary, generate


@dataclass(frozen=True)
class Output:
    """What generate() wrote, parsed: resources by type, in file order, and the parts of
    every resource that tests look through (collected in one pass)."""

    path: Path
    summary: SynthSummary
    resources: dict[str, list[dict[str, Any]]]
    codings: list[dict[str, Any]] = field(default_factory=list)
    """Every Coding: an object with a system and a code."""
    references: dict[str, set[str]] = field(default_factory=dict)
    """Every literal reference, by the type of the resource holding it."""
    strings: list[str] = field(default_factory=list)
    """Every string value."""

    def by_id(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {r["id"]: r for r in self.resources[resource_type]}


def _walk(value: Any, output: Output, refs: set[str]) -> None:
    if isinstance(value, str):
        output.strings.append(value)
    elif isinstance(value, dict):
        if isinstance(value.get("system"), str) and isinstance(value.get("code"), str):
            output.codings.append(value)
        if isinstance(value.get("reference"), str):
            refs.add(value["reference"])
        for item in value.values():
            _walk(item, output, refs)
    elif isinstance(value, list):
        for item in value:
            _walk(item, output, refs)


def read_output(path: Path, summary: SynthSummary) -> Output:
    resources: dict[str, list[dict[str, Any]]] = {}
    for file in sorted(path.glob("*.ndjson")):
        resources[file.stem] = [orjson.loads(line) for line in file.read_bytes().splitlines()]
    output = Output(path, summary, resources)
    for resource_type, found in resources.items():
        refs = output.references.setdefault(resource_type, set())
        for resource in found:
            _walk(resource, output, refs)
    return output


@pytest.fixture(scope="session")
def population(tmp_path_factory: pytest.TempPathFactory) -> Output:
    """3,000 people, no faults."""
    path = tmp_path_factory.mktemp("synth") / "clean"
    return read_output(path, generate(path, 3000, seed=7))


@pytest.fixture(scope="session")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """250 people with 2% of records spoiled (not parsed: some lines are not JSON)."""
    path = tmp_path_factory.mktemp("synth") / "faulty"
    generate(path, 250, seed=11, faults=0.02)
    return path
