"""An action's workspace: a fresh copy of the project's code, its declared inputs, nothing else.

Each action runs in its own folder rather than in the project, for two promises:
it can read no output it did not declare (other actions' outputs are simply not
there), and everything it writes can be seen afterwards by comparing the folder
with how it was staged. Only declared outputs are carried back to the project;
any other file written is an error and is thrown away with the workspace.

The workspace is written by the action's code and read afterwards with the environment's own
rights, and the study folder it is staged from may change while it is staged; so every file is
reached through :mod:`.beneath` (each component opened by descriptor, no link followed, only a
plain file with no other hard link accepted), and outputs are copied, never moved: nothing an
action can name, link or swap leads collection to a file outside the workspace (issue 18,
hole 13).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from types import TracebackType

from fivesafes.jobs.beneath import (
    Refused,
    copy_into,
    entries,
    folder_beneath,
    kind,
    open_file,
    open_folder,
)
from fivesafes.jobs.project import RESERVED_DIRS, Action, Output, Project
from fivesafes.jobs.sandbox import WORKSPACE, Mount

Snapshot = dict[PurePosixPath, tuple[int, int, int, int]]


class WorkspaceError(RuntimeError):
    """An action broke its declaration: a missing input or output, or an undeclared write."""


@contextlib.contextmanager
def _folder(path: Path) -> Iterator[int]:
    try:
        fd = open_folder(path)
    except Refused as exc:
        raise WorkspaceError(f"cannot open the folder {path}: {exc.strerror}") from None
    try:
        yield fd
    finally:
        os.close(fd)


def _is_code_dir(dir_fd: int, name: str) -> bool:
    """Not a hidden folder (tool caches), a bytecode cache, or a virtualenv someone made here."""
    if name.startswith(".") or name == "__pycache__":
        return False
    try:
        os.stat(f"{name}/pyvenv.cfg", dir_fd=dir_fd, follow_symlinks=False)
    except OSError:
        return True
    return False


def code_files(project: Project) -> dict[PurePosixPath, Path]:
    """The project's own files: everything but outputs, job records, version control, caches.

    Code is plain files: a link or a special file (pipe, device, socket) in the study folder is
    refused with its name, since copying or hashing it would read something that is not the
    study's (the key, a device that never ends)."""
    outputs = {o.path for o in project.outputs}

    def keep(at: PurePosixPath, dir_fd: int, name: str) -> bool:
        top = at == PurePosixPath()
        return _is_code_dir(dir_fd, name) and not (top and name in RESERVED_DIRS)

    found: dict[PurePosixPath, Path] = {}
    refused: list[str] = []
    try:
        with _folder(project.root) as root:
            for rel, st in entries(root, keep):
                if rel in outputs:
                    continue
                if stat.S_ISREG(st.st_mode):
                    found[rel] = project.root / rel
                else:
                    refused.append(f"{rel} ({kind(st.st_mode)})")
    except OSError as exc:
        raise WorkspaceError(f"cannot read the study folder {project.root}: {exc}") from None
    if refused:
        raise WorkspaceError(
            f"the study folder {project.root} holds what is not code: {', '.join(refused)}; "
            "a study's code is copied as plain files: replace each with the file itself"
        )
    return found


def snapshot(root_fd: int) -> Snapshot:
    """What is beneath ``root_fd`` now, by path: inode, size, modification time and mode of
    every entry but folders (links, pipes and devices included)."""
    return {
        rel: (st.st_ino, st.st_size, st.st_mtime_ns, st.st_mode) for rel, st in entries(root_fd)
    }


