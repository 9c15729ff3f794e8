"""Checks for human-readable content: narrative XHTML and markdown.

Why here and strict: narrative and markdown are rendered to people by whatever reads the
store. R4 (txt-1, txt-2) limits narrative to basic HTML 4 formatting with no active
content, and JSON narrative is XML, so HTML entities such as ``&reg;`` are not defined in it.
We parse with expat (C, fast, no external entity or DTD loading) and reject anything else.
"""

from __future__ import annotations

import re
from typing import Any
from xml.parsers import expat

from fivesafes.ingest.fhir import ruleset
from fivesafes.ingest.fhir.primitives import Problem, describe

XHTML_NS = "http://www.w3.org/1999/xhtml"
# HTML 4.0 chapters 7-11 (not 9.4, ins/del) and 15, plus <a>, images and tables: R4 txt-1.
ALLOWED_ELEMENTS = frozenset(
    [
        "p",
        "br",
        "div",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "a",
        "span",
        "b",
        "em",
        "i",
        "strong",
        "small",
        "big",
        "tt",
        "dfn",
        "q",
        "var",
        "abbr",
        "acronym",
        "cite",
        "blockquote",
        "hr",
        "address",
        "bdo",
        "kbd",
        "samp",
        "code",
        "sub",
        "sup",
        "ul",
        "ol",
        "li",
        "dl",
        "dt",
        "dd",
        "pre",
        "table",
        "caption",
        "colgroup",
        "col",
        "thead",
        "tbody",
        "tfoot",
        "tr",
        "th",
        "td",
        "img",
        "map",
        "area",
        "u",
        "s",
        "strike",
        "center",
        "font",
        "basefont",
    ]
)
ALLOWED_ATTRIBUTES = frozenset(
    [
        "id",
        "class",
        "style",
        "title",
        "lang",
        "dir",
        "xml:lang",
        "xmlns",
        "accesskey",
        "tabindex",
        "href",
        "name",
        "hreflang",
        "type",
        "rel",
        "rev",
        "charset",
        "shape",
        "coords",
        "target",
        "src",
        "alt",
        "height",
        "width",
        "longdesc",
        "usemap",
        "ismap",
        "border",
        "hspace",
        "vspace",
        "align",
        "summary",
        "frame",
        "rules",
        "cellspacing",
        "cellpadding",
        "bgcolor",
        "abbr",
        "axis",
        "headers",
        "scope",
        "rowspan",
        "colspan",
        "char",
        "charoff",
        "valign",
        "nowrap",
        "span",
        "start",
        "value",
        "compact",
        "cite",
        "clear",
        "noshade",
        "size",
        "color",
        "face",
        "nohref",
    ]
)
XML_ENTITIES = frozenset({"amp", "lt", "gt", "quot", "apos"})
_ENTITY = re.compile(r"&([A-Za-z][A-Za-z0-9]*);")
_ACTIVE_URL = re.compile(r"\s*(javascript|vbscript|data):", re.I)
_MARKDOWN_TAG = re.compile(r"<[A-Za-z/!?]")


class _NarrativeChecker:
    """Collects the first problem found while expat walks one narrative div."""

    __slots__ = ("depth", "has_content", "problem")

    def __init__(self) -> None:
        self.problem: str | None = None
        self.depth = 0
        self.has_content = False

    def start(self, name: str, attributes: dict[str, str]) -> None:
        if self.problem is not None:
            return
        if self.depth == 0:
            if name != "div" or attributes.get("xmlns") != XHTML_NS:
                self.problem = f'the root must be <div xmlns="{XHTML_NS}">, found <{name}>'
                return
        elif name not in ALLOWED_ELEMENTS:
            self.problem = f"element <{name}> is not allowed in FHIR narrative"
            return
        self.depth += 1
        if name == "img":
            self.has_content = True
        for attribute, value in attributes.items():
            if attribute.lower().startswith("on"):
                self.problem = f"event attribute '{attribute}' on <{name}> is not allowed"
                return
            if attribute not in ALLOWED_ATTRIBUTES and not attribute.startswith("xmlns:"):
                self.problem = f"attribute '{attribute}' on <{name}> is not allowed"
                return
            if attribute in ("href", "src") and _ACTIVE_URL.match(value):
                self.problem = f"{attribute} on <{name}> must not use an active URL scheme"
                return

    def doctype(self, *_: object) -> None:
        if self.problem is None:
            self.problem = "a DOCTYPE (and its entity declarations) is not allowed in narrative"

    def text(self, data: str) -> None:
        if not self.has_content and not data.isspace():
            self.has_content = True


def check_xhtml(value: Any) -> Problem | None:
    """What is wrong with a Narrative.div value, if anything (well-formed, allowed, not empty)."""
    if type(value) is not str:
        return ruleset.TYPE, f"expected a JSON string (xhtml), found {describe(value)}"
    if not value:
        return ruleset.EMPTY, "an empty string is not allowed; omit the property"
    for match in _ENTITY.finditer(value):
        if match.group(1) not in XML_ENTITIES:
            return ruleset.XHTML, (
                f"invalid entity '{match.group(0)}' in the XHTML: only &amp; &lt; &gt; "
                "&quot; &apos; and numeric references exist in XML"
            )
    checker = _NarrativeChecker()
    parser = expat.ParserCreate()
    parser.StartElementHandler = checker.start
    parser.StartDoctypeDeclHandler = checker.doctype
    parser.CharacterDataHandler = checker.text
    try:
        parser.Parse(value, True)
    except expat.ExpatError as error:
        return (
            ruleset.XHTML,
            f"narrative is not well-formed XHTML ({expat.ErrorString(error.code)})",
        )
    if checker.problem is not None:
        return ruleset.XHTML, checker.problem
    if not checker.has_content:
        return ruleset.XHTML, "narrative has no content (txt-2: text or an image is required)"
    return None


def markdown_html(value: str) -> Problem | None:
    """Markdown that embeds something that looks like an HTML tag."""
    match = _MARKDOWN_TAG.search(value)
    if match is None:
        return None
    start = value[match.start() : match.start() + 2]
    return ruleset.MARKDOWN, (
        f"markdown contains what looks like an embedded HTML tag starting at '{start}'; "
        "escape it (e.g. \\<) or remove it"
    )
