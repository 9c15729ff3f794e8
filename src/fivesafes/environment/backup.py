"""Full backup and restore of an environment, each one command (SATRE 2.4.05, 2.6.01, 2.6.03).

A backup is one sealed archive (:mod:`.sealed`) of everything the environment is: the store, the
control plane, the ledger, the keys (the pseudonym key wherever ``FIVESAFES_KEY_FILE`` put it,
and the ledger's signing keys), the released outputs and their history, the jobs' records and
workspaces, and the settings — every file under the data directory except the locks of
operations under way. It is taken only while no operation is under way or left open, so what
it holds is a state and a ledger that agree; the SQLite files are copied through SQLite's own
backup API and the store under a read-only DuckDB connection (which keeps writers out), so no
file is copied half-written. The archive ends with a manifest: every file's SHA-256 and size,
the ledger's size and its latest checkpoint, the control plane's migration revision.

The backup is logged in the ledger first (an ``environment`` entry: ``backup``), so the ledger
in the archive records its own backup and the original goes on from there. A restore refuses a
target that is not empty, unpacks into a staging folder beside it, checks every file against the
manifest and replays the restored ledger (it must verify and end at the manifest's checkpoint),
and only then renames the staging folder into place and logs ``restored``. Restoring is how an
environment is rebuilt on a new machine, or a non-compliant one replaced (with the deployment
script, ``deploy/``).

On PostgreSQL the control plane (and so the ledger) is dumped with ``pg_dump`` and restored
with ``pg_restore`` into the database the restore is pointed at.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from fivesafes.environment.sealed import SealError, SealingWriter, unseal
from fivesafes.governance import ControlPlane
from fivesafes.governance.control import LEDGER_FILE, OPERATIONS_FOLDER
from fivesafes.governance.database import SQLITE_FILE
from fivesafes.governance.roles import Action
from fivesafes.store.config import DataDir

MANIFEST = "manifest.json"
KEY_FOLDER = "keydir"
"""Where the key folder (the pseudonym key and the ledger's signing keys, which live beside it)
travels in the archive when ``FIVESAFES_KEY_FILE`` puts it outside the data directory."""
CONTROL_DUMP = "control.pgdump"
SQLITE_FILES = (SQLITE_FILE, LEDGER_FILE)
SKIPPED = (OPERATIONS_FOLDER,)
SKIPPED_SUFFIXES = (".lock", ".partial", "-journal", "-wal", "-shm")
"""SQLite's side files are folded into its backup copy; staging folders are never state."""


class BackupError(ValueError):
    """A backup or restore that cannot be done as asked; the message says why."""


@dataclass(frozen=True)
class BackupSummary:
    archive: Path
    files: int
    size: int
    archive_sha256: str
    ledger_size: int


@dataclass(frozen=True)
class RestoreSummary:
    root: Path
    files: int
    ledger_size: int
    archive_sha256: str


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if relative.parts[0] in SKIPPED or path.name.endswith(SKIPPED_SUFFIXES):
            continue
        if path.is_file() and not path.is_symlink():
            yield path


def _sqlite_copy(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database, WAL folded in (SQLite's backup API)."""
    with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    os.chmod(target, 0o600)


def _postgres_url(cp: ControlPlane) -> str:
    url = cp.engine.url.render_as_string(hide_password=False)
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _pg_dump(cp: ControlPlane, target: Path) -> None:
    done = subprocess.run(
        ["pg_dump", "--format=custom", "--no-owner", "--file", str(target), _postgres_url(cp)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise BackupError(f"pg_dump could not dump the control plane: {done.stderr.strip()}")


class _Counting:
    """Counts and hashes the bytes of the archive as they are written."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out, self.size, self.digest = out, 0, hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.out.write(data)
        self.size += len(data)
        self.digest.update(data)
        return len(data)


def backup(
    cp: ControlPlane, credential: str, data_dir: DataDir, key: bytes, archive: Path
) -> BackupSummary:
    """Seal the whole environment into ``archive`` (a data custodian; nothing under way)."""
    if archive.exists():
        raise BackupError(f"{archive} exists: a backup never overwrites another")
    if archive.resolve().is_relative_to(data_dir.root):
        raise BackupError("a backup inside the data directory it backs up would hold itself")
    with cp.transaction() as session:
        me = cp.authenticate(session, credential, Action.OPERATE)
    if cp.open_intents():
        raise BackupError("an operation is under way or left open: finish or recover it first")
    statement = "a full backup of the store, control plane, ledger, keys and released outputs"
    cp.log("environment", {"change": "backup", "statement": statement}, me.person_id)
    cp.ledger.checkpoint()
    ledger_size = cp.ledger.size
    manifest: dict[str, Any] = {
        "format": 1,
        "ledger_size": ledger_size,
        "checkpoint": cp.ledger.latest_checkpoint,
        "backend": cp.engine.dialect.name,
        "files": {},
    }
    archive.parent.mkdir(parents=True, exist_ok=True)
    partial = archive.with_name(archive.name + ".partial")
    with (
        tempfile.TemporaryDirectory(prefix="fivesafes-backup-") as scratch,
        partial.open("xb") as raw,
    ):
        os.chmod(partial, 0o600)
        counted = _Counting(raw)
        sealer = SealingWriter(counted, key)  # type: ignore[arg-type]
        with tarfile.open(fileobj=sealer, mode="w|") as tar:  # type: ignore[call-overload]

            def add(path: Path, name: str) -> None:
                manifest["files"][name] = {"sha256": file_sha256(path), "size": path.stat().st_size}
                tar.add(path, arcname=name, recursive=False)

            for path in _files(data_dir.root):
                name = path.relative_to(data_dir.root).as_posix()
                if name in SQLITE_FILES:
                    copy = Path(scratch) / path.name
                    _sqlite_copy(path, copy)
                    add(copy, name)
                else:
                    add(path, name)
            keys = data_dir.key_file.parent
            if not keys.is_relative_to(data_dir.root):
                for path in sorted(p for p in keys.iterdir() if p.is_file()):
                    add(path, f"{KEY_FOLDER}/{path.name}")
            if cp.engine.dialect.name == "postgresql":
                dump = Path(scratch) / CONTROL_DUMP
                _pg_dump(cp, dump)
                add(dump, CONTROL_DUMP)
            body = json.dumps(manifest, indent=2, sort_keys=True).encode("utf-8")
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mode = len(body), 0o600
            tar.addfile(info, io.BytesIO(body))
        sealer.close()
    partial.rename(archive)
    files = len(manifest["files"])
    return BackupSummary(archive, files, counted.size, counted.digest.hexdigest(), ledger_size)


def _within(root: Path, name: str) -> Path:
    target = (root / name).resolve()
    if not target.is_relative_to(root.resolve()) or name.startswith("/"):
        raise BackupError(f"the archive names a path outside the environment: {name}")
    return target


def restore(
    archive: Path, key: bytes, target: DataDir, *, url: str | None = None
) -> RestoreSummary:
    """Restore ``archive`` into the empty data directory ``target`` and verify it there.

    ``url`` is the PostgreSQL database to restore a PostgreSQL control plane into (it must be
    empty); a SQLite control plane comes back as the files it was."""
    root = target.root
    if root.exists() and any(root.iterdir()):
        raise BackupError(f"{root} is not empty: restore into a new, empty directory")
    staging = root.with_name(root.name + ".restoring")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(mode=0o700, parents=True)
    try:
        with tempfile.TemporaryFile() as plain:
            with archive.open("rb") as sealed:
                unseal(sealed, key, plain)
            plain.seek(0)
            with tarfile.open(fileobj=plain, mode="r:") as tar:
                members = tar.getmembers()
                names = [m.name for m in members]
                if not names or names[-1] != MANIFEST:
                    raise BackupError(f"{archive}: no manifest at its end; not a whole backup")
                for member in members:
                    if not member.isfile():
                        raise BackupError(f"{archive}: {member.name} is not a plain file")
                    _within(staging, member.name)
                tar.extractall(staging, filter="data")
        manifest = json.loads((staging / MANIFEST).read_text(encoding="utf-8"))
        _check_manifest(staging, manifest)
        (staging / MANIFEST).unlink()
        _place_keys(staging, target)
        if manifest["backend"] == "postgresql":
            _pg_restore(staging / CONTROL_DUMP, url)
        for path in staging.rglob("*"):
            os.chmod(path, 0o700 if path.is_dir() else 0o600)
    except (SealError, tarfile.TarError, OSError, KeyError, json.JSONDecodeError) as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise BackupError(f"{archive}: cannot restore it: {exc}") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if root.exists():
        root.rmdir()
    staging.rename(root)
    archive_sha256 = file_sha256(archive)
    with ControlPlane.open(target, url=url) as cp:
        report = cp.verify_ledger()
        if not report.ok or report.entries != manifest["ledger_size"]:
            raise BackupError(
                f"the restored ledger does not verify as the backup's ({report.entries} entries, "
                f"expected {manifest['ledger_size']}): {report.render()}"
            )
        statement = f"restored from a backup of {manifest['ledger_size']} ledger entries"
        subject = {"change": "restored", "statement": statement, "archive_sha256": archive_sha256}
        cp.log("environment", subject, "operator")
        size = cp.ledger.size
    return RestoreSummary(root, len(manifest["files"]), size, archive_sha256)


def _check_manifest(staging: Path, manifest: dict[str, Any]) -> None:
    listed = manifest["files"]
    found = {p.relative_to(staging).as_posix() for p in staging.rglob("*") if p.is_file()} - {
        MANIFEST
    }
    if found != set(listed):
        raise BackupError(
            f"the archive's files do not match its manifest: {sorted(found ^ set(listed))}"
        )
    for name, expected in listed.items():
        if file_sha256(staging / name) != expected["sha256"]:
            raise BackupError(f"{name} does not match the manifest's SHA-256")


def _place_keys(staging: Path, target: DataDir) -> None:
    """Put keys that travelled apart from the data directory where ``target`` keeps its keys
    (its own key folder, or inside it); a key already there is never overwritten."""
    carried = staging / KEY_FOLDER
    if not carried.is_dir():
        return
    keys = target.key_file.parent
    destination = (
        staging / keys.relative_to(target.root) if keys.is_relative_to(target.root) else keys
    )
    destination.mkdir(parents=True, exist_ok=True, mode=0o700)
    for path in sorted(carried.iterdir()):
        if (destination / path.name).exists():
            raise BackupError(f"{destination / path.name} exists: a key is never overwritten")
        shutil.move(path, destination / path.name)
        os.chmod(destination / path.name, 0o600)
    carried.rmdir()


def _pg_restore(dump: Path, url: str | None) -> None:
    if url is None:
        raise BackupError(
            "this backup's control plane is PostgreSQL: say which empty database to restore it into"
        )
    plain = url.replace("postgresql+psycopg://", "postgresql://", 1)
    done = subprocess.run(
        ["pg_restore", "--no-owner", "--exit-on-error", "--dbname", plain, str(dump)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise BackupError(f"pg_restore could not restore the control plane: {done.stderr.strip()}")
    dump.unlink()
