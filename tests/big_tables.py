"""A table too sparse to check, made the way a careless or hostile analyst would write it:
420,000 rows under the 5 MiB release cap, each its own pair of categories (a grid of
420,000 × 420,000 cells)."""

from __future__ import annotations

from pathlib import Path

ROWS = 420_000
DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def code(i: int) -> str:
    """Four base-36 digits: short enough that 420,000 rows stay under the cap."""
    return "".join(DIGITS[(i // 36**k) % 36] for k in (3, 2, 1, 0))


def sparse_pairs(path: Path) -> Path:
    lines = [f"{code(i)},{code((i * 7919) % 36**4)},{i % 10}" for i in range(ROWS)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("a,b,n\n" + "\n".join(lines) + "\n")
    return path
