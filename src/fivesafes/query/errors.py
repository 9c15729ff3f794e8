"""Errors in a dataset definition, reported where the analyst wrote them.

A mistake in a study file should read like a note from a colleague: which line of
*your* file, what is wrong, and how to put it right -- never a traceback from deep
inside the compiler. :class:`DefinitionError` finds the first stack frame outside
the fivesafes package when it is raised and names that file and line.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Iterable
from pathlib import Path
from types import FrameType
from typing import Any, ClassVar

_PACKAGE_DIR = str(Path(__file__).resolve().parents[1])


def user_location() -> tuple[str, int] | None:
    """The file and line of the innermost caller outside the fivesafes package.

    Generated code (dataclass ``__init__``, ``<frozen ...>``) is passed over while a
    real file is further out; code typed at ``python -c`` is reported as ``<string>``.
    """
    frame: FrameType | None = sys._getframe(1)
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


FAMILIAR = {"is_on_or_between": "is_between"}
"""Names analysts bring from OpenSAFELY's ehrQL that this language spells differently."""


def did_you_mean(name: str, options: Iterable[str]) -> str:
    """``"did you mean 'x'? "`` for the option closest to a mistyped ``name``, else ``""``."""
    known = sorted(set(options))
    if FAMILIAR.get(name) in known:
        return f"did you mean {FAMILIAR[name]!r}? "
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}? " if close else ""


class UnknownName(DefinitionError, AttributeError):
    """An attribute of the language that does not exist (a typo, usually): a definition error
    for the analyst, and still an AttributeError, so ``hasattr`` and ``getattr(x, n, default)``
    keep working."""


INTERNAL = frozenset({"node", "kind", "table", "is_patient_level", "query", "described_as"})
"""Public for the engines, not for study files: left out of the names suggested."""


def public_names(obj: object) -> list[str]:
    """The names an analyst may use on ``obj``: its public attributes and methods."""
    return [n for n in dir(type(obj)) if not n.startswith("_") and n not in INTERNAL]


def unknown_attribute(
    obj: object, name: str, what: str, columns: Iterable[str] = ()
) -> AttributeError:
    """The error for ``obj.name`` when it does not exist: a plain AttributeError for private and
    special names (Python's protocols probe those), else a did-you-mean for the analyst naming
    what ``obj`` does have (its ``columns``, if it is a table, and its methods)."""
    if name.startswith("_"):
        return AttributeError(name)
    columns = list(columns)
    methods = public_names(obj)
    has = (
        f"its columns: {', '.join(columns)}; its methods: " if columns else "it has: "
    ) + ", ".join(methods)
    return UnknownName(
        f"{what} has no {'column or method' if columns else 'attribute'} {name!r}",
        f"{did_you_mean(name, [*columns, *methods])}{has}",
    )


class Checked:
    """Mixin for the language's objects: a mistyped attribute is a did-you-mean definition
    error naming what the object does have, not Python's bare AttributeError."""

    __slots__ = ()
    described_as: ClassVar[str] = "this object"

    def __getattr__(self, name: str) -> Any:
        raise unknown_attribute(self, name, self.described_as)
