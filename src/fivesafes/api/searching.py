"""A FHIR search request as the store's :class:`~fivesafes.store.resources.Query`.

Parameters the server does not know are ignored with a warning in the Bundle and left out of its
``self`` link, as the FHIR search page says; ``Prefer: handling=strict`` makes them a 400 instead.
``_count`` defaults to 10 and is held to 1000.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from fivesafes.store.resources import PARAMS, SORTABLE, Query, SearchError

DEFAULT_COUNT = 10
MAX_COUNT = 1000
MODIFIERS = frozenset({"exact", "missing"})
RESULT_PARAMETERS = frozenset(
    {"_count", "_offset", "_sort", "_include", "_revinclude", "_summary", "_elements", "_format"}
)


@dataclass(frozen=True)
class SearchRequest:
    query: Query
    include: tuple[tuple[str, str, str], ...] = ()
    revinclude: tuple[tuple[str, str], ...] = ()
    summary_count: bool = False
    elements: tuple[str, ...] = ()
    kept: tuple[tuple[str, str], ...] = ()
    """The parameters used, for the Bundle's links (paging ones excluded)."""
    warnings: tuple[str, ...] = field(default_factory=tuple)


def _number(name: str, value: str, lowest: int) -> int:
    if not value.isdigit() or int(value) < lowest:
        raise SearchError(f"{name}: {value!r} is not a whole number of at least {lowest}")
    return int(value)


def _reference_param(rtype: str, param: str) -> str | None:
    """The target type of a reference parameter of ``rtype``, or None if it is not one."""
    found = PARAMS.get(rtype, {}).get(param)
    return found.target if found is not None and found.kind == "reference" else None


def parse(rtype: str, items: Sequence[tuple[str, str]], strict: bool) -> SearchRequest:
    """Parse ``items`` (the query string's pairs, in order) for a search of ``rtype``."""
    known = PARAMS[rtype]
    conditions: list[tuple[str, str | None, tuple[str, ...]]] = []
    kept: list[tuple[str, str]] = []
    warnings: list[str] = []
    include: list[tuple[str, str, str]] = []
    revinclude: list[tuple[str, str]] = []
    count, offset, summary = DEFAULT_COUNT, 0, False
    sort: tuple[str, ...] = ()
    elements: tuple[str, ...] = ()

    def unknown(message: str) -> None:
        if strict:
            raise SearchError(message)
        warnings.append(message)

    for key, value in items:
        name, _, modifier = key.partition(":")
        if name == "_count":
            count = min(_number(name, value, 0), MAX_COUNT)
        elif name == "_offset":
            offset = _number(name, value, 0)
        elif name == "_sort":
            keys = tuple(k for k in value.split(",") if k)
            bad = [k for k in keys if k.lstrip("-") not in SORTABLE or k.lstrip("-") not in known]
            if bad:
                unknown(f"_sort: cannot sort {rtype} by {', '.join(bad)}")
                continue
            sort = keys
            kept.append((key, value))
        elif name in ("_include", "_revinclude"):
            source, _, rest = value.partition(":")
            param = rest.split(":", 1)[0]
            target = _reference_param(source, param)
            if target is None or (name == "_include" and source != rtype):
                unknown(f"{name}: {value!r} is not a reference this server holds")
                continue
            if name == "_include":
                include.append((source, param, target))
            else:
                if target != rtype:
                    unknown(f"_revinclude: {value!r} does not point at {rtype}")
                    continue
                revinclude.append((source, param))
            kept.append((key, value))
        elif name == "_summary":
            if value == "count":
                summary = True
            elif value != "false":
                unknown(f"_summary={value} is not supported (count and false are)")
                continue
            kept.append((key, value))
        elif name == "_elements":
            elements = tuple(e.strip() for e in value.split(",") if e.strip())
            kept.append((key, value))
        elif name == "_format":
            continue
        elif name in known and (not modifier or modifier in MODIFIERS):
            if modifier == "missing" and value not in ("true", "false"):
                raise SearchError(f"{key}: must be true or false")
            values = tuple(v for v in value.split(",") if v) if modifier != "exact" else (value,)
            if not values:
                raise SearchError(f"{key}: needs a value")
            conditions.append((name, modifier or None, values))
            kept.append((key, value))
        else:
            unknown(f"unknown search parameter {key!r} for {rtype}: ignored")
    query = Query(rtype, tuple(conditions), sort, 0 if summary else count, offset)
    return SearchRequest(
        query,
        tuple(include),
        tuple(revinclude),
        summary,
        elements,
        tuple(kept),
        tuple(warnings),
    )
