"""The query model as JSON: how a definition evaluated where there is no data reaches the data.

A dataset definition is the analyst's own Python. Against real data it is evaluated in a sandbox
that has no data in it; what comes out is only the query model it built (a ``DatasetQuery`` or
``MeasureQuery``), written here as JSON, and the extraction reads that JSON on the other side.
So the JSON must carry the model exactly, and reading it must be able to make nothing but the
model: no class is looked up by a name the document chooses unless it is one of the query
model's own frozen dataclasses or enums.

The format knows no node by name. It is generic over the frozen dataclasses (and enums) of
:mod:`fivesafes.query.model` and :mod:`fivesafes.query.dataset`, read from the modules
themselves, so a node added, renamed or given another field there is carried without a change
here; constructing each node again runs whatever checks the model makes at construction.

A definition is a graph, not a tree (one frame is filtered, sorted and counted by many
columns), so each distinct node is written once, children before parents, and referred to by
its position: the document grows with the definition, never with the number of paths through it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from datetime import date
from enum import Enum
from types import ModuleType
from typing import Any

import orjson

from fivesafes.query import dataset as dataset_module
from fivesafes.query import model as model_module
from fivesafes.query.dataset import DatasetQuery, MeasureQuery

FORMAT = "fivesafes-query-model/1"
MAX_BYTES = 64 * 1024**2
"""A document larger than this is refused unread: no definition comes near it."""

Query = DatasetQuery | MeasureQuery
_SORTED = orjson.OPT_SORT_KEYS


class SerialError(ValueError):
    """A document that is not a query model this version can read; the message says why."""


def _registry(modules: Iterable[ModuleType]) -> tuple[dict[str, type], dict[str, type[Enum]]]:
    """The frozen dataclasses defined in ``modules`` and every enum they use, by class name."""
    nodes: dict[str, type] = {}
    enums: dict[str, type[Enum]] = {}
    for module in modules:
        for value in vars(module).values():
            if not isinstance(value, type):
                continue
            if issubclass(value, Enum):
                enums[value.__name__] = value
            elif (
                dataclasses.is_dataclass(value)
                and value.__module__ == module.__name__
                and value.__dataclass_params__.frozen  # type: ignore[attr-defined]
            ):
                nodes[value.__name__] = value
    return nodes, enums


NODES, ENUMS = _registry((model_module, dataset_module))


class _Writer:
    """Writes each distinct node once (by identity: shared sub-graphs stay shared)."""

    def __init__(self) -> None:
        self.nodes: list[dict[str, Any]] = []
        self.seen: dict[int, int] = {}
        self.keep: list[object] = []  # holds encoded objects alive, so ids are not reused

    def value(self, value: Any) -> Any:
        if isinstance(value, Enum):  # first: a StrEnum is also a str
            return {"enum": type(value).__name__, "value": value.value}
        if value is None or isinstance(value, bool | str):
            return value
        if isinstance(value, int):
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else {"float": repr(value)}
        if isinstance(value, date):
            return {"date": value.isoformat()}
        if isinstance(value, tuple):
            return {"tuple": [self.value(v) for v in value]}
        if isinstance(value, frozenset):
            items = [self.value(v) for v in value]
            return {"frozenset": sorted(items, key=lambda i: orjson.dumps(i, option=_SORTED))}
        if dataclasses.is_dataclass(value) and type(value).__name__ in NODES:
            return {"ref": self.node(value)}
        raise SerialError(f"cannot write {type(value).__name__} values in a query model")

    def node(self, node: Any) -> int:
        known = self.seen.get(id(node))
        if known is not None:
            return known
        fields = {f.name: self.value(getattr(node, f.name)) for f in dataclasses.fields(node)}
        self.nodes.append({"type": type(node).__name__, "fields": fields})
        self.keep.append(node)
        self.seen[id(node)] = len(self.nodes) - 1
        return len(self.nodes) - 1


def dumps(query: Query) -> bytes:
    """The query model as canonical JSON bytes (the same model always gives the same bytes)."""
    if not isinstance(query, DatasetQuery | MeasureQuery):
        raise SerialError(f"expected a dataset or measures query, not {type(query).__name__}")
    writer = _Writer()
    root = writer.node(query)
    document = {"format": FORMAT, "nodes": writer.nodes, "root": root}
    return orjson.dumps(document, option=_SORTED)


class _Reader:
    def __init__(self, nodes: list[Any]) -> None:
        self.raw = nodes
        self.made: list[Any] = []

    def build(self) -> None:
        for position, raw in enumerate(self.raw):
            self.made.append(self.node(position, raw))

    def node(self, position: int, raw: Any) -> Any:
        if not isinstance(raw, dict) or set(raw) != {"type", "fields"}:
            raise SerialError(f"node {position}: expected an object with type and fields")
        cls = NODES.get(raw["type"]) if isinstance(raw["type"], str) else None
        if cls is None:
            raise SerialError(f"node {position}: {raw['type']!r} is not a query model node")
        given = raw["fields"]
        expected = {f.name for f in dataclasses.fields(cls)}
        if not isinstance(given, dict) or not set(given) <= expected:
            unknown = sorted(set(given) - expected) if isinstance(given, dict) else given
            raise SerialError(f"node {position} ({cls.__name__}): unknown fields {unknown}")
        values = {name: self.value(value, position) for name, value in given.items()}
        try:
            return cls(**values)
        except (TypeError, ValueError) as exc:
            raise SerialError(f"node {position} ({cls.__name__}): {exc}") from None

    def value(self, value: Any, position: int) -> Any:
        if value is None or isinstance(value, bool | int | float | str):
            return value
        if isinstance(value, list):
            raise SerialError(f"node {position}: a bare list; lists are written as tuples")
        if isinstance(value, dict) and set(value) == {"enum", "value"}:
            return self.enum(value["enum"], value["value"], position)
        if not isinstance(value, dict) or len(value) != 1:
            raise SerialError(f"node {position}: cannot read {value!r}")
        ((tag, inner),) = value.items()
        if tag == "ref":
            if not isinstance(inner, int) or isinstance(inner, bool) or not 0 <= inner < position:
                raise SerialError(f"node {position}: refers to {inner!r}, not an earlier node")
            return self.made[inner]
        if tag in ("tuple", "frozenset") and isinstance(inner, list):
            items = [self.value(v, position) for v in inner]
            return tuple(items) if tag == "tuple" else frozenset(items)
        if tag == "date" and isinstance(inner, str):
            try:
                return date.fromisoformat(inner)
            except ValueError:
                raise SerialError(f"node {position}: {inner!r} is not a date") from None
        if tag == "float" and inner in ("inf", "-inf", "nan"):
            return float(inner)
        raise SerialError(f"node {position}: cannot read {value!r}")

    @staticmethod
    def enum(name: Any, value: Any, position: int) -> Enum:
        cls = ENUMS.get(name) if isinstance(name, str) else None
        if cls is None:
            raise SerialError(f"node {position}: {name!r} is not a query model enum")
        try:
            return cls(value)
        except ValueError:
            raise SerialError(f"node {position}: {value!r} is not a {cls.__name__}") from None


def loads(data: bytes | str) -> Query:
    """The query model a document written by :func:`dumps` holds; ``SerialError`` otherwise."""
    if len(data) > MAX_BYTES:
        raise SerialError(f"a query model document over {MAX_BYTES:,} bytes is refused")
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise SerialError(f"not JSON: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        found = document.get("format") if isinstance(document, dict) else None
        raise SerialError(f"not a {FORMAT} document (format {found!r})")
    nodes, root = document.get("nodes"), document.get("root")
    if not isinstance(nodes, list) or not isinstance(root, int) or not 0 <= root < len(nodes):
        raise SerialError("a query model document has a list of nodes and the root's position")
    reader = _Reader(nodes)
    reader.build()
    query = reader.made[root]
    if not isinstance(query, DatasetQuery | MeasureQuery):
        raise SerialError(f"the root is a {type(query).__name__}, not a dataset or measures")
    return query
