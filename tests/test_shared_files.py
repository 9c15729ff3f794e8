"""Tests that need ``../shared/`` skip without it on a developer's machine and fail in CI."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shared_files import require


@pytest.mark.parametrize("ci", ["true", "1", "yes"])
def test_missing_shared_data_fails_in_ci_and_skips_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ci: str
) -> None:
    missing = tmp_path / "shared" / "fhir-examples"
    monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.fail.Exception, match=re.escape(f"{missing} is missing")):
        require(missing)
    for local in ("", "false"):
        monkeypatch.setenv("CI", local)
        with pytest.raises(pytest.skip.Exception, match=re.escape(f"{missing} is missing")):
            require(missing)
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        require(missing)
    assert require(tmp_path) == tmp_path
