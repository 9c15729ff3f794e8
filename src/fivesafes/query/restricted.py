"""Running a study file with the definition language to hand, and nothing else.

A dataset definition says which patients and which columns a study wants; it has no need of
files, processes, sockets or the rest of Python. So a study file is run with a small set of
builtins and may import only the definition language (``fivesafes``, ``fivesafes.query``,
``fivesafes.tables``) and a few harmless standard modules (:data:`STANDARD_MODULES`). Whatever
it tries beyond that (``import os``, ``open()``, ``socket``, ``subprocess``) stops with a
message saying what a definition may use, naming the file and line, on dummy data and against
the store alike: every path that evaluates a definition comes through :func:`run_study`.

This is not the boundary that keeps data safe, and does not pretend to be: restricting Python
from inside Python can be got round. Against real data the definition is evaluated in a sandbox
with no data mounted, no network and nothing to write but its query model (see
:mod:`fivesafes.jobs.extract`); these restrictions make a mistake or a probe fail at once and
clearly, and make getting round them take deliberate effort (an imported module is seen only
through its public names; no name starting with an underscore, and none of the attributes that
lead from an object to an interpreter frame, may be written in a definition).
"""

from __future__ import annotations

import ast
import builtins
import importlib
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any, NoReturn


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


LANGUAGE_MODULES = ("fivesafes", "fivesafes.query", "fivesafes.tables")
STANDARD_MODULES = ("datetime", "math", "statistics", "decimal", "fractions", "itertools")
"""Standard modules a definition may import: dates and arithmetic, nothing with a way out."""

SAFE_BUILTINS = _words(
    "abs all any bin bool callable chr dict divmod enumerate filter float format frozenset hash "
    "hex int isinstance issubclass iter len list map max min next oct ord pow print range repr "
    "reversed round set slice sorted str sum tuple zip True False None Ellipsis NotImplemented "
    "ArithmeticError AssertionError AttributeError Exception IndexError KeyError LookupError "
    "NameError RuntimeError StopIteration TypeError ValueError ZeroDivisionError"
)

REFUSED_BUILTINS: dict[str, str] = {
    "open": "open files (code lists are read with codelist_from_csv('path/to/list.csv'))",
    "exec": "run code it builds",
    "eval": "run code it builds",
    "compile": "compile code",
    "input": "ask for input",
    "breakpoint": "start a debugger",
    "delattr": "delete attributes by name",
    "globals": "look at its own namespace",
    "locals": "look at its own namespace",
    "vars": "look at an object's namespace",
    "dir": "list an object's attributes",
    "type": "look at or make types",
    "object": "use the base of every class",
    "super": "use super()",
    "memoryview": "read memory",
    "help": "start the help system",
    "exit": "stop the interpreter",
    "quit": "stop the interpreter",
    "__build_class__": "define classes (write the definition with functions and variables)",
}

FRAME_ATTRIBUTES = _words(
    "gi_frame gi_code gi_yieldfrom cr_frame cr_code cr_await ag_frame ag_code f_globals "
    "f_locals f_builtins f_back f_code tb_frame tb_next mro"
)
"""Attributes that lead from an ordinary object to an interpreter frame or the class tree."""


class DefinitionNotAllowed(Exception):
    """A study file did something a dataset definition may not; the message says what instead."""


def allowed_imports() -> str:
    """What a definition may import, in words, for the messages that refuse something else."""
    return (
        f"the definition language ({', '.join(LANGUAGE_MODULES)}) and the standard modules "
        f"{', '.join(STANDARD_MODULES)}"
    )


def _public(module: ModuleType, names: tuple[str, ...] | None = None) -> dict[str, Any]:
    """A module's public values, without any module it imported (no way from one to another)."""
    chosen = names if names is not None else tuple(n for n in vars(module) if n[:1] != "_")
    found = {name: getattr(module, name) for name in chosen}
    return {name: value for name, value in found.items() if not isinstance(value, ModuleType)}


class _Module(SimpleNamespace):
    """An allowed module as a definition sees it: its public names, and a clear refusal for
    anything else (rather than Python's "cannot import name ... from <unknown module name>")."""

    def __init__(self, name: str, values: Mapping[str, Any]) -> None:
        super().__init__(**values)
        object.__setattr__(self, "_module", name)

    def __getattr__(self, name: str) -> NoReturn:
        from fivesafes.query.errors import did_you_mean

        module = object.__getattribute__(self, "_module")
        known = [n for n in vars(self) if not n.startswith("_")]
        hint = did_you_mean(name, known).strip()
        raise DefinitionNotAllowed(
            f"{module} has no {name} that a definition may use" + (f"; {hint}" if hint else "")
        )


