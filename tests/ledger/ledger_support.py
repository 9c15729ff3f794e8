"""Shared helpers for the ledger tests: a clock the test moves by hand, and a ledger factory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fivesafes.ledger import Ledger

ORIGIN = "test.fivesafes/ledger"


class ManualClock:
    """A clock that only moves when told to, so checkpoint timing is deterministic."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def open_ledger(directory: Path, **options: Any) -> Ledger:
    options.setdefault("clock", ManualClock())
    return Ledger.open(directory / "ledger.db", directory / "keys", ORIGIN, **options)
