"""Closing a project: its released outputs, release history and workspace are sealed into an
archive, then deleted, the closure is a ledger entry naming the archive's hash, and the closed
project can do nothing more. A second close after a kill removes what is left, once."""

from __future__ import annotations

import io
import json
import sys
import tarfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "release"))

from environment_support import populate
from release_support import PROJECT

from fivesafes.environment.backup import file_sha256
from fivesafes.environment.project_close import close_project, project_folders
from fivesafes.environment.sealed import new_key, read_key, unseal
from fivesafes.governance import AccessDenied, ControlPlane, authorise_project_member
from fivesafes.governance.roles import Action


def test_close_archives_then_deletes_and_the_project_stops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = populate(tmp_path / "env")
    new_key(tmp_path / "offline" / "backup.key")
    key = read_key(tmp_path / "offline" / "backup.key")
    workspace = tmp_path / "env" / "study"
    folders = project_folders(env.data_dir, PROJECT)
    assert all(f.is_dir() and any(f.iterdir()) for f in folders)
    archive = tmp_path / "archives" / f"{PROJECT}.sealed"
    archive.parent.mkdir()
    with ControlPlane.open(env.data_dir) as cp:
        with pytest.raises(AccessDenied, match="may not operate"):
            close_project(cp, env.people.token("ana"), env.data_dir, PROJECT, key, archive)
        closed = close_project(
            cp, env.people.token("cus"), env.data_dir, PROJECT, key, archive, [workspace]
        )
        assert not any(f.exists() for f in [*folders, workspace])
        assert closed.archive_sha256 == file_sha256(archive)
        entries = [json.loads(e) for e in cp.ledger.entries()]
        (entry,) = [e for e in entries if e["subject"].get("change") == "closed"]
        assert entry["subject"]["archive_sha256"] == closed.archive_sha256
        assert entry["subject"]["removed"] == closed.files_removed
        with pytest.raises(AccessDenied, match=f"{PROJECT}: it was closed on"):
            authorise_project_member(cp, env.people.token("ana"), PROJECT, Action.REQUEST_RELEASE)

        again = close_project(cp, env.people.token("cus"), env.data_dir, PROJECT, key, archive)
        assert again.archive_sha256 == closed.archive_sha256 and again.files_removed == 0
        assert (
            sum(
                e["subject"].get("change") == "closed" for e in map(json.loads, cp.ledger.entries())
            )
            == 1
        )

    opened = io.BytesIO()
    with archive.open("rb") as sealed:
        unseal(sealed, key, opened)
    opened.seek(0)
    with tarfile.open(fileobj=opened) as tar:
        names = tar.getnames()
    assert any(n.startswith(f"released/{PROJECT}/") for n in names)
    assert any(n.startswith(f"release-history/{PROJECT}/") for n in names)
    assert any(n.startswith("workspaces/0-study/") for n in names)
    assert closed.files_removed == len(names)
