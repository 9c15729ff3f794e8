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
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parents[1] / "release"))

from populated_support import populate
from release_support import PROJECT

from fivesafes.cli import app
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
    workspace = env.data_dir.jobs / "job-cli" / "study"  # the job the environment holds
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

    monkeypatch.setenv("FIVESAFES_KEY_FILE", str(env.data_dir.key_file))
    args = ["project", "close", PROJECT, "--archive", str(archive), "--data-dir"]
    args += [str(env.data_dir.root), "--key-file", str(tmp_path / "offline" / "backup.key")]
    args += ["--token", env.people.token("cus")]
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.stderr  # closing again: nothing left, nothing recorded
    assert f"{PROJECT} closed: 0 files" in again.stdout and closed.archive_sha256 in again.stdout
    with ControlPlane.open(env.data_dir) as cp:
        changes = [json.loads(e)["subject"].get("change") for e in cp.ledger.entries()]
    assert changes.count("closed") == 1
    args[2] = "nope"
    missing = CliRunner().invoke(app, args)
    assert missing.exit_code == 2 and "no project nope" in missing.stderr

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


def test_usage_over_a_period_counts_people_jobs_releases_and_storage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The usage report of the same environment: from the ledger, and from the disk."""
    env = populate(tmp_path / "env")
    args = ["usage", "--since", "2000-01-01", "--until", "2100-01-01", "--format", "json"]
    args += ["--data-dir", str(env.data_dir.root), "--token", env.people.token("cus")]
    monkeypatch.setenv("FIVESAFES_KEY_FILE", str(env.data_dir.key_file))
    shown = CliRunner().invoke(app, args)
    assert shown.exit_code == 0, shown.stderr
    usage = json.loads(shown.stdout)
    project = usage["projects"][PROJECT]
    assert (project["jobs"], project["release_requests"], project["releases"]) == (1, 1, 1)
    released = sum(p.stat().st_size for p in env.release_folder.rglob("*") if p.is_file())
    assert project["released_bytes"] == released > 0 and project["history_bytes"] > 0
    assert usage["people"]["ana"] >= 2 and usage["people"]["chk1"] >= 1
    assert usage["store_bytes"] == env.data_dir.database.stat().st_size
    empty = CliRunner().invoke(app, [*args[:2], "2000-01-01", "--until", "2000-01-02", *args[5:]])
    assert json.loads(empty.stdout)["people"] == {}
