"""The open library of code: every project's study code, as git holds it at each commit that ran.

The data strategy asks that the code of every study be open, so that anyone can read what was
run on the public's data and reuse it. What is open here is exactly this, and no more:

- only **commits that ran**: a commit is public once a job of the project started at it (the
  job record names the commit, :mod:`.job_records`); any other commit of the repository -- one
  never run, an earlier one that may have held something committed by mistake -- is answered
  exactly as a commit that does not exist;
- only **what git holds at that commit**, read from the git objects of the repository the
  project's application names (a mirror kept under the data directory, fetched again when a
  commit that ran is not in it yet); never a job's folder, whose workspace holds the data it
  read. A file is found only by an exact path git listed for that commit, so ``..``, an
  absolute path or a name that is not in the listing find nothing; a symbolic link is listed
  as one and never followed, read or put in a download;
- each file shown as text, up to :data:`MAX_FILE_BYTES`, and refused if it is not text;
- its ``project.yaml`` checked and parsed as a job's is; the code lists its definitions read
  (``codelist_from_csv`` calls found by parsing the code, never by running it), each matched by
  its codes to the versions published in this environment; the releases made from its jobs
  (:mod:`.public`).

Reading the library needs no credential and writes nothing to the ledger; what cannot be found
is a ``Refused`` (``invalid``) that is not logged, as for the other public reads. Reusing a
study is an analyst's act, in :mod:`.reuse`.
"""

from __future__ import annotations

import ast
import csv
import fcntl
import io
import posixpath
import re
import tempfile
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from fivesafes.environment import codelists, job_records, public
from fivesafes.environment.refusals import RefusalKind, Refused
from fivesafes.environment.studies import COMMIT, run_git, said
from fivesafes.governance.tables import ApplicationVersion, Project
from fivesafes.jobs.project import PROJECT_FILE, ProjectError, load_project
from fivesafes.jobs.project import Project as StudyProject
from fivesafes.query.codelists import SYSTEM_NAMES

if TYPE_CHECKING:
    from fivesafes.environment.core import Environment

MIRRORS = "library"
"""Under the data directory: a mirror of each project's repository, ``<project>.git``."""
MAX_FILE_BYTES = 256 * 1024
"""The largest file shown as text; a larger one is in the download."""
MAX_ARCHIVE_BYTES = 64 * 1024 * 1024
"""The most a download (or a reuse) holds: a study is code, not data."""
REFETCH_SECONDS = 300.0
"""How long after a fetch that did not bring a commit the mirror is not fetched for it again:
a page asked for over and over must not make the server fetch from the repository's host."""
_fetched: dict[tuple[Path, str], float] = {}
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
_KINDS = {"blob": "file", "tree": "folder", "commit": "submodule"}
_TEXT_MODES = ("100644", "100755")
_LINK_MODE = "120000"


@dataclass(frozen=True)
class RanCommit:
    """A commit a job of the project started at."""

    commit: str
    job_ids: tuple[str, ...]
    last_ran: datetime
    dirty: bool
    """Some job ran it with uncommitted changes on top: what ran was not exactly this."""


@dataclass(frozen=True)
class LibraryStudy:
    """A project whose jobs ran, with the commits they ran (newest first)."""

    project_id: str
    title: str
    status: str
    organisation: str
    commits: tuple[RanCommit, ...]
    outside_git: int
    """How many of its jobs ran code that was not in git (none of it is in the library)."""


@dataclass(frozen=True)
class TreeEntry:
    """One thing git lists at a commit: a file, folder, symbolic link or submodule."""

    path: str
    kind: str
    mode: str
    size: int | None
    object_id: str


@dataclass(frozen=True)
class StudyFile:
    """A file of a study at a commit, as text."""

    project_id: str
    commit: str
    path: str
    size: int
    text: str


@dataclass(frozen=True)
class PipelineOutput:
    name: str
    path: str
    privacy: str


