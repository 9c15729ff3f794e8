"""docs/api.md: current with the OpenAPI document, and its worked examples (curl and fhirpy) run
word for word against a live server."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from api_support import serving, working
from v1_support import V1World, build_v1_world

from environment.environment_support import GRANT
from fivesafes.api.reference import api_reference
from fivesafes.environment import Environment, projects, public
from fivesafes.ledger.keys import write_key
from governance.governance_support import application
from jobs.jobs_support import SANDBOX_PROBLEM

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def examples(language: str) -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    worked = text.split("## Worked examples", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{language}\n(.*?)```", worked, flags=re.S)


def test_the_reference_is_the_servers_own_document() -> None:
    assert DOC.read_text(encoding="utf-8") == api_reference()
    for route in ("GET /fhir/{resource_type}", "PATCH /personal/Patient/{nhs_number}",
                  "POST /oauth/token", "GET /.well-known/smart-configuration"):  # fmt: skip
        assert f"`{route}`" in DOC.read_text(encoding="utf-8")


def waiting_for_decisions(v1: V1World, key_file: Path, *project_ids: str) -> None:
    """The approver's key in the file ``fivesafes user keygen`` would have written, and an
    application for each project waiting for their decision."""
    write_key(key_file, v1.keys["val"])
    with Environment.open(v1.world.data_dir) as env:
        for project_id in project_ids:
            projects.apply(env, v1.tokens["ben"], project_id, application("ben", datasets=GRANT))


def test_the_worked_examples_run(tmp_path: Path) -> None:
    v1 = build_v1_world(tmp_path)
    world = v1.world
    waiting_for_decisions(v1, tmp_path / "val.pem", "steps", "sleep")
    shell, python = examples("sh"), examples("python")
    assert len(shell) >= 6 and len(python) >= 2
    if SANDBOX_PROBLEM is not None:  # the job example needs the sandbox jobs run in
        shell = [block for block in shell if "/jobs" not in block]
    with serving(world.data_dir) as running, working(world.data_dir):
        names = {
            "BASE": running.base_url,
            "TOKEN": world.tokens["dana"],
            "PERSON_TOKEN": world.tokens["pat"],
            "NHS_NUMBER": world.nhs("p0"),
            "CLIENT_ID": world.client[0],
            "CLIENT_SECRET": world.client[1],
            "ANALYST_TOKEN": v1.tokens["ana"],
            "COMMIT": v1.commit,
            "APPROVER_TOKEN": v1.tokens["val"],
            "APPROVER_KEY": str(tmp_path / "val.pem"),
        }
        for block in shell:
            done = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", block],
                env={**os.environ, **names},
                capture_output=True,
                text=True,
                check=False,
            )
            assert done.returncode == 0, f"{block}\n{done.stderr}"
            assert done.stdout.strip()
        for block in python:
            exec(compile(block, str(DOC), "exec"), dict(names))
        with Environment.open(world.data_dir, recover=False) as env:
            decided = {p.project_id: p.status for p in projects.listing(env)}
            pages = [public.project(env, p).decisions for p in ("steps", "sleep")]
    assert (decided["steps"], decided["sleep"]) == ("approved", "changes_requested")
    assert all(d.signature_verifies for page in pages for d in page) and all(pages)
