"""A study as submitted: its code copied into the environment, where its job runs.

A job against real data never runs in the submitter's folder: its outputs there would be
patient-level files in the analyst's hands, and a later dummy run would overwrite them. So the
study's code (plain files only: :func:`~fivesafes.jobs.workspace.code_files` refuses links and
devices) is copied, by descriptor, into a folder the environment owns, and the job runs there.
The copy's SHA-256 names exactly what was run.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from fivesafes.jobs.beneath import copy_into, open_file, open_folder
from fivesafes.jobs.hashing import file_sha256
from fivesafes.jobs.project import Project
from fivesafes.jobs.workspace import code_files


def copy_study(project: Project, target: Path) -> str:
    """Copy the study's code to ``target`` (a new, owner-only folder); its SHA-256 over every
    file's path and contents, in path order."""
    code = code_files(project)
    target.mkdir(mode=0o700, parents=True)
    digest = hashlib.sha256()
    source_fd, target_fd = open_folder(project.root), open_folder(target)
    try:
        for rel in sorted(code):
            fd = open_file(source_fd, rel)
            try:
                copy_into(fd, target_fd, rel, 0o600)
            finally:
                os.close(fd)
            digest.update(f"{rel}\0{file_sha256(target / rel)}\n".encode())
    finally:
        os.close(source_fd)
        os.close(target_fd)
    return digest.hexdigest()
