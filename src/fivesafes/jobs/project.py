"""A study's ``project.yaml``: its actions, what each needs, and what each writes.

The file is the contract between an analyst and the environment. Everything the
environment promises about a study rests on it: an action sees only the outputs of
the actions it ``needs``; everything it writes is declared with a privacy level;
``highly_sensitive`` outputs never leave, ``moderately_sensitive`` ones may be
checked and requested for release. So the file is checked strictly, and every
problem found is reported at once with the file, line, action and field it is in.
"""

from __future__ import annotations

import difflib
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from fivesafes.jobs.extract import CommandError, parse_command
from fivesafes.jobs.graph import dependency_order, find_cycle
from fivesafes.jobs.yamlmarks import KeyPath, MarkedYaml, load_marked

PROJECT_FILE = "project.yaml"
SUPPORTED_VERSIONS = (1,)
ACTION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*\Z")
ACTION_FIELDS = ("run", "needs", "outputs")
# Places the environment keeps for itself: job records and logs, and version control.
RESERVED_DIRS = ("metadata", ".git")
GLOB_CHARS = frozenset("*?[]")
STORE_COMMANDS = ("generate-dataset", "generate-measures")


class Privacy(StrEnum):
    """How sensitive an output is; decides whether it may ever leave the environment."""

    HIGHLY_SENSITIVE = "highly_sensitive"
    MODERATELY_SENSITIVE = "moderately_sensitive"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a project file, located as precisely as the file allows."""

    file: Path
    line: int | None
    action: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else str(self.file)
        parts = [f"action '{self.action}'"] if self.action else []
        if self.field:
            parts.append(f"field '{self.field}'")
        context = f" {', '.join(parts)}:" if parts else ""
        return f"{where}:{context} {self.message}"


class ProjectError(ValueError):
    """``project.yaml`` cannot be used; ``problems`` lists every reason found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: p.line or 0)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True, slots=True)
class Output:
    """One declared file an action writes: its name in the action, path and privacy level."""

    action: str
    name: str
    path: PurePosixPath
    privacy: Privacy


@dataclass(frozen=True, slots=True)
class Action:
    """One step of a study: a command, the actions it needs, and the files it writes."""

    name: str
    run: str
    argv: tuple[str, ...]
    needs: tuple[str, ...]
    outputs: tuple[Output, ...]

    @property
    def reads_store(self) -> bool:
        """True for ``fivesafes generate-dataset`` (or ``generate-measures``): the only actions
        that may read the store, and then only through the environment's own query code."""
        return len(self.argv) > 1 and self.argv[0] == "fivesafes" and self.argv[1] in STORE_COMMANDS


@dataclass(frozen=True, slots=True)
class Project:
    """A validated study: its folder and its actions in file order."""

    root: Path
    actions: dict[str, Action]

    def inputs(self, action: Action) -> tuple[Output, ...]:
        """What ``action`` may read besides the code: the outputs of the actions it needs."""
        return tuple(o for need in action.needs for o in self.actions[need].outputs)

    def plan(self, target: str | None = None) -> list[Action]:
        """The actions to run for ``target`` (all when None), each after everything it needs."""
        if target is not None and target not in self.actions:
            hint = _did_you_mean(target, self.actions)
            raise KeyError(f"no action '{target}' in {self.root / PROJECT_FILE}{hint}")
        graph = {name: a.needs for name, a in self.actions.items()}
        names = dependency_order(graph, [target] if target else list(self.actions))
        return [self.actions[n] for n in names]

    @property
    def outputs(self) -> Iterator[Output]:
        for action in self.actions.values():
            yield from action.outputs


