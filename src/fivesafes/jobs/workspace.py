"""An action's workspace: a fresh copy of the project's code, its declared inputs, nothing else.

Each action runs in its own folder rather than in the project, for two promises:
it can read no output it did not declare (other actions' outputs are simply not
there), and everything it writes can be seen afterwards by comparing the folder
with how it was staged. Only declared outputs are carried back to the project;
any other file written is an error and is thrown away with the workspace.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from fivesafes.jobs.project import RESERVED_DIRS, Action, Output, Project
from fivesafes.jobs.sandbox import WORKSPACE, Mount

Snapshot = dict[PurePosixPath, tuple[int, int, int, int]]


class WorkspaceError(RuntimeError):
    """An action broke its declaration: a missing input or output, or an undeclared write."""


def _is_code_dir(path: Path) -> bool:
    """Not a hidden folder (tool caches), a bytecode cache, or a virtualenv someone made here."""
    name = path.name
    return not (name.startswith(".") or name == "__pycache__" or (path / "pyvenv.cfg").exists())


def code_files(project: Project) -> dict[PurePosixPath, Path]:
    """The project's own files: everything but outputs, job records, version control, caches."""
    outputs = {o.path for o in project.outputs}
    found: dict[PurePosixPath, Path] = {}
    for dirpath, dirnames, filenames in os.walk(project.root):
        rel_dir = PurePosixPath(Path(dirpath).relative_to(project.root).as_posix())
        keep = [d for d in dirnames if _is_code_dir(Path(dirpath) / d)]
        if rel_dir == PurePosixPath("."):
            keep = [d for d in keep if d not in RESERVED_DIRS]
        dirnames[:] = sorted(keep)
        for name in sorted(filenames):
            rel = rel_dir / name
            if rel not in outputs:
                found[rel] = Path(dirpath) / name
    return found


def _walk_files(root: Path) -> Iterator[tuple[PurePosixPath, os.stat_result]]:
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            path = Path(dirpath) / name
            yield PurePosixPath(path.relative_to(root).as_posix()), path.lstat()


def snapshot(root: Path) -> Snapshot:
    """What is in ``root`` now, by path: inode, size, modification time and mode."""
    return {
        rel: (st.st_ino, st.st_size, st.st_mtime_ns, st.st_mode) for rel, st in _walk_files(root)
    }


@dataclass(slots=True)
class Workspace:
    """A staged workspace: its folder, the input mounts a sandbox needs, and its first state."""

    root: Path
    mounts: list[Mount]
    before: Snapshot

    def written(self) -> list[PurePosixPath]:
        """Files added or changed since staging, in path order."""
        after = snapshot(self.root)
        return sorted(rel for rel, st in after.items() if self.before.get(rel) != st)

    def collect(self, project: Project, action: Action) -> list[Output]:
        """Check the action wrote exactly its declared outputs; move them into the project."""
        declared = {o.path: o for o in action.outputs}
        undeclared = [str(rel) for rel in self.written() if rel not in declared]
        if undeclared:
            raise WorkspaceError(
                f"action '{action.name}' wrote files it did not declare as outputs: "
                + ", ".join(undeclared)
            )
        for out in action.outputs:
            staged = self.root / out.path
            if not staged.exists() and not staged.is_symlink():
                raise WorkspaceError(
                    f"action '{action.name}' did not write its output '{out.name}' ({out.path})"
                )
            if not stat.S_ISREG(staged.lstat().st_mode):
                raise WorkspaceError(
                    f"action '{action.name}': output '{out.name}' ({out.path}) must be a plain "
                    "file, not a link or folder"
                )
        root = project.root.resolve()
        for out in action.outputs:
            target = project.root / out.path
            if not target.parent.resolve().is_relative_to(root):
                raise WorkspaceError(f"output {out.path} would be written outside the project")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(self.root / out.path, target)
        return list(action.outputs)


def stage(
    project: Project,
    action: Action,
    root: Path,
    code: dict[PurePosixPath, Path],
    mount_inputs: bool,
) -> Workspace:
    """Fill ``root`` with the project's code and ``action``'s inputs.

    With ``mount_inputs`` the inputs are left as empty placeholders to be bound read-only
    by the sandbox (no copy of a large dataset); otherwise they are copied.
    """
    root.mkdir(parents=True)
    for rel, source in code.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, root / rel, follow_symlinks=False)
    mounts: list[Mount] = []
    for out in project.inputs(action):
        source = project.root / out.path
        if not source.is_file():
            raise WorkspaceError(
                f"action '{action.name}' needs '{out.path}' from action '{out.action}', "
                "which has not been made: run that action first"
            )
        staged = root / out.path
        staged.parent.mkdir(parents=True, exist_ok=True)
        if mount_inputs:
            staged.touch()
            mounts.append(Mount(source, WORKSPACE / out.path))
        else:
            shutil.copy2(source, staged)
    for parent in _parents(o.path for o in action.outputs):
        (root / parent).mkdir(parents=True, exist_ok=True)
    return Workspace(root, mounts, snapshot(root))


def _parents(paths: Iterable[PurePosixPath]) -> set[PurePosixPath]:
    return {p.parent for p in paths}