def _language(name: str) -> _Module:
    """One of the definition language's modules; ``fivesafes`` holds the other two."""
    if name == "fivesafes":
        query = _language("fivesafes.query")
        values = {**vars(query), "query": query, "tables": _language("fivesafes.tables")}
        return _Module(name, {k: v for k, v in values.items() if k != "_module"})
    module = importlib.import_module(name)
    return _Module(name, _public(module, tuple(getattr(module, "__all__", ())) or None))


def _import(
    name: str,
    globals_: Mapping[str, Any] | None = None,
    locals_: Mapping[str, Any] | None = None,
    fromlist: tuple[str, ...] | None = (),
    level: int = 0,
) -> _Module:
    """``__import__`` for a definition: the allowed modules, seen through their public names."""
    if level:
        raise DefinitionNotAllowed("a definition may not import from its own folder")
    if name in LANGUAGE_MODULES:
        return _language(name if fromlist else "fivesafes")
    if name in STANDARD_MODULES:
        return _Module(name, _public(importlib.import_module(name)))
    raise DefinitionNotAllowed(
        f"a definition may not import {name}: it may import only " + (allowed_imports())
    )


def _refusal(name: str, what: str) -> Callable[..., NoReturn]:
    def refuse(*_args: Any, **_kwargs: Any) -> NoReturn:
        raise DefinitionNotAllowed(f"a definition may not {what} ({name}() is not available)")

    return refuse


def _attribute_name(name: Any) -> str:
    """An attribute a definition may name in a string as it may in code (see ``_Checker``)."""
    if not isinstance(name, str) or name.startswith("_") or name in FRAME_ATTRIBUTES:
        raise DefinitionNotAllowed(f"a definition may not use the attribute {name!r}")
    return name


def _getattr(target: Any, name: Any, *default: Any) -> Any:
    return getattr(target, _attribute_name(name), *default)


def _setattr(target: Any, name: Any, value: Any) -> None:
    """``setattr(dataset, f"count_{i}", ...)``: how a definition adds columns in a loop."""
    setattr(target, _attribute_name(name), value)


def _hasattr(target: Any, name: Any) -> bool:
    return hasattr(target, _attribute_name(name))


def restricted_builtins() -> dict[str, Any]:
    """The builtins a definition runs with: harmless ones, attribute access by name only for
    names it could write in code, and clear refusals for the rest."""
    found: dict[str, Any] = {name: getattr(builtins, name) for name in SAFE_BUILTINS}
    found |= {name: _refusal(name, what) for name, what in REFUSED_BUILTINS.items()}
    found.update(getattr=_getattr, setattr=_setattr, hasattr=_hasattr)
    found["__import__"] = _import
    return found


class _Checker(ast.NodeVisitor):
    """Refuses, before anything runs, what a definition may not even write."""

    def __init__(self, file: str) -> None:
        self.file = file

    def refuse(self, node: ast.AST, what: str) -> NoReturn:
        line = getattr(node, "lineno", None)
        where = f"{self.file}, line {line}" if line else self.file
        raise DefinitionNotAllowed(f"{where}: {what}")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr.startswith("_"):
            self.refuse(
                node,
                f"a definition may not use .{node.attr}: names starting with "
                "an underscore belong to fivesafes, not to a definition",
            )
        if node.attr in FRAME_ATTRIBUTES:
            self.refuse(node, f"a definition may not use .{node.attr}")
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id.startswith("__"):
            self.refuse(node, f"a definition may not use {node.id}")
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            self.refuse(node, "a definition may not import from its own folder")
        for alias in node.names:
            if alias.name.startswith("_") or alias.name == "*":
                self.refuse(node, f"a definition may not import {alias.name} from {node.module}")
        self.generic_visit(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.refuse(node, "a definition may not define classes; use functions and variables")


def check_source(source: str, file: str) -> ast.Module:
    """The parsed study file, refused (``DefinitionNotAllowed``) if it writes what it may not;
    a syntax error is left for the caller, as Python reports it."""
    tree = ast.parse(source, filename=file)
    _Checker(file).visit(tree)
    return tree


def run_study(path: Path) -> dict[str, Any]:
    """Run a study file under the restrictions; return what it defined.

    Raises ``DefinitionNotAllowed`` for what a definition may not do (naming the file and line),
    and lets the file's own errors through for the caller to report.
    """
    source = path.read_text(encoding="utf-8")
    tree = check_source(source, str(path))
    namespace: dict[str, Any] = {"__builtins__": restricted_builtins(), "__name__": "__study__"}
    exec(compile(tree, str(path), "exec"), namespace)
    return namespace