@dataclass(slots=True)
class Workspace:
    """A staged workspace: its folder, the input mounts a sandbox needs, and its first state.

    Mounted inputs are held open (``fds``) from the moment they were checked until the sandbox
    has bound them; use the workspace as a context manager, or ``close`` it, to let them go."""

    root: Path
    mounts: list[Mount]
    before: Snapshot
    fds: tuple[int, ...] = field(default=())

    def close(self) -> None:
        for fd in self.fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self.fds = ()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def written(self) -> list[tuple[PurePosixPath, int]]:
        """Entries added or changed since staging, with their mode, in path order."""
        with _folder(self.root) as root:
            after = snapshot(root)
        return sorted((rel, st[3]) for rel, st in after.items() if self.before.get(rel) != st)

    def collect(self, project: Project, action: Action) -> list[Output]:
        """Check the action wrote exactly its declared outputs; copy them into the project."""
        declared = {o.path for o in action.outputs}
        undeclared = [
            str(rel) if stat.S_ISREG(mode) else f"{rel} ({kind(mode)})"
            for rel, mode in self.written()
            if rel not in declared
        ]
        if undeclared:
            raise WorkspaceError(
                f"action '{action.name}' wrote files it did not declare as outputs: "
                + ", ".join(undeclared)
            )
        opened: list[tuple[Output, int]] = []
        try:
            with _folder(self.root) as root:
                for out in action.outputs:
                    opened.append((out, _open_output(root, action, out)))
            with _folder(project.root) as destination:
                for out, fd in opened:
                    try:
                        copy_into(fd, destination, out.path)
                    except OSError as exc:
                        raise WorkspaceError(
                            f"action '{action.name}': output '{out.name}' cannot be written to "
                            f"the project at {out.path}: {exc.strerror or exc}"
                        ) from None
        finally:
            for _, fd in opened:
                os.close(fd)
        return list(action.outputs)


def _open(root: int, out: Output, missing: str, refused: str) -> int:
    """The file ``out`` beneath ``root``; ``missing`` or ``refused`` (with why) if it cannot be."""
    try:
        return open_file(root, out.path)
    except Refused as exc:
        if exc.errno == errno.ENOENT:
            raise WorkspaceError(missing) from None
        raise WorkspaceError(f"{refused}: {exc.strerror}") from None


def _open_output(root: int, action: Action, out: Output) -> int:
    return _open(
        root,
        out,
        f"action '{action.name}' did not write its output '{out.name}' ({out.path})",
        f"action '{action.name}': output '{out.name}' ({out.path}) must be a plain file of its own",
    )


def stage(
    project: Project,
    action: Action,
    root: Path,
    code: dict[PurePosixPath, Path],
    mount_inputs: bool,
) -> Workspace:
    """Fill ``root`` with the project's code and ``action``'s inputs.

    With ``mount_inputs`` the inputs are left as empty placeholders to be bound read-only
    by the sandbox (no copy of a large dataset), each by the descriptor it was checked through;
    otherwise they are copied.
    """
    root.mkdir(parents=True)
    fds: list[int] = []
    mounts: list[Mount] = []
    try:
        with _folder(project.root) as source, _folder(root) as workspace:
            for rel in code:
                _copy_code(source, workspace, rel)
            for out in project.inputs(action):
                fd = _open_input(source, action, out)
                fds.append(fd)
                if mount_inputs:
                    _placeholder(workspace, out.path)
                    mounts.append(Mount(project.root / out.path, WORKSPACE / out.path, fd=fd))
                else:
                    copy_into(fd, workspace, out.path)
            for out in action.outputs:
                with folder_beneath(workspace, out.path.parent, create=True):
                    pass
            before = snapshot(workspace)
    except BaseException as exc:
        for fd in fds:
            os.close(fd)
        if isinstance(exc, OSError):
            raise WorkspaceError(f"cannot stage the workspace {root}: {exc}") from None
        raise
    if not mount_inputs:
        for fd in fds:
            os.close(fd)
        fds = []
    return Workspace(root, mounts, before, tuple(fds))


def _copy_code(source: int, workspace: int, rel: PurePosixPath) -> None:
    try:
        fd = open_file(source, rel)
    except Refused as exc:
        raise WorkspaceError(f"cannot stage the study's code: {exc.strerror}") from None
    try:
        copy_into(fd, workspace, rel, mode=stat.S_IMODE(os.fstat(fd).st_mode))
    finally:
        os.close(fd)


def _open_input(source: int, action: Action, out: Output) -> int:
    return _open(
        source,
        out,
        f"action '{action.name}' needs '{out.path}' from action '{out.action}', "
        "which has not been made: run that action first",
        f"action '{action.name}' cannot use its input '{out.path}' from action '{out.action}'",
    )


def _placeholder(workspace: int, rel: PurePosixPath) -> None:
    """An empty file for a mount to cover (bubblewrap binds a file over a file)."""
    with folder_beneath(workspace, rel.parent, create=True) as folder:
        os.close(os.open(rel.name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                         | os.O_CLOEXEC, 0o644, dir_fd=folder))  # fmt: skip
