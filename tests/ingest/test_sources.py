"""Discovery never skips input without a word: it finds every data file, lists what it leaves
out on purpose, and refuses, naming the path, whatever it cannot read as given."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fivesafes.ingest.sources import SHOWN_PROBLEMS, UnreadableSource, discover, survey


def touch(path: Path, text: str = "{}\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def refusal(paths: list[Path]) -> UnreadableSource:
    with pytest.raises(UnreadableSource) as refused:
        survey(paths)
    return refused.value


def test_every_data_file_in_a_stable_order_and_the_rest_listed(tmp_path: Path) -> None:
    files = [
        touch(tmp_path / "b.ndjson"),
        touch(tmp_path / "c" / "x.JSON"),
        touch(tmp_path / "c" / "y.jsonl"),
        touch(tmp_path / "d.csv", "a\n"),
    ]
    notes = [
        touch(tmp_path / "_faults.json"),
        touch(tmp_path / ".hidden" / "z.ndjson"),
        touch(tmp_path / "readme.txt"),
        touch(tmp_path / "c" / "Patient.ndjson.gz"),
    ]
    found = survey([tmp_path])
    assert list(found.files) == files
    assert sorted(found.ignored) == sorted([notes[0], tmp_path / ".hidden", *notes[2:]])


def test_a_link_inside_the_folder_is_followed_once(tmp_path: Path) -> None:
    data = touch(tmp_path / "real" / "a.ndjson")
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    (tmp_path / "same.ndjson").symlink_to(data)
    (tmp_path / "real" / "loop").symlink_to(tmp_path)
    assert discover([tmp_path]) == [tmp_path / "alias" / "a.ndjson"]


def test_a_link_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    outside = touch(tmp_path / "elsewhere" / "keys.ndjson")
    folder = tmp_path / "drop"
    touch(folder / "a.ndjson")
    (folder / "more").symlink_to(outside.parent)
    (folder / "one.ndjson").symlink_to(outside)
    problems = {(p.path, p.reason.split(",")[0]) for p in refusal([folder]).problems}
    assert problems == {
        (str(folder / "more"), f"it is a symbolic link to {outside.parent}"),
        (str(folder / "one.ndjson"), f"it is a symbolic link to {outside}"),
    }


def test_a_link_named_on_the_command_line_is_followed(tmp_path: Path) -> None:
    outside = touch(tmp_path / "elsewhere" / "a.ndjson")
    (tmp_path / "named").symlink_to(outside.parent)
    assert discover([tmp_path / "named"]) == [tmp_path / "named" / "a.ndjson"]


def test_broken_links_missing_paths_and_pipes_are_refused(tmp_path: Path) -> None:
    (tmp_path / "gone.ndjson").symlink_to(tmp_path / "nowhere.ndjson")
    os.mkfifo(tmp_path / "pipe.ndjson")
    refused = refusal([tmp_path, tmp_path / "absent.csv"])
    assert {p.path: p.reason for p in refused.problems} == {
        str(tmp_path / "gone.ndjson"): (
            f"it is a symbolic link to {str(tmp_path / 'nowhere.ndjson')!r}, which does not exist"
        ),
        str(tmp_path / "pipe.ndjson"): "it is not a regular file (a pipe, socket or device)",
        str(tmp_path / "absent.csv"): "no such file or folder",
    }


def test_a_named_file_that_is_not_data_is_refused(tmp_path: Path) -> None:
    gz = touch(tmp_path / "Patient.ndjson.gz")
    [problem] = refusal([gz]).problems
    assert "compressed files must be decompressed first" in problem.reason


def test_a_name_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    name = os.fsdecode(b"caf\xe9.ndjson")
    touch(tmp_path / name)
    [problem] = refusal([tmp_path]).problems
    assert problem.reason == "its name is not valid UTF-8; rename it"


def test_a_refusal_names_a_few_problems_and_counts_the_rest(tmp_path: Path) -> None:
    for i in range(SHOWN_PROBLEMS + 3):
        (tmp_path / f"{i}.ndjson").symlink_to(tmp_path / f"missing-{i}")
    message = str(refusal([tmp_path]))
    assert message.startswith(f"cannot read {tmp_path / '0.ndjson'}: it is a symbolic link")
    assert message.endswith("; and 3 more")
