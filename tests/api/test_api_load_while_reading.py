"""A load running while the API is read: no request fails, and reads after the load see the
new data. The load is ``fivesafes load`` in its own process, as an operator runs it; the API
keeps reading the version of the store it has open until the load's new version replaces it.
This is the smaller version for the suite (a few thousand patients); ``bench/bench_api.py
--load-while-reading`` runs it at 100,000."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from api_support import World, serving
from readload import ReadLoad

PATIENTS = int(os.environ.get("FIVESAFES_API_LOAD_PATIENTS", "1000"))
BIN = Path(sys.executable).parent


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "fivesafes"), *args], env=env, capture_output=True, text=True, check=False
    )


@pytest.mark.slow
def test_a_load_while_the_api_is_read(fresh_world: World, tmp_path: Path) -> None:
    world = fresh_world
    env = {**os.environ, "FIVESAFES_DATA_DIR": str(world.data_dir.root)}
    made = cli(
        "synth", "--patients", str(PATIENTS), "--seed", "7", "--out", str(tmp_path / "s"), env=env
    )
    assert made.returncode == 0, made.stderr
    paths = [
        "/fhir/Patient/p0",
        f"/fhir/Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|{world.nhs('p2')}",
        "/fhir/Observation?patient=p3&_count=100",
    ]
    with serving(world.data_dir) as running:
        with ReadLoad(running.base_url, world.tokens["dana"], paths, clients=3) as reads:
            reads.wait_for(20)
            before = sum(reads.statuses.values())
            loaded = cli("load", str(tmp_path / "s"), "--token", world.tokens["cara"], env=env)
            assert loaded.returncode == 0, loaded.stderr
            during = sum(reads.statuses.values()) - before
            reads.wait_for(sum(reads.statuses.values()) + 20)
        assert reads.failures == []
        assert during > 0  # the API answered while the load ran
        headers = {
            "Authorization": f"Bearer {world.tokens['dana']}",
            "X-Break-Glass-Reason": "checking the load",
        }
        new = httpx.get(f"{running.fhir}/Patient/pat-1", headers=headers)
        assert new.status_code == 200  # the load's data, read after it
        count = httpx.get(
            f"{running.base_url}/directory/Organization", params={"_summary": "count"}
        )
        assert count.json()["total"] > 3
