"""The validation rules of the point of entry, declared once.

Every check that can reject a record names a rule from this registry, so that a
data manager reading a quarantine entry, the `validate` report and
`docs/loading-data.md` all see the same rule id, the same reason and the same
kind of message. Modules that implement checks declare their rules here with
:func:`rule` at import time; the docs are generated from :data:`RULES`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rule:
    """A named validation rule: why it exists and what its message looks like."""

    id: str
    summary: str
    reason: str
    example: str


@dataclass(frozen=True, slots=True)
class Finding:
    """One reason a record was rejected: which rule, where in the record, and what to do."""

    rule: str
    path: str
    message: str


RULES: dict[str, Rule] = {}


def rule(id: str, summary: str, reason: str, example: str) -> Rule:
    """Declare a rule once; declaring the same id twice is a programming error."""
    if id in RULES:
        raise ValueError(f"validation rule {id!r} is declared twice")
    declared = Rule(id=id, summary=summary, reason=reason, example=example)
    RULES[id] = declared
    return declared
