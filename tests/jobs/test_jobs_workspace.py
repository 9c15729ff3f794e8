"""Carrying outputs out of a workspace and inputs into it, attacked as a hostile analyst would.

The workspace is the one place a job's code can write, and the environment reads it afterwards
with its own rights: whatever a name in it leads to (a link, a hard link, a pipe, a device, a
folder swapped for a link while it is being read) must never reach a file outside it, and no
file of the environment's may ever be moved away. Each attack is aimed at the environment's own
secrets: its pseudonym key and its store.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path, PurePosixPath

import pytest
from jobs_support import OPEN_CUT, needs_sandbox, run, write_project

from fivesafes.jobs import (
    Action,
    Backend,
    Output,
    Privacy,
    RunOptions,
    load_project,
    run_project,
)
from fivesafes.jobs.process import Limits, run_limited
from fivesafes.jobs.sandbox import sandbox_argv
from fivesafes.jobs.workspace import WorkspaceError, code_files, stage
from fivesafes.store.config import DataDir


def untouched(data: DataDir) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in (data.key_file, data.database)}


LOOT = """
version: 1
actions:
  loot:
    run: python loot.py
    outputs:
      moderately_sensitive:
        key: loot/pseudonym.key
"""


def sandboxed(data: DataDir) -> dict[str, object]:
    return {
        "backend": Backend.STORE,
        "sandbox": True,
        "data_dir": data,
        "force": True,
        "cut": OPEN_CUT,
    }


@needs_sandbox
def test_an_output_folder_swapped_for_a_link_carries_nothing_out(
    tmp_path: Path, environment: DataDir
) -> None:
    """Hole 13 as found: the folder of a declared output becomes a link to the host's keys."""
    before = untouched(environment)
    keys = environment.key_file.parent
    script = f"import os\nos.rmdir('loot')\nos.symlink({str(keys)!r}, 'loot')\n"
    study = write_project(tmp_path / "study", LOOT, {"loot.py": script})
    result = run(study, **sandboxed(environment))["loot"]
    assert result.status == "failed"
    assert "loot" in str(result.reason) and "symbolic link" in str(result.reason)
    assert untouched(environment) == before
    assert not (study / "loot").exists()


def test_a_link_to_a_folder_outside_is_refused_unsandboxed_too(
    tmp_path: Path, environment: DataDir
) -> None:
    """Collection is the same code with or without the sandbox: the link is never followed."""
    before = untouched(environment)
    for target in (environment.key_file.parent, environment.root):
        name = "pseudonym.key" if target == environment.key_file.parent else "store.duckdb"
        script = f"import os\nos.rmdir('loot')\nos.symlink({str(target)!r}, 'loot')\n"
        spec = LOOT.replace("loot/pseudonym.key", f"loot/{name}")
        study = write_project(tmp_path / f"study-{name}", spec, {"loot.py": script})
        result = run(study, force=True)["loot"]
        assert result.status == "failed" and "symbolic link" in str(result.reason)
        assert untouched(environment) == before
        assert not (study / "loot").exists()


def output_script(make: str) -> str:
    return "import os, stat\n" + textwrap.dedent(make)


@pytest.mark.parametrize(
    ("make", "why"),
    [
        ("os.link({key!r}, 'loot/pseudonym.key')", "other hard links"),
        ("os.mkfifo('loot/pseudonym.key')", "named pipe"),
        ("os.symlink({key!r}, 'loot/pseudonym.key')", "symbolic link"),
        ("os.mkdir('loot/pseudonym.key')", "folder"),
    ],
    ids=["hard-link", "fifo", "link", "folder"],
)
def test_an_output_that_is_not_a_plain_file_of_its_own_is_refused(
    tmp_path: Path, environment: DataDir, make: str, why: str
) -> None:
    before = untouched(environment)
    script = output_script(make.format(key=str(environment.key_file)))
    study = write_project(tmp_path / "study", LOOT, {"loot.py": script})
    result = run(study, force=True)["loot"]
    assert result.status == "failed" and why in str(result.reason), result.reason
    assert untouched(environment) == before and environment.key_file.stat().st_nlink == 1
    assert not (study / "loot" / "pseudonym.key").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="making a device node needs root")
def test_a_device_is_never_read_as_an_output(tmp_path: Path) -> None:
    zero = "os.mknod('loot/pseudonym.key', stat.S_IFCHR | 0o600, os.makedev(1, 5))"
    study = write_project(tmp_path / "study", LOOT, {"loot.py": output_script(zero)})
    result = run(study, force=True)["loot"]  # reading /dev/zero's twin would never end
    assert result.status == "failed" and "character device" in str(result.reason)
    assert not (study / "loot" / "pseudonym.key").exists()


