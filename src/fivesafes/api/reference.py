"""``docs/api.md``: the API reference, generated from the application's own OpenAPI document
(so it lists exactly the routes, parameters and answers the server has), after a hand-written
introduction with worked examples that a test runs against a live server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fivesafes.api.app import create_app
from fivesafes.api.config import ServerConfig
from fivesafes.store.config import DataDir

INTRODUCTION = Path(__file__).with_name("reference_intro.md")


def _document() -> dict[str, Any]:
    nowhere = DataDir(Path("/nonexistent"), Path("/nonexistent/key"))
    document: dict[str, Any] = create_app(
        ServerConfig(nowhere, "https://fhir.example.org")
    ).openapi()
    return document


def _parameters(operation: dict[str, Any]) -> list[str]:
    rows = []
    for p in operation.get("parameters", []):
        schema = p.get("schema", {})
        kind = schema.get("type") or "/".join(
            s.get("type", "") for s in schema.get("anyOf", []) if s.get("type") != "null"
        )
        enum = schema.get("enum")
        if enum is None and "$ref" in schema:
            kind = schema["$ref"].rsplit("/", 1)[-1]
        needed = "yes" if p.get("required") else "no"
        described = " ".join(str(p.get("description", "")).split())
        rows.append(f"| `{p['name']}` | {p['in']} | {kind} | {needed} | {described} |")
    return rows


def api_reference() -> str:
    document = _document()
    out = [INTRODUCTION.read_text(encoding="utf-8").rstrip(), "", "## Every operation", ""]
    out.append(
        f"From the OpenAPI document (version {document['info']['version']}) the server publishes "
        "at `/openapi.json`; `/docs` shows it interactively."
    )
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            tag = (operation.get("tags") or ["other"])[0]
            by_tag.setdefault(tag, []).append((method.upper(), path, operation))
    for tag, operations in by_tag.items():
        out += ["", f"### {tag}", ""]
        for method, path, operation in operations:
            out += [f"#### `{method} {path}` — {operation.get('summary', '')}", ""]
            description = " ".join(str(operation.get("description", "")).split())
            if description:
                out += [description, ""]
            rows = _parameters(operation)
            if rows:
                out += [
                    "| parameter | in | type | required | description |",
                    "|---|---|---|---|---|",
                ]
                out += [*rows, ""]
            statuses = ", ".join(sorted(str(s) for s in operation.get("responses", {})))
            out += [f"Answers: {statuses}.", ""]
    schemas = document.get("components", {}).get("schemas", {})
    enums = {name: s["enum"] for name, s in schemas.items() if "enum" in s}
    if enums:
        out += ["## Values", ""]
        for name, values in sorted(enums.items()):
            out.append(f"- `{name}`: {', '.join(f'`{v}`' for v in values)}")
        out.append("")
    return "\n".join(out).rstrip() + "\n"
