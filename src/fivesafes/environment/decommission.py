"""Decommissioning an environment: destroy its data and keys, keep its public ledger verifiable
(SATRE 2.2.06: removing infrastructure no longer needed; 1.4.04 and 3.1.09: deletion at the end).

In this order, so that a kill at any point leaves something true and a second run finishes:

1. a data custodian asks, naming the data directory to confirm, with nothing under way;
2. a final ``environment`` entry, ``decommissioned``, is appended and covered by a signed
   checkpoint: the log's last word, saying what is about to be destroyed;
3. the public ledger is copied out (the static export anyone can check with SHA-256 and
   Ed25519 alone, and the ledger file itself, which ``fivesafes ledger verify`` reads);
4. every file of the environment is overwritten with zeros and removed — the store, the control
   plane, the workspaces, the released outputs and their history, the settings and the keys (the
   pseudonym key wherever it lives, the ledger's signing keys) — and on PostgreSQL every table
   of the control plane is dropped.

Overwriting is best effort: on SSDs and copy-on-write filesystems old blocks may survive, which
is why the data directory belongs on an encrypted volume (``fivesafes doctor`` checks) whose key
the operator then destroys, and why backups are sealed with a key of their own, which the
operator destroys too (``docs/running-an-environment.md``, "Decommissioning").
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, inspect, text

from fivesafes.environment.backup import BackupError
from fivesafes.governance import ControlPlane
from fivesafes.governance.control import LEDGER_FILE
from fivesafes.governance.roles import Action
from fivesafes.store.config import DataDir

FINAL_STATEMENT = (
    "this environment is decommissioned: its store, control plane, workspaces, released outputs, "
    "settings and keys are destroyed after this entry, which is the last"
)
PUBLIC_EXPORT = "export"


@dataclass(frozen=True)
class Decommissioned:
    public_copy: Path
    final_entry: int
    files_destroyed: int
    bytes_destroyed: int


def shred(path: Path) -> int:
    """Overwrite a file with zeros, flush it to the device, remove it; its size."""
    size = path.stat().st_size
    with path.open("r+b") as handle:
        left = size
        while left:
            block = min(left, 1 << 20)
            handle.write(b"\0" * block)
            left -= block
        handle.flush()
        os.fsync(handle.fileno())
    path.unlink()
    return size


def _copy_ledger(cp: ControlPlane, data_dir: DataDir, public: Path) -> None:
    cp.ledger.export(public / PUBLIC_EXPORT)
    source = data_dir.root / LEDGER_FILE
    if cp.engine.dialect.name == "sqlite" and source.exists():
        with (
            sqlite3.connect(f"file:{source}?mode=ro", uri=True) as src,
            sqlite3.connect(public / LEDGER_FILE) as dst,
        ):
            src.backup(dst)


def _drop_control_plane(url: str) -> None:
    """Drop every table the control plane holds in its PostgreSQL database."""
    engine = create_engine(url)
    try:
        names = inspect(engine).get_table_names()
        with engine.begin() as connection:
            for name in names:
                connection.execute(text(f'DROP TABLE IF EXISTS "{name}" CASCADE'))
    finally:
        engine.dispose()


def decommission(
    cp: ControlPlane, credential: str, data_dir: DataDir, public: Path, confirm: str
) -> Decommissioned:
    """Destroy the environment at ``data_dir``, leaving its public ledger in ``public``.

    ``confirm`` must be the data directory's path, typed out: this cannot be undone."""
    root = data_dir.root
    if Path(confirm).resolve() != root:
        raise BackupError(f"to decommission, confirm with the data directory's path: {root}")
    public = public.resolve()
    if public.is_relative_to(root):
        raise BackupError("the public copy of the ledger must be outside the data directory")
    if public.exists() and any(public.iterdir()):
        raise BackupError(f"{public} is not empty")
    with cp.transaction() as session:
        me = cp.authenticate(session, credential, Action.OPERATE)
    if cp.open_intents():
        raise BackupError("an operation is under way or left open: finish or recover it first")
    receipt = cp.log(
        "environment", {"change": "decommissioned", "statement": FINAL_STATEMENT}, me.person_id
    )
    cp.ledger.checkpoint()
    public.mkdir(parents=True, exist_ok=True)
    _copy_ledger(cp, data_dir, public)
    postgres = cp.engine.dialect.name == "postgresql"
    url = cp.engine.url.render_as_string(hide_password=False)
    cp.close()
    if postgres:
        _drop_control_plane(url)
    files = sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())
    if data_dir.key_file.exists() and not data_dir.key_file.is_relative_to(root):
        files.append(data_dir.key_file)
    destroyed = sum(shred(path) for path in files)
    shutil.rmtree(root)
    return Decommissioned(public, receipt.index, len(files), destroyed)