def test_collection_copies_and_never_writes_through_a_link_in_the_project(
    tmp_path: Path, environment: DataDir
) -> None:
    """The study folder's own output path becomes a link to the key after project.yaml was
    checked (which refuses such a path): the output replaces the link and the key is not
    overwritten; when the output's folder is the link, collection refuses."""
    before = untouched(environment)
    study = write_project(
        tmp_path / "study", LOOT, {"loot.py": "open('loot/pseudonym.key', 'w').write('mine')\n"}
    )
    project = load_project(study)
    (study / "loot").mkdir()
    (study / "loot" / "pseudonym.key").symlink_to(environment.key_file)
    (result,) = run_project(project, options=RunOptions(force=True))
    assert result.status == "ran", result.reason
    assert not (study / "loot" / "pseudonym.key").is_symlink()
    assert (study / "loot" / "pseudonym.key").read_text() == "mine"
    assert untouched(environment) == before
    (study / "loot" / "pseudonym.key").unlink()
    (study / "loot").rmdir()
    action = project.actions["loot"]
    workspace = stage(project, action, tmp_path / "ws", code_files(project), mount_inputs=False)
    (tmp_path / "ws" / "loot" / "pseudonym.key").write_text("mine")
    (study / "loot").symlink_to(environment.key_file.parent)  # now the folder is the link
    with pytest.raises(WorkspaceError, match="loot is a symbolic link"):
        workspace.collect(project, action)
    assert untouched(environment) == before
    assert (tmp_path / "ws" / "loot" / "pseudonym.key").read_text() == "mine"  # copied, not moved


def test_an_output_path_leading_out_is_refused_by_collection_itself(tmp_path: Path) -> None:
    """project.yaml already refuses '..'; collection does not rely on it."""
    study = write_project(tmp_path / "study", LOOT, {"loot.py": ""})
    project = load_project(study)
    action = project.actions["loot"]
    workspace = stage(project, action, tmp_path / "ws", code_files(project), mount_inputs=False)
    outside = Output("loot", "key", PurePosixPath("../../escaped"), Privacy.MODERATELY_SENSITIVE)
    sneaky = Action(action.name, action.run, action.argv, (), (outside,))
    with pytest.raises(WorkspaceError, match="outside"):
        workspace.collect(project, sneaky)
    assert not (tmp_path / "escaped").exists()


SWAPPER = """
import os, sys, time
# Left behind by the action: swap the output's folder for a link to the keys, over and over,
# parking the real folder outside the workspace so that nothing undeclared shows in it.
workspace, keys, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
os.chdir(workspace)
print("swapping", flush=True)
end = time.monotonic() + seconds
while time.monotonic() < end:
    os.rename("loot", "../parked")
    os.symlink(keys, "loot")
    time.sleep(0.002)
    os.unlink("loot")
    os.rename("../parked", "loot")
    time.sleep(0.002)
"""


def test_a_folder_swapped_for_a_link_during_collection_never_leaks(
    tmp_path: Path, environment: DataDir
) -> None:
    """A process the action left running swaps the folder between the check and the copy.
    Every collection either copies the action's own file or refuses; none copies the key."""
    before = untouched(environment)
    study = write_project(tmp_path / "study", LOOT, {"loot.py": ""})
    project = load_project(study)
    action = project.actions["loot"]
    root = tmp_path / "ws" / "workspace"
    workspace = stage(project, action, root, code_files(project), mount_inputs=False)
    (root / "loot" / "pseudonym.key").write_text("the action's own file")
    keys = str(environment.key_file.parent)
    argv = [sys.executable, "-c", SWAPPER, str(root), keys, "1.5"]
    outcomes = {"copied": 0, "refused": 0}
    with subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) as swapper:
        assert swapper.stdout is not None and swapper.stdout.readline() == "swapping\n"
        while swapper.poll() is None:
            try:
                workspace.collect(project, action)
                outcomes["copied"] += 1
                assert (study / "loot" / "pseudonym.key").read_bytes() == b"the action's own file"
            except WorkspaceError as exc:
                outcomes["refused"] += 1
                assert "symbolic link" in str(exc) or "did not write" in str(exc), exc
            assert untouched(environment) == before
    assert swapper.returncode == 0
    assert outcomes["copied"] > 0 and outcomes["refused"] > 0  # the race ran both ways


INPUTS = """
version: 1
actions:
  extract:
    run: python extract.py
    outputs: {highly_sensitive: {dataset: output/dataset.csv}}
  summarise:
    run: python summarise.py
    needs: [extract]
    outputs: {moderately_sensitive: {table: output/table.csv}}
"""
SUMMARISE = "open('output/table.csv', 'w').write(open('output/dataset.csv').read())\n"