@dataclass(frozen=True)
class PipelineAction:
    """One action of ``project.yaml``: its command, what it needs and what it writes."""

    name: str
    run: str
    needs: tuple[str, ...]
    outputs: tuple[PipelineOutput, ...]
    reads_store: bool


@dataclass(frozen=True)
class Pipeline:
    """``project.yaml`` at a commit, in file order; ``problem`` says why there is none."""

    actions: tuple[PipelineAction, ...]
    problem: str | None = None

    @property
    def edges(self) -> tuple[tuple[str, str], ...]:
        """(needed, needing) for every need: the arrows of the drawing."""
        return tuple((need, a.name) for a in self.actions for need in a.needs)


@dataclass(frozen=True)
class CodelistReference:
    """A code list a definition reads, and the published versions that hold exactly its codes."""

    path: str
    column: str
    system: str | None
    used_in: str
    codes: int | None
    published: tuple[codelists.Publication, ...]
    problem: str | None = None


@dataclass(frozen=True)
class CommitPage:
    """Everything the library shows of one commit that ran."""

    study: LibraryStudy
    ran: RanCommit
    tree: tuple[TreeEntry, ...]
    pipeline: Pipeline
    codelists: tuple[CodelistReference, ...]
    releases: tuple[public.PublicRelease, ...]


@dataclass(frozen=True)
class StudyArchive:
    """The study's files at a commit as a zip: its name and bytes."""

    filename: str
    content: bytes


def _refused(reason: str) -> Refused:
    return Refused(reason, RefusalKind.INVALID)


def _ran(env: Environment, project_id: str) -> tuple[tuple[RanCommit, ...], int]:
    """The commits the project's jobs started at, newest first, and how many of its jobs that
    started ran code that was not in git."""
    by_commit: dict[str, list[job_records.JobRecordView]] = {}
    outside = 0
    for record in job_records.of_project(env, project_id):
        if record.started_at is None:
            continue
        if record.git_commit is None or not COMMIT.fullmatch(record.git_commit):
            outside += 1
            continue
        by_commit.setdefault(record.git_commit, []).append(record)
    commits = [
        RanCommit(
            commit,
            tuple(r.job_id for r in runs),
            max(r.started_at for r in runs if r.started_at is not None),
            any(bool(r.git_dirty) for r in runs),
        )
        for commit, runs in by_commit.items()
    ]
    return tuple(sorted(commits, key=lambda c: c.last_ran, reverse=True)), outside


def _study(env: Environment, listed: public.PublicProject) -> LibraryStudy:
    commits, outside = _ran(env, listed.project_id)
    return LibraryStudy(
        listed.project_id, listed.title, listed.status, listed.organisation, commits, outside
    )


def studies(env: Environment) -> list[LibraryStudy]:
    """Every project at least one job has run for, by id."""
    found = (_study(env, p) for p in public.projects(env))
    return [s for s in found if s.commits or s.outside_git]


def study(env: Environment, project_id: str) -> LibraryStudy:
    """One project's commits that ran; ``Refused`` if no job has run for it."""
    for listed in public.projects(env):
        if listed.project_id == project_id:
            found = _study(env, listed)
            if found.commits or found.outside_git:
                return found
    raise _refused(f"no study in the library for project {project_id}")


def ran_commit(env: Environment, project_id: str, commit: str) -> tuple[LibraryStudy, RanCommit]:
    """The study and ``commit`` if a job of the project started at it; else refused exactly as
    a commit that does not exist."""
    found = study(env, project_id)
    for ran in found.commits:
        if ran.commit == commit:
            return found, ran
    raise _refused(f"no commit {commit[:64]} of project {project_id} ran a job")


def _repository(env: Environment, project_id: str) -> str:
    """The repository the project's current application names (the one its jobs are fetched
    from): never one a caller names."""
    with env.cp.transaction() as session:
        row = session.get(Project, project_id)
        form = session.get(ApplicationVersion, (project_id, row.version)) if row else None
        named = str(orjson.loads(form.form).get("repository") or "") if form else ""
    if not named.strip():
        raise Refused(
            f"project {project_id}'s application names no repository", RefusalKind.UNAVAILABLE
        )
    return named


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One process at a time brings a mirror up to date (a kill drops the lock)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with path.open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        yield


