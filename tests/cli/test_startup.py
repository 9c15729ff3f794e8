"""`fivesafes` starts without the heavy parts of the environment, so it answers at once.

What a command imports is what costs at start-up (seconds, for plotting, statistics, the SQL
engines and the control plane's ORM), so these tests name what must not be imported, in a fresh
interpreter, never how long anything takes (``bench/bench_startup.py`` measures that): the
package itself, ``fivesafes --help``, one command's help, and a mistake in a study. They also
hold the table of commands that makes this possible true to the commands the modules define.
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
import typer.main
from typer.core import TyperGroup
from typer.testing import CliRunner

from fivesafes.cli import app, load_every_command
from fivesafes.cli.commands import COMMANDS, command_modules

# Libraries the commands use, none needed to start one, each a tenth of a second or more.
HEAVY = (
    "matplotlib",
    "scipy",
    "numpy",
    "pandas",
    "pyarrow",
    "pyspark",
    "duckdb",
    "sqlglot",
    "sqlalchemy",
    "alembic",
    "cryptography",
    "fastapi",
    "uvicorn",
    "jinja2",
    "yaml",
)

# Runs `fivesafes ARGS` in this fresh interpreter as the executable does, then writes the
# names of the modules it imported to the file named first.
RUN = """
import sys
import orjson
from fivesafes.cli import app
from fivesafes.cli import commands
for name in sys.argv[2].split(","):
    if name:
        del commands.COMMANDS[name]  # as if someone had forgotten to list it
try:
    app(sys.argv[3:], prog_name="fivesafes")
except SystemExit:
    pass
open(sys.argv[1], "wb").write(orjson.dumps(sorted(sys.modules)))
"""


def started(tmp_path: Path, *args: str, unlisted: tuple[str, ...] = ()) -> tuple[set[str], str]:
    """The modules `fivesafes ARGS` imported in a fresh interpreter, and what it printed (help
    one command a line)."""
    modules = tmp_path / "modules.json"
    command = [sys.executable, "-c", RUN, str(modules), ",".join(unlisted), *args]
    wide = {**os.environ, "COLUMNS": "400"}
    ran = subprocess.run(command, capture_output=True, text=True, timeout=120, env=wide)
    assert modules.exists(), ran.stderr
    return set(orjson.loads(modules.read_bytes())), ran.stdout + ran.stderr


def heavy_in(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY)


def test_importing_the_cli_imports_no_command_and_nothing_heavy(tmp_path: Path) -> None:
    modules = tmp_path / "modules.json"
    script = f"import sys, orjson, fivesafes.cli; open({str(modules)!r}, 'wb')"
    script += ".write(orjson.dumps(sorted(sys.modules)))"
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    imported = set(orjson.loads(modules.read_bytes()))
    assert heavy_in(imported) == []
    ours = {m for m in imported if m.startswith("fivesafes.")}
    assert ours == {"fivesafes.cli", "fivesafes.cli.commands", "fivesafes.cli.common"}


def test_help_lists_every_command_without_importing_one(tmp_path: Path) -> None:
    imported, printed = started(tmp_path, "--help")
    assert heavy_in(imported) == []
    assert not [m for m in imported if m.removeprefix("fivesafes.cli.") in command_modules()]
    rows = [" ".join(line.strip("│ ").split()) for line in printed.splitlines()]
    for name, listed in COMMANDS.items():
        assert f"{name} {listed.summary}" in rows


def test_a_command_imports_its_own_module_only(tmp_path: Path) -> None:
    imported, printed = started(tmp_path, "explain", "--help")
    assert "Print the SQL each engine runs" in printed
    loaded = {m.removeprefix("fivesafes.cli.") for m in imported if m.startswith("fivesafes.cli.")}
    assert loaded & set(command_modules()) == {"query"}
    assert {"matplotlib", "scipy", "sqlalchemy", "pyspark"}.isdisjoint(
        m.split(".")[0] for m in imported
    )


ONE_COMMAND_OF_EACH_MODULE = sorted({c.module: name for name, c in COMMANDS.items()}.items())


@pytest.mark.parametrize(("module", "command"), ONE_COMMAND_OF_EACH_MODULE)
def test_a_commands_help_imports_nothing_heavy(tmp_path: Path, module: str, command: str) -> None:
    """A command's module imports the stages it calls when a command runs, so its help (and a
    mistake in its arguments) is answered with typer and rich alone: one command per module,
    since what a module imports at the top is what each of its commands' help costs."""
    imported, printed = started(tmp_path, command, "--help")
    assert "Usage: fivesafes" in printed, printed
    assert f"fivesafes.cli.{module}" in imported
    assert heavy_in(imported) == []


def test_a_mistake_in_a_study_is_reported_before_any_engine_is_imported(tmp_path: Path) -> None:
    study = tmp_path / "study.py"
    study.write_text(
        "from fivesafes import Dataset\n"
        "from fivesafes.tables import patients\n"
        "dataset = Dataset()\n"
        "dataset.define_population(patients.exists_for_patient())\n"
        'dataset.age = patients.age_on("2024-01-01") + "x"\n'
    )
    args = ("generate-dataset", str(study), "--output", str(tmp_path / "x.csv"), "--dummy")
    imported, printed = started(tmp_path, *args)
    assert f"error: {study}, line 5: arithmetic needs numbers" in printed
    assert heavy_in(imported) == []
    assert not (tmp_path / "x.csv").exists()


def test_a_command_missing_from_the_table_still_runs(tmp_path: Path) -> None:
    imported, printed = started(tmp_path, "explain", "--help", unlisted=("explain",))
    assert "Print the SQL each engine runs" in printed
    loaded = {m.removeprefix("fivesafes.cli.") for m in imported if m.startswith("fivesafes.cli.")}
    assert set(command_modules()) <= loaded  # it had to look everywhere


def _module_of(command: object) -> str:
    """The ``fivesafes.cli`` module a click command (or each command of a group) comes from."""
    if isinstance(command, TyperGroup):
        (module,) = {_module_of(sub) for sub in command.commands.values()}
        return module
    defined_in = inspect.getmodule(getattr(command, "callback", None))
    assert defined_in is not None, command
    return defined_in.__name__.removeprefix("fivesafes.cli.")


def test_the_table_lists_every_command_where_it_is_defined_as_its_help_says() -> None:
    load_every_command()
    built = typer.main.get_command(app)
    assert isinstance(built, TyperGroup)
    unlisted = sorted(set(built.commands) - set(COMMANDS))
    assert unlisted == [], f"add {unlisted} to COMMANDS in src/fivesafes/cli/commands.py"
    assert sorted(COMMANDS) == sorted(built.commands)
    for name, command in built.commands.items():
        first_paragraph = (command.help or "").split("\n\n")[0]
        assert COMMANDS[name].summary == " ".join(first_paragraph.split()), name
        assert COMMANDS[name].module == _module_of(command), name


@pytest.mark.parametrize(("typed", "meant"), [("lod", "load"), ("releas", "release")])
def test_a_mistyped_command_gets_did_you_mean(typed: str, meant: str) -> None:
    result = CliRunner().invoke(app, [typed])
    assert result.exit_code == 2
    assert f"No such command '{typed}'. Did you mean '{meant}'?" in result.output
