"""Make the population summary shipped for dummy data: the synthetic population's.

Generates a synthetic population (``fivesafes synth``'s generator, fixed seed), loads it
into a throwaway store as ``fivesafes load`` would, and runs
:func:`fivesafes.query.published.summarise` on it -- what an environment runs on its own
store to publish its summary -- writing ``src/fivesafes/query/published_summary.json``.

    .venv/bin/python tools/publish_summary.py                  # 20,000 patients, seed 1
    .venv/bin/python tools/publish_summary.py --patients 5000 --out /tmp/summary.json
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import date
from pathlib import Path

from fivesafes.query.published import SUMMARY_FILE, summarise
from fivesafes.store.config import DataDir
from fivesafes.store.database import Store
from fivesafes.store.load import load
from fivesafes.synth import generate

TODAY = date(2025, 12, 31)
"""The load's today: after every synthetic record (the generator's study ends in 2025)."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=SUMMARY_FILE)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        generate(root / "synth", args.patients, args.seed)
        data_dir = DataDir(root / "data", root / "keys" / "pseudonym.key")
        with Store.open(data_dir) as store:
            load(store, [root / "synth"], today=TODAY)
            source = (
                f"the synthetic population of fivesafes synth ({args.patients:,} patients, "
                f"seed {args.seed})"
            )
            summary = summarise(store.con, source)
    args.out.write_text(summary.to_json(), encoding="utf-8")
    print(f"wrote {args.out}: {sum(len(c) for c in summary.codes.values())} codes")


if __name__ == "__main__":
    main()