def _has(folder: Path, commit: str) -> bool:
    return (
        folder.is_dir()
        and run_git("cat-file", "-e", f"{commit}^{{commit}}", cwd=folder).returncode == 0
    )


def _mirror(env: Environment, project_id: str, commit: str) -> Path:
    """The project's repository as a mirror under the data directory, holding ``commit``
    (cloned, or fetched again, if it does not yet, at most once every
    :data:`REFETCH_SECONDS`); ``Refused`` if it cannot be had. What git said is not in the
    refusal, which a public page shows: it can name the repository's address."""
    if not _SAFE_NAME.fullmatch(project_id) or ".." in project_id:
        raise _refused(f"project {project_id!r} cannot have a mirror")
    root = env.data_dir.root / MIRRORS
    folder = root / f"{project_id}.git"
    if _has(folder, commit):
        return folder
    with _locked(root / f"{project_id}.lock"):
        last = _fetched.get((folder, commit))
        if not _has(folder, commit) and (last is None or time.monotonic() - last > REFETCH_SECONDS):
            _fetched[(folder, commit)] = time.monotonic()
            _bring(env, project_id, folder)
    if not _has(folder, commit):
        raise Refused(
            f"commit {commit} ran a job of project {project_id}, but its repository does not "
            "hold it or cannot be read just now",
            RefusalKind.UNAVAILABLE,
        )
    return folder


def _bring(env: Environment, project_id: str, folder: Path) -> None:
    """Clone the repository the application names as a mirror at ``folder`` (whole, or not
    at all), or fetch into the mirror there; a failure leaves the mirror as it was."""
    if folder.is_dir():
        run_git("fetch", "--quiet", "--prune", "origin", cwd=folder)
        return
    repository = _repository(env, project_id)
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=f".{project_id}-") as scratch:
        fresh = Path(scratch) / "mirror.git"
        cloned = run_git("clone", "--quiet", "--mirror", "--", repository, str(fresh))
        if cloned.returncode == 0:
            fresh.rename(folder)


@lru_cache(maxsize=64)
def _listing(folder: Path, commit: str) -> tuple[TreeEntry, ...]:
    """Everything git lists at ``commit`` (a commit's tree never changes, so it is kept);
    names that are not UTF-8 are left out, as no page could name them."""
    done = run_git("ls-tree", "-r", "-t", "-z", "-l", "--full-tree", commit, cwd=folder)
    if done.returncode != 0:
        raise Refused(f"cannot list commit {commit}: {said(done)}", RefusalKind.UNAVAILABLE)
    entries = []
    for item in done.stdout.split(b"\0"):
        if not item:
            continue
        meta, _, raw_path = item.partition(b"\t")
        mode, kind, object_id, size = meta.decode("ascii").split()
        try:
            path = raw_path.decode("utf-8")
        except UnicodeDecodeError:
            continue
        shown = "link" if mode == _LINK_MODE else _KINDS.get(kind, kind)
        entries.append(
            TreeEntry(path, shown, mode, int(size) if size.isdigit() else None, object_id)
        )
    return tuple(sorted(entries, key=lambda e: e.path.split("/")))


def _clean(path: str) -> str | None:
    """``path`` if it names a place inside the study plainly (no ``..``, ``.``, empty part,
    leading ``/``, backslash or NUL), else None."""
    if not path or len(path) > 4096 or "\0" in path or "\\" in path or path.startswith("/"):
        return None
    if any(part in ("", ".", "..") for part in path.split("/")):
        return None
    return path


def _blob(folder: Path, entry: TreeEntry) -> bytes:
    done = run_git("cat-file", "blob", entry.object_id, cwd=folder)
    if done.returncode != 0:
        raise Refused(f"cannot read {entry.path}: {said(done)}", RefusalKind.UNAVAILABLE)
    return done.stdout


