"""What the commands print arrives whole and as it was typed, wherever it is written.

Written as a user meets it: output to a pipe (as in CI, a script or a log) under ``COLUMNS=40``,
paths over 200 characters deep, and ``[red]``, ``[/]`` and ``:smile:`` in paths and in people's
names. Every message is one line, unchanged; tables keep names whole. On a terminal the same text
is not read as markup either; and a check over ``cli/`` keeps any command from turning markup
back on.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from environment.environment_support import custodian_by_command
from fivesafes.cli import app, common

CLI = Path(common.__file__).parent
REJECTS = '{"resourceType": "Patient", "id": "p1", "gender": "robot"}\nnot json\n'
STUDY = """\
version: 1
actions:
  count:
    run: python -c "open('output/n.csv', 'w').write('n\\\\n3\\\\n')"
    outputs:
      moderately_sensitive: {table: output/n.csv}
"""
runner = CliRunner()


@pytest.fixture
def deep(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder more than 200 characters deep with markup in its name, and ``COLUMNS=40``."""
    monkeypatch.setenv("COLUMNS", "40")
    folder = tmp_path / "x[red]y[/]z" / ("a-deeply-nested-folder-" * 5) / ("long-name-" * 5)
    folder.mkdir(parents=True)
    assert len(str(folder)) > 200
    return folder


def line_with(text: str, needle: str) -> str:
    """The one line of ``text`` that holds ``needle`` whole."""
    found = [line for line in text.splitlines() if needle in line]
    assert len(found) == 1, (needle, text)
    return found[0]


def test_an_error_naming_a_long_path_is_one_line_as_typed(deep: Path) -> None:
    missing = deep / "no[bold]such[/]file :smile:.csv"
    result = runner.invoke(app, ["check-output", str(missing)])
    assert result.exit_code == 2
    assert line_with(result.stderr, str(missing)).startswith("error: ")


def test_a_study_in_a_deep_folder_gets_whole_lines(deep: Path) -> None:
    study = deep / "study[red]"
    study.mkdir()
    (study / "project.yaml").write_text(STUDY)
    typo = runner.invoke(app, ["run", "cuont", "--project", str(study)])
    assert typo.exit_code == 2
    assert line_with(typo.stderr, "did you mean 'count'").startswith("error: ")
    ran = runner.invoke(app, ["run", "--project", str(study)])
    assert ran.exit_code == 0, ran.output
    warning = line_with(ran.stderr, "running without a sandbox")
    assert warning.startswith("warning: ") and warning.endswith("runs them as `submit` will.")
    assert "Study study[red]" in ran.stdout
    row = line_with(ran.stdout, "output/n.csv")
    assert "count" in row and "ran" in row


def test_a_table_keeps_every_name_and_message_whole(deep: Path) -> None:
    source = deep / ("records-[bold]-" * 8 + ".ndjson")
    source.write_text(REJECTS)
    found = runner.invoke(app, ["validate", str(source), "--format", "json"])
    findings = [
        (record["file"], finding["rule"], finding["message"])
        for record in orjson.loads(found.stdout)["records"]
        for finding in record["findings"]
    ]
    assert len(findings) == 2
    shown = runner.invoke(app, ["validate", str(source)])
    assert shown.exit_code == 3  # no record would load
    for file, rule, message in findings:
        row = line_with(shown.stdout, message)
        assert Path(file).name in row and rule in row
    summary = "2 records: 0 would load here, 2 rejected; 0 of 2 FHIR records are valid FHIR R4."
    assert summary in shown.stdout.splitlines()


def test_people_s_names_are_shown_as_typed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    data = ["--data-dir", str(tmp_path / "data")]
    name, organisation = "[red]Ada[/] :smile: Lovelace", "[/]NHS [bold]Trust"
    token = custodian_by_command(data, "ada", name, organisation)
    listed = runner.invoke(app, ["user", "list", "--token", token, *data])
    assert listed.exit_code == 0, listed.output
    assert organisation in line_with(listed.stdout, name)
    assert "acting as ada (data_custodian)" in listed.stderr.splitlines()


def test_on_a_terminal_text_is_fitted_but_never_read_as_markup(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # rich takes the test runner's output for a terminal
    monkeypatch.setenv("COLUMNS", "100")
    folder = Path("x[red]y[/]z")  # relative: each test starts in its own empty folder
    folder.mkdir(parents=True)
    source = folder / "a[bold]b.ndjson"
    source.write_text(REJECTS)
    shown = runner.invoke(app, ["validate", str(source)])
    assert max(len(line) for line in shown.stdout.splitlines()) <= 100
    row = line_with(shown.stdout, "fhir.code")  # names whole, on their row's first line
    assert "a[bold]b.ndjson" in row and "Patient/p1" in row and "Patient.gender" in row
    missing = runner.invoke(app, ["check-output", str(folder / "gone[/].csv")])
    assert "error: x[red]y[/]z/gone[/].csv: no such file" in missing.stderr.splitlines()


def test_the_consoles_print_markup_and_emoji_codes_as_typed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    common.console.print("[red]x[/] :smile: [bold]" + " word" * 40)
    common.err.print("[/]")
    printed = capsys.readouterr()
    assert printed.out == "[red]x[/] :smile: [bold]" + " word" * 40 + "\n"
    assert printed.err == "[/]\n"


# What would print user text as markup, or would print markup as text now that none is read.
MARKUP_TAG = re.compile(r"\[/\]|\[/?[a-z#@][^\[\]]*\]")
MARKUP_READERS = {"from_markup", "render_markup", "Console"}


def unsafe_output(source: str) -> list[str]:
    """Where code in ``source`` could make the commands read markup, each as 'line: what'."""
    found = []
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else None
            name = node.func.id if isinstance(node.func, ast.Name) else name
            if name in MARKUP_READERS:
                found.append(f"{node.lineno}: {name}(...) reads or makes a console reading markup")
            for keyword in node.keywords:
                off = isinstance(keyword.value, ast.Constant) and keyword.value.value is False
                if keyword.arg == "markup" and not off:
                    found.append(f"{node.lineno}: markup= other than False")
            if name == "TextColumn" and not any(
                k.arg == "markup" and isinstance(k.value, ast.Constant) and k.value.value is False
                for k in node.keywords
            ):
                found.append(f"{node.lineno}: TextColumn reads markup unless markup=False")
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
            and MARKUP_TAG.search(node.value)
        ):
            found.append(f"{node.lineno}: markup tag in {node.value!r}")
    return found


def test_no_command_can_read_markup() -> None:
    problems = {
        path.name: unsafe
        for path in sorted(CLI.glob("*.py"))
        if (unsafe := unsafe_output(path.read_text(encoding="utf-8")))
    }
    assert problems == {}


@pytest.mark.parametrize(
    "code",
    [
        'console.print(f"[bold]{name}[/]: {message}")',
        "err.print(message, markup=True)",
        "console.print(Text.from_markup(message))",
        "loud = Console()",
        'Progress(TextColumn("{task.description}"))',
        'option = typer.Option(help="where [default: here]")',
    ],
)
def test_the_check_finds_each_way_back_to_markup(code: str) -> None:
    assert unsafe_output(code)
