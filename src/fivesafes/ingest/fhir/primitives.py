"""Checkers for FHIR R4 primitive values: JSON type, HL7's regex, and value sense.

Why closures: each primitive type compiles once into one function that answers
"what is wrong with this value, if anything" with the cheapest test that decides it (type
identity, ``in`` on a frozenset, one anchored regex), so the hot path of validation is a
dictionary lookup and one call per value.
"""

from __future__ import annotations

import binascii
import calendar
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from fivesafes.ingest.fhir import ruleset
from fivesafes.ingest.rules import Rule

Problem = tuple[Rule, str]
Checker = Callable[[Any], Problem | None]

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
STRING_MAX = 1024 * 1024
# HL7 writes the primitive regexes for Java, where \s and \S are ASCII-only.
_FLAGS = re.ASCII
_EXAMPLE_HOST = re.compile(
    r"https?://([^/?#]*\.)?(example\.(org|com|net)|acme\.(com|org))(?=[:/?#]|$)", re.I
)
_WHITESPACE = re.compile(r"\s", _FLAGS)
_ABSOLUTE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_FORMAT_HINTS = {
    "date": "YYYY, YYYY-MM or YYYY-MM-DD",
    "dateTime": "YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss+zz:zz",
    "instant": "YYYY-MM-DDThh:mm:ss(.sss)+zz:zz, with a timezone",
    "time": "hh:mm:ss",
    "id": "1-64 of A-Z a-z 0-9 - .",
    "code": "no leading, trailing or repeated whitespace",
    "oid": "urn:oid: followed by a dotted number",
    "uuid": "urn:uuid: followed by a lower-case UUID",
    "uri": "no whitespace",
    "url": "no whitespace",
    "canonical": "no whitespace",
}


def is_absolute_uri(value: str) -> bool:
    """Whether a URI has a scheme (http:, urn:, ...), i.e. is not a local or relative name."""
    return _ABSOLUTE.match(value) is not None


