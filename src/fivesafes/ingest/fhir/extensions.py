"""Extensions: which ones this environment knows, and the checks on each use of one.

Why a registry: an extension is only meaningful to a reader that knows its definition. HL7's
core extensions ship with the R4 definitions; UK Core and fivesafes' own extensions are
registered by the loader with :meth:`ExtensionRegistry.register`. Anything else is rejected
so unknown data never reaches the store silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from fivesafes.ingest.fhir import ruleset
from fivesafes.ingest.fhir.context import Context
from fivesafes.ingest.fhir.invariants import value_key
from fivesafes.ingest.fhir.primitives import is_absolute_uri


class ExtensionRegistry(dict[str, tuple[str, ...]]):
    """Extension url -> the FHIR types its ``value[x]`` may take (empty: nested extensions)."""

    def __init__(self, core: Mapping[str, tuple[str, ...]], known_types: Iterable[str]) -> None:
        super().__init__(core)
        self._known_types = frozenset(known_types)

    def register(self, url: str, value_types: Iterable[str]) -> None:
        """Make an extension known, with the value types it allows (none: a complex one)."""
        if not is_absolute_uri(url):
            raise ValueError(f"extension url {url!r} must be an absolute URI")
        kinds = tuple(value_types)
        unknown = [kind for kind in kinds if kind not in self._known_types]
        if unknown:
            raise ValueError(f"not FHIR R4 datatypes: {', '.join(unknown)}")
        self[url] = kinds


def check_extension(extension: dict[str, Any], path: str, ctx: Context) -> None:
    """ext-1 (value[x] xor nested extensions), known url, and the value type it allows."""
    found_key = value_key(extension)
    nested = "extension" in extension
    if (found_key is not None) == nested:
        both = "both" if nested else "neither"
        ctx.add(
            ruleset.EXTENSION,
            path,
            f"ext-1 failed: an extension must have either a value[x] or nested extensions, "
            f"not {both}",
        )
    url = extension.get("url")
    if type(url) is not str or not is_absolute_uri(url):
        # A relative url names a part of a complex extension; its parent defines it.
        return
    allowed = ctx.extensions.get(url.split("|")[0])
    if allowed is None:
        ctx.add(
            ruleset.EXTENSION,
            path,
            f"extension {url!r} is not an HL7 core extension nor registered with this "
            "environment; register its definition or remove it",
        )
        return
    if found_key is not None:
        kind = found_key[5:]
        if not allowed:
            ctx.add(
                ruleset.EXTENSION,
                path,
                f"extension {url!r} is a complex extension: nested extensions, not a value",
            )
        elif kind not in allowed and kind[:1].lower() + kind[1:] not in allowed:
            ctx.add(
                ruleset.EXTENSION,
                path,
                f"extension {url!r} allows value types {', '.join(allowed)}, found {found_key}",
            )
    elif allowed:
        ctx.add(
            ruleset.EXTENSION,
            path,
            f"extension {url!r} needs a value of type {', '.join(allowed)}",
        )


HOOKS = {"Extension": check_extension}
