"""Reading a project's released outputs, and only those, with their provenance.

A dashboard shown to a board must never be a back door around output checking, so it reads
nothing but the published folders under ``<data dir>/released/<project>/``. Each folder is
checked with :func:`fivesafes.release.verify_release` first (the environment's signature, every
file's hash, two independent signed approvals); a folder that does not verify is refused as a
whole and never shown, and so is any file the signed manifest does not list.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from fivesafes.ledger.entry import decode_entry
from fivesafes.ledger.note import NoteVerifier
from fivesafes.release.manifest import MANIFEST_FILE
from fivesafes.release.manifest import verify_release as _verify


class DashboardError(Exception):
    """Nothing releasable to show, or a released folder that does not verify."""


@dataclass(frozen=True)
class Approval:
    """One reviewer's signed approval of the release."""

    person_id: str
    voted_at: str


@dataclass(frozen=True)
class ReleasedTable:
    """A released CSV with everything needed to say where it came from."""

    release_id: str
    path: str
    sha256: str
    published_as: str
    published_at: str
    requester: str
    profile: str
    checks: tuple[tuple[str, bool, str], ...]
    """(rule, passed, summary) of the disclosure check the file was published under."""
    approvals: tuple[Approval, ...]
    ledger_index: int | None
    rows: tuple[dict[str, str], ...]

    @property
    def stem(self) -> str:
        return Path(self.path).stem


def release_ledger_indexes(entries: Iterable[bytes]) -> dict[str, int]:
    """Release id → index of its ``release`` ledger entry, so a figure can cite it."""
    found = {}
    for data in entries:
        entry = decode_entry(data)
        if entry.get("kind") == "release":
            found[entry["subject"]["release_id"]] = entry["index"]
    return found


def _approvals(manifest: dict[str, Any]) -> tuple[Approval, ...]:
    return tuple(
        Approval(vote["statement"]["person_id"], str(vote["statement"].get("voted_at", "")))
        for vote in manifest["approvals"]
    )


def _checks(folder: Path, entry: dict[str, Any]) -> tuple[tuple[str, bool, str], ...]:
    """The file's disclosure check, trusted only if it is the report the signed manifest names
    (``verify_release`` checks the released files, not the reports beside them)."""
    data = (folder / entry["check_report"]).read_bytes()
    if hashlib.sha256(data).hexdigest() != entry["check_report_sha256"]:
        raise DashboardError(f"{folder / entry['check_report']}: does not match its hash")
    report = orjson.loads(data)
    return tuple((r["rule"], bool(r["passed"]), str(r["summary"])) for r in report["rules"])


def _tables(
    folder: Path, manifest: dict[str, Any], ledger_index: int | None
) -> Iterator[ReleasedTable]:
    for entry in manifest["files"]:
        if not entry["path"].endswith(".csv"):
            continue
        text = (folder / entry["path"]).read_text(encoding="utf-8")
        yield ReleasedTable(
            release_id=manifest["release_id"],
            path=entry["path"],
            sha256=entry["sha256"],
            published_as=entry["published_as"],
            published_at=manifest["published_at"],
            requester=manifest["requester"],
            profile=manifest["profile"],
            checks=_checks(folder, entry),
            approvals=_approvals(manifest),
            ledger_index=ledger_index,
            rows=tuple(csv.DictReader(io.StringIO(text))),
        )


def read_released_tables(
    released: Path,
    verifiers: Iterable[NoteVerifier],
    ledger_indexes: dict[str, int] | None = None,
) -> list[ReleasedTable]:
    """Every CSV of every release under ``released`` (one project's released outputs), oldest
    release first. Raises :class:`DashboardError` if any release folder fails to verify: a
    dashboard built around a tampered or unsigned release would lend it authority."""
    keys = list(verifiers)
    folders = sorted(p for p in released.iterdir() if p.is_dir()) if released.is_dir() else []
    folders = [p for p in folders if not p.name.endswith(".partial")]
    if not folders:
        raise DashboardError(f"no released outputs under {released}")
    loaded = []
    for folder in folders:
        problems = _verify(folder, keys)
        if problems:
            raise DashboardError(f"{folder} does not verify:\n" + "\n".join(problems))
        manifest = orjson.loads((folder / MANIFEST_FILE).read_bytes())
        loaded.append((manifest["published_at"], folder, manifest))
    tables: list[ReleasedTable] = []
    for _, folder, manifest in sorted(loaded, key=lambda item: item[0]):
        index = (ledger_indexes or {}).get(manifest["release_id"])
        tables.extend(_tables(folder, manifest, index))
    return tables
