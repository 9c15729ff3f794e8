"""The hashed lock file pins every dependency with its hashes, and the audit of it names a
vulnerability, counts what it could not audit, and never passes having audited nothing."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))

import audit_lock  # noqa: E402

LOCK = REPO / "requirements.lock"


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=\[ ;]", r, maxsplit=1)[0].lower() for r in requirements}


def test_every_dependency_is_pinned_with_hashes() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = _names(project["dependencies"])
    for extra in ("test", "postgres", "spark"):
        wanted |= _names(project["optional-dependencies"][extra]) - {"fivesafes"}
    pinned = audit_lock.pins(LOCK)
    assert wanted - {"psycopg"} <= set(pinned), sorted(wanted - set(pinned))
    blocks = LOCK.read_text().split("\n\n", 1)[1].split("==")[1:]
    assert all("--hash=sha256:" in block for block in blocks)
    assert "file://" not in LOCK.read_text()


def test_the_audit_names_vulnerabilities_and_what_it_could_not_audit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lock = tmp_path / "requirements.lock"
    lock.write_text("good==1.0 \\\n    --hash=sha256:00\nbad==2.0 \\\n    --hash=sha256:11\n"
                    "old==0.1 \\\n    --hash=sha256:22\n")  # fmt: skip
    index = {
        "good": {"info": {"version": "1.0"}, "vulnerabilities": []},
        "bad": {"info": {"version": "2.0"},
                "vulnerabilities": [{"id": "GHSA-xxxx", "fixed_in": ["2.1"]}]},
        "old": {"info": {"version": "0.2"}, "vulnerabilities": []},
    }  # fmt: skip
    monkeypatch.setattr(audit_lock, "project", lambda name: index[name])
    assert audit_lock.main(lock) == 1
    out = capsys.readouterr().out
    assert "VULNERABLE bad 2.0: GHSA-xxxx (fixed in 2.1)" in out
    assert "old 0.1 (newest is 0.2)" in out

    def unreachable(name: str) -> dict[str, object]:
        raise OSError("no route")

    monkeypatch.setattr(audit_lock, "project", unreachable)
    assert audit_lock.main(lock) == 1  # nothing audited is not a pass
