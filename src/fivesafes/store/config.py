"""Where an environment keeps its data, and how to point a command at another one.

One data directory holds the DuckDB store and, beside it but never inside it,
the secret key that turns NHS numbers into pseudonyms. ``FIVESAFES_DATA_DIR``
overrides the default ``./fivesafes-data``; ``FIVESAFES_KEY_FILE`` lets an
operator keep the key on a different volume from the data.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATA_DIR = Path("fivesafes-data")


@dataclass(frozen=True, slots=True)
class DataDir:
    """The files of one environment, by absolute path (sandboxes bind paths by full name)."""

    root: Path
    key_file: Path

    @classmethod
    def from_env(cls, root: Path | None = None) -> DataDir:
        base = (root or Path(os.environ.get("FIVESAFES_DATA_DIR", DEFAULT_DATA_DIR))).resolve()
        key = os.environ.get("FIVESAFES_KEY_FILE")
        return cls(base, Path(key).resolve() if key else base / "keys" / "pseudonym.key")

    @property
    def database(self) -> Path:
        return self.root / "store.duckdb"

    @property
    def jobs(self) -> Path:
        """Where jobs run against the store keep their workspaces and outputs: inside the data
        directory, owner-only, so nothing a job made is in anyone's hands but through release."""
        return self.root / "jobs"
