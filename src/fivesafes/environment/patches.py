"""JSON Patch (RFC 6902) applied to a resource, all operations or none.

The person's changes to their own record come as JSON Patch, as NHS England's Personal
Demographics Service takes them; this applies one to a copy of the resource and says, for the
first operation that cannot be applied, which one and why.
"""

from __future__ import annotations

import copy
from typing import Any

OPERATIONS = ("add", "remove", "replace", "move", "copy", "test")


class PatchError(ValueError):
    """An operation that cannot be applied; names it by its position and path."""


def pointer(path: str) -> list[str]:
    """The reference tokens of a JSON Pointer (RFC 6901)."""
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"{path!r} is not a JSON Pointer (it must start with '/')")
    return [t.replace("~1", "/").replace("~0", "~") for t in path[1:].split("/")]


def _parent(doc: Any, tokens: list[str], where: str) -> tuple[Any, str]:
    node = doc
    for token in tokens[:-1]:
        node = _child(node, token, where)
    return node, tokens[-1]


def _child(node: Any, token: str, where: str) -> Any:
    if isinstance(node, dict):
        if token not in node:
            raise PatchError(f"{where}: there is no {token!r}")
        return node[token]
    if isinstance(node, list):
        return node[_index(node, token, where, False)]
    raise PatchError(f"{where}: {token!r} is inside a value that is neither object nor array")


def _index(node: list[Any], token: str, where: str, adding: bool) -> int:
    if adding and token == "-":
        return len(node)
    if not token.isdigit() or (len(token) > 1 and token.startswith("0")):
        raise PatchError(f"{where}: {token!r} is not an array index")
    index = int(token)
    if index > len(node) or (index == len(node) and not adding):
        raise PatchError(f"{where}: index {index} is past the end of the array")
    return index


def _add(doc: Any, path: str, value: Any, where: str) -> Any:
    tokens = pointer(path)
    if not tokens:
        return value
    parent, last = _parent(doc, tokens, where)
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, last, where, True), value)
    else:
        raise PatchError(f"{where}: cannot add inside a value that is neither object nor array")
    return doc


def _remove(doc: Any, path: str, where: str) -> tuple[Any, Any]:
    tokens = pointer(path)
    if not tokens:
        raise PatchError(f"{where}: cannot remove the whole resource")
    parent, last = _parent(doc, tokens, where)
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"{where}: there is no {last!r} to remove")
        return doc, parent.pop(last)
    if isinstance(parent, list):
        return doc, parent.pop(_index(parent, last, where, False))
    raise PatchError(f"{where}: cannot remove inside a value that is neither object nor array")


def _get(doc: Any, path: str, where: str) -> Any:
    node = doc
    for token in pointer(path):
        node = _child(node, token, where)
    return node


def apply_patch(document: dict[str, Any], operations: list[Any]) -> dict[str, Any]:
    """A patched copy of ``document``; :class:`PatchError` for the first bad operation."""
    doc: Any = copy.deepcopy(document)
    for n, op in enumerate(operations):
        if not isinstance(op, dict) or op.get("op") not in OPERATIONS:
            raise PatchError(f"patch[{n}]: op must be one of {', '.join(OPERATIONS)}")
        path = op.get("path")
        if not isinstance(path, str):
            raise PatchError(f"patch[{n}]: path must be a JSON Pointer string")
        where = f"patch[{n}] ({op['op']} {path})"
        kind = op["op"]
        if kind in ("add", "replace", "test") and "value" not in op:
            raise PatchError(f"{where}: needs a value")
        if kind in ("move", "copy") and not isinstance(op.get("from"), str):
            raise PatchError(f"{where}: needs from, a JSON Pointer")
        if kind == "add":
            doc = _add(doc, path, copy.deepcopy(op["value"]), where)
        elif kind == "remove":
            doc, _ = _remove(doc, path, where)
        elif kind == "replace":
            doc, _ = _remove(doc, path, where)
            doc = _add(doc, path, copy.deepcopy(op["value"]), where)
        elif kind == "move":
            doc, value = _remove(doc, op["from"], where)
            doc = _add(doc, path, value, where)
        elif kind == "copy":
            doc = _add(doc, path, copy.deepcopy(_get(doc, op["from"], where)), where)
        elif _get(doc, path, where) != op["value"]:
            raise PatchError(f"{where}: the value there is not the one the test expects")
    if not isinstance(doc, dict):
        raise PatchError("the patched resource is no longer a JSON object")
    return doc
