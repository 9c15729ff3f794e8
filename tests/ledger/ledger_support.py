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


def login(token_id: str) -> dict[str, str]:
    """A login subject with the fields the schema declares for logins."""
    return {
        "provider": "personal_tokens",
        "action": "view",
        "outcome": "allowed",
        "token_id": token_id,
    }


def job(job_id: str, project_id: str = "P-7") -> dict[str, Any]:
    """A job subject with every public field a job entry must have."""
    return {
        "job_id": job_id,
        "project_id": project_id,
        "action": "generate_dataset",
        "commit": "9f2c" * 10,
        "status": "succeeded",
        "outputs": {"output/counts.csv": "ab" * 32},
    }


def load(load_id: str) -> dict[str, str]:
    return {"load_id": load_id}
