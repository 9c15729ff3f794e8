"""`fivesafes release publish` killed with SIGKILL at every point where it writes -- the staging
folder and pending history, the intent, the rename that publishes, the release's history unit
(between its write and its rename), the request's state, the release entry -- and while it
returns a request whose files changed: after a restart the ledger, the control plane, the
published folder and the release history agree, `ledger verify` passes, and a retry publishes
exactly once (one folder, one manifest, one `release` entry, each table once in the history).
Recovery itself is killed part-way too."""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from kill_support import KILLED, Forker, Ran, entries, of_kind, settled_intents
from release_support import (
    PROJECT,
    SAFE_COUNTS,
    People,
    approved_project,
    as_environment,
    counts_csv,
    held_job,
)

from fivesafes.disclosure import FileReleaseHistory
from fivesafes.failpoints import FAILPOINT_ENV
from fivesafes.governance import ControlPlane
from fivesafes.governance.database import DATABASE_URL_ENV
from fivesafes.ledger.note import NoteVerifier
from fivesafes.release import (
    ReleaseError,
    ReleaseOffice,
    Verdict,
    publish_release,
    request_release,
    review_release,
)
from fivesafes.release.manifest import MANIFEST_FILE, verify_release
from fivesafes.release.tables import ReleaseRequestRow
from fivesafes.store.config import DataDir

pytestmark = pytest.mark.slow  # real processes, killed for real: seconds each

PUBLISH_POINTS = (
    "publish.before-intent",
    "publish.after-intent",
    "publish.after-rename",
    "publish.history-before-rename",
    "publish.after-history",
    "publish.after-state",
    "publish.after-outcome",
)
PUBLISHED_AT = set(PUBLISH_POINTS[2:])
"""Points after the rename: the folder is out, so recovery completes the publication."""
RETURN_POINTS = ("publish.return-after-intent", "publish.return-after-commit")
TABLES = ("output/table.csv", "output/other.csv")


@dataclass(frozen=True)
class Approved:
    """An environment with a request of two tables approved by two checkers, and its study."""

    root: Path
    release_id: str
    token: str
    """The analyst who asked, and who publishes."""


def _environment(base: Path, change_after_approval: bool) -> Approved:
    root = base / "env"
    data_dir = DataDir.from_env(root)
    with ControlPlane.open(data_dir, url=f"sqlite:///{root / 'control.sqlite'}") as cp:
        office = ReleaseOffice(cp, data_dir)
        people: People = approved_project(office)
        study = held_job(data_dir, "job-kill", cp=cp)
        study.write(TABLES[0], counts_csv(SAFE_COUNTS))
        study.write(TABLES[1], counts_csv({k: 2 * v for k, v in SAFE_COUNTS.items()}))
        study.record_job("summarise", list(TABLES))
        ana = people.token("ana")
        release_id, _ = request_release(
            office, ana, PROJECT, study.root, list(TABLES), "Counts for the annual report."
        )
        for checker in ("chk1", "chk2"):
            review_release(
                office,
                people.token(checker),
                release_id,
                Verdict.APPROVE,
                "fine",
                people.key(checker),
            )
    if change_after_approval:
        study.write(TABLES[0], counts_csv({**SAFE_COUNTS, ("0-17", "F"): 41}))
    as_environment(data_dir)
    return Approved(root, release_id, ana)


@pytest.fixture(scope="module")
def approved(tmp_path_factory: pytest.TempPathFactory) -> Approved:
    return _environment(tmp_path_factory.mktemp("publish-world"), change_after_approval=False)


@pytest.fixture(scope="module")
def changed(tmp_path_factory: pytest.TempPathFactory) -> Approved:
    return _environment(tmp_path_factory.mktemp("return-world"), change_after_approval=True)


def _run(forker: Forker, root: Path, args: list[str], token: str, point: str = "") -> Ran:
    env = {"FIVESAFES_TOKEN": token, **({FAILPOINT_ENV: point} if point else {})}
    unset = [DATABASE_URL_ENV, *([] if point else [FAILPOINT_ENV])]
    return forker.run([*args, "--data-dir", str(root)], env, unset)


def _copy(world: Approved, tmp_path: Path) -> Path:
    root = tmp_path / "env"
    shutil.copytree(world.root, root)
    return root


def _state(root: Path, release_id: str) -> str:
    url = f"sqlite:///{root / 'control.sqlite'}"
    with ControlPlane.open(DataDir.from_env(root), url=url) as cp, cp.transaction() as session:
        row = session.get(ReleaseRequestRow, release_id)
        assert row is not None
        return row.state


