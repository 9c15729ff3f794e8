"""The ledger published as C2SP tlog-tiles, checked against the spec's words and an RFC reference.

Hash tiles are recomputed here from the entries with ``ledger_reference.mth`` (straight from RFC
9162's definition, sharing nothing with the tree code); paths and widths come from the examples
in https://c2sp.org/tlog-tiles. ``test_ledger_go.py`` has Go's tlog code read the same files.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from ledger_reference import mth
from ledger_support import job, login, open_ledger

from fivesafes.ledger import Ledger
from fivesafes.ledger.note import open_checkpoint
from fivesafes.ledger.tiles import Tile, partial_tiles_for, tiles_for


def test_tile_paths_are_spelled_as_the_spec_says() -> None:
    assert Tile(0, 1234067).path == "tile/0/x001/x234/067"
    assert Tile(3, 1234067, 1).path == "tile/3/x001/x234/067.p/1"
    assert Tile(0, 0).path == "tile/0/000"
    assert Tile(1, 999).path == "tile/1/999"
    assert Tile(1, 1000).path == "tile/1/x001/000"
    assert Tile(None, 5, 112).path == "tile/entries/005.p/112"


def test_a_tree_of_70000_has_the_tiles_the_spec_lists() -> None:
    """'273 full level 0 tiles, one partial level 0 tile of width 112, one full level 1 tile,
    one partial level 1 tile of width 17, and one partial level 2 tile of width 1.'"""
    found = list(tiles_for(70_000))
    full0 = [t for t in found if t.level == 0 and t.width == 256]
    assert len(full0) == 273
    partial = {(t.level, t.width) for t in found if t.width != 256}
    assert partial == {(0, 112), (1, 17), (2, 1)}
    assert [t for t in found if t.level == 1 and t.width == 256] == [Tile(1, 0)]
    assert len(found) == 273 + 1 + 1 + 1 + 1


def test_a_tree_of_256_has_a_full_tile_and_a_level_1_partial() -> None:
    assert list(tiles_for(256)) == [Tile(0, 0), Tile(1, 0, 1)]
    assert list(partial_tiles_for(256)) == [Tile(1, 0, 1)]
    assert list(tiles_for(0)) == []


def read_bundle(data: bytes) -> list[bytes]:
    entries = []
    while data:
        size = int.from_bytes(data[:2], "big")
        entries.append(data[2 : 2 + size])
        data = data[2 + size :]
    return entries


def grown(tmp_path: Path, size: int, every: int = 100) -> Ledger:
    """A ledger of ``size`` entries (entry 0 is its key), a checkpoint every ``every``."""
    ledger = open_ledger(tmp_path / "log", checkpoint_every=every)
    ledger.append_many(("login", "ann", login(f"t{i}")) for i in range(size - 2))
    if size > 1:
        ledger.append("job", job("J-1"))
    return ledger


@pytest.mark.parametrize("size", [1, 2, 255, 256, 257, 600, 1100])
def test_tiles_and_bundles_hold_exactly_the_log(tmp_path: Path, size: int) -> None:
    ledger = grown(tmp_path, size)
    assert ledger.size == size
    out = tmp_path / "www"
    ledger.publish(out)
    entries = tuple(ledger.entries())
    head = open_checkpoint((out / "checkpoint").read_text(), ledger.keys)
    assert (head.size, head.root_hash) == (size, mth(entries))
    for tile in tiles_for(size):
        assert tile.level is not None
        data = (out / tile.path).read_bytes()
        assert len(data) == 32 * tile.width
        span = 256**tile.level
        for i in range(tile.width):
            start = (tile.index * 256 + i) * span
            assert data[32 * i : 32 * (i + 1)] == mth(entries[start : start + span])
        if tile.level == 0:
            bundle = (out / Tile(None, tile.index, tile.width).path).read_bytes()
            first = tile.index * 256
            assert read_bundle(bundle) == list(entries[first : first + tile.width])
    assert ledger.verify().ok


def test_every_checkpoint_size_keeps_its_partial_tiles_until_the_full_ones_exist(
    tmp_path: Path,
) -> None:
    ledger = grown(tmp_path, 700, every=60)
    out = tmp_path / "www"
    ledger.publish(out)
    size = ledger.size
    for cp in ledger.checkpoints():
        for tile in partial_tiles_for(cp.size):
            assert tile.level is not None
            full_now = (tile.index + 1) * 256 ** (tile.level + 1) <= size
            assert (out / tile.path).exists() or full_now, (cp.size, tile.path)
            assert (out / Tile(tile.level, tile.index).path).exists() or not full_now


def test_publishing_again_writes_only_what_is_new(tmp_path: Path) -> None:
    ledger = grown(tmp_path, 300)
    out = tmp_path / "www"
    ledger.publish(out)
    first = out / "tile/0/000"
    before = (first.stat().st_ino, first.stat().st_mtime_ns)
    again = ledger.publish(out)
    assert again.written == 1  # the checkpoint only
    ledger.append_many(("login", "ann", login(f"u{i}")) for i in range(300))
    later = ledger.publish(out)
    assert later.written > 1 and later.kept >= 2
    assert (first.stat().st_ino, first.stat().st_mtime_ns) == before
    assert not [p for p in out.rglob(".*.tmp")]  # every file was renamed into place


def test_it_will_not_publish_over_another_log(tmp_path: Path) -> None:
    out = tmp_path / "www"
    grown(tmp_path / "a", 10).publish(out)
    other = grown(tmp_path / "b", 10)
    with pytest.raises(ValueError, match="not overwriting"):
        other.publish(out)
    (out / "checkpoint").write_text("not a checkpoint\n")
    with pytest.raises(ValueError, match="not overwriting"):
        other.publish(out)


def test_an_entry_too_long_for_a_bundle_is_refused(tmp_path: Path) -> None:
    ledger = open_ledger(tmp_path)
    files = [{"file": f"output/{i:05d}-table.csv", "sha256": "ab" * 32} for i in range(800)]
    with pytest.raises(ValueError, match="65,535 bytes"):
        ledger.append("load", {"files": files})
    assert ledger.size == 1
