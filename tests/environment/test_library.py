"""The open library, attacked as a visitor would: every read is of a commit that ran and of what
git holds at it, and nothing else. ``..``, absolute paths, a symbolic link out of the study, a
path only an earlier or a later commit holds, a commit no job ran, an abbreviation, a branch
name: each is refused exactly as a file that does not exist, and nothing of what it points at
comes back. Then the pipeline, the code lists and the download, and reuse by an analyst."""

from __future__ import annotations

import io
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from environment_support import People, open_with_custodian
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from library_support import (
    BIG,
    BINARY,
    MISTAKE,
    NEVER_RAN,
    STUDY_YAML,
    Library,
    commit_all,
    library_world,
)

from fivesafes.environment import Environment, RefusalKind, Refused, jobs, library, reuse
from fivesafes.jobs.project import load_project
from fivesafes.store.config import DataDir
from jobs.jobs_support import SANDBOX_PROBLEM, write_project

pytestmark = pytest.mark.skipif(
    SANDBOX_PROBLEM is not None, reason=f"bubblewrap cannot run here: {SANDBOX_PROBLEM}"
)
PROJECT = "codes"
PASSWD = Path("/etc/passwd").read_text(encoding="utf-8").splitlines()[0]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[People, Library]]:
    root = tmp_path_factory.mktemp("library")
    people = open_with_custodian(DataDir(root / "data", root / "data" / "keys" / "pseudonym.key"))
    try:
        yield people, library_world(people, root)
    finally:
        people.env.close()


@pytest.fixture
def env(world: tuple[People, Library]) -> Environment:
    return world[0].env


@pytest.fixture
def lib(world: tuple[People, Library]) -> Library:
    return world[1]


def _entries(env: Environment) -> int:
    env.cp.ledger.catch_up()
    return len(list(env.cp.ledger.entries()))


def test_the_library_lists_the_study_by_the_one_commit_that_ran(
    env: Environment, lib: Library
) -> None:
    before = _entries(env)
    [found] = library.studies(env)
    assert found.project_id == PROJECT
    ran = {c.commit: c for c in found.commits}
    assert lib.ran in ran and lib.unrun not in ran and lib.mistake not in ran
    assert ran[lib.ran].job_ids == (lib.job_id,) and not ran[lib.ran].dirty
    assert _entries(env) == before  # a public read writes nothing


