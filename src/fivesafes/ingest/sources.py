"""Which files a load reads: every data file under the paths given, or a refusal saying why not.

Why refuse rather than skip: a folder that cannot be listed, a file that cannot be opened or a
link that leads out of the folder would otherwise be passed over without a word, and the load
would report success over records that never arrived. So discovery looks at everything first
and, if any part of the input cannot be read as given, refuses the whole load before a record
is checked, naming each path and what to do. What it leaves out on purpose (files that are not
data, and notes whose names start with ``_`` or ``.``) it lists, so a caller can say so.

Links: a path named on the command line is followed wherever it points (the person loading
chose it). Inside a folder, a symbolic link is followed only while it stays inside that folder;
one that leaves it is refused, because a data folder that quietly pulls in files from elsewhere
(another supplier's drop, the environment's own keys) is not what the person named.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

FHIR_SUFFIXES = (".ndjson", ".jsonl", ".json")
CSV_SUFFIXES = (".csv",)
DATA_SUFFIXES = FHIR_SUFFIXES + CSV_SUFFIXES
SHOWN_PROBLEMS = 5
"""How many problems a refusal names before it says how many more there are."""


@dataclass(frozen=True, slots=True)
class SourceProblem:
    """One path that cannot be read as given, and why, in words that say what to do."""

    path: str
    reason: str


class UnreadableSource(Exception):
    """Part of a load's input cannot be read: nothing was checked or loaded."""

    def __init__(self, problems: Sequence[SourceProblem]) -> None:
        super().__init__(tuple(problems))
        self.problems = tuple(problems)

    def __str__(self) -> str:
        shown = "; ".join(f"{p.path}: {p.reason}" for p in self.problems[:SHOWN_PROBLEMS])
        more = len(self.problems) - SHOWN_PROBLEMS
        return f"cannot read {shown}" + (f"; and {more} more" if more > 0 else "")


@dataclass(frozen=True, slots=True)
class Survey:
    """What discovery found: the files to read, in order, and the paths it left out on purpose."""

    files: tuple[Path, ...]
    ignored: tuple[Path, ...] = ()


def os_reason(error: OSError) -> str:
    """An OS error in words, with what to do about the common ones."""
    if error.errno in (errno.EACCES, errno.EPERM):
        return "permission denied (the account running fivesafes cannot read it)"
    if error.errno == errno.ENOENT:
        return "no such file or folder"
    if error.errno == errno.ELOOP:
        return "symbolic links lead round in a loop"
    return error.strerror or str(error)


@dataclass
class _Walk:
    """The state of one discovery: what was found, left out and refused, and where it has been."""

    files: list[Path] = field(default_factory=list)
    ignored: list[Path] = field(default_factory=list)
    problems: list[SourceProblem] = field(default_factory=list)
    seen: set[Path] = field(default_factory=set)

    def refuse(self, path: Path, reason: str) -> None:
        self.problems.append(SourceProblem(str(path), reason))

    def add_file(self, path: Path, real: Path) -> None:
        if real in self.seen:
            return
        self.seen.add(real)
        try:
            with real.open("rb"):
                pass
        except OSError as error:
            self.refuse(path, os_reason(error))
            return
        self.files.append(path)

    def folder(self, path: Path, real: Path, root: Path) -> None:
        """Every data file under one folder; ``root`` is the real path of the folder named."""
        if real in self.seen:
            return
        self.seen.add(real)
        try:
            with os.scandir(real) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as error:
            self.refuse(path, os_reason(error))
            return
        for entry in entries:
            self.entry(path / entry.name, entry, root)

    def entry(self, path: Path, entry: os.DirEntry[str], root: Path) -> None:
        name = entry.name
        if not _utf8(name):
            self.refuse(path, "its name is not valid UTF-8; rename it")
            return
        if name.startswith(("_", ".")):
            self.ignored.append(path)
            return
        try:
            if entry.is_symlink():
                self.link(path, root)
            elif entry.is_dir(follow_symlinks=False):
                self.folder(path, Path(entry.path), root)
            elif not _is_data(path):
                self.ignored.append(path)
            elif entry.is_file(follow_symlinks=False):
                self.add_file(path, Path(entry.path))
            else:
                self.refuse(path, "it is not a regular file (a pipe, socket or device)")
        except OSError as error:
            self.refuse(path, os_reason(error))

    def link(self, path: Path, root: Path) -> None:
        """A symbolic link inside a folder: followed only while it stays inside the folder."""
        try:
            real = path.resolve(strict=True)
        except FileNotFoundError:
            self.refuse(
                path, f"it is a symbolic link to {os.readlink(path)!r}, which does not exist"
            )
            return
        except RuntimeError:  # a loop, on Python versions that raise it for resolve()
            self.refuse(path, "symbolic links lead round in a loop")
            return
        if real != root and root not in real.parents:
            self.refuse(
                path,
                f"it is a symbolic link to {real}, outside {root}; copy the data into the "
                "folder or name it on the command line",
            )
        elif real.is_dir():
            self.folder(path, real, root)
        elif not _is_data(path):
            self.ignored.append(path)
        elif real.is_file():
            self.add_file(path, real)
        else:
            self.refuse(path, "it is not a regular file (a pipe, socket or device)")

    def given(self, path: Path) -> None:
        """A path named by the caller: a folder to walk, or one data file."""
        if not _utf8(str(path)):
            self.refuse(path, "its name is not valid UTF-8; rename it")
            return
        try:
            real = path.resolve(strict=True)
        except FileNotFoundError:
            self.refuse(path, "no such file or folder")
            return
        except (OSError, RuntimeError) as error:
            reason = os_reason(error) if isinstance(error, OSError) else "links loop"
            self.refuse(path, reason)
            return
        if real.is_dir():
            self.folder(path, real, real)
        elif not _is_data(path):
            self.refuse(
                path,
                "it is not a .ndjson, .jsonl, .json or .csv file (compressed files must be "
                "decompressed first)",
            )
        elif real.is_file():
            self.add_file(path, real)
        else:
            self.refuse(path, "it is not a regular file (a pipe, socket or device)")


def _utf8(name: str) -> bool:
    """File names that are not UTF-8 arrive as lone surrogates and cannot be stored or shown."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _is_data(path: Path) -> bool:
    return path.suffix.lower() in DATA_SUFFIXES


def survey(paths: Iterable[Path]) -> Survey:
    """Every data file under ``paths`` in a stable order, or :class:`UnreadableSource`.

    Files named directly come in the order given; a folder's files in name order, depth first.
    """
    walk = _Walk()
    for path in paths:
        walk.given(Path(path))
    if walk.problems:
        raise UnreadableSource(walk.problems)
    return Survey(tuple(walk.files), tuple(walk.ignored))


def discover(paths: Iterable[Path]) -> list[Path]:
    """The files :func:`survey` finds, as a list."""
    return list(survey(paths).files)
