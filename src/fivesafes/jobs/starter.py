"""A new study folder that runs on dummy data at once (`fivesafes init`).

A first study should start from one that works, not from an empty folder: every part a study
needs (the pipeline, a dataset definition, a code list, an analysis that writes a table safe to
release, the project application that says what it all does, and a ``.gitignore`` that keeps
outputs out of the open code), consistent with each other, so that ``fivesafes run`` succeeds
before anything is changed. The files are those of ``starter_study/`` beside this module; only
the application and the README are filled in, with the study's title, members, repository and
organisation.
"""

from __future__ import annotations

import json
import string
from dataclasses import dataclass
from pathlib import Path

STARTER = Path(__file__).with_name("starter_study")
# Files kept under another name in the package: a .gitignore there would be git's, not a study's.
RENAMED = {"gitignore": ".gitignore"}


@dataclass(frozen=True)
class NewStudy:
    """What goes into the application of a new study."""

    title: str
    members: tuple[str, ...]
    organisation: str
    repository: str


class StudyExists(Exception):
    """The folder for a new study already holds files (nothing is overwritten)."""


def new_study(folder: Path, study: NewStudy) -> list[Path]:
    """Write a new study into ``folder`` (made if missing, refused unless empty); the files
    written, relative to it, in order."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise StudyExists(f"{folder} already exists and is not an empty folder: choose a new one")
    project_id = folder.resolve().name
    filled_in = {
        "application.toml": {
            "project_id": project_id,
            "title": _toml(study.title),
            "members": _toml(list(study.members)),
            "organisation": _toml(study.organisation),
            "repository": _toml(study.repository),
        },
        "README.md": {"project_id": project_id, "title": study.title},
    }
    written = []
    for source in sorted(p for p in STARTER.rglob("*") if p.is_file()):
        relative = source.relative_to(STARTER)
        relative = relative.with_name(RENAMED.get(relative.name, relative.name))
        text = source.read_text(encoding="utf-8")
        if relative.name in filled_in:
            text = string.Template(text).substitute(filled_in[relative.name])
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(relative)
    return written


def _toml(value: str | list[str]) -> str:
    """A TOML string or array of strings (JSON's escapes are TOML's)."""
    return json.dumps(value, ensure_ascii=False)
