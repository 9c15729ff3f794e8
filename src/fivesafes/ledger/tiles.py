"""Publishing the ledger as a C2SP tlog-tiles log, so existing verifiers and witnesses follow it.

https://c2sp.org/tlog-tiles serves a transparency log as static files under a URL prefix (for
this environment ``https://<public name>/ledger/``, whose scheme-less form is the log's origin):

    checkpoint                  the latest signed checkpoint (mutable)
    tile/<L>/<N>[.p/<W>]        Merkle tree tiles (immutable)
    tile/entries/<N>[.p/<W>]    entry bundles (immutable)

A tile at level ``L`` holds 256 consecutive hashes of perfect subtrees of ``256**L`` leaves: at
level 0 the leaf hashes, above that the hash of each full tile below. ``<N>`` is written in
3-digit groups, all but the last prefixed with ``x`` (1234067 is ``x001/x234/067``). The
rightmost tiles of a tree are *partial*: ``.p/<W>`` with ``W`` from 1 to 255 hashes; a tree of
size ``s`` has at level ``L`` a partial tile of width ``floor(s / 256**L) mod 256`` if that is
not 0. An entry bundle holds the entries of the matching level-0 tile, each as a big-endian
16-bit length and the entry's bytes (so an entry is at most 65,535 bytes; the ledger refuses
longer ones when they are appended).

The log must serve the partial tiles of every tree size it signed a checkpoint for, and may drop
one once its full tile exists; so publishing writes every full tile and bundle, the partial ones
of the current size, and those of each earlier checkpoint whose full tile is not complete yet.
Files already there are immutable and left alone, so publishing again after more appends writes
only what is new; the checkpoint is replaced last, atomically, so a client that reads it always
finds the tiles it needs. A directory that holds another log's checkpoint, or one this log never
signed, is refused rather than overwritten.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fivesafes.ledger.note import Checkpoint, NoteError, open_checkpoint

if TYPE_CHECKING:
    from fivesafes.ledger.log import Ledger
    from fivesafes.ledger.storage import StoredCheckpoint

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
HASH_SIZE = 32


@dataclass(frozen=True)
class Tile:
    """One tile: its level (None for an entry bundle), its index and its width in hashes."""

    level: int | None
    index: int
    width: int = TILE_WIDTH

    @property
    def path(self) -> str:
        """The tile's path under the log's prefix, exactly as tlog-tiles spells it."""
        n, groups = self.index, [f"{self.index % 1000:03d}"]
        while n >= 1000:
            n //= 1000
            groups.append(f"x{n % 1000:03d}")
        level = "entries" if self.level is None else str(self.level)
        partial = "" if self.width == TILE_WIDTH else f".p/{self.width}"
        return f"tile/{level}/{'/'.join(reversed(groups))}{partial}"


def tiles_for(size: int) -> Iterator[Tile]:
    """Every hash tile of a tree of ``size`` leaves: full ones, then the partial one, per level."""
    level, span = 0, 1
    while size >= span:
        count = size // span  # hashes at this level
        for index in range(count // TILE_WIDTH):
            yield Tile(level, index)
        if count % TILE_WIDTH:
            yield Tile(level, count // TILE_WIDTH, count % TILE_WIDTH)
        level, span = level + 1, span * TILE_WIDTH


def partial_tiles_for(size: int) -> Iterator[Tile]:
    """The partial tiles of a tree of ``size`` leaves (those a checkpoint of that size needs)."""
    return (tile for tile in tiles_for(size) if tile.width != TILE_WIDTH)


def bundle(entries: Iterable[bytes]) -> bytes:
    """An entry bundle: each entry as a big-endian uint16 length and its bytes."""
    return b"".join(len(entry).to_bytes(2, "big") + entry for entry in entries)


@dataclass(frozen=True)
class TilesSummary:
    """What a publication wrote."""

    directory: Path
    tree_size: int
    written: int
    kept: int

    def render(self) -> str:
        return (
            f"tlog-tiles for {self.tree_size} entries in {self.directory}: {self.written} files "
            f"written, {self.kept} already there; serve the folder as the log's URL prefix"
        )


def signed_checkpoints(ledger: Ledger, doing: str) -> list[StoredCheckpoint]:
    """Every checkpoint of ``ledger``, refusing (for ``doing``) unless the last covers it all."""
    checkpoints = ledger.checkpoints()
    if not checkpoints or checkpoints[-1].size != ledger.size:
        raise ValueError(f"sign a checkpoint covering every entry before {doing}")
    return checkpoints


def publish_tiles(ledger: Ledger, directory: Path) -> TilesSummary:
    """Write ``ledger``'s checkpoint, tiles and entry bundles under ``directory``."""
    checkpoints = signed_checkpoints(ledger, "publishing")
    latest = checkpoints[-1]
    directory.mkdir(parents=True, exist_ok=True)
    _check_published(ledger, directory / "checkpoint")
    size, tree = latest.size, ledger.tree
    wanted = {tile.path: tile for tile in tiles_for(size)}
    for cp in checkpoints:
        for tile in partial_tiles_for(cp.size):
            assert tile.level is not None
            if (tile.index + 1) * TILE_WIDTH ** (tile.level + 1) > size:  # no full tile yet
                wanted.setdefault(tile.path, tile)
    written = kept = 0
    for tile in wanted.values():
        assert tile.level is not None
        target = directory / tile.path
        if target.exists():
            kept += 1
            continue
        height = TILE_HEIGHT * tile.level
        _write(target, tree.subtree_hashes(height, tile.index * TILE_WIDTH, tile.width))
        written += 1
    missing: dict[int, list[Tile]] = {}
    for tile in wanted.values():
        if tile.level == 0:  # the entry bundle beside each level-0 tile: same index and width
            entries_tile = Tile(None, tile.index, tile.width)
            if (directory / entries_tile.path).exists():
                kept += 1
            else:
                missing.setdefault(tile.index, []).append(entries_tile)
    for index, entries in _bundle_entries(ledger, missing):
        for tile in missing[index]:
            _write(directory / tile.path, bundle(entries[: tile.width]))
            written += 1
    _write(directory / "checkpoint", latest.note.encode(), replace=True)
    return TilesSummary(directory, size, written + 1, kept)


