"""Jobs inside the environment, attacked as issue 18 attacked them (holes 1, 2, 4, 6, 14, 16).

Each test reproduces an attack from the issue against the job path as the environment layer
runs it (the same call the command line, and later the API and the portal, make).
"""

from __future__ import annotations

import csv
import sys
import textwrap
from pathlib import Path

import orjson
import pytest
from environment_support import COUNT, DEFINITION, PROJECT, People, study, submitted

from fhir_factory import nhs_number
from fivesafes.environment import Environment, RefusalKind, Refused, jobs
from fivesafes.environment.local import run_on_dummy_data
from fivesafes.governance import Role
from fivesafes.jobs import Backend, Limits, RunOptions, load_project, run_project
from fivesafes.jobs import runner as runner_module
from fivesafes.jobs.runner import UncutStoreRun
from jobs.jobs_support import needs_sandbox

pytestmark = needs_sandbox


def _ids(env: Environment) -> dict[int, int]:
    with env.store() as store:
        return {i: store.pseudonymise(nhs_number(i)) for i in range(6)}


def _extract(env: Environment, job_id: str) -> list[dict[str, str]]:
    path = env.jobs_root / job_id / "study" / "output" / "dataset.csv"
    return list(csv.DictReader(path.read_text().splitlines()))


def _job_entries(env: Environment) -> list[dict[str, object]]:
    return [
        e["subject"] | {"actor": e["actor"]}
        for e in map(orjson.loads, env.cp.ledger.entries())
        if e["kind"] == "job"
    ]


def test_a_job_sees_approved_data_without_the_opted_out_and_shared_data_only_with_consent(
    world: People, tmp_path: Path
) -> None:
    """Holes 4 and 6: opted-out patients, unapproved columns and shared data whose owner gave
    no research consent never reach the job's extract."""
    env = world.env
    view = submitted(env, world.tokens["ana"], PROJECT, study(tmp_path / "study"))
    assert view.state == "succeeded", view.record.error
    ids = _ids(env)
    rows = {int(r["patient_id"]): r for r in _extract(env, view.job_id)}
    assert set(rows) == {ids[i] for i in (0, 2, 3, 4, 5)}
    assert {r["born"] for r in rows.values()} == {""}  # not approved: the column is empty
    sharing = {pid for pid, r in rows.items() if int(r["shared_days"]) > 0}
    assert sharing == {ids[2], ids[3]}  # 4 consented to care only; 0 and 5 never consented


def test_nothing_of_a_job_against_real_data_lands_in_the_analysts_folder(
    world: People, tmp_path: Path
) -> None:
    """Hole 2: the real extract sat world-readable in the study folder, and a later dummy run
    overwrote it. Now the job runs in the environment's own folder, owner-only."""
    env = world.env
    folder = study(tmp_path / "study")
    before = sorted(p.relative_to(folder) for p in folder.rglob("*"))
    view = submitted(env, world.tokens["ana"], PROJECT, folder)
    assert sorted(p.relative_to(folder) for p in folder.rglob("*")) == before
    job = env.jobs_root / view.job_id
    assert job.stat().st_mode & 0o777 == 0o700 and env.jobs_root.stat().st_mode & 0o777 == 0o700
    real = (job / "study" / "output" / "dataset.csv").read_bytes()
    run_on_dummy_data(folder, None, sandbox=False, limits=Limits())
    assert (job / "study" / "output" / "dataset.csv").read_bytes() == real
    assert (folder / "output" / "dataset.csv").read_bytes() != real
    privacy = {o.path: o.privacy for o in view.outputs}
    assert privacy == {
        "output/dataset.csv": "highly_sensitive",
        "output/count.csv": "moderately_sensitive",
    }


def test_the_job_log_is_what_the_environment_did_not_what_the_actions_printed(
    world: People, tmp_path: Path
) -> None:
    leaky = COUNT + "print(rows)\n"
    folder = study(tmp_path / "study")
    (folder / "analysis" / "count.py").write_text(leaky)
    view = submitted(world.env, world.tokens["ana"], PROJECT, folder)
    text = jobs.log(world.env, world.tokens["ana"], view.job_id)
    assert "extract: succeeded" in text and "count: succeeded" in text
    assert "patient_id" not in text and "female" not in text


def test_a_definition_that_reaches_for_the_store_is_stopped_where_it_stands(
    world: People, tmp_path: Path
) -> None:
    """Hole 1: the definition is user code; here it tries to open the store itself."""
    peek = "import duckdb\nduckdb.connect('/store/store.duckdb')\n" + DEFINITION
    view = submitted(world.env, world.tokens["ana"], PROJECT, study(tmp_path / "s", peek))
    assert view.state == "failed"
    assert "the definition could not be evaluated" in view.record.error
    assert "study.py, line 1: a definition may not import duckdb" in view.record.error


ESCAPES = {
    "import os\nos.system('id')\n": "may not import os",
    "text = open('/etc/passwd').read()\n": "may not open files",
    "import socket\n": "may not import socket",
    "import subprocess\n": "may not import subprocess",
}


