"""The choices governance's commands offer as options: an opt-out's kind, a consent's scope, a
decision's verdict.

They are defined here, with nothing under them, rather than beside the records they describe
(:mod:`.optouts`, :mod:`.projects`, which re-export them), so that ``fivesafes opt-out --help``
and ``fivesafes project --help`` list them without importing the control plane's ORM.
"""

from __future__ import annotations

from enum import StrEnum


class OptOutKind(StrEnum):
    NATIONAL = "national"
    TYPE1 = "type1"


class ConsentScope(StrEnum):
    CARE = "care"
    RESEARCH = "research"


class Verdict(StrEnum):
    APPROVE = "approve"
    REQUEST_CHANGES = "request_changes"
    REJECT = "reject"
