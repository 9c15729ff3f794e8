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


def _run(*argv: str | Path) -> None:
    done = subprocess.run([str(a) for a in argv], capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{argv[0]}: {done.stderr}"
