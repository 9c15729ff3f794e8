"""Same seed, same bytes; another seed, other data."""

from __future__ import annotations

from pathlib import Path

from fivesafes.synth import generate


def _contents(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    first = generate(tmp_path / "a", 300, seed=42, faults=0.05)
    second = generate(tmp_path / "b", 300, seed=42, faults=0.05)
    a, b = _contents(tmp_path / "a"), _contents(tmp_path / "b")
    assert a.keys() == b.keys()
    assert "_faults.json" in a
    for name in a:
        assert a[name] == b[name], f"{name} differs between two runs with the same seed"
    assert first.files == second.files


def test_another_seed_gives_other_data(tmp_path: Path) -> None:
    generate(tmp_path / "a", 300, seed=1)
    generate(tmp_path / "b", 300, seed=2)
    a, b = _contents(tmp_path / "a"), _contents(tmp_path / "b")
    for name in ("Patient.ndjson", "Observation.ndjson", "areas.csv", "workforce.csv"):
        assert a[name] != b[name], f"{name} is the same for seeds 1 and 2"


def test_regenerating_without_faults_removes_a_stale_fault_list(tmp_path: Path) -> None:
    generate(tmp_path, 50, seed=3, faults=0.1)
    assert (tmp_path / "_faults.json").exists()
    generate(tmp_path, 50, seed=3)
    assert not (tmp_path / "_faults.json").exists()


def test_same_bytes_whatever_the_number_of_workers(tmp_path: Path) -> None:
    """Chunks made side by side on two processes are the chunks one process makes."""
    one = generate(tmp_path / "one", 12_500, seed=7, faults=0.01, workers=1)
    two = generate(tmp_path / "two", 12_500, seed=7, faults=0.01, workers=2)
    a, b = _contents(tmp_path / "one"), _contents(tmp_path / "two")
    assert a.keys() == b.keys()
    # social care rows are made and spoiled chunk by chunk too, their fault lines counted
    # across chunks as the parent writes them
    assert {"social_care_events.csv", "_social_care_faults.json"} <= a.keys()
    for name in a:
        assert a[name] == b[name], f"{name} differs between one worker and two"
    assert one.files == two.files