def test_a_way_out_of_the_language_fails_in_the_sandbox_on_the_store_and_dummy_data_alike(
    world: People, tmp_path: Path
) -> None:
    """Issue 18: a definition that tries `import os`, `open()`, `socket` or `subprocess` fails
    inside the sandbox with a clear message, on the real store and on dummy data alike."""
    for n, (escape, says) in enumerate(ESCAPES.items()):
        folder = study(tmp_path / f"study{n}", escape + DEFINITION)
        expected = f"study.py, line 1: a definition {says}"
        view = submitted(world.env, world.tokens["ana"], PROJECT, folder)
        assert view.state == "failed" and expected in view.record.error, view.record.error
        dummy = run_on_dummy_data(folder, "extract", sandbox=True, limits=Limits())
        assert [r.status for r in dummy] == ["failed"]
        assert expected in (dummy[0].reason or ""), dummy[0].reason
        assert not (folder / "output" / "dataset.csv").exists()


def test_even_a_definition_that_got_round_the_restrictions_finds_no_data(
    world: People, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hole 1, the boundary itself: stand in for a definition that escaped the restricted
    builtins, and look for the store everywhere the evaluation sandbox could see it."""
    env = world.env
    probe = textwrap.dedent(f"""
        import os, sys
        found = []
        for path in ("/store", {str(env.data_dir.database)!r}, {str(env.data_dir.key_file)!r},
                     {str(env.jobs_root)!r}):
            found.append(f"{{path}}={{os.path.exists(path)}}")
        open(os.path.join(os.path.dirname(sys.argv[-1]), "error.txt"), "w").write(" ".join(found))
        sys.exit(2)
    """)
    folder = study(tmp_path / "study")
    (folder / "probe.py").write_text(probe)
    monkeypatch.setattr(
        runner_module, "evaluate_argv", lambda _c, model: [sys.executable, "probe.py", str(model)]
    )
    view = submitted(env, world.tokens["ana"], PROJECT, folder)
    assert view.state == "failed"
    (extract,) = [r for r in view.runs if r.action == "extract"]
    assert extract.reason is not None
    said = extract.reason.split("evaluated: ")[1].split()
    assert said == [
        f"{p}=False"
        for p in ("/store", env.data_dir.database, env.data_dir.key_file, env.jobs_root)
    ]


def test_the_runner_will_not_run_against_the_store_without_a_cut(
    world: People, tmp_path: Path
) -> None:
    """Hole 6: with the store backend and no grant or exclusions given, the runner copied every
    table with everyone in it. Now there is no default: it refuses."""
    project = load_project(study(tmp_path / "study"))
    options = RunOptions(Backend.STORE, sandbox=True, data_dir=world.env.data_dir)
    with pytest.raises(UncutStoreRun, match="needs the data cut"):
        run_project(project, options=options)


def test_every_job_is_in_the_ledger_whatever_became_of_it(world: People, tmp_path: Path) -> None:
    """Hole 16: submit logged only jobs that ran to completion. Now each job has an intent entry
    when it starts and an outcome entry when it ends; a refused job is a refusal entry."""
    env = world.env
    good = submitted(env, world.tokens["ana"], PROJECT, study(tmp_path / "good"))
    bad = submitted(env, world.tokens["ana"], PROJECT, study(tmp_path / "bad", "import os\n"))
    world.add("eve", Role.ANALYST)
    with pytest.raises(Refused) as refused:
        jobs.submit(env, world.tokens["eve"], PROJECT, study(tmp_path / "eve"))
    assert refused.value.kind is RefusalKind.FORBIDDEN
    entries = [(e["job_id"], e["status"]) for e in _job_entries(env)]
    assert entries == [
        (good.job_id, "running"),
        (good.job_id, "succeeded"),
        (bad.job_id, "running"),
        (bad.job_id, "failed"),
    ]
    (outcome,) = [e for e in _job_entries(env) if e["status"] == "succeeded"]
    assert outcome["project_id"] == PROJECT and outcome["actor"] == "ana"
    public = [r for r in env.cp.ledger.public_view().to_list() if r["kind"] == "job"]
    assert [(r["project_id"], r["status"]) for r in public][1] == (PROJECT, "succeeded")
    assert all("commit" in r for r in public)  # hole 11: the public see project and commit
    assert set(outcome["outputs"]) == {"output/dataset.csv", "output/count.csv"}  # type: ignore[arg-type]
    refusals = [orjson.loads(e) for e in env.cp.ledger.entries()]
    (eve,) = [e for e in refusals if e["kind"] == "refusal" and e["actor"] == "eve"]
    assert eve["subject"]["action"] == "submit_job" and "not a member" in eve["subject"]["reason"]


def test_a_lost_key_stops_the_job_before_anything_runs(world: People, tmp_path: Path) -> None:
    """Hole 14: after the key was lost, submit made a new one and the research extract held
    every opted-out person. Now the environment will not even open."""
    env = world.env
    env.data_dir.key_file.unlink()
    with pytest.raises(Refused, match="no pseudonym key"):
        Environment.open(env.data_dir)
    with pytest.raises(Refused, match="no pseudonym key"):
        jobs.submit(env, world.tokens["ana"], PROJECT, study(tmp_path / "study"))
    assert not env.data_dir.key_file.exists() and not env.jobs_root.exists()


def test_only_the_project_and_the_custodian_follow_a_job(world: People, tmp_path: Path) -> None:
    env = world.env
    view = submitted(env, world.tokens["ana"], PROJECT, study(tmp_path / "study"))
    world.add("eve", Role.ANALYST)
    with pytest.raises(Refused, match="that you may see"):
        jobs.status(env, world.tokens["eve"], view.job_id)
    assert jobs.status(env, world.tokens["cus"], view.job_id).state == "succeeded"
    assert [j.job_id for j in jobs.listing(env, world.tokens["ana"], PROJECT)] == [view.job_id]