def test_the_tree_is_what_git_holds_at_the_commit_that_ran(env: Environment, lib: Library) -> None:
    listed = {e.path: e.kind for e in library.tree(env, PROJECT, lib.ran)}
    tracked = subprocess.run(
        ["git", "-C", str(lib.repository), "ls-tree", "-r", "--name-only", lib.ran],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert {p for p, kind in listed.items() if kind != "folder"} == set(tracked)
    assert listed["metadata/escape"] == "link" and listed["analysis"] == "folder"
    assert "notes/mistake.txt" not in listed and "analysis/never_ran.py" not in listed


def test_a_file_is_shown_as_git_holds_it(env: Environment, lib: Library) -> None:
    shown = library.file_text(env, PROJECT, lib.ran, "project.yaml")
    assert shown.text == (lib.repository / "project.yaml").read_text(encoding="utf-8")
    assert shown.size == len(shown.text.encode())


ATTACKS = (
    "../project.yaml",
    "analysis/../project.yaml",
    "./project.yaml",
    "analysis//study.py",
    "project.yaml/",
    "/etc/passwd",
    "//etc/passwd",
    "..",
    "../../../../../../etc/passwd",
    "analysis\\..\\project.yaml",
    "project.yaml\x00.txt",
    "metadata/escape",
    "metadata/escape/../../etc/passwd",
    "metadata",
    "analysis",
    "",
    "notes/mistake.txt",
    "analysis/never_ran.py",
    f"{'a/' * 3000}b",
)


@pytest.mark.parametrize("path", ATTACKS)
def test_a_path_git_does_not_list_as_a_file_finds_nothing(
    env: Environment, lib: Library, path: str
) -> None:
    before = _entries(env)
    with pytest.raises(Refused, match=r"^no file .* in project codes at commit") as refused:
        library.file_text(env, PROJECT, lib.ran, path)
    assert refused.value.kind is RefusalKind.INVALID
    for secret in (PASSWD, MISTAKE, NEVER_RAN):
        assert secret not in refused.value.reason
    assert _entries(env) == before  # a visitor's miss is not logged


PIECES = st.sampled_from(
    ["..", ".", "", "/", "\\", "\x00", "%2e", "project.yaml", "analysis", "study.py",
     "metadata", "escape", "notes", "mistake.txt", "etc", "passwd", "codelists", "asthma.csv"]
)  # fmt: skip


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(parts=st.lists(st.one_of(PIECES, st.text(max_size=4)), max_size=6), joiner=PIECES)
def test_a_path_is_shown_only_if_it_is_exactly_a_plain_file_git_lists(
    env: Environment, lib: Library, parts: list[str], joiner: str
) -> None:
    """Whatever a visitor types, a file comes back only under a path git lists, byte for byte
    as git holds it there; anything else is the one "no file" answer (or the two reasons a
    listed file is not shown as text)."""
    path = joiner.join(parts) if joiner in ("/", "") else "/".join(parts)
    listed = {e.path: e for e in library.tree(env, PROJECT, lib.ran) if e.kind == "file"}
    try:
        shown = library.file_text(env, PROJECT, lib.ran, path)
    except Refused as refused:
        assert refused.kind is RefusalKind.INVALID
        assert path not in listed or path in ("docs/logo.png", "docs/notes.md")
        for secret in (PASSWD, MISTAKE, NEVER_RAN):
            assert secret not in refused.reason
        return
    assert path in listed
    held = subprocess.run(
        ["git", "-C", str(lib.repository), "cat-file", "blob", f"{lib.ran}:{path}"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    assert shown.text.encode() == held


def test_a_binary_or_too_large_file_is_refused_with_its_reason(
    env: Environment, lib: Library
) -> None:
    with pytest.raises(Refused, match="is not text"):
        library.file_text(env, PROJECT, lib.ran, "docs/logo.png")
    with pytest.raises(Refused, match="more than the 262,144 shown as text"):
        library.file_text(env, PROJECT, lib.ran, "docs/notes.md")


def _not_run(lib: Library) -> list[str]:
    return [lib.unrun, lib.mistake, lib.ran[:12], lib.ran.upper(), "HEAD", "main", "0" * 40]


@pytest.mark.parametrize(
    "read",
    [
        lambda env, commit: library.tree(env, PROJECT, commit),
        lambda env, commit: library.file_text(env, PROJECT, commit, "project.yaml"),
        lambda env, commit: library.file_text(env, PROJECT, commit, "analysis/never_ran.py"),
        lambda env, commit: library.pipeline(env, PROJECT, commit),
        lambda env, commit: library.commit_page(env, PROJECT, commit),
        lambda env, commit: library.archive(env, PROJECT, commit),
    ],
    ids=["tree", "file", "unrun-file", "pipeline", "page", "archive"],
)
def test_a_commit_no_job_ran_is_not_in_the_library(
    env: Environment, lib: Library, read: object
) -> None:
    for commit in _not_run(lib):
        with pytest.raises(Refused, match=r"^no commit .* of project codes ran a job") as refused:
            read(env, commit)  # type: ignore[operator]
        assert refused.value.kind is RefusalKind.INVALID


def test_a_project_with_no_job_or_none_at_all_is_not_in_the_library(env: Environment) -> None:
    for project in ("nothing-here", "../codes", "codes/..", ""):
        with pytest.raises(Refused, match="no study in the library"):
            library.study(env, project)


def test_the_pipeline_is_the_project_yaml_that_ran(env: Environment, lib: Library) -> None:
    drawn = library.pipeline(env, PROJECT, lib.ran)
    real = load_project(write_project(lib.repository.parent / "parsed", STUDY_YAML))
    assert [a.name for a in drawn.actions] == list(real.actions)
    assert set(drawn.edges) == {(n, a.name) for a in real.actions.values() for n in a.needs}
    assert [a.reads_store for a in drawn.actions] == [True, False, False]
    assert drawn.actions[1].outputs[0].path == "output/methods.md"


def test_the_code_lists_are_matched_to_their_published_versions(
    env: Environment, lib: Library
) -> None:
    page = library.commit_page(env, PROJECT, lib.ran)
    by_path = {c.path: c for c in page.codelists}
    asthma = by_path["analysis/codelists/asthma.csv"]
    assert [(p.reference, p.system, p.published_by) for p in asthma.published] == [
        ("asthma/1", "snomedct", "Person Ana")
    ]
    assert (
        asthma.codes == 1 and asthma.system == "snomedct" and asthma.used_in == "analysis/study.py"
    )
    fractures = by_path["analysis/codelists/fractures.csv"]
    assert fractures.published == () and fractures.codes == 1 and fractures.problem is None


def test_the_download_holds_the_commit_that_ran_and_nothing_else(
    env: Environment, lib: Library
) -> None:
    made = library.archive(env, PROJECT, lib.ran)
    top = f"codes-{lib.ran[:12]}"
    assert made.filename == f"{top}.zip"
    with zipfile.ZipFile(io.BytesIO(made.content)) as opened:
        names = set(opened.namelist())
        contents = {n: opened.read(n) for n in names}
    files = {e.path for e in library.tree(env, PROJECT, lib.ran) if e.kind == "file"}
    assert names == {f"{top}/{p}" for p in files}
    assert f"{top}/metadata/escape" not in names  # a link is never put in a download
    assert contents[f"{top}/docs/logo.png"] == BINARY
    assert contents[f"{top}/docs/notes.md"].startswith(BIG.encode())
    everything = b"".join(contents.values())
    assert PASSWD.encode() not in everything
    assert MISTAKE.encode() not in everything and NEVER_RAN.encode() not in everything


def _git(repository: str, *args: str) -> str:
    done = subprocess.run(["git", "-C", repository, *args], capture_output=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.decode("utf-8", "replace")


def test_an_analyst_reuses_the_study_in_a_new_repository_of_that_commit_alone(
    world: tuple[People, Library],
) -> None:
    people, lib = world
    env = people.env
    made = reuse.reuse(env, people.tokens["eve"], PROJECT, lib.ran)  # on no project yet
    repository = Path(made.repository)
    assert repository.parent == env.data_dir.root / reuse.REUSED and repository.is_dir()
    assert _git(made.repository, "rev-list", "--all").split() == [made.seeded]  # no history
    seeded = set(_git(made.repository, "ls-tree", "-r", "--name-only", "main").split())
    files = {e.path for e in library.tree(env, PROJECT, lib.ran) if e.kind == "file"}
    assert seeded == files
    for path in files:
        original = _git(str(lib.repository), "rev-parse", f"{lib.ran}:{path}")
        assert _git(made.repository, "rev-parse", f"main:{path}") == original
    everything = _git(made.repository, "cat-file", "--batch-all-objects", "--batch")
    assert MISTAKE not in everything and NEVER_RAN not in everything
    env.cp.ledger.catch_up()
    entry = orjson.loads(list(env.cp.ledger.entries())[made.ledger_index])
    assert entry["kind"] == "reuse" and entry["actor"] == "eve"
    assert entry["subject"] | {"intent": 0} == {
        "project_id": PROJECT, "commit": lib.ran, "repository": repository.name[:-4],
        "seeded": made.seeded, "intent": 0,
    }  # fmt: skip
    assert env.cp.open_intents() == []
    assert not list((env.data_dir.root / reuse.REUSED).glob(".*staging"))


@pytest.mark.parametrize("who", ["cus", "val", "not-a-token"])
def test_reuse_is_for_analysts_and_a_refusal_is_logged(
    world: tuple[People, Library], who: str
) -> None:
    people, lib = world
    env = people.env
    before = set((env.data_dir.root / reuse.REUSED).glob("*"))
    with pytest.raises(Refused) as refused:
        reuse.reuse(env, people.tokens.get(who, who), PROJECT, lib.ran)
    assert refused.value.kind is RefusalKind.FORBIDDEN and refused.value.logged
    assert set((env.data_dir.root / reuse.REUSED).glob("*")) == before
    env.cp.ledger.catch_up()
    last = orjson.loads(list(env.cp.ledger.entries())[-1])
    assert last["kind"] == "refusal" and last["subject"]["action"] == "reuse_study"


def test_reuse_of_a_commit_no_job_ran_is_refused(world: tuple[People, Library]) -> None:
    people, lib = world
    for commit in _not_run(lib):
        with pytest.raises(Refused, match="ran a job") as refused:
            reuse.reuse(people.env, people.tokens["ana"], PROJECT, commit)
        assert refused.value.kind is RefusalKind.INVALID


def test_a_commit_that_ran_but_is_not_in_the_repository_says_so(
    world: tuple[People, Library], tmp_path: Path
) -> None:
    """A job submitted from an analyst's own folder at a commit never pushed to the repository
    the application names: the commit ran, so it is listed, but the library cannot show what
    it does not hold, and says so rather than show anything else."""
    people, lib = world
    env, token = people.env, people.tokens["ana"]
    folder = tmp_path / "own"
    subprocess.run(["git", "clone", "-q", str(lib.repository), str(folder)], check=True)
    subprocess.run(["git", "-C", str(folder), "checkout", "-q", lib.ran], check=True)
    (folder / "analysis" / "summarise.py").write_text('open("output/summary.txt", "w").write("")\n')
    unpushed = commit_all(folder, "never pushed")
    job = jobs.wait(env, token, jobs.submit(env, token, PROJECT, folder).job_id)
    assert job.record.git_commit == unpushed and job.record.started_at is not None
    assert unpushed in {c.commit for c in library.study(env, PROJECT).commits}
    with pytest.raises(
        Refused, match="ran a job of project codes, but its repository does not hold it"
    ) as refused:
        library.tree(env, PROJECT, unpushed)
    assert refused.value.kind is RefusalKind.UNAVAILABLE
    assert library.tree(env, PROJECT, lib.ran)  # the commit that is there is still shown
