"""A small accessibility audit of a static page (the parts of WCAG 2.2 AA a parser can check):
a language, headings that start at h1 and never skip a level, alt text on every image, table
captions and header cells with scope, and the WCAG contrast ratio of colours."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

from fivesafes.stats.palette import contrast_ratio

contrast = contrast_ratio
"""WCAG 2 contrast ratio, from 1 to 21 (the product's own formula, checked in test_browser)."""


@dataclass
class Audit(HTMLParser):
    lang: str | None = None
    headings: list[int] = field(default_factory=list)
    images: list[dict[str, str | None]] = field(default_factory=list)
    header_cells: list[dict[str, str | None]] = field(default_factory=list)
    tables: int = 0
    captions: int = 0
    scripts: int = 0

    def __post_init__(self) -> None:
        super().__init__()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "html":
            self.lang = found.get("lang")
        elif len(tag) == 2 and tag[0] == "h" and tag[1].isdigit():
            self.headings.append(int(tag[1]))
        elif tag == "img":
            self.images.append(found)
        elif tag == "th":
            self.header_cells.append(found)
        elif tag == "table":
            self.tables += 1
        elif tag == "caption":
            self.captions += 1
        elif tag == "script":
            self.scripts += 1

    def problems(self) -> list[str]:
        found = []
        if not self.lang:
            found.append("no lang attribute on <html>")
        if not self.headings or self.headings[0] != 1 or self.headings.count(1) != 1:
            found.append(f"the page must have exactly one h1, first: {self.headings[:3]}")
        for before, after in zip(self.headings, self.headings[1:], strict=False):
            if after > before + 1:
                found.append(f"heading level skips from h{before} to h{after}")
        found += [
            f"img {i.get('src')} has no alt attribute" for i in self.images if i.get("alt") is None
        ]
        found += [
            f"th without scope: {c}"
            for c in self.header_cells
            if c.get("scope") not in ("col", "row")
        ]
        if self.captions != self.tables:
            found.append(f"{self.tables} tables but {self.captions} captions")
        return found


def audit(html: str) -> Audit:
    parser = Audit()
    parser.feed(html)
    return parser
