"""Fetching a study by commit, attacked: the repository is the one the approved application
names, but the environment still treats it and the commit as hostile input — no transport
that runs a command, no option smuggled in as a name, nothing but a commit hash checked out."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from fivesafes.environment import RefusalKind, Refused
from fivesafes.environment.studies import checked_out


def _repository(folder: Path) -> str:
    folder.mkdir()
    (folder / "project.yaml").write_text("version: 1\nactions: {}\n")
    for args in (("init", "-q"), ("add", ".")):
        subprocess.run(["git", "-C", str(folder), *args], check=True)
    subprocess.run(
        ["git", "-C", str(folder), "-c", "user.name=A", "-c", "user.email=a@example.org",
         "commit", "-qm", "one"],
        check=True,
    )  # fmt: skip
    done = subprocess.run(
        ["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_the_commit_is_checked_out_and_removed_afterwards(tmp_path: Path) -> None:
    commit = _repository(tmp_path / "repo")
    with checked_out(str(tmp_path / "repo"), commit[:12]) as study:
        assert (study / "project.yaml").is_file()
        head = subprocess.run(["git", "-C", str(study), "rev-parse", "HEAD"],
                              capture_output=True, text=True, check=True)  # fmt: skip
        assert head.stdout.strip() == commit
    assert not study.exists()


@pytest.mark.parametrize("commit", ["HEAD", "main", "--help", "-c", "abc", "0" * 65, "A" * 40])
def test_anything_but_a_commit_hash_is_refused_before_git_runs(tmp_path: Path, commit: str) -> None:
    with (
        pytest.raises(Refused, match="is not a commit hash") as refused,
        checked_out(str(tmp_path / "nowhere"), commit),
    ):
        pass
    assert refused.value.kind is RefusalKind.INVALID


def test_a_transport_that_runs_a_command_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    for repository in (f"ext::sh -c touch% {marker}", f"--upload-pack=touch {marker}"):
        with (
            pytest.raises(Refused, match="cannot clone") as refused,
            checked_out(repository, "0" * 40),
        ):
            pass
        assert refused.value.kind is RefusalKind.UNAVAILABLE
    assert not marker.exists()


def test_a_commit_the_repository_does_not_hold_is_refused(tmp_path: Path) -> None:
    _repository(tmp_path / "repo")
    with (
        pytest.raises(Refused, match="no commit") as refused,
        checked_out(str(tmp_path / "repo"), "0" * 40),
    ):
        pass
    assert refused.value.kind is RefusalKind.INVALID