def describe(value: Any) -> str:
    """A short human name for a JSON value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _shown(value: str) -> str:
    return repr(value if len(value) <= 80 else value[:77] + "...")


def _date_sense(value: str) -> bool:
    """The regex allows 31 days in every month; reject days a month does not have."""
    if len(value) < 10 or value[8:10] < "29":
        return True
    year, month, day = int(value[0:4]), int(value[5:7]), int(value[8:10])
    return day <= calendar.monthrange(year, month)[1]


def _string_checker(type_name: str, regex: str | None) -> Checker:
    """Checker for the JSON-string primitives (everything but boolean and the numbers)."""
    pattern = re.compile(regex, _FLAGS).fullmatch if regex else None
    hint = _FORMAT_HINTS.get(type_name, type_name)
    wrong_format = f"is not a valid FHIR {type_name} ({hint})"
    is_date = type_name in ("date", "dateTime", "instant")

    if type_name in ("string", "markdown"):

        def check_text(value: Any) -> Problem | None:
            if type(value) is not str:
                return (
                    ruleset.TYPE,
                    f"expected a JSON string ({type_name}), found {describe(value)}",
                )
            if not value:
                return ruleset.EMPTY, "an empty string is not allowed; omit the property"
            if "\x0b" in value or "\x0c" in value:
                return ruleset.FORMAT, "contains a vertical tab or form feed, not allowed in FHIR"
            if len(value) > STRING_MAX:
                return ruleset.FORMAT, f"is longer than {STRING_MAX} characters"
            return None

        return check_text

    if type_name in ("uri", "url", "canonical"):

        def check_uri(value: Any) -> Problem | None:
            if type(value) is not str:
                return (
                    ruleset.TYPE,
                    f"expected a JSON string ({type_name}), found {describe(value)}",
                )
            if not value:
                return ruleset.EMPTY, "an empty string is not allowed; omit the property"
            if _WHITESPACE.search(value):
                return ruleset.FORMAT, f"{_shown(value)} {wrong_format}"
            if type_name == "url" and _EXAMPLE_HOST.match(value):
                return ruleset.EXAMPLE_URL, (
                    f"{_shown(value)} is an example URL (example.org/.com/.net), "
                    "not allowed in loaded data"
                )
            return None

        return check_uri

    if type_name == "base64Binary":

        def check_base64(value: Any) -> Problem | None:
            if type(value) is not str:
                return (
                    ruleset.TYPE,
                    f"expected a JSON string (base64Binary), found {describe(value)}",
                )
            if not value:
                return ruleset.EMPTY, "an empty string is not allowed; omit the property"
            if base64_length(value) is None:
                return ruleset.FORMAT, "is not valid base64 (A-Z a-z 0-9 + / with = padding)"
            return None

        return check_base64

    def check_formatted(value: Any) -> Problem | None:
        if type(value) is not str:
            return ruleset.TYPE, f"expected a JSON string ({type_name}), found {describe(value)}"
        if not value:
            return ruleset.EMPTY, "an empty string is not allowed; omit the property"
        if pattern is not None and pattern(value) is None:
            if type_name == "dateTime" and "T" in value and pattern(value + "Z") is not None:
                return ruleset.FORMAT, (
                    f"{_shown(value)} has a time but no timezone; "
                    "a dateTime with a time must end in Z or +hh:mm/-hh:mm"
                )
            if type_name == "id":
                reason = "too long" if len(value) > 64 else "invalid characters"
                return ruleset.RESOURCE_ID, f"{_shown(value)} is not a valid id ({reason}; {hint})"
            return ruleset.FORMAT, f"{_shown(value)} {wrong_format}"
        if is_date and not _date_sense(value):
            return ruleset.FORMAT, f"{_shown(value)} is not a real calendar date"
        return None

    return check_formatted


def base64_length(value: str) -> int | None:
    """Decoded length of a base64 string (whitespace ignored), or None if it is not base64."""
    compact = "".join(value.split()) if _WHITESPACE.search(value) else value
    if len(compact) % 4:
        return None
    try:
        return len(binascii.a2b_base64(compact, strict_mode=True))
    except (binascii.Error, ValueError):
        return None


def _number_checker(type_name: str) -> Checker:
    """Checker for boolean, decimal and the integer types (JSON true/false and numbers)."""
    if type_name == "boolean":

        def check_boolean(value: Any) -> Problem | None:
            if value is True or value is False:
                return None
            return ruleset.TYPE, f"expected JSON true or false (boolean), found {describe(value)}"

        return check_boolean

    if type_name == "decimal":

        def check_decimal(value: Any) -> Problem | None:
            kind = type(value)
            if kind is int or (kind is float and math.isfinite(value)):
                return None
            return ruleset.TYPE, f"expected a JSON number (decimal), found {describe(value)}"

        return check_decimal

    lowest = {"integer": INT32_MIN, "unsignedInt": 0, "positiveInt": 1}[type_name]

    def check_integer(value: Any) -> Problem | None:
        if type(value) is not int:
            return ruleset.TYPE, f"expected a JSON integer ({type_name}), found {describe(value)}"
        if not lowest <= value <= INT32_MAX:
            return ruleset.FORMAT, f"{value} is outside the range of {type_name}"
        return None

    return check_integer


def bound_checker(checker: Checker, codes: frozenset[str], value_set: str) -> Checker:
    """Wrap the ``code`` checker with membership of a required value set."""
    name = value_set.rsplit("/", 1)[-1]
    listed = ", ".join(sorted(codes)[:8]) + (", ..." if len(codes) > 8 else "")

    def check_code(value: Any) -> Problem | None:
        if type(value) is str and value in codes:
            return None
        problem = checker(value)
        if problem is not None:
            return problem
        return ruleset.CODE, f"{_shown(value)} is not in the required value set {name} ({listed})"

    return check_code


def compile_checkers(
    primitives: Mapping[str, Mapping[str, Any]],
) -> dict[str, Checker]:
    """One checker per primitive type, from the schema's JSON types and regexes."""
    checkers: dict[str, Checker] = {}
    for name, spec in primitives.items():
        if name == "xhtml":
            continue
        if spec["json"] == "string":
            checkers[name] = _string_checker(name, spec["regex"])
        else:
            checkers[name] = _number_checker(name)
    return checkers
