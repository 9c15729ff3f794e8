"""Ledger entries: what kinds exist, their canonical bytes, and the guard against patient data.

An entry is canonical JSON — keys sorted, no insignificant whitespace, UTF-8 — so the same facts
always give the same bytes and the same leaf hash. Subjects hold identifiers and hashes only:
the ledger is public, so :func:`check_subject` refuses anything that looks like patient data
(an NHS-number-shaped value, or a key named like a name, address or date of birth) before it can
be written, because an append-only log can never take it back. Floats are refused too: their
text form is not canonical across languages, and identifiers and hashes never need them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson

KEY_INIT = "key_init"
KEY_ROTATION = "key_rotation"
KEY_KINDS = frozenset({KEY_INIT, KEY_ROTATION})
"""Kinds only the ledger itself writes: the signing key chain (see :mod:`.schema` for all)."""

MAX_ENTRY_BYTES = 0xFFFF
"""tlog-tiles entry bundles prefix each entry with a 16-bit length, so none may be longer."""

_NHS_PATTERN = r"(?<![0-9A-Za-z])\d{3}[ -]?\d{3}[ -]?\d{4}(?![0-9A-Za-z])"
_NHS_NUMBER = re.compile(_NHS_PATTERN)
_NHS_NUMBER_BYTES = re.compile(_NHS_PATTERN.encode())
_FORBIDDEN_KEYS = frozenset(
    {"name", "firstname", "forename", "givenname", "surname", "lastname", "familyname",
     "fullname", "dob", "nhs", "nhsno", "phone", "telephone", "email"}
)  # fmt: skip
_FORBIDDEN_SUFFIXES = ("nhsnumber", "birthdate", "dateofbirth", "address", "postcode")


class PatientDataError(ValueError):
    """A subject holds a value or key that looks like personal data and must not be logged."""


@lru_cache(maxsize=4096)
def names_personal_data(key: str) -> bool:
    """True for keys like ``nhs_number``, ``Surname`` or ``home_address`` (cached: keys repeat)."""
    normal = "".join(c for c in key.lower() if c.isalnum())
    return normal in _FORBIDDEN_KEYS or normal.endswith(_FORBIDDEN_SUFFIXES)


def check_value(value: object, where: str) -> None:
    """Refuse a scalar that looks like an NHS number (10 digits, optionally spaced 3-3-4)."""
    if isinstance(value, str) and _NHS_NUMBER.search(value):
        raise PatientDataError(f"{where} looks like an NHS number; log identifiers, not patients")
    if isinstance(value, int) and not isinstance(value, bool) and 10**9 <= abs(value) < 10**10:
        raise PatientDataError(f"{where} is a 10-digit number, which looks like an NHS number")
    if isinstance(value, float):
        raise PatientDataError(f"{where} is a float; ledger values must be exact (str or int)")


def check_subject(subject: Mapping[str, Any], where: str = "subject") -> None:
    """Walk a subject and raise :class:`PatientDataError` at the first thing that looks personal.

    This is the precise, slow check; :func:`check_entry` runs on every append and calls it only
    when its quick scan of the encoded entry finds something to look at.
    """
    for key, value in subject.items():
        if not isinstance(key, str):
            raise PatientDataError(f"{where} has a non-string key {key!r}")
        if names_personal_data(key):
            raise PatientDataError(
                f"{where}.{key}: key names personal data, which the ledger never holds"
            )
        check_value(key, f"{where} key {key!r}")
        _check_any(value, f"{where}.{key}")


def _check_any(value: object, where: str) -> None:
    if isinstance(value, Mapping):
        check_subject(value, where)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_any(item, f"{where}[{i}]")
    elif value is None or isinstance(value, str | int):
        check_value(value, where)
    else:
        raise PatientDataError(f"{where} has unsupported type {type(value).__name__}")


def _shape_is_plain(subject: Mapping[str, Any]) -> bool:
    """True when every key is a string not naming personal data and every value is a str, an
    int, a bool, None or a list or mapping of those: what :func:`check_subject` walks, minus
    the NHS-number search, which :func:`check_entry` does once over the encoded bytes."""
    for key, value in subject.items():
        if type(key) is not str or names_personal_data(key):
            return False
        kind = type(value)
        if kind is str or kind is int or kind is bool or value is None:
            continue
        if kind is dict:
            if not _shape_is_plain(value):
                return False
        elif kind is list or kind is tuple:
            if not _items_are_plain(value):
                return False
        else:
            return False
    return True


def _items_are_plain(items: list[Any] | tuple[Any, ...]) -> bool:
    for item in items:
        kind = type(item)
        if kind is str or kind is int or kind is bool or item is None:
            continue
        if kind is dict:
            if not _shape_is_plain(item):
                return False
        elif kind is list or kind is tuple:
            if not _items_are_plain(item):
                return False
        else:
            return False
    return True


def check_entry(subject: Mapping[str, Any], encoded: bytes) -> None:
    """Refuse a subject that holds patient data, given the canonical bytes of its entry.

    The quick path scans the encoded entry once for anything NHS-number shaped (a 10-digit
    integer is such a run of digits too). Everything in a value appears verbatim in canonical
    JSON except characters escaped with a backslash, which could hide a match's boundary, and
    the bytes pattern knows only ASCII digits; so an entry holding a backslash, anything not
    ASCII, a match (which may be the entry's own index or time), or a value the quick shape
    check does not know, goes through :func:`check_subject`'s walk.
    """
    if len(encoded) > MAX_ENTRY_BYTES:
        raise ValueError(
            f"a ledger entry is at most {MAX_ENTRY_BYTES:,} bytes (the tlog-tiles limit), "
            f"not {len(encoded):,}: log hashes of large things, not the things"
        )
    if (
        not encoded.isascii()
        or b"\\" in encoded
        or _NHS_NUMBER_BYTES.search(encoded) is not None
        or not _shape_is_plain(subject)
    ):
        check_subject(subject)


def utc_timestamp(moment: datetime) -> str:
    """ISO-8601 UTC time with microseconds and a ``Z``, e.g. ``2026-01-02T03:04:05.000006Z``."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")[:-6] + "Z"


def encode_entry(index: int, time: str, kind: str, actor: str, subject: Mapping[str, Any]) -> bytes:
    """The canonical bytes of an entry (sorted keys, compact, UTF-8)."""
    record = {"actor": actor, "index": index, "kind": kind, "subject": subject, "time": time}
    return orjson.dumps(record, option=orjson.OPT_SORT_KEYS)


_ENTRY_TYPES = (("actor", str), ("index", int), ("kind", str), ("subject", dict), ("time", str))
_JSON_NAMES = {str: "string", int: "integer", dict: "object"}


def decode_entry(data: bytes) -> dict[str, Any]:
    """Parse entry bytes, checking they are exactly the canonical form of what they hold."""
    record = orjson.loads(data)
    if not isinstance(record, dict) or set(record) != {"actor", "index", "kind", "subject", "time"}:
        raise ValueError("an entry is an object with actor, index, kind, subject and time")
    for field, kind in _ENTRY_TYPES:
        if type(record[field]) is not kind:
            raise ValueError(f"an entry's {field} must be a JSON {_JSON_NAMES[kind]}")
    if orjson.dumps(record, option=orjson.OPT_SORT_KEYS) != data:
        raise ValueError("entry bytes are not in canonical form")
    return record
