"""Package namespaces whose names are imported on first use (PEP 562).

A package's ``__init__`` runs whenever any module inside it is imported. When it imports every
submodule to offer their names (``from fivesafes.governance import ControlPlane``), importing the
smallest module of the package (an enum for a command's option) pulls in all the others and the
heavy libraries under them: that cost seconds at the start of every ``fivesafes`` command.

So such a package lists its names in an ``if TYPE_CHECKING:`` block of plain ``from
package.module import name`` lines — what type checkers and readers see, the one list — and
hands :func:`exports` its ``__name__`` and ``__file__`` for the rest. The block is read (not
run) the first time a name is asked for, and each name's module is imported then.

A name may be a function in a module of the same name (``fivesafes.stats.xmr``'s ``xmr``).
Importing that module makes the import system set the package's attribute to the module, which
an eager ``from … import`` then overwrote with the function; a lazy package would be left
offering the module (``'module' object is not callable``). So the package's module object keeps
its listed names: the import system's setting of a submodule over a listed name is ignored.
"""

from __future__ import annotations

import ast
import importlib
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _where_each_name_is(init: Path) -> dict[str, tuple[str, str]]:
    """Name → (module, its name there), from the ``from MODULE import NAME`` lines under
    ``if TYPE_CHECKING:``."""
    found: dict[str, tuple[str, str]] = {}
    for node in ast.parse(init.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for line in node.body:
                if isinstance(line, ast.ImportFrom) and line.module:
                    for alias in line.names:
                        found[alias.asname or alias.name] = (line.module, alias.name)
    return found


def exports(package: str, init: str) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package`` (whose ``__init__`` is ``init``)."""
    table: dict[str, tuple[str, str]] = {}

    def where() -> dict[str, tuple[str, str]]:
        if not table:
            table.update(_where_each_name_is(Path(init)))
        return table

    def __getattr__(name: str) -> Any:
        if name not in where():
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, original = where()[name]
        if module == package:  # a submodule named in the list: ``from package import safe``
            found = importlib.import_module(f"{package}.{original}")
        else:
            found = getattr(importlib.import_module(module), original)
        setattr(sys.modules[package], name, found)  # once: later look-ups are plain attributes
        return found

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *where()})

    class Namespace(types.ModuleType):
        def __setattr__(self, name: str, value: Any) -> None:
            listed = where().get(name)
            if isinstance(value, types.ModuleType) and listed and listed[0] != package:
                return  # a submodule named like the function it offers: keep the function
            super().__setattr__(name, value)

    sys.modules[package].__class__ = Namespace
    return __getattr__, __dir__
