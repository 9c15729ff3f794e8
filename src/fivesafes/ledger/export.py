"""Exporting the ledger as static files that anyone can serve and check without our code.

Layout of the export directory (all text, all checkable with SHA-256 and Ed25519 alone)::

    VERIFY.md                 how to check everything below, in words
    keys.txt                  every signing key as a C2SP vkey, oldest first
    entries.ndjson            line i is entry i, byte for byte (its leaf hash is over those bytes)
    checkpoint                the latest signed checkpoint
    checkpoints/<size>        every signed checkpoint, named by its tree size
    consistency/<a>-<b>.json  consistency proof between each pair of successive checkpoints
    proofs/<i // 1000>/<i>.json  inclusion proof of entry i in the latest checkpoint
    tile/...                  the same log as C2SP tlog-tiles (see :mod:`.tiles`)

So the export directory is also a tlog-tiles log: serve it at the URL its origin names and any
tlog client or witness can follow it.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from fivesafes.ledger.tiles import publish_tiles, signed_checkpoints

if TYPE_CHECKING:
    from fivesafes.ledger.log import Ledger

PROOFS_PER_DIRECTORY = 1000


@dataclass(frozen=True)
class ExportSummary:
    """What was written where."""

    directory: Path
    entries: int
    checkpoints: int
    tree_size: int

    def render(self) -> str:
        return (
            f"exported {self.entries} entries, {self.checkpoints} checkpoints and "
            f"{self.entries} inclusion proofs (tree size {self.tree_size}) to {self.directory}, "
            "with the same log as C2SP tlog-tiles (checkpoint, tile/)\n"
            f"see {self.directory / 'VERIFY.md'} for how anyone can check them"
        )


def proof_path(directory: Path, index: int) -> Path:
    """Where the inclusion proof of entry ``index`` lives in an export."""
    return directory / "proofs" / str(index // PROOFS_PER_DIRECTORY) / f"{index}.json"


def export_ledger(ledger: Ledger, directory: Path) -> ExportSummary:
    """Write ``ledger`` to ``directory``; its latest checkpoint must cover every entry."""
    checkpoints = signed_checkpoints(ledger, "exporting")
    latest = checkpoints[-1]
    directory.mkdir(parents=True, exist_ok=True)
    guide = resources.files("fivesafes.ledger").joinpath("VERIFY.md").read_text(encoding="utf-8")
    (directory / "VERIFY.md").write_text(guide, encoding="utf-8")
    (directory / "keys.txt").write_text("".join(f"{v.vkey}\n" for v in ledger.keys))
    with (directory / "entries.ndjson").open("wb") as out:
        for entry in ledger.entries():
            out.write(entry + b"\n")
    (directory / "checkpoints").mkdir(exist_ok=True)
    for cp in checkpoints:
        (directory / "checkpoints" / str(cp.size)).write_text(cp.note, encoding="utf-8")
    (directory / "consistency").mkdir(exist_ok=True)
    for old, new in pairwise(checkpoints):
        proof = ledger.consistency(old.size, new.size)
        target = directory / "consistency" / f"{old.size}-{new.size}.json"
        target.write_bytes(orjson.dumps(proof.to_dict()))
    for index in range(latest.size):
        target = proof_path(directory, index)
        if index % PROOFS_PER_DIRECTORY == 0:
            target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(orjson.dumps(ledger.inclusion(index, latest.size).to_dict()))
    publish_tiles(ledger, directory)
    return ExportSummary(directory, ledger.size, len(checkpoints), latest.size)
