"""Errors in a dataset definition, reported where the analyst wrote them.

A mistake in a study file should read like a note from a colleague: which line of
*your* file, what is wrong, and how to put it right -- never a traceback from deep
inside the compiler. :class:`DefinitionError` finds the first stack frame outside
the fivesafes package when it is raised and names that file and line.
"""

from __future__ import annotations

import sys
from pathlib import Path

_PACKAGE_DIR = str(Path(__file__).resolve().parents[1])


def user_location() -> tuple[str, int] | None:
    """The file and line of the innermost caller outside the fivesafes package.

    Generated code (dataclass ``__init__``, ``<frozen ...>``) is passed over while a
    real file is further out; code typed at ``python -c`` is reported as ``<string>``.
    """
    frame = sys._getframe(1)
    generated: tuple[str, int] | None = None
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename.startswith("<"):
            generated = generated or (filename, frame.f_lineno)
        elif not str(Path(filename).resolve()).startswith(_PACKAGE_DIR):
            return filename, frame.f_lineno
        frame = frame.f_back
    return generated


class DefinitionError(Exception):
    """A dataset definition that cannot mean anything; says where and how to fix it."""

    def __init__(self, problem: str, fix: str) -> None:
        self.problem = problem
        self.fix = fix
        self.location = user_location()
        where = f"{self.location[0]}, line {self.location[1]}: " if self.location else ""
        super().__init__(f"{where}{problem}\n  how to fix: {fix}")
