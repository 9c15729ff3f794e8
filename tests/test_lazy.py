"""Lazy package namespaces (``fivesafes.lazy``) offer what an eager ``__init__`` offered: every
listed name is the object its module defines, even after the module itself was imported first
(the import system then sets the package's attribute to the module, which for ``stats.xmr``,
``stats.area_profile`` and the like shadowed the function of the same name)."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import fivesafes
from fivesafes.lazy import _where_each_name_is

SRC = Path(fivesafes.__file__).parent
LAZY = sorted(
    init for init in SRC.rglob("__init__.py") if "exports(__name__" in init.read_text("utf-8")
)


def _package(init: Path) -> str:
    return ".".join(("fivesafes", *init.parent.relative_to(SRC).parts))


def test_lazy_packages_are_found() -> None:
    assert {"fivesafes.stats", "fivesafes.disclosure", "fivesafes.governance"} <= {
        _package(init) for init in LAZY
    }


def test_every_listed_name_is_its_modules_object_whatever_was_imported_first() -> None:
    """In a fresh interpreter for each package: every listed module imported first, then every
    name looked up on the package."""
    for init in LAZY:
        package = _package(init)
        names = _where_each_name_is(init)
        check = (
            "import importlib, sys\n"
            f"names = {names!r}\n"
            f"for module, _ in names.values():\n"
            f"    if module != {package!r}: importlib.import_module(module)\n"
            f"package = importlib.import_module({package!r})\n"
            "for name, (module, original) in names.items():\n"
            f"    if module == {package!r}:\n"
            f"        want = importlib.import_module({package!r} + '.' + original)\n"
            "    else:\n"
            "        want = getattr(importlib.import_module(module), original)\n"
            "    assert getattr(package, name) is want, (name, getattr(package, name))\n"
        )
        done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
        assert done.returncode == 0, (package, done.stderr[-2000:])


def test_a_name_shadowed_by_its_module_stays_the_function() -> None:
    importlib.import_module("fivesafes.stats.xmr")
    from fivesafes import stats

    assert callable(stats.xmr) and stats.xmr.__module__ == "fivesafes.stats.xmr"
