"""Helpers for the kill tests: run the real CLI in a child process that a failpoint kills for
real, then read the ledger, the store and the control plane as an auditor would.

Starting ``fivesafes`` afresh costs seconds of imports, and the kill tests run dozens of
commands. So :class:`Forker` starts one clean interpreter that imports the CLI once and then, per
command, forks a child that runs ``fivesafes ARGS`` exactly as the executable does -- its own
process, its own environment (``FIVESAFES_FAILPOINT`` included), its own stdout and stderr -- and
reports how it ended: a negative return code is the signal that killed it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from fivesafes.governance.ledger_store import SqlLedgerStore
from fivesafes.ledger import SqliteLedgerStore
from fivesafes.ledger.intents import open_intents
from fivesafes.ledger.storage import LedgerStore

KILLED = -signal.SIGKILL

SERVER = r"""
import json, os, sys, tempfile, traceback
from fivesafes.cli import app, load_every_command
from fivesafes.governance.database import open_engine

from typer.main import get_command

# Warm what commands import on first use -- every command's module, typer's command tree,
# Alembic's runtime, the plotting library a publication's summary is drawn with -- so each
# child need not.
load_every_command()
get_command(app)
with tempfile.TemporaryDirectory() as warm:
    open_engine(f"sqlite:///{warm}/warm.sqlite").dispose()
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot

for line in sys.stdin:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            for name in request["unset"]:
                os.environ.pop(name, None)
            os.environ.update(request["env"])
            os.chdir(request["cwd"])
            null = os.open(os.devnull, os.O_RDONLY)
            out = os.open(request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            err = os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(null, 0)
            os.dup2(out, 1)
            os.dup2(err, 2)
            try:
                app(request["args"], prog_name="fivesafes")
                code = 0
            except SystemExit as exit:
                code = exit.code if isinstance(exit.code, int) else int(exit.code is not None)
            except BaseException:
                traceback.print_exc()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    print(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}), flush=True)
"""


@dataclass(frozen=True)
class Ran:
    """How one command ended, and what it printed."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class Forker:
    """One interpreter with the CLI imported, forking a fresh child for each command."""

    def __init__(self, scratch: Path) -> None:
        self._scratch = scratch
        self._count = 0
        self._server = subprocess.Popen(
            [sys.executable, "-c", SERVER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def run(
        self,
        args: Sequence[str],
        env: Mapping[str, str] | None = None,
        unset: Sequence[str] = (),
    ) -> Ran:
        """Run ``fivesafes ARGS`` in a child with ``env`` added and ``unset`` removed."""
        assert self._server.stdin is not None and self._server.stdout is not None
        self._count += 1
        out = self._scratch / f"{self._count}.out"
        err = self._scratch / f"{self._count}.err"
        request = {
            "args": list(args),
            "env": {"COLUMNS": "200", **(env or {})},
            "unset": list(unset),
            "cwd": str(self._scratch),
            "stdout": str(out),
            "stderr": str(err),
        }
        self._server.stdin.write(json.dumps(request) + "\n")
        self._server.stdin.flush()
        reply = json.loads(self._server.stdout.readline())
        return Ran(reply["returncode"], out.read_text(), err.read_text())

    def close(self) -> None:
        assert self._server.stdin is not None
        self._server.stdin.close()
        self._server.wait(timeout=30)


def ledger_store(root: Path, url: str | None) -> LedgerStore:
    """The environment's ledger, read-only: the SQLite file, or the PostgreSQL tables."""
    if url is None:
        return SqliteLedgerStore(root / "ledger.sqlite", read_only=True)
    from sqlalchemy import create_engine

    from fivesafes.governance.database import normalise_url

    return SqlLedgerStore(create_engine(normalise_url(url)))


def entries(root: Path, url: str | None = None) -> list[dict[str, Any]]:
    """Every ledger entry, decoded, oldest first."""
    store = ledger_store(root, url)
    try:
        return [orjson.loads(row.entry) for row in store.entries()]
    finally:
        store.close()


def of_kind(found: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e["subject"] for e in found if e["kind"] == kind]


def open_intent_count(root: Path, url: str | None = None) -> int:
    store = ledger_store(root, url)
    try:
        return len(open_intents(store))
    finally:
        store.close()


def settled_intents(found: list[dict[str, Any]]) -> dict[int, str]:
    """Each intent's index and how it ended: its outcome kind, or ``abandoned``; every intent
    is answered exactly once (an assertion)."""
    intents = {e["index"] for e in found if e["kind"] == "intent"}
    answers: dict[int, str] = {}
    for e in found:
        pointer = e["subject"].get("intent") if e["kind"] != "intent" else None
        if isinstance(pointer, int):
            assert pointer not in answers, f"intent {pointer} answered twice"
            answers[pointer] = e["kind"]
    assert set(answers) == intents, f"open intents: {sorted(intents - set(answers))}"
    return answers


def marked(mark: bytes) -> set[int]:
    """Every process whose environment holds ``mark`` (``NAME=value``): a command run with it
    and everything it started, however far its children wandered from it."""
    found = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if mark in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
                found.add(int(pid))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def holders(paths: Sequence[Path]) -> list[str]:
    """Processes (pid: file) holding any of ``paths`` open, from every /proc/*/fd."""
    wanted = {str(p) for p in paths}
    held = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            targets = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        except OSError:  # gone meanwhile, or not ours to read
            continue
        held += [f"{pid}: {target}" for target in targets if target in wanted]
    return held
