"""Read YAML keeping the line of every key, so a mistake in ``project.yaml`` is shown where it is.

PyYAML's ``safe_load`` forgets positions and silently keeps the last of two equal keys (two
actions with one name would quietly become one). Composing the node tree ourselves keeps both:
each value is reachable by its key path, each key path has its line, and duplicates are reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

KeyPath = tuple[str | int, ...]


@dataclass(slots=True)
class MarkedYaml:
    """Plain Python data from a YAML document, the 1-based line of each key path, and duplicates."""

    data: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)
    duplicates: list[tuple[KeyPath, int]] = field(default_factory=list)

    def line(self, path: KeyPath) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get(())


def load_marked(text: str) -> MarkedYaml:
    """Parse one YAML document with safe types; raises ``yaml.YAMLError`` on bad syntax."""
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    result = MarkedYaml(data=None)
    if node is None:
        return result
    result.lines[()] = node.start_mark.line + 1
    result.data = _convert(node, (), result, yaml.constructor.SafeConstructor())
    return result


def _convert(
    node: yaml.Node, path: KeyPath, out: MarkedYaml, scalars: yaml.constructor.SafeConstructor
) -> Any:
    if isinstance(node, yaml.MappingNode):
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _convert(key_node, path, out, scalars)
            key = key if isinstance(key, str | int) else str(key)
            child = (*path, key)
            line = key_node.start_mark.line + 1
            if key in mapping:
                out.duplicates.append((child, line))
                continue
            out.lines[child] = line
            mapping[key] = _convert(value_node, child, out, scalars)
        return mapping
    if isinstance(node, yaml.SequenceNode):
        items = []
        for i, item in enumerate(node.value):
            out.lines[(*path, i)] = item.start_mark.line + 1
            items.append(_convert(item, (*path, i), out, scalars))
        return items
    return scalars.construct_object(node, deep=True)
