"""The NHS.UK design system's files, served by the portal itself.

The pages use the ``nhsuk-frontend`` npm package (its compiled CSS and JavaScript and its
images), installed beside this module by ``npm ci`` from the committed lock file (``make
install``); none of its files are in the repository. Everything is served from the portal's own
host, so a page makes no request to anyone else — a member of the public reading how their data
is used is not reported to a third party. The one thing the package's CSS fetches from
elsewhere is the Frutiger web font (licensed, so not in the package): those ``@font-face``
rules are left out of the stylesheet served, and text falls back to the design system's own
font stack (Arial).

Without the files the portal would serve unstyled, broken pages; :func:`design_system` refuses
instead, in one line that says how to install them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import orjson

HERE = Path(__file__).resolve().parent
PACKAGE = HERE / "assets" / "node_modules" / "nhsuk-frontend"
_FONT_FACE = re.compile(r"@font-face\s*\{[^}]*\}")


class AssetsMissing(RuntimeError):
    """The design system's files are not installed."""


@dataclass(frozen=True)
class DesignSystem:
    """The installed nhsuk-frontend: its version, the stylesheet as served, its script and
    its folder of images."""

    version: str
    stylesheet: bytes
    script: Path
    images: Path


@cache
def design_system(package: Path = PACKAGE) -> DesignSystem:
    """The installed files, checked; ``AssetsMissing`` naming the fix if any is absent."""
    dist = package / "dist" / "nhsuk"
    css, script, images = (
        dist / "nhsuk-frontend.min.css",
        dist / "nhsuk-frontend.min.js",
        dist / "assets" / "images",
    )
    missing = [p for p in (package / "package.json", css, script) if not p.is_file()]
    if missing or not images.is_dir():
        where = missing[0] if missing else images
        raise AssetsMissing(
            f"the portal's design system files are not installed ({where} is missing): "
            f"run `make install` (npm ci --prefix {package.parent.parent})"
        )
    version = str(orjson.loads((package / "package.json").read_bytes())["version"])
    stylesheet = _FONT_FACE.sub("", css.read_text(encoding="utf-8")).encode()
    if b"://" in stylesheet:
        raise AssetsMissing(f"{css} still points at another host after its fonts were removed")
    return DesignSystem(version, stylesheet, script, images)
