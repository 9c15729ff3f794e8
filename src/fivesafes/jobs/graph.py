"""Order actions so each runs after what it needs, and find the cycle that makes that impossible."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

Graph = Mapping[str, Sequence[str]]


def find_cycle(graph: Graph) -> list[str] | None:
    """A cycle as the names along it, first name repeated at the end (``a, b, a``); or None."""
    done: set[str] = set()
    for start in graph:
        if start in done:
            continue
        path: list[str] = []
        on_path: set[str] = set()
        stack: list[tuple[str, int]] = [(start, 0)]
        while stack:
            node, i = stack.pop()
            if i == 0:
                path.append(node)
                on_path.add(node)
            needs = graph.get(node, ())
            if i < len(needs):
                stack.append((node, i + 1))
                nxt = needs[i]
                if nxt in on_path:
                    return [*path[path.index(nxt) :], nxt]
                if nxt not in done:
                    stack.append((nxt, 0))
            else:
                path.pop()
                on_path.discard(node)
                done.add(node)
    return None


def dependency_order(graph: Graph, targets: Sequence[str]) -> list[str]:
    """``targets`` and everything they need, transitively, each after all it needs.

    Ties keep the order in which needs are listed, so the same file always gives the same
    order. The graph must have no cycle (``find_cycle`` first).
    """
    order: list[str] = []
    placed: set[str] = set()
    for target in targets:
        stack: list[tuple[str, int]] = [(target, 0)]
        while stack:
            node, i = stack.pop()
            if node in placed:
                continue
            needs = graph.get(node, ())
            if i < len(needs):
                stack.append((node, i + 1))
                stack.append((needs[i], 0))
            else:
                placed.add(node)
                order.append(node)
    return order
