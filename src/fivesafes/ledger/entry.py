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
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from itertools import accumulate
from typing import Any

import orjson

KEY_INIT = "key_init"
KEY_ROTATION = "key_rotation"
KEY_KINDS = frozenset({KEY_INIT, KEY_ROTATION})
"""Kinds only the ledger itself writes: the signing key chain (see :mod:`.schema` for all)."""

MAX_ENTRY_BYTES = 0xFFFF
"""tlog-tiles entry bundles prefix each entry with a 16-bit length, so none may be longer."""

_NHS_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{3}[ -]?\d{3}[ -]?\d{4}(?![0-9A-Za-z])")
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
    """True when every key is a string not naming personal data and every value is plain."""
    for key in subject:
        if type(key) is not str or names_personal_data(key):
            return False
    return _items_are_plain(subject.values())


def _items_are_plain(items: Iterable[Any]) -> bool:
    """True when every item is a str, an int, a bool, None, or a list or mapping of those: what
    :func:`check_subject` walks, minus the NHS-number search, which :func:`check_entry` does
    once over the encoded bytes."""
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


def encode_entries(
    start: int,
    time: str,
    records: Sequence[tuple[str, str, Mapping[str, Any]]],
    check: Callable[[str, str, Mapping[str, Any]], None] | None = None,
) -> list[bytes]:
    """The canonical bytes of each (kind, actor, subject) as entries ``start``, ``start + 1``...
    at ``time``, refusing any that holds patient data or is too long to publish.

    The same bytes :func:`encode_entry` gives, made for the whole batch at once: one encoder
    call for every record without its time (the last key, so it is added to each entry after),
    and one scan of that text for anything NHS-number shaped (a 10-digit integer is such a run
    of digits too). Everything in a value appears verbatim in canonical JSON except characters
    escaped with a backslash, which could hide a match's boundary, and the bytes pattern knows
    only ASCII digits; so a record whose encoding holds a backslash, anything not ASCII, or a
    match (which may be its own index), or whose values are not plain, goes through the precise
    walk of :func:`check_subject`. ``check`` runs first on each record (the log's check of its
    kind and declared fields, whose names are vetted, so top-level keys need no other check).
    """
    items = []
    for index, (kind, actor, subject) in enumerate(records, start):
        if check is not None:
            check(kind, actor, subject)
        if not _items_are_plain(subject.values()):
            _check_precisely(actor, subject)
        items.append({"actor": actor, "index": index, "kind": kind, "subject": subject})
    blob = orjson.dumps(items, option=orjson.OPT_SORT_KEYS)
    cores = blob[len(_FIRST) : -len(_LAST)].split(_BETWEEN) if items else []
    if len(cores) != len(records):  # a subject held the separator itself
        return _encode_one_by_one(start, time, records)
    if not blob.isascii() or b"\\" in blob:
        for core, (_, actor, subject) in zip(cores, records, strict=True):
            if not core.isascii() or b"\\" in core:
                _check_precisely(actor, subject)
    _scan(blob, cores, records)
    longest = max(map(len, cores), default=0)
    tail = b',"time":"' + time.encode() + b'"}'
    if len(_HEAD) + longest + len(tail) > MAX_ENTRY_BYTES:
        _refuse_length(len(_HEAD) + longest + len(tail))
    return [_HEAD + core + tail for core in cores]


_HEAD = b'{"actor":'
_FIRST, _BETWEEN, _LAST = b"[" + _HEAD, b"}," + _HEAD, b"}]"
_NHS_NUMBER_BYTES = re.compile(
    rb"(?<![0-9A-Za-z])[0-9]{3}[ -]?[0-9]{3}[ -]?[0-9]{4}(?![0-9A-Za-z])"
)
_TO_RUNS = bytes(0x30 if chr(b) in "0123456789 -" else 0x2E for b in range(256))
"""Maps digits, spaces and hyphens to ``0`` and everything else to ``.``: an NHS-number shaped
value becomes part of a run of at least ten ``0``, which ``bytes.find`` finds far faster than a
regular expression scans."""
_TEN = b"0" * 10


def _scan(blob: bytes, cores: list[bytes], records: Sequence[tuple[str, str, Any]]) -> None:
    """Send each record in whose encoding an NHS-number shaped value appears through the precise
    walk: find the runs of ten or more digits, spaces and hyphens, and match the pattern only
    there (with the character after the run in view, for its look-ahead)."""
    runs = blob.translate(_TO_RUNS)
    starts: list[int] | None = None
    position = runs.find(_TEN)
    while position != -1:
        end = runs.find(b".", position)
        end = len(runs) if end == -1 else end
        match = _NHS_NUMBER_BYTES.search(blob, position, min(end + 1, len(blob)))
        if match is not None:
            if starts is None:
                lengths = (len(core) + len(_BETWEEN) for core in cores)
                starts = list(accumulate(lengths, initial=len(_FIRST)))
            _, actor, subject = records[bisect_right(starts, match.start()) - 1]
            _check_precisely(actor, subject)
        position = runs.find(_TEN, end)


def _check_precisely(actor: str, subject: Mapping[str, Any]) -> None:
    check_value(actor, "actor")
    check_subject(subject)


def _encode_one_by_one(
    start: int, time: str, records: Sequence[tuple[str, str, Mapping[str, Any]]]
) -> list[bytes]:
    entries = []
    for index, (kind, actor, subject) in enumerate(records, start):
        _check_precisely(actor, subject)
        entry = encode_entry(index, time, kind, actor, subject)
        if len(entry) > MAX_ENTRY_BYTES:
            _refuse_length(len(entry))
        entries.append(entry)
    return entries


def _refuse_length(length: int) -> None:
    raise ValueError(
        f"a ledger entry is at most {MAX_ENTRY_BYTES:,} bytes (the tlog-tiles limit), "
        f"not {length:,}: log hashes of large things, not the things"
    )


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