def load_project(root: Path) -> Project:
    """Read and check ``root/project.yaml``; raises ``ProjectError`` listing every problem.

    The root is made absolute here, once, because the sandbox binds paths by their full name.
    """
    root = root.resolve()
    file = root / PROJECT_FILE
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProjectError([Problem(file, None, None, None, "no project.yaml here")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectError([Problem(file, None, None, None, f"cannot read it: {exc}")]) from None
    try:
        marked = load_marked(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        raise ProjectError([Problem(file, line, None, None, f"not valid YAML: {reason}")]) from None
    return _Checker(root, file, marked).project()


def _did_you_mean(name: str, known: Any) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


class _Checker:
    """Walks the parsed file once, collecting problems rather than stopping at the first."""

    def __init__(self, root: Path, file: Path, marked: MarkedYaml) -> None:
        self.root = root
        self.file = file
        self.marked = marked
        self.problems: list[Problem] = []

    def add(self, path: KeyPath, message: str) -> None:
        if len(path) >= 2 and path[0] == "actions":
            action, rest = str(path[1]), path[2:]
        else:
            action, rest = None, path
        field = ".".join(str(p) for p in rest) or None
        self.problems.append(Problem(self.file, self.marked.line(path), action, field, message))

    def project(self) -> Project:
        for path, line in self.marked.duplicates:
            what = "action" if len(path) == 2 and path[0] == "actions" else "key"
            self.problems.append(
                Problem(self.file, line, None, None, f"{what} '{path[-1]}' appears twice")
            )
        doc = self.marked.data
        if not isinstance(doc, dict):
            self.add((), "expected a mapping with 'version' and 'actions'")
            raise ProjectError(self.problems)
        for key in doc:
            if key not in ("version", "actions"):
                self.add((key,), "unknown key; a project has 'version' and 'actions'")
        version = doc.get("version")
        if version not in SUPPORTED_VERSIONS:
            supported = ", ".join(map(str, SUPPORTED_VERSIONS))
            self.add(("version",), f"version must be one of {supported}, found {version!r}")
        raw_actions = doc.get("actions")
        if not isinstance(raw_actions, dict) or not raw_actions:
            self.add(("actions",), "expected a mapping of action names to actions")
            raise ProjectError(self.problems)
        actions = {}
        for name, spec in raw_actions.items():
            action = self.action(str(name), spec)
            if action is not None:
                actions[action.name] = action
        self.check_needs(actions, {str(n) for n in raw_actions})
        self.check_overlaps(actions)
        if self.problems:
            raise ProjectError(self.problems)
        return Project(self.root, actions)

    def action(self, name: str, spec: Any) -> Action | None:
        at: KeyPath = ("actions", name)
        found_before = len(self.problems)
        if not ACTION_NAME.match(name):
            self.add(at, "action names use letters, digits, '_' and '-'")
        if not isinstance(spec, dict):
            self.add(at, "expected a mapping with 'run', 'outputs' and optionally 'needs'")
            return None
        for key in spec:
            if key not in ACTION_FIELDS:
                self.add((*at, key), f"unknown field; an action has {', '.join(ACTION_FIELDS)}")
        argv = self.command(at, spec.get("run"))
        needs = self.needs(at, spec.get("needs", []))
        outputs = self.outputs(name, at, spec.get("outputs"))
        if argv is None or needs is None or outputs is None:
            return None
        action = Action(name, str(spec["run"]), argv, needs, outputs)
        if action.reads_store and len(self.problems) == found_before:
            self.extraction(at, action)
        return action

    def extraction(self, at: KeyPath, action: Action) -> None:
        """An action that reads the store is run in two steps from what its command says
        (:mod:`.extract`), so the command must say it plainly and write a declared output."""
        try:
            command = parse_command(action.argv)
        except CommandError as exc:
            self.add((*at, "run"), str(exc))
            return
        if PurePosixPath(command.output) not in {o.path for o in action.outputs}:
            self.add((*at, "run"), f"--output {command.output} is not one of the action's outputs")

    def command(self, at: KeyPath, run: Any) -> tuple[str, ...] | None:
        if not isinstance(run, str) or not run.strip():
            self.add((*at, "run"), "expected the command to run, as text")
            return None
        try:
            return tuple(shlex.split(run))
        except ValueError as exc:
            self.add((*at, "run"), f"cannot split the command into words: {exc}")
            return None

    def needs(self, at: KeyPath, needs: Any) -> tuple[str, ...] | None:
        if not isinstance(needs, list) or not all(isinstance(n, str) for n in needs):
            self.add((*at, "needs"), "expected a list of action names")
            return None
        for i, need in enumerate(needs):
            if need in needs[:i]:
                self.add((*at, "needs", i), f"'{need}' is listed twice")
        return tuple(dict.fromkeys(needs))

    def outputs(self, action: str, at: KeyPath, outputs: Any) -> tuple[Output, ...] | None:
        levels = ", ".join(p.value for p in Privacy)
        if not isinstance(outputs, dict) or not outputs:
            self.add((*at, "outputs"), f"expected outputs under {levels}")
            return None
        found: list[Output] = []
        for level, files in outputs.items():
            where = (*at, "outputs", level)
            if level not in Privacy.__members__.values():
                self.add(where, f"unknown privacy level; use {levels}")
                continue
            if not isinstance(files, dict) or not files:
                self.add(where, "expected a mapping of output names to file paths")
                continue
            for out_name, raw in files.items():
                path = self.output_path((*where, out_name), raw)
                if path is not None:
                    found.append(Output(action, str(out_name), path, Privacy(level)))
        return tuple(found)

    def output_path(self, at: KeyPath, raw: Any) -> PurePosixPath | None:
        if not isinstance(raw, str) or not raw.strip():
            self.add(at, "expected a file path relative to the project folder")
            return None
        path = PurePosixPath(raw)
        if path.is_absolute() or ".." in path.parts or "\\" in raw:
            self.add(at, f"'{raw}' is outside the project: use a path relative to the project")
            return None
        if GLOB_CHARS & set(raw):
            self.add(at, f"'{raw}': patterns are not supported; name each file")
            return None
        if path.parts[0] in RESERVED_DIRS or path == PurePosixPath(PROJECT_FILE):
            self.add(at, f"'{raw}' is kept by the environment; write outputs elsewhere")
            return None
        if not (self.root / path).resolve().is_relative_to(self.root.resolve()):
            self.add(at, f"'{raw}' leads outside the project through a symbolic link")
            return None
        return path

    def check_needs(self, actions: dict[str, Action], declared: set[str]) -> None:
        """Every need names a declared action, and following needs never leads back."""
        for action in actions.values():
            for i, need in enumerate(action.needs):
                if need not in declared:
                    hint = _did_you_mean(need, actions)
                    self.add(("actions", action.name, "needs", i), f"unknown action '{need}'{hint}")
        graph = {name: tuple(n for n in a.needs if n in actions) for name, a in actions.items()}
        cycle = find_cycle(graph)
        if cycle:
            self.add(("actions", cycle[0], "needs"), "needs form a cycle: " + " → ".join(cycle))

    def check_overlaps(self, actions: dict[str, Action]) -> None:
        seen: dict[PurePosixPath, Output] = {}
        for action in actions.values():
            for out in action.outputs:
                for other_path, other in seen.items():
                    same = other_path == out.path
                    nested = out.path.is_relative_to(other_path) or other_path.is_relative_to(
                        out.path
                    )
                    if same or nested:
                        how = "the same file as" if same else "nested with"
                        where = ("actions", action.name, "outputs", out.privacy.value, out.name)
                        self.add(
                            where,
                            f"'{out.path}' is {how} output '{other.name}' of action "
                            f"'{other.action}' ('{other_path}')",
                        )
                seen[out.path] = out