def _bundle_entries(
    ledger: Ledger, missing: dict[int, list[Tile]]
) -> Iterator[tuple[int, list[bytes]]]:
    """The entries of each bundle index in ``missing``, read in one pass from the first."""
    if not missing:
        return
    first = min(missing) * TILE_WIDTH
    current, entries = first // TILE_WIDTH, list[bytes]()
    for position, entry in enumerate(ledger.entries(first), first):
        index = position // TILE_WIDTH
        if index != current:
            if current in missing:
                yield current, entries
            current, entries = index, []
        entries.append(entry)
    if current in missing:
        yield current, entries


def _check_published(ledger: Ledger, path: Path) -> None:
    """Refuse to publish over another log, or over a checkpoint this log's tree does not give."""
    if not path.exists():
        return
    try:
        head = open_checkpoint(path.read_text(encoding="utf-8"), ledger.keys)
    except (NoteError, UnicodeDecodeError) as exc:
        message = f"{path} is not a checkpoint of this ledger ({exc}); not overwriting"
        raise ValueError(message) from None
    if head.origin != ledger.origin:
        raise ValueError(f"{path} is the checkpoint of log {head.origin!r}; not overwriting")
    if (
        head.size > ledger.size
        or Checkpoint(head.origin, head.size, ledger.tree.root(head.size)) != head
    ):
        raise ValueError(f"{path} is not consistent with this ledger; not overwriting")


def _write(target: Path, data: bytes, *, replace: bool = False) -> None:
    """Write a file whole: to a temporary name first, then renamed into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.tmp")
    partial.write_bytes(data)
    if replace:
        os.replace(partial, target)
    else:
        os.rename(partial, target)