def _text(data: bytes) -> str | None:
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def git_tree(env: Environment, project_id: str, commit: str) -> tuple[Path, tuple[TreeEntry, ...]]:
    """The mirror holding ``commit`` (one that ran: check with :func:`ran_commit` first) and
    what git lists at it."""
    folder = _mirror(env, project_id, commit)
    return folder, _listing(folder, commit)


def tree(env: Environment, project_id: str, commit: str) -> tuple[TreeEntry, ...]:
    """What git lists at a commit that ran, folders before what they hold."""
    ran_commit(env, project_id, commit)
    return git_tree(env, project_id, commit)[1]


def file_text(env: Environment, project_id: str, commit: str, path: str) -> StudyFile:
    """One file of a commit that ran, as text; a path git does not list as a file (a folder, a
    link, a submodule, anything with ``..``) is refused exactly as one that is not there."""
    ran_commit(env, project_id, commit)
    missing = _refused(f"no file {path[:200]} in project {project_id} at commit {commit[:12]}")
    wanted = _clean(path)
    if wanted is None:
        raise missing
    folder, entries = git_tree(env, project_id, commit)
    entry = next((e for e in entries if e.path == wanted), None)
    if entry is None or entry.mode not in _TEXT_MODES:
        raise missing
    if entry.size is not None and entry.size > MAX_FILE_BYTES:
        raise _refused(
            f"{wanted} is {entry.size:,} bytes, more than the {MAX_FILE_BYTES:,} shown as "
            "text: download the study to read it"
        )
    text = _text(_blob(folder, entry))
    if text is None:
        raise _refused(f"{wanted} is not text: download the study to see it")
    return StudyFile(project_id, commit, wanted, entry.size or 0, text)


def _pipeline(folder: Path, entries: tuple[TreeEntry, ...]) -> Pipeline:
    """``project.yaml`` checked as a job's is: written alone to a scratch folder and loaded."""
    entry = next((e for e in entries if e.path == PROJECT_FILE), None)
    if entry is None or entry.mode not in _TEXT_MODES:
        return Pipeline((), f"there is no {PROJECT_FILE} at this commit")
    text = _text(_blob(folder, entry))
    if text is None:
        return Pipeline((), f"{PROJECT_FILE} is not text")
    with tempfile.TemporaryDirectory(prefix="fivesafes-library-") as scratch:
        (Path(scratch) / PROJECT_FILE).write_text(text, encoding="utf-8")
        try:
            project = load_project(Path(scratch))
        except ProjectError as exc:
            problems = "; ".join(p.message for p in exc.problems)
            return Pipeline((), f"{PROJECT_FILE} does not check: {problems}")
    return pipeline_of(project)


def pipeline_of(project: StudyProject) -> Pipeline:
    """A checked ``project.yaml`` as the library shows it."""
    return Pipeline(
        tuple(
            PipelineAction(
                a.name,
                a.run,
                a.needs,
                tuple(PipelineOutput(o.name, str(o.path), o.privacy.value) for o in a.outputs),
                a.reads_store,
            )
            for a in project.actions.values()
        )
    )


def pipeline(env: Environment, project_id: str, commit: str) -> Pipeline:
    """A commit's ``project.yaml``: its actions, what each needs and what each writes."""
    ran_commit(env, project_id, commit)
    return _pipeline(*git_tree(env, project_id, commit))


def _literal(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _calls(source: str) -> Iterator[tuple[str | None, str, str | None]]:
    """(path, column, system) of each ``codelist_from_csv`` call in ``source``, from its
    syntax alone; a path that is not written out is None."""
    try:
        parsed = ast.parse(source)
    except (SyntaxError, ValueError):
        return
    for node in ast.walk(parsed):
        if not isinstance(node, ast.Call):
            continue
        called = node.func
        name = called.id if isinstance(called, ast.Name) else getattr(called, "attr", None)
        if name != "codelist_from_csv":
            continue
        named = {k.arg: k.value for k in node.keywords if k.arg}
        path = _literal(node.args[0] if node.args else named.get("path"))
        column = _literal(node.args[1] if len(node.args) > 1 else named.get("column")) or "code"
        system = _literal(node.args[2] if len(node.args) > 2 else named.get("system"))
        yield path, column, system


def _codes(data: bytes, column: str) -> set[str] | None:
    text = _text(data)
    if text is None:
        return None
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))
    if column not in (reader.fieldnames or []):
        return None
    return {code for row in reader if (code := (row.get(column) or "").strip())}


