"""Disclosure rules as configuration: profiles read from ``rules.toml``, each setting with a source.

Thresholds live in one documented file rather than in code so that an output checker can read,
cite and change them without reading Python, and a release can name the rules it was checked
against. A profile may extend another, so the ONS and OpenSAFELY profiles say only how they
differ from established practice.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path
from typing import Any, Literal

RULES_FILE = Path(__file__).with_name("rules.toml")

Rounding = Literal["none", "nearest", "midpoint6"]
Totals = Literal["true", "recompute"]


@dataclass(frozen=True)
class Profile:
    """One named set of thresholds; every field is documented in ``rules.toml``."""

    name: str
    description: str
    threshold: int
    suppress_zeros: bool
    secondary_suppression: bool
    totals: Totals
    rounding: Rounding
    rounding_base: int
    p_percent: float
    nk_n: int
    nk_k: float
    min_contributors: int
    min_df: int
    allow_extremes: bool
    differencing: bool
    sources: dict[str, str]

    def source(self, setting: str) -> str:
        """The citation behind one setting (``threshold`` → the ONS guidance, for example)."""
        return self.sources.get(setting, "")


def _resolve(
    profiles: dict[str, dict[str, Any]], name: str, seen: tuple[str, ...] = ()
) -> dict[str, Any]:
    if name not in profiles:
        raise KeyError(f"no disclosure profile {name!r}; known: {', '.join(sorted(profiles))}")
    if name in seen:
        raise ValueError(f"disclosure profiles extend each other in a loop: {' → '.join(seen)}")
    own = dict(profiles[name])
    parent = own.pop("extends", None)
    merged = _resolve(profiles, parent, (*seen, name)) if parent else {}
    return merged | own


def _settings_to_profile(name: str, settings: dict[str, Any], citations: dict[str, str]) -> Profile:
    names = {f.name for f in fields(Profile)} - {"name", "sources"}
    unknown = {k for k in settings if not k.endswith("_source")} - names
    if unknown:
        raise ValueError(f"profile {name!r}: unknown settings {', '.join(sorted(unknown))}")
    missing = names - settings.keys()
    if missing:
        raise ValueError(f"profile {name!r}: missing settings {', '.join(sorted(missing))}")
    sources = {
        key.removesuffix("_source"): citations.get(value, value)
        for key, value in settings.items()
        if key.endswith("_source")
    }
    values = {k: settings[k] for k in names}
    if values["rounding"] not in ("none", "nearest", "midpoint6"):
        raise ValueError(f"profile {name!r}: rounding must be none, nearest or midpoint6")
    if values["totals"] not in ("true", "recompute"):
        raise ValueError(f"profile {name!r}: totals must be true or recompute")
    return Profile(name=name, sources=sources, **values)


def load_profiles(path: Path = RULES_FILE) -> dict[str, Profile]:
    """Every profile in a rules file, resolved through ``extends``."""
    document = tomllib.loads(path.read_text(encoding="utf-8"))
    citations: dict[str, str] = document.get("sources", {})
    raw: dict[str, dict[str, Any]] = document["profiles"]
    return {
        name: _settings_to_profile(name, _resolve(raw, name), citations) for name in sorted(raw)
    }


@cache
def profile(name: str = "default") -> Profile:
    """The named profile from the shipped ``rules.toml``."""
    profiles = load_profiles()
    if name not in profiles:
        raise KeyError(f"no disclosure profile {name!r}; known: {', '.join(profiles)}")
    return profiles[name]