def _agree(root: Path, release_id: str) -> str:
    """The request's state, asserting that the ledger, the published folder and the history
    say the same, that nothing half-made is left, and that every intent is answered once."""
    found = entries(root)
    settled_intents(found)
    state = _state(root, release_id)
    folder = root / "released" / PROJECT / release_id
    history = [t.name for t in FileReleaseHistory(root / "release-history").released()]
    releases = of_kind(found, "release")
    assert not folder.with_name(f"{release_id}.partial").exists()
    assert not (root / "release-history" / ".pending" / release_id).exists()
    if state == "released":
        keys = [NoteVerifier.from_vkey(found[0]["subject"]["key"])]
        assert verify_release(folder, keys) == []
        manifest = hashlib.sha256((folder / MANIFEST_FILE).read_bytes()).hexdigest()
        assert [r["manifest_sha256"] for r in releases] == [manifest]
        assert sorted(history) == sorted(Path(t).name for t in TABLES)  # each table once
    else:
        assert not folder.exists() and releases == [] and history == []
    return state


def _verified(forker: Forker, root: Path, token: str) -> None:
    verify = _run(forker, root, ["ledger", "verify"], token)
    assert verify.returncode == 0 and "OK: every entry re-hashed" in verify.stdout, verify.output


def _killed_and_restarted(
    world: Approved, forker: Forker, tmp_path: Path, point: str
) -> tuple[Path, str]:
    """A copy of ``world`` whose publish was killed at ``point``, then restarted (recovered)."""
    root, rid = _copy(world, tmp_path), world.release_id
    killed = _run(forker, root, ["release", "publish", rid], world.token, point)
    assert killed.returncode == KILLED, killed.output
    restarted = _run(forker, root, ["release", "show", rid], world.token)
    assert restarted.returncode == 0, restarted.output
    return root, rid


@pytest.mark.parametrize("point", PUBLISH_POINTS)
def test_a_publication_killed_at_each_write_is_recovered_and_retried_exactly_once(
    point: str, approved: Approved, forker: Forker, tmp_path: Path
) -> None:
    root, rid = _killed_and_restarted(approved, forker, tmp_path, point)
    assert _agree(root, rid) == ("released" if point in PUBLISHED_AT else "approved")

    retried = _run(forker, root, ["release", "publish", rid], approved.token)
    assert retried.returncode == 0, retried.output
    assert ("already released" in retried.stdout) == (point in PUBLISHED_AT)
    assert _agree(root, rid) == "released"
    found = entries(root)
    assert len(of_kind(found, "abandoned")) == (point == "publish.after-intent")
    _verified(forker, root, approved.token)


def test_recovery_killed_part_way_finishes_at_the_next_start(
    approved: Approved, forker: Forker, tmp_path: Path
) -> None:
    root, rid = _copy(approved, tmp_path), approved.release_id
    show = ["release", "show", rid]
    killed = _run(forker, root, ["release", "publish", rid], approved.token, "publish.after-rename")
    assert killed.returncode == KILLED, killed.output
    # The restart's recovery writes the release's history unit, then is killed before the
    # rename that records it.
    again = _run(forker, root, show, approved.token, "publish.history-before-rename")
    assert again.returncode == KILLED, again.output
    restarted = _run(forker, root, show, approved.token)
    assert restarted.returncode == 0, restarted.output
    assert _agree(root, rid) == "released"  # each table once in the history, not three times
    retried = _run(forker, root, ["release", "publish", rid], approved.token)
    assert retried.returncode == 0 and "already released" in retried.stdout, retried.output
    assert _agree(root, rid) == "released"


@pytest.mark.parametrize("point", RETURN_POINTS)
def test_returning_a_changed_request_killed_at_each_write_is_recovered_once(
    point: str, changed: Approved, forker: Forker, tmp_path: Path
) -> None:
    root, rid = _killed_and_restarted(changed, forker, tmp_path, point)
    returned = point == "publish.return-after-commit"
    assert _agree(root, rid) == ("returned" if returned else "approved")

    retried = _run(forker, root, ["release", "publish", rid], changed.token)
    assert retried.returncode == 2, retried.output
    told = " ".join(retried.stderr.split())
    assert ("is returned; only approved requests publish" in told) == returned
    assert _agree(root, rid) == "returned"
    reviews = [r for r in of_kind(entries(root), "review") if r.get("decision") == "returned"]
    assert len(reviews) == 1
    _verified(forker, root, changed.token)


def test_a_folder_the_ledger_does_not_know_is_refused_and_never_deleted(
    approved: Approved, tmp_path: Path
) -> None:
    """What an earlier version left after a crash -- a published folder, the request still
    approved, no intent -- is neither overwritten nor removed: publish says what to do."""
    root = _copy(approved, tmp_path)
    folder = root / "released" / PROJECT / approved.release_id
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text("{}")
    data_dir = DataDir.from_env(root)
    with ControlPlane.open(data_dir, url=f"sqlite:///{root / 'control.sqlite'}") as cp:
        office = ReleaseOffice(cp, data_dir)
        with pytest.raises(ReleaseError, match=r"exists but .* is not released"):
            publish_release(office, approved.token, approved.release_id)
    assert (folder / "manifest.json").read_text() == "{}"
    assert _state(root, approved.release_id) == "approved"