def plant(study: Path, how: str, key: Path) -> None:
    """Replace the input output/dataset.csv by a way to ``key``."""
    dataset = study / "output" / "dataset.csv"
    dataset.unlink()
    if how == "link":
        dataset.symlink_to(key)
    elif how == "hard-link":
        os.link(key, dataset)
    elif how == "fifo":
        os.mkfifo(dataset)
    else:
        (study / "output").rename(study / "output.real")
        (study / "output").symlink_to(key.parent)
        os.link(key, key.parent / "dataset.csv")


@pytest.mark.parametrize("mount", [True, False], ids=["mounted", "copied"])
@pytest.mark.parametrize("how", ["link", "hard-link", "fifo", "folder-link"])
def test_an_input_replaced_by_a_link_or_special_file_is_never_staged(
    tmp_path: Path, environment: DataDir, how: str, mount: bool
) -> None:
    """Someone with the study folder replaces an action's input (output/dataset.csv, made by
    the action it needs) with a way to the key: staging refuses it, naming what it is."""
    files = {"extract.py": "open('output/dataset.csv', 'w').write('age\\n30\\n')\n"}
    study = write_project(tmp_path / "study", INPUTS, files | {"summarise.py": SUMMARISE})
    project = load_project(study)
    assert run_project(project, "extract")[0].status == "ran"
    code = code_files(project)
    plant(study, how, environment.key_file)
    summarise = project.actions["summarise"]
    with pytest.raises(WorkspaceError, match=r"cannot use its input 'output/dataset\.csv'") as e:
        stage(project, summarise, tmp_path / "ws", code, mount_inputs=mount)
    what = {"link": "symbolic link", "hard-link": "other hard links", "fifo": "named pipe"}
    assert what.get(how, "output is a symbolic link") in str(e.value)


@needs_sandbox
def test_an_input_swapped_after_staging_is_not_what_the_sandbox_binds(
    tmp_path: Path, environment: DataDir
) -> None:
    """The input is checked, then swapped for a link to the key before the sandbox starts:
    the sandbox binds the file that was checked, by its descriptor, not the name."""
    files = {"extract.py": "open('output/dataset.csv', 'w').write('age\\n30\\n')\n"}
    study = write_project(tmp_path / "study", INPUTS, files | {"summarise.py": SUMMARISE})
    project = load_project(study)
    assert run_project(project, "extract")[0].status == "ran"
    summarise = project.actions["summarise"]
    root = tmp_path / "ws"
    with stage(project, summarise, root, code_files(project), mount_inputs=True) as workspace:
        (study / "output" / "dataset.csv").rename(study / "output" / "checked.csv")
        (study / "output" / "dataset.csv").symlink_to(environment.key_file)
        command = [sys.executable, "summarise.py"]
        argv = sandbox_argv(command, root, workspace.mounts, {}, 1024**2)
        log = tmp_path / "log"
        finished = run_limited(argv, root, {}, log, Limits(), pass_fds=workspace.fds)
    assert finished.exit_code == 0, log.read_text()
    assert (root / "output" / "table.csv").read_text() == "age\n30\n"


def test_a_special_file_or_link_in_the_code_is_refused_with_its_name(
    tmp_path: Path, environment: DataDir
) -> None:
    study = write_project(tmp_path / "study", LOOT, {"loot.py": ""})
    os.mkfifo(study / "pipe")  # copying it would wait for a writer for ever
    (study / "analysis").mkdir()
    (study / "analysis" / "key.txt").symlink_to(environment.key_file)
    with pytest.raises(WorkspaceError) as raised:
        code_files(load_project(study))
    assert "pipe (a named pipe)" in str(raised.value)
    assert "analysis/key.txt (a symbolic link)" in str(raised.value)
    result = run(study, force=True)["loot"]
    assert result.status == "failed" and "pipe (a named pipe)" in str(result.reason)


def test_staged_inputs_and_collected_outputs_are_plain_copies(tmp_path: Path) -> None:
    """Copy, never move: what the project holds is a file of its own, not the workspace's."""
    files = {"extract.py": "open('output/dataset.csv', 'w').write('age\\n30\\n')\n"}
    study = write_project(tmp_path / "study", INPUTS, files | {"summarise.py": SUMMARISE})
    results = run(study)
    assert [r.status for r in results.values()] == ["ran", "ran"]
    for name in ("dataset.csv", "table.csv"):
        made = (study / "output" / name).lstat()
        assert stat.S_ISREG(made.st_mode) and made.st_nlink == 1
    assert (study / "output" / "table.csv").read_text() == "age\n30\n"
