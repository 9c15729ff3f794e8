"""docs/writing-a-study.md, "From an empty folder to a released table", run word for word.

The doc's ``sh`` blocks are read from the file and each is run with ``bash -euo pipefail``, as a
person would paste it, by the person it is for: the analyst's with the analyst's token, the
output checkers' block once by each checker with their own token and key. Between them the
environment's operator and approver do what the doc says they do, with the real ``fivesafes``
command, as ``tools/demo.sh`` does: a new environment, accounts enrolled through the codes sent
to each person, a small synthetic population loaded, and the application the new study's own
``fivesafes init`` wrote approved. Then what came out is read back: the job succeeded in the
sandbox, the release was published and verifies, and the released table is the job's table.
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
import tomllib
from datetime import date, timedelta
from pathlib import Path

import orjson
import pytest

from environment.environment_support import address, outbox_code
from fivesafes.jobs.hashing import file_sha256
from jobs.jobs_support import needs_sandbox

DOC = Path(__file__).resolve().parents[2] / "docs" / "writing-a-study.md"
FIVESAFES = Path(sys.executable).with_name("fivesafes")
PROJECT_ID = "my-study"  # the folder the doc's `fivesafes init` makes
TABLE = "output/hypertension_by_age_sex.csv"
# Few people, for speed: the starter's table still passes, its small counts suppressed where the
# safe API made it.
PATIENTS = 1000


def study_path_blocks() -> list[str]:
    """The doc's ``sh`` blocks under its first heading, in order."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## From an empty folder to a released table\n", 1)[1]
    section = section.split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, flags=re.S)


