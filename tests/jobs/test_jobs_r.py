"""R actions: the R asthma example releases the Python example's tables, on dummy data and on a
real store through the sandbox; safe.R keeps the Python safe API's contract; an R action's sandbox
shows R what it needs and nothing more."""

from __future__ import annotations

import inspect
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from jobs_support import ONE_ACTION, OPEN_CUT, needs_sandbox, probe, reported, run, write_project

from fivesafes.disclosure import safe
from fivesafes.disclosure.checker import check_file
from fivesafes.disclosure.safe_r import FUNCTIONS, R_ONLY_ABSENT
from fivesafes.jobs import Backend, RunOptions, load_project, run_project
from fivesafes.jobs.sandbox import SAFE_R
from fivesafes.jobs.snapshot import DataCut
from fivesafes.store.config import DataDir
from fivesafes.store.database import Store
from fivesafes.store.load import load
from fivesafes.store.pseudonym import create_key
from fivesafes.synth.generator import generate

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
RELEASED = ("asthma_by_age_sex.csv", "asthma_by_deprivation.csv", "asthma_by_age_sex.png")
needs_r = pytest.mark.skipif(
    shutil.which("Rscript") is None,
    reason="R is not installed (Debian: apt-get install r-base-core r-cran-readr r-cran-dplyr)",
)
pytestmark = needs_r


def test_safe_r_takes_the_python_functions_arguments_by_the_same_names() -> None:
    """One contract: each R helper has the arguments of the Python function it calls."""
    listing = (
        f"source({str(SAFE_R)!r}); "
        "for (f in c('crosstab', 'total', 'describe', 'regression_table')) "
        "cat(f, names(formals(get(paste0('safe_', f)))), '\\n')"
    )
    out = subprocess.run(["Rscript", "-e", listing], capture_output=True, text=True, check=True)
    in_r = {line.split()[0]: line.split()[1:] for line in out.stdout.splitlines() if line.strip()}
    in_python = {
        name: [p for p in inspect.signature(fn).parameters if p not in R_ONLY_ABSENT]
        for name, fn in FUNCTIONS.items()
    }
    assert {name: args[1:] for name, args in in_r.items()} == in_python
    assert all(args[0] == "data" for args in in_r.values())


def test_safe_r_offers_every_safe_function_and_method_python_has() -> None:
    """When the Python safe API grows a function or an output method, R must mirror it."""
    public = {
        name
        for name, fn in inspect.getmembers(safe, inspect.isfunction)
        if fn.__module__ == safe.__name__ and not name.startswith("_")
    }
    assert set(FUNCTIONS) == {
        n for n in public if safe.__dict__[n].__annotations__["return"] == "SafeOutput"
    }
    methods = {
        name: [p for p in inspect.signature(getattr(safe.SafeOutput, name)).parameters][1:]
        for name in dir(safe.SafeOutput)
        if not name.startswith("_") and callable(getattr(safe.SafeOutput, name))
    }
    listing = (
        f"source({str(SAFE_R)!r}); x <- safe_crosstab(data.frame(a = rep('x', 20)), 'a'); "
        "for (m in names(x)) cat(m, names(formals(x[[m]])), '\\n')"
    )
    out = subprocess.run(
        ["Rscript", "-e", listing],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "FIVESAFES_PYTHON": sys.executable},
    )
    in_r = {line.split()[0]: line.split()[1:] for line in out.stdout.splitlines() if line.strip()}
    assert in_r == methods


def test_the_r_example_has_the_python_examples_definition() -> None:
    """Same definition, same codes: so the same data reaches both analyses."""
    for rel in ("analysis/study.py", "analysis/codelists/asthma.csv"):
        r_file, py_file = (
            EXAMPLES / name / rel for name in ("asthma-prevalence-r", "asthma-prevalence")
        )
        assert r_file.read_bytes() == py_file.read_bytes(), rel
    r_actions = load_project(EXAMPLES / "asthma-prevalence-r").actions
    assert r_actions["summarise"].argv[0] == "Rscript"
    py_actions = load_project(EXAMPLES / "asthma-prevalence").actions
    assert [o.path for o in r_actions["summarise"].outputs] == [
        o.path for o in py_actions["summarise"].outputs
    ]


def released(study: Path) -> dict[str, bytes]:
    return {name: (study / "output" / name).read_bytes() for name in RELEASED}


def copy_example(tmp_path: Path, name: str) -> Path:
    study = tmp_path / name
    shutil.copytree(EXAMPLES / name, study)
    return study


@pytest.mark.slow
def test_the_r_example_releases_the_python_examples_tables_on_dummy_data(tmp_path: Path) -> None:
    tables = {}
    for name in ("asthma-prevalence", "asthma-prevalence-r"):
        study = copy_example(tmp_path, name)
        results = run(study)
        assert [r.status for r in results.values()] == ["ran", "ran"], results
        tables[name] = released(study)
    assert tables["asthma-prevalence-r"] == tables["asthma-prevalence"]
    assert b"[REDACTED]" in tables["asthma-prevalence-r"]["asthma_by_age_sex.csv"]


