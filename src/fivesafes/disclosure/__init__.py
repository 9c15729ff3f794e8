"""Statistical disclosure control of outputs: the checks every ``moderately_sensitive`` file
passes before it can be requested for release.

Rules and thresholds are configuration (``rules.toml``, documented in
``docs/disclosure-rules.md``); each check returns a ``CheckReport`` naming the cells a rule
fired on — by category, never by value — with the safe version of the table.
"""

from typing import TYPE_CHECKING

from fivesafes.lazy import exports

if TYPE_CHECKING:  # the names offered here, each imported on first use (see fivesafes.lazy)
    from fivesafes.disclosure import safe
    from fivesafes.disclosure.checker import check_counts, check_file, check_table
    from fivesafes.disclosure.config import Profile, load_profiles, profile
    from fivesafes.disclosure.frequency import check_frequency, protect, safe_version
    from fivesafes.disclosure.history import (
        FileReleaseHistory,
        MemoryReleaseHistory,
        ReleasedTable,
        ReleaseHistory,
    )
    from fivesafes.disclosure.report import CheckReport, RuleResult, SafeTable
    from fivesafes.disclosure.tables import (
        Dimension,
        FrequencyTable,
        LongLayout,
        TableError,
        count_by,
        crosstab,
    )
else:
    __getattr__, __dir__ = exports(__name__, __file__)

__all__ = [
    "CheckReport",
    "Dimension",
    "FileReleaseHistory",
    "FrequencyTable",
    "LongLayout",
    "MemoryReleaseHistory",
    "Profile",
    "ReleaseHistory",
    "ReleasedTable",
    "RuleResult",
    "SafeTable",
    "TableError",
    "check_counts",
    "check_file",
    "check_frequency",
    "check_table",
    "count_by",
    "crosstab",
    "load_profiles",
    "profile",
    "protect",
    "safe",
    "safe_version",
]
