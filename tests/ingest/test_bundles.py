"""A Bundle the loader unwraps is judged whole: its own rules apply, each entry's findings are
that entry's (named from its resource), and the other entries load."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import orjson

from fhir_factory import basic_population
from fivesafes.ingest.conformance import fhir_r4_verdicts
from fivesafes.ingest.pipeline import check_fhir_file


def bundle(entries: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "collection", "entry": entries, **extra}


def entry(resource: dict[str, Any]) -> dict[str, Any]:
    kind, rid = resource["resourceType"], resource["id"]
    return {"fullUrl": f"https://fivesafes.org/fhir/{kind}/{rid}", "resource": resource}


def write(path: Path, document: dict[str, Any]) -> Path:
    path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    return path


def test_an_entrys_findings_are_named_from_its_resource(tmp_path: Path) -> None:
    population = basic_population(1)
    broken = dict(population[-1], meta={"lastUpdated": "yesterday"})
    path = write(tmp_path / "b.json", bundle([entry(r) for r in [*population[:-1], broken]]))
    checked = list(check_fhir_file(path, date(2026, 1, 1)))
    assert [c.entry for c in checked] == list(range(len(population)))
    rejected = [c for c in checked if c.findings]
    assert [c.entry for c in rejected] == [len(population) - 1]
    [finding] = rejected[0].findings
    kind = broken["resourceType"]
    assert finding.path == f"{kind}.meta.lastUpdated"
    assert finding.message.startswith(f"{kind}.meta.lastUpdated: ")


def test_the_bundles_own_rules_are_a_finding_for_the_file(tmp_path: Path) -> None:
    population = basic_population(1)
    entries = [entry(r) for r in population]
    entries[0]["fullUrl"] = "Organization/relative"  # fullUrl must be absolute
    path = write(tmp_path / "b.json", bundle(entries))
    checked = list(check_fhir_file(path, date(2026, 1, 1)))
    flagged = {(c.entry, c.resource_type): {f.rule for f in c.findings} for c in checked}
    assert flagged.pop((0, population[0]["resourceType"])) == {"fhir.bundle"}
    assert all(not rules for rules in flagged.values())
    assert [v.valid for v in fhir_r4_verdicts(path)] == [False] + [True] * (len(population) - 1)


def test_a_bundle_broken_as_a_whole_has_its_own_record(tmp_path: Path) -> None:
    population = basic_population(1)
    path = write(tmp_path / "b.json", bundle([entry(r) for r in population], total=3))
    checked = list(check_fhir_file(path, date(2026, 1, 1)))
    [whole] = [c for c in checked if c.entry is None]
    assert whole.resource_type == "Bundle" and {f.rule for f in whole.findings} == {"fhir.bundle"}
    assert all(not c.findings for c in checked if c.entry is not None)