GRANT = {
    "patients": ("patient_id", "sex", "date_of_birth", "date_of_death"),
    "practice_registrations": ("patient_id", "start_date", "end_date", "imd_decile"),
    "clinical_events": ("patient_id", "date", "snomedct_code"),
}


@pytest.fixture(scope="module")
def real_store(tmp_path_factory: pytest.TempPathFactory) -> DataDir:
    """A small real store: a synthetic population (FHIR and its areas), loaded through
    validation."""
    root = tmp_path_factory.mktemp("environment")
    generate(root / "source", patients=2500, seed=1)  # enough people for tables that pass
    data = DataDir(root / "data", root / "data" / "keys" / "pseudonym.key")
    create_key(data.key_file)
    with Store.open(data) as store:
        load(store, [root / "source"])
    return data


@needs_sandbox
@pytest.mark.slow
def test_the_r_example_releases_the_python_examples_tables_on_a_real_store(
    tmp_path: Path, real_store: DataDir
) -> None:
    """Submitted as inside the environment: the store backend, every action sandboxed."""
    cut = DataCut(GRANT, frozenset(), frozenset())
    options = RunOptions(Backend.STORE, sandbox=True, data_dir=real_store, cut=cut)
    tables = {}
    for name in ("asthma-prevalence", "asthma-prevalence-r"):
        study = copy_example(tmp_path, name)
        results = run_project(load_project(study), options=options)
        assert [(r.action, r.status) for r in results] == [
            ("extract", "ran"),
            ("summarise", "ran"),
        ], [r.reason for r in results]
        assert results[1].record is not None and results[1].record.sandboxed
        tables[name] = released(study)
        for table in RELEASED[:2]:
            report = check_file(study / "output" / table)
            assert report.passed, report.to_text()
    assert tables["asthma-prevalence-r"] == tables["asthma-prevalence"]
    counts = tables["asthma-prevalence-r"]["asthma_by_deprivation.csv"].decode().splitlines()
    assert counts[0] == "imd_quintile,with_asthma,without_asthma" and len(counts) == 6


ERROR_STUDY = """
source(Sys.getenv("FIVESAFES_SAFE_R"))
people <- data.frame(sex = c("female", "male"), has_asthma = c(TRUE, FALSE))
safe_crosstab(people, "age_band", counts = c(with_asthma = "has_asthma"))
"""


def test_a_mistake_in_an_r_call_is_an_r_error_with_the_python_message(tmp_path: Path) -> None:
    study = tmp_path / "study"
    study.mkdir()
    (study / "project.yaml").write_text(
        "version: 1\nactions:\n  summarise:\n    run: Rscript summarise.R\n"
        "    outputs: {moderately_sensitive: {table: output/t.csv}}\n"
    )
    (study / "summarise.R").write_text(ERROR_STUDY)
    result = run(study)["summarise"]
    assert result.status == "failed" and result.record is not None
    log = (study / str(result.record.log)).read_text()
    assert "age_band" in log and "Traceback" not in log


LOOK = """
found <- c(R = dir.exists("/etc/R"), fonts = dir.exists("/etc/fonts"),
           key = file.exists(Sys.getenv("KEY")), shadow = file.exists("/etc/shadow"),
           readr = requireNamespace("readr", quietly = TRUE),
           dplyr = requireNamespace("dplyr", quietly = TRUE),
           ggplot2 = requireNamespace("ggplot2", quietly = TRUE))
dir.create("output", showWarnings = FALSE)
writeLines(paste(names(found), found, collapse = " "), "output/result.txt")
"""


@needs_sandbox
def test_an_r_action_sees_r_and_its_packages_and_nothing_more(tmp_path: Path) -> None:
    data = DataDir(tmp_path / "data", tmp_path / "data" / "keys" / "pseudonym.key")
    data.root.mkdir()
    data.database.write_bytes(b"store")
    data.key_file.parent.mkdir()
    data.key_file.write_bytes(b"key")
    spec = ONE_ACTION.replace("python probe.py", "Rscript look.R")
    script = LOOK.replace('Sys.getenv("KEY")', repr(str(data.key_file)))
    study = write_project(tmp_path / "study", spec, {"look.R": script})
    options = {"backend": Backend.STORE, "sandbox": True, "data_dir": data, "cut": OPEN_CUT}
    result = run(study, **options)["probe"]
    assert result.status == "ran", result.reason
    words = reported(study).split()
    seen = dict(zip(words[::2], words[1::2], strict=True))
    assert seen == {
        "R": "TRUE",
        "fonts": "TRUE",
        "key": "FALSE",
        "shadow": "FALSE",
        "readr": "TRUE",
        "dplyr": "TRUE",
        "ggplot2": "TRUE",
    }
    python_sees = probe(
        tmp_path / "python",
        "import os, pathlib\npathlib.Path('output/result.txt').write_text("
        "str(os.path.exists('/etc/R')))\n",
        **options,
    )
    assert python_sees.status == "ran" and reported(tmp_path / "python") == "False"
