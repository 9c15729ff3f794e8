"""How a parallel run shares the tests out among its workers (``make test`` runs pytest-xdist
with ``--dist loadgroup``): each file's tests on one worker, and files that share a world on one
worker together, so that every world is built once, as in a run on one process.

A *world* is a session- or package-scoped fixture of one of the suite's ``conftest.py`` files:
a released environment with its dashboards, a running portal with its people and jobs. Built per
worker, each would be made two or three times over (the three dashboard files' world alone is
minutes of real jobs and disclosure checks), so the files that use one world, and any file
sharing another world with those, form one group. Every other file is a group of its own, so
that a module's fixtures are made once too.

The group's name goes after an ``@`` at the end of each node id in that run, which is what
``--dist loadgroup`` schedules by; :func:`plain_nodeid` takes it off again. pytest-xdist 3.8
writes that suffix to a node's ``_nodeid``, which pytest 9.2 no longer reads (a node's id is a
structured ``NodeId``), so the suffix is written here, on the id pytest reads;
``test_worker_groups`` checks on real workers that a shared world is built once. The groups of
several files go first (a sort that keeps each file's order): they are the longest, and a long
group handed out last would keep one worker busy while the others wait.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from _pytest.nodeid import NodeId

TESTS = Path(__file__).resolve().parent
GROUP_SUFFIX = re.compile(r"@[\w.-]+$")


def plain_nodeid(nodeid: str) -> str:
    """A node id as a run on one process names it (the group suffix of a parallel run taken off)."""
    return GROUP_SUFFIX.sub("", nodeid)


def _worlds(item: pytest.Item) -> set[str]:
    """The session and package fixtures of the suite's conftest files that ``item`` uses (pytest
    records them on ``_fixtureinfo``; with no such record the item is grouped by its file)."""
    info = getattr(item, "_fixtureinfo", None)
    found = set()
    for name, defs in getattr(info, "name2fixturedefs", {}).items():
        definition = defs[-1]
        where = Path(definition.func.__code__.co_filename)
        shared = definition.scope in ("session", "package")
        if shared and where.name == "conftest.py" and TESTS in where.parents:
            found.add(f"{where.parent.name}.{name}")
    return found


def groups(items: list[pytest.Item]) -> dict[str, str]:
    """Each test file's group: the files joined by the worlds they share (a union-find over
    files), named by the first file of the group in collection order."""
    parent: dict[str, str] = {}

    def root(file: str) -> str:
        while parent[file] != file:
            parent[file] = parent[parent[file]]
            file = parent[file]
        return file

    order: dict[str, int] = {}
    first_user: dict[str, str] = {}
    for item in items:
        file = item.nodeid.split("::")[0]
        order.setdefault(file, len(order))
        parent.setdefault(file, file)
        for world in _worlds(item):
            first, *rest = sorted({root(file), root(first_user.setdefault(world, file))},
                                  key=order.__getitem__)  # fmt: skip
            for other in rest:
                parent[other] = first
    return {file: root(file) for file in parent}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test with its file's group, before pytest-xdist reads the marks; only in a
    run that groups (``--dist loadgroup``), where the mark is registered."""
    grouping = config.getoption("dist", default="no") == "loadgroup"
    if not (grouping or getattr(config.option, "loadgroup", False)):  # a worker's own setting
        return
    group_of = groups(items)
    files = Counter(group_of.values())
    for item in items:
        name = re.sub(r"[^\w.-]", "_", group_of[item.nodeid.split("::")[0]].removesuffix(".py"))
        item.add_marker(pytest.mark.xdist_group(name))
        item._id = NodeId.parse(f"{plain_nodeid(item.nodeid)}@{name}")
    items.sort(key=lambda item: -files[group_of[item.nodeid.split("::")[0]]])
