"""A study fetched by commit from the repository a project's approved application names.

A face that is not on the analyst's machine (the API, the portal) cannot hand the environment a
folder of the analyst's own. What it can name is a commit: the environment clones the
repository the approvers saw in the application (never one the caller names, so a request
cannot make the server read another path or host) and checks that commit out, detached, in a
temporary folder of its own; :func:`fivesafes.environment.jobs.submit_commit` then copies the
study from there exactly as it copies a folder. Only ``file`` and ``https`` transports are
allowed, git never prompts, and a clone that takes too long is stopped.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fivesafes.environment.refusals import RefusalKind, Refused

COMMIT = re.compile(r"[0-9a-f]{7,64}")
"""A commit as git names it: its hash, in full or abbreviated (SHA-1 or SHA-256)."""
CLONE_SECONDS = 300
_GIT_OPTIONS = ("-c", "protocol.allow=never", "-c", "protocol.file.allow=always",
                "-c", "protocol.https.allow=always", "-c", "core.hooksPath=/dev/null")  # fmt: skip


def git() -> str:
    """The git program, or refused (unavailable) if it is not installed."""
    found = shutil.which("git")
    if found is None:
        raise Refused("git is not installed here: a study cannot be read from git",
                      RefusalKind.UNAVAILABLE)  # fmt: skip
    return found


def run_git(
    *args: str, cwd: Path | None = None, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    """git with only ``file`` and ``https`` transports, no hooks and no prompt, stopped if it
    takes too long; its output as bytes (a study's file names and contents need not be text)."""
    quiet = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "/bin/false"}
    try:
        return subprocess.run(
            [git(), *_GIT_OPTIONS, *args],
            cwd=cwd,
            env=quiet,
            input=stdin,
            capture_output=True,
            check=False,
            timeout=CLONE_SECONDS,
        )
    except subprocess.TimeoutExpired:
        raise Refused(f"git took longer than {CLONE_SECONDS} s", RefusalKind.UNAVAILABLE) from None


def said(done: subprocess.CompletedProcess[bytes]) -> str:
    """What git said when it failed, as one line."""
    return done.stderr.decode("utf-8", "replace").strip() or "git failed"


@contextmanager
def checked_out(repository: str, commit: str) -> Iterator[Path]:
    """``repository`` at ``commit``, in a temporary folder removed afterwards."""
    if not COMMIT.fullmatch(commit):
        raise Refused(f"commit {commit!r} is not a commit hash (7 to 64 hex digits)")
    if not repository.strip():
        raise Refused("the project's application names no repository to fetch a study from")
    with tempfile.TemporaryDirectory(prefix="fivesafes-study-") as scratch:
        folder = Path(scratch) / "study"
        cloned = run_git("clone", "--quiet", "--no-checkout", "--", repository, str(folder))
        if cloned.returncode != 0:
            raise Refused(f"cannot clone {repository}: {said(cloned)}", RefusalKind.UNAVAILABLE)
        found = run_git("checkout", "--quiet", "--detach", commit, cwd=folder)
        if found.returncode != 0:
            raise Refused(f"no commit {commit} in {repository}")
        yield folder
