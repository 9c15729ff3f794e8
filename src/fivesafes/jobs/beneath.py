"""Reach files beneath a folder without ever leaving it: one open at a time, no link followed.

A job's workspace is written by code the environment does not trust, and read afterwards by
the environment with its own rights; a study folder may be written by someone else while a job
is staged from it. Checking a path and then using it leaves a gap in which a folder can be
swapped for a link to the pseudonym key (issue 18, hole 13). So nothing here resolves a path by
name: each component is opened relative to the folder before it with ``O_NOFOLLOW``, starting
from the folder's own descriptor, and what is finally used is the descriptor that was checked.
Whatever is swapped after a component has been opened changes nothing that is read through it.

A file is accepted only when it is a plain file with no other hard link: a second name for a file
may be a way to a file outside (where mounts allow linking at all), and a pipe, device or socket
is never opened for reading (an ``O_PATH`` descriptor is checked first, and reopened through
``/proc/self/fd`` only once it is known to be a plain file).
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath

DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
COPY_CHUNK = 1024 * 1024
KINDS = (
    (stat.S_ISREG, "a plain file"),
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISLNK, "a symbolic link"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class Refused(OSError):
    """A path beneath a folder is not what it must be; the message says what it is instead."""


def kind(mode: int) -> str:
    """What a file of this mode is, in words: 'a plain file', 'a symbolic link', ..."""
    return next((name for test, name in KINDS if test(mode)), "an unknown kind of file")


def parts(rel: PurePosixPath) -> tuple[str, ...]:
    """The components of a relative path that stays beneath its folder; refused otherwise."""
    if rel.is_absolute() or any(p in ("..", ".", "") for p in rel.parts) or not rel.parts:
        raise Refused(errno.EINVAL, f"{rel} leads outside the folder")
    return rel.parts


def open_folder(path: Path) -> int:
    """A descriptor for the folder ``path`` itself (refused if its last component is a link)."""
    try:
        return os.open(path, DIRECTORY)
    except OSError as exc:
        raise _why(exc, str(path), None, path) from None


def _why(exc: OSError, name: str, dir_fd: int | None, shown: PurePosixPath | Path) -> Refused:
    """Why ``name`` could not be opened as needed, naming what it is rather than the errno."""
    try:
        found = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except OSError:
        return Refused(errno.ENOENT, f"{shown} is not there")
    return Refused(exc.errno or errno.EPERM, f"{shown} is {kind(found.st_mode)}")


def _step(dir_fd: int, name: str, shown: PurePosixPath, create: bool) -> int:
    try:
        return os.open(name, DIRECTORY, dir_fd=dir_fd)
    except FileNotFoundError:
        if not create:
            raise Refused(errno.ENOENT, f"{shown} is not there") from None
    except OSError as exc:
        raise _why(exc, name, dir_fd, shown) from None
    with contextlib.suppress(FileExistsError):  # made meanwhile: opened (and checked) below
        os.mkdir(name, 0o777, dir_fd=dir_fd)
    return _step(dir_fd, name, shown, create=False)


@contextlib.contextmanager
def folder_beneath(root_fd: int, rel: PurePosixPath, create: bool = False) -> Iterator[int]:
    """A descriptor for the folder ``rel`` beneath ``root_fd``, every component a real folder
    (made when ``create``); an empty ``rel`` is the root itself."""
    fd = os.dup(root_fd)
    try:
        walked = PurePosixPath()
        for name in parts(rel) if rel.parts else ():
            walked /= name
            inner = _step(fd, name, walked, create)
            os.close(fd)
            fd = inner
        yield fd
    finally:
        os.close(fd)


def open_file(root_fd: int, rel: PurePosixPath) -> int:
    """An ``O_PATH`` descriptor for the plain file ``rel`` beneath ``root_fd``, with no other
    hard link; refused, saying what it is, for anything else. Nothing is opened for reading."""
    *folders, name = parts(rel)
    with folder_beneath(root_fd, PurePosixPath(*folders) if folders else PurePosixPath()) as fd:
        try:
            found = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
        except FileNotFoundError:
            raise Refused(errno.ENOENT, f"{rel} is not there") from None
        except OSError as exc:
            raise _why(exc, name, fd, rel) from None
    st = os.fstat(found)
    if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
        os.close(found)
        what = kind(st.st_mode)
        if stat.S_ISREG(st.st_mode):
            what = f"a file with other hard links ({st.st_nlink - 1}), maybe to a file elsewhere"
        raise Refused(errno.EPERM, f"{rel} is {what}, not a plain file of its own")
    return found


def reopen(path_fd: int, flags: int = os.O_RDONLY) -> int:
    """A readable descriptor for the very file an ``O_PATH`` descriptor names."""
    return os.open(f"/proc/self/fd/{path_fd}", flags | os.O_CLOEXEC)


def copy_into(source_fd: int, root_fd: int, rel: PurePosixPath, mode: int = 0o666) -> None:
    """Copy the file ``source_fd`` names to ``rel`` beneath ``root_fd``: its folders made if
    missing (never through a link), the bytes written to a new file (``mode``, less the umask),
    then renamed over the name, so a link or file already there is replaced, never written
    through."""
    *folders, name = parts(rel)
    with folder_beneath(
        root_fd, PurePosixPath(*folders) if folders else PurePosixPath(), True
    ) as d:
        partial = f".{name}.{secrets.token_hex(4)}.partial"
        out = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                      | os.O_CLOEXEC, mode, dir_fd=d)  # fmt: skip
        try:
            with os.fdopen(reopen(source_fd), "rb") as src, os.fdopen(out, "wb") as dst:
                while chunk := src.read(COPY_CHUNK):
                    dst.write(chunk)
            os.rename(partial, name, src_dir_fd=d, dst_dir_fd=d)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(partial, dir_fd=d)
            raise


Enter = Callable[[PurePosixPath, int, str], bool]
"""Whether to enter the folder ``name`` found at ``path`` in the folder ``dir_fd``."""


def entries(
    root_fd: int, enter: Enter = lambda _at, _fd, _name: True
) -> Iterator[tuple[PurePosixPath, os.stat_result]]:
    """Every entry beneath ``root_fd`` but folders, with its own ``lstat``: files, links,
    pipes, devices, in path order. Folders are entered by descriptor, never through a link,
    and only where ``enter`` says so."""
    yield from _entries(root_fd, PurePosixPath(), enter)


def _entries(
    dir_fd: int, at: PurePosixPath, enter: Enter
) -> Iterator[tuple[PurePosixPath, os.stat_result]]:
    found: list[tuple[str, os.stat_result]] = []
    with os.scandir(dir_fd) as listing:
        for entry in listing:
            with contextlib.suppress(FileNotFoundError):  # gone since it was listed
                found.append((entry.name, entry.stat(follow_symlinks=False)))
    for name, st in sorted(found, key=_name):
        if not stat.S_ISDIR(st.st_mode):
            yield at / name, st
            continue
        if not enter(at, dir_fd, name):
            continue
        try:
            inner = os.open(name, DIRECTORY, dir_fd=dir_fd)
        except OSError:  # swapped or gone since it was listed: what is there now is seen
            with contextlib.suppress(OSError):
                yield at / name, os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            continue
        try:
            yield from _entries(inner, at / name, enter)
        finally:
            os.close(inner)


def _name(entry: tuple[str, os.stat_result]) -> str:
    return entry[0]
