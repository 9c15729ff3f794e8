"""The test data in ``../shared/`` beside the repository (HL7's FHIR examples and validator
cases): where the tests find it, and what they do when it is not there.

On a developer's machine without ``../shared/`` the tests that read it skip, saying where it was
looked for. In CI (``CI`` set, as ``.ci/run`` and CI services do) they fail instead: a skip there
would let a run pass with those checks never made.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"


def in_ci() -> bool:
    """Whether this run is CI's: ``CI`` set to anything but an empty, 0, false or no value."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require(path: Path) -> Path:
    """``path`` (under ``../shared/``) if it exists; else skip the test, or in CI fail it."""
    if path.exists():
        return path
    message = f"{path} is missing: tests that read ../shared/ look for it beside the repository"
    if in_ci():
        pytest.fail(f"{message} (CI is set, so this fails rather than skips)", pytrace=False)
    pytest.skip(message)
