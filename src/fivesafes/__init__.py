"""fivesafes: a secure data environment for health and social care data.

Data flows one way through the stages named by the sub-packages:
ingest -> store -> query -> jobs -> disclosure -> release -> dashboards,
with governance guarding and the ledger recording every arrow.

The names a study file imports (``from fivesafes import Dataset, days``) are the
query language's, loaded on first use so ``import fivesafes`` stays light.
"""

from typing import Any

__version__ = "0.1.0"

_QUERY_NAMES = frozenset(
    {
        "INTERVAL",
        "Codelist",
        "Dataset",
        "DefinitionError",
        "Measures",
        "case",
        "codelist",
        "codelist_from_csv",
        "days",
        "months",
        "years",
        "when",
    }
)


def __dir__() -> list[str]:
    """The names a study can import, loaded lazily or not (for help and did-you-mean)."""
    return sorted({*globals(), *_QUERY_NAMES, "safe"})


def __getattr__(name: str) -> Any:
    if name in _QUERY_NAMES:
        from fivesafes import query

        return getattr(query, name)
    if name == "safe":  # the analysts' disclosure-checked outputs: ``from fivesafes import safe``
        from fivesafes.disclosure import safe

        return safe
    raise AttributeError(f"module 'fivesafes' has no attribute {name!r}")
