"""SHA-256 of files: how a job record names exactly which bytes it read and wrote."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

CHUNK = 1024 * 1024


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes; of a symbolic link's target text, for a link."""
    if path.is_symlink():
        return hashlib.sha256(os.readlink(path).encode()).hexdigest()
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
