"""The state one validation run carries: its findings and what it must cross-check later."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from fivesafes.ingest.rules import Finding, Rule


class LocalRef(NamedTuple):
    """A ``#id`` seen while walking: where, which id, and whether it must find a contained one."""

    path: str
    target: str
    must_resolve: bool


class Context:
    """Findings of one top-level resource, plus local (``#id``) references seen so far.

    Local references are collected while walking so contained resources can be checked
    against them (dom-3, ref-1) without a second pass over the record.
    """

    __slots__ = ("extensions", "findings", "local_refs", "properties")

    def __init__(self, extensions: Mapping[str, tuple[str, ...]]) -> None:
        self.findings: list[Finding] = []
        self.local_refs: list[LocalRef] = []
        self.properties = 0  # property names walked: fewer than the JSON text holds = repeats
        self.extensions = extensions

    def add(self, rule: Rule, path: str, message: str) -> None:
        """Record one finding; the message starts with the path so it reads on its own."""
        self.findings.append(Finding(rule.id, path, f"{path}: {message}" if path else message))
