"""A real gocryptfs volume for tests: made in a test's folder, mounted over FUSE, unmounted.
With CI set, a machine without gocryptfs or /dev/fuse fails the test (.ci/run installs them)."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

PASSPHRASE_CHANGED = "Password changed."


def needs_gocryptfs() -> None:
    missing = [tool for tool in ("gocryptfs", "fusermount3") if shutil.which(tool) is None]
    if not Path("/dev/fuse").exists():
        missing.append("/dev/fuse")
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{', '.join(missing)} missing: .ci/run installs gocryptfs and fuse3")
        pytest.skip(f"{', '.join(missing)} missing")


@dataclass(frozen=True)
class Volume:
    cipher: Path
    """What lands on the disk: gocryptfs's encrypted files and its wrapped master key."""
    plain: Path
    """Where the volume is mounted: what fivesafes reads and writes."""
    passfile: Path


def make_volume(root: Path) -> Volume:
    """A new gocryptfs volume under ``root``, its passphrase in a file beside it (owner-only)."""
    needs_gocryptfs()
    volume = Volume(root / "cipher", root / "plain", root / "passphrase")
    for folder in (volume.cipher, volume.plain):
        folder.mkdir(mode=0o700, parents=True)
    volume.passfile.write_text(secrets.token_hex(24) + "\n")
    volume.passfile.chmod(0o600)
    _run("gocryptfs", "-init", "-q", "-passfile", volume.passfile, volume.cipher)
    return volume


@contextmanager
def mounted(volume: Volume) -> Iterator[Path]:
    """The volume mounted at its plain folder for the block; unmounted after, whatever."""
    _run("gocryptfs", "-q", "-passfile", volume.passfile, volume.cipher, volume.plain)
    try:
        yield volume.plain
    finally:
        _run("fusermount3", "-u", volume.plain)


def change_passphrase(volume: Volume, new: Path) -> Volume:
    """The passphrase rotated as docs/running-an-environment.md says: ``gocryptfs -passwd``
    reads the old passphrase and then the new one, a line each; the master key (so every
    encrypted file) stays as it is, wrapped again under the new passphrase."""
    new.write_text(secrets.token_hex(24) + "\n")
    new.chmod(0o600)
    lines = volume.passfile.read_text() + new.read_text()
    done = _run("gocryptfs", "-passwd", volume.cipher, stdin=lines)
    assert PASSPHRASE_CHANGED in done.stdout + done.stderr
    return Volume(volume.cipher, volume.plain, new)


def refused(volume: Volume) -> str:
    """What gocryptfs says when the volume's passphrase does not open it (it stays unmounted)."""
    argv = ["gocryptfs", "-q", "-passfile", volume.passfile, volume.cipher, volume.plain]
    done = subprocess.run([str(a) for a in argv], capture_output=True, text=True, check=False)
    assert done.returncode != 0, "the volume opened"
    return done.stderr


def _run(*argv: str | Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(a) for a in argv], input=stdin, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"{argv[0]}: {done.stderr}"
    return done