class Operator:
    """The environment's operator and its people, each typing ``fivesafes`` commands."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.tokens: dict[str, str] = {}

    def env(self) -> dict[str, str]:
        path = f"{FIVESAFES.parent}{os.pathsep}{os.environ['PATH']}"
        return {**os.environ, "PATH": path, "FIVESAFES_DATA_DIR": str(self.data)}

    def fivesafes(self, *args: str, who: str | None = None) -> str:
        token = ["--token", self.tokens[who]] if who else []
        done = subprocess.run(
            [str(FIVESAFES), *args, *token],
            env=self.env(),
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done.stdout

    def enrol(self, person: str) -> None:
        code = outbox_code(self.data, address(person))
        self.tokens[person] = self.fivesafes("user", "enrol", code).strip().splitlines()[-1]

    def person(self, person: str, role: str) -> None:
        self.fivesafes(
            *("user", "create", person, "--name", person.title(), "--role", role),
            *("--organisation", "Demo University", "--contact", address(person)),
            who="cara",
        )
        self.enrol(person)

    def key(self, person: str) -> Path:
        key = self.root / f"{person}-signing.pem"
        self.fivesafes("user", "keygen", "--out", str(key), who=person)
        return key


def run_block(block: str, cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, f"{block}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.slow
@pytest.mark.sandbox
@needs_sandbox
def test_a_new_study_goes_from_an_empty_folder_to_a_released_table(tmp_path: Path) -> None:
    blocks = study_path_blocks()
    assert len(blocks) == 5, "machine, application, job and request, checkers, publication"
    on_machine, apply, submit, review, publish = blocks

    operator = Operator(tmp_path / "environment")
    operator.fivesafes(
        *("environment", "init", "--name", "Demo environment", "--custodian", "cara"),
        *("--custodian-name", "Cara Custodian", "--organisation", "Demo environment"),
        *("--contact", address("cara")),
    )
    operator.enrol("cara")
    operator.person("ana", "analyst")
    operator.person("val", "approver")
    keys = {}
    for checker in ("olu", "oona"):
        operator.person(checker, "output_checker")
        keys[checker] = operator.key(checker)
    approver_key = operator.key("val")
    source = tmp_path / "source"
    operator.fivesafes("synth", "--patients", str(PATIENTS), "--seed", "1", "--out", str(source))
    operator.fivesafes("load", str(source), who="cara")

    # The analyst's machine: a new, empty folder, and git knowing who they are.
    machine = tmp_path / "laptop"
    machine.mkdir()
    analyst = {
        **operator.env(),
        "TOKEN": operator.tokens["ana"],
        "PROJECT_ID": PROJECT_ID,
        **{f"GIT_{who}_{what}": value for who in ("AUTHOR", "COMMITTER")
           for what, value in (("NAME", "Ana Analyst"), ("EMAIL", "ana@example.org"))},
    }  # fmt: skip
    laptop = {k: v for k, v in analyst.items() if k not in ("TOKEN", "FIVESAFES_DATA_DIR")}
    checked = run_block(on_machine, machine, laptop)  # no environment there, nor a token
    assert "PASS: may be requested as it is" in checked
    study = machine / PROJECT_ID
    assert (study / TABLE).is_file()

    run_block(apply, study, analyst)
    until = (date.today() + timedelta(days=365)).isoformat()
    operator.fivesafes(
        *("project", "approve", PROJECT_ID, "--until", until, "--reasons", "Aggregate counts"),
        *("--key", str(approver_key)),
        who="val",
    )

    datasets = tomllib.loads((study / "application.toml").read_text())["datasets"]
    for dataset in datasets:  # the owners' delegates, as running-an-environment.md shows
        operator.fivesafes(
            *("datasets", "register", dataset, "--owner", "NHS Example Trust"),
            *("--agreement", "DSA-1", "--sensitivity", "pseudonymised", "--legal-basis", "6(1)(e)"),
            *("--retain-until", until),
            who="cara",
        )
        operator.fivesafes("datasets", "approve", dataset, who="val")
        for checker in ("olu", "oona"):
            authority = ("--authority", "owner's letter of 2026-12-01")
            operator.fivesafes("datasets", "delegate", dataset, checker, *authority, who="cara")
            operator.fivesafes("datasets", "confirm-delegate", dataset, checker, who="val")

    requested = run_block(submit, study, analyst)
    assert f"of {PROJECT_ID}: succeeded" in requested
    assert re.search(r"release request rel-\S+ submitted", requested)
    jobs = orjson.loads(
        operator.fivesafes("job", "list", "--project-id", PROJECT_ID, "--format", "json", who="ana")
    )
    assert [job["state"] for job in jobs] == ["succeeded"]
    status = operator.fivesafes("job", "status", jobs[0]["job_id"], "--format", "json", who="ana")
    job = orjson.loads(status)
    assert [run["action"] for run in job["actions"]] == ["extract", "summarise"]
    made = {o["path"]: o["sha256"] for o in job["outputs"]}

    for checker in ("olu", "oona"):
        voted = run_block(
            review,
            study,
            {  # the checker's own token and key, never the analyst's token
                **{name: value for name, value in analyst.items() if name != "TOKEN"},
                "CHECKER_TOKEN": operator.tokens[checker],
                "CHECKER_KEY": str(keys[checker]),
            },
        )
        assert "your approve vote on rel-" in voted

    published = run_block(publish, study, analyst)
    assert "signature, hashes and two independent approvals verify" in published
    (folder,) = (operator.data / "released" / PROJECT_ID).iterdir()
    manifest = orjson.loads((folder / "manifest.json").read_bytes())
    assert [(f["path"], f["source_sha256"], f["published_as"]) for f in manifest["files"]] == [
        (TABLE, made[TABLE], "original")
    ]
    with (folder / TABLE).open(newline="") as released:
        rows = list(csv.DictReader(released))
    assert [(r["age_band"], r["sex"]) for r in rows] == [
        (band, sex) for band in ("0-39", "40-64", "65+") for sex in ("female", "male")
    ]
    # the table as the job wrote it: counts, and the safe API's own suppression of small ones
    assert file_sha256(folder / TABLE) == made[TABLE]
    cells = [r[c] for r in rows for c in ("with_hypertension", "without")]
    assert all(c == "[REDACTED]" or int(c) >= 10 for c in cells)
    assert sum(int(c) for c in cells if c != "[REDACTED]") > 0
