"""Benchmark disclosure checking beside ACRO (SACRO's checker) on the same data.

For each shape, one million input records are counted into a table and checked for small
numbers — by fivesafes (DuckDB count, then small numbers, small totals and audited secondary
suppression) and by ACRO (``ACRO(suppress=True).crosstab``, pandas underneath: threshold,
zeros, dominance, no secondary suppression) — and the two times printed with their ratio and
the cells each hid. ACRO is a bench-only dependency: ``.venv/bin/pip install acro``.

    .venv/bin/python bench/bench_disclosure.py
    .venv/bin/python bench/bench_disclosure.py --rows 200000 --repeats 3
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import time
import warnings
from collections.abc import Callable

import numpy as np
import pyarrow as pa

from fivesafes.disclosure import check_frequency, crosstab, profile

SHAPES = ((10, 10), (100, 50))


def records(rows: int, shape: tuple[int, int], seed: int = 7) -> pa.Table:
    """Skewed categories (a few rare ones) so that some cells fall under the threshold."""
    rng = np.random.default_rng(seed)
    weights = [rng.dirichlet(np.full(n, 0.6)) for n in shape]
    picks = [rng.choice(n, rows, p=w) for n, w in zip(shape, weights, strict=True)]
    return pa.table({"region": picks[0].astype("U4"), "group": picks[1].astype("U4")})


def best_of(repeats: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def ours(data: pa.Table) -> object:
    table = crosstab(data, "region", "group")
    report, _ = check_frequency(table, profile("default"), "bench")
    return report


def acro_check(frame: object) -> object:
    import acro

    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas SettingWithCopyWarning from inside acro
        session = acro.ACRO(suppress=True)
        return session.crosstab(frame["region"], frame["group"])  # type: ignore[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    logging.disable(logging.INFO)
    print(
        f"{'table':<10}{'input rows':>12}{'fivesafes':>12}{'acro':>12}{'acro/ours':>11}"
        "  hidden (ours / acro)"
    )
    for shape in SHAPES:
        data = records(args.rows, shape)
        frame = data.to_pandas()
        mine = best_of(args.repeats, lambda d=data: ours(d))
        theirs = best_of(args.repeats, lambda f=frame: acro_check(f))
        report = ours(data)
        hidden = int(report.safe.hidden.sum()) if report.safe is not None else 0
        acro_hidden = int(acro_check(frame).isna().to_numpy().sum())
        label = f"{shape[0]}x{shape[1]}"
        print(
            f"{label:<10}{args.rows:>12,}{mine:>11.3f}s{theirs:>11.3f}s{theirs / mine:>10.1f}x"
            f"  {hidden} / {acro_hidden} cells"
        )


if __name__ == "__main__":
    main()
