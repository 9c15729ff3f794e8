"""The public view of the ledger: what anyone may see about how data is used.

The public are promised they can see every project, its purpose, the people working on it (by
their public names), what ran and what was released. Only the kinds and fields listed in
:data:`PUBLIC_FIELDS` are shown; everything else — logins, data loads, identifiable-data reads,
and any field not named here — stays out, so adding a field to an entry never publishes it by
accident.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

PUBLIC_FIELDS: dict[str, frozenset[str]] = {
    "project": frozenset(
        {"project_id", "title", "purpose", "organisation", "status", "members", "datasets"}
    ),
    "account": frozenset({"person_id", "public_name", "role", "organisation", "change"}),
    "approval": frozenset(
        {"project_id", "person_id", "decision", "what", "until", "waited_seconds"}
    ),
    "job": frozenset({"job_id", "project_id", "action", "commit", "status", "outputs"}),
    "release_request": frozenset({"release_id", "project_id", "job_id", "files"}),
    "review": frozenset({"release_id", "decision"}),
    "release": frozenset({"release_id", "project_id", "files"}),
}
PUBLIC_KINDS = frozenset(PUBLIC_FIELDS)


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
        record = orjson.loads(entry)
        allowed = PUBLIC_FIELDS.get(record["kind"])
        if allowed is None:
            continue
        subject = record["subject"]
        fields = {k: subject[k] for k in sorted(allowed) if k in subject}
        rows.append(
            PublicRow(record["index"], record["time"], record["kind"], record["actor"], fields)
        )
    return PublicView(tuple(rows))