def _reference(
    env: Environment,
    folder: Path,
    files: dict[str, TreeEntry],
    used_in: str,
    call: tuple[str | None, str, str | None],
) -> CodelistReference:
    path, column, system = call
    if path is None:
        return CodelistReference(
            "", column, system, used_in, None, (), "its path is not written out"
        )
    where = posixpath.normpath(path)
    entry = files.get(where)
    if entry is None or entry.mode not in _TEXT_MODES or entry.size is None:
        return CodelistReference(path, column, system, used_in, None, (), "no such file here")
    if entry.size > MAX_FILE_BYTES:
        return CodelistReference(path, column, system, used_in, None, (), "too large to read")
    codes = _codes(_blob(folder, entry), column)
    if codes is None:
        problem = f"not a CSV file with a {column!r} column"
        return CodelistReference(where, column, system, used_in, None, (), problem)
    chosen = SYSTEM_NAMES.get(system.strip().lower()) if system else None
    published = codelists.published_holding(env, codes, chosen)
    return CodelistReference(where, column, system, used_in, len(codes), tuple(published))


def _codelists(
    env: Environment, folder: Path, entries: tuple[TreeEntry, ...]
) -> tuple[CodelistReference, ...]:
    files = {e.path: e for e in entries if e.kind == "file"}
    found: list[CodelistReference] = []
    for entry in files.values():
        if not entry.path.endswith(".py") or (entry.size or 0) > MAX_FILE_BYTES:
            continue
        source = _text(_blob(folder, entry))
        if source is None or "codelist_from_csv" not in source:
            continue
        found.extend(_reference(env, folder, files, entry.path, c) for c in _calls(source))
    return tuple(found)


def commit_page(env: Environment, project_id: str, commit: str) -> CommitPage:
    """A commit that ran: its files, pipeline, code lists and the releases made from its jobs."""
    found, ran = ran_commit(env, project_id, commit)
    folder, entries = git_tree(env, project_id, commit)
    jobs = set(ran.job_ids)
    made = tuple(
        r
        for r in public.project(env, project_id).releases
        if any(f.job_id in jobs for f in r.files)
    )
    return CommitPage(
        found, ran, entries, _pipeline(folder, entries), _codelists(env, folder, entries), made
    )


def plain_files(folder: Path, entries: tuple[TreeEntry, ...]) -> Iterator[tuple[TreeEntry, bytes]]:
    """Each plain file at the commit with its contents, within :data:`MAX_ARCHIVE_BYTES`; no
    link (it may point anywhere on the machine that unpacks it) and no submodule."""
    total = 0
    for entry in entries:
        if entry.mode not in _TEXT_MODES:
            continue
        total += entry.size or 0
        if total > MAX_ARCHIVE_BYTES:
            raise _refused(f"the study is larger than {MAX_ARCHIVE_BYTES:,} bytes")
        yield entry, _blob(folder, entry)


def archive(env: Environment, project_id: str, commit: str) -> StudyArchive:
    """The study's files at a commit that ran, as a zip under one folder (``PROJECT-COMMIT``);
    made from git's objects at that commit alone, so no other commit's contents are in it."""
    ran_commit(env, project_id, commit)
    folder, entries = git_tree(env, project_id, commit)
    top = f"{project_id}-{commit[:12]}"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as made:
        for entry, data in plain_files(folder, entries):
            info = zipfile.ZipInfo(f"{top}/{entry.path}", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = (0o100755 if entry.mode == "100755" else 0o100644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            made.writestr(info, data)
    return StudyArchive(f"{top}.zip", out.getvalue())
