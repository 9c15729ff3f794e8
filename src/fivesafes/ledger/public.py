"""The public view of the ledger: what anyone may see about how data is used.

The public are promised they can see every project, its purpose, the people working on it (by
their public names), what ran and what was released. Only the kinds and fields that
:mod:`.schema` declares public are shown; everything else — logins, data loads, identifiable-data
reads, and any field not declared public — stays out, so adding a field to an entry never
publishes it by accident. The writers' subjects are checked against the same declarations when
they are appended, so a field the view shows cannot be written under another name.

The view reads what is stored as it finds it: an entry that is not readable JSON of the entry
shape (which ``ledger verify`` would report) is skipped rather than stopping the view.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from fivesafes.ledger.entry import decode_entry
from fivesafes.ledger.schema import ENTRY_KINDS, PUBLIC_KINDS


@dataclass(frozen=True)
class PublicRow:
    """One public event: where it is in the log, when, what kind, who, and its public fields."""

    index: int
    time: str
    kind: str
    actor: str
    fields: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "time": self.time,
            "kind": self.kind,
            "actor": self.actor,
            **self.fields,
        }


@dataclass(frozen=True)
class PublicView:
    """The public events, oldest first."""

    rows: tuple[PublicRow, ...]

    def to_list(self) -> list[dict[str, Any]]:
        return [row.to_dict() for row in self.rows]

    def render(self) -> str:
        if not self.rows:
            return "no public events yet"
        lines = []
        for row in self.rows:
            detail = ", ".join(f"{k}={orjson.dumps(v).decode()}" for k, v in row.fields.items())
            lines.append(f"#{row.index:<7} {row.time}  {row.kind:<15} {row.actor:<20} {detail}")
        return "\n".join(lines)


def public_view(entries: Iterable[bytes]) -> PublicView:
    """Keep only public kinds, and only their public fields, from entry bytes."""
    rows = []
    for entry in entries:
        try:
            record = decode_entry(entry)
        except ValueError:
            continue
        kind = record["kind"]
        if kind not in PUBLIC_KINDS:
            continue
        fields = ENTRY_KINDS[kind].public_fields(record["subject"])
        rows.append(PublicRow(record["index"], record["time"], kind, record["actor"], fields))
    return PublicView(tuple(rows))
