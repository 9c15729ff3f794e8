"""Every ``fivesafes`` command shown in docs/running-an-environment.md is one the command line
has, with options it accepts and the arguments it needs: an operator copying a line from the
doc never meets "No such command" or "No such option". (The commands run end to end in the
tests named by the SATRE assessment; this keeps the doc's own lines from drifting.)"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer.main

from fivesafes.cli import app, load_every_command

DOC = Path(__file__).resolve().parents[2] / "docs" / "running-an-environment.md"


def _lines() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", DOC.read_text(), flags=re.S)
    joined = "\n".join(b.replace("\\\n", " ") for b in blocks)
    found = []
    for line in joined.splitlines():
        line = re.sub(r"\s+#\s.*$", "", line).strip()
        if line.startswith("fivesafes "):
            found.append(line)
    return found


LINES = _lines()


def test_the_doc_shows_commands() -> None:
    assert len(LINES) >= 20


@pytest.mark.parametrize("line", LINES)
def test_each_command_in_the_doc_exists_with_its_options(line: str) -> None:
    words = shlex.split(line)[1:]
    load_every_command()  # the group imports a command's module only when asked for it
    command: Any = typer.main.get_command(app)  # typer's own click: duck-typed
    while words and words[0] in getattr(command, "commands", {}):
        command = command.commands[words.pop(0)]
    assert not hasattr(command, "commands"), f"{line}: no such command"
    options = {name for p in command.params for name in getattr(p, "opts", [])}
    given = [w.split("=")[0] for w in words if w.startswith("--")]
    unknown = sorted(set(given) - options)
    assert not unknown, f"{line}: no such option {unknown}"
    flags = {o for p in command.params if getattr(p, "is_flag", False) for o in p.opts}
    values = [w for i, w in enumerate(words) if not w.startswith("--") and
              (i == 0 or not words[i - 1].startswith("--") or words[i - 1] in flags)]  # fmt: skip
    needed = [p for p in command.params if p.param_type_name == "argument" and p.required]
    assert len(values) >= len(needed), f"{line}: {command.name} needs {[p.name for p in needed]}"
