"""The choices ``fivesafes opt-out`` offers as options: an opt-out's kind, a consent's scope.

They are defined here, with nothing under them, rather than beside the records they describe
(:mod:`.optouts`, which re-exports them), so that the command's help lists them without
importing the control plane's ORM.
"""

from __future__ import annotations

from enum import StrEnum


class OptOutKind(StrEnum):
    NATIONAL = "national"
    TYPE1 = "type1"


class ConsentScope(StrEnum):
    CARE = "care"
    RESEARCH = "research"
