"""The release path of ``make demo``: request → automatic checks → two reviewers → publish.

The demo already has a custodian, an analyst and an approved project; it has no output checkers,
so :func:`demo_checkers` makes two, each with their own signing key. Everything still goes
through the same gates, signatures and ledger as real use.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fivesafes.governance import (
    ControlPlane,
    NewAccount,
    Role,
    create_account,
    enrol,
    register_key,
)
from fivesafes.release.model import ReleaseError, Verdict
from fivesafes.release.office import ReleaseOffice
from fivesafes.release.publish import Publication, publish_release
from fivesafes.release.requests import check_request_files, request_release
from fivesafes.release.reviews import review_release
from fivesafes.store.config import DataDir

DEMO_CHECKERS = ("demo-checker-a", "demo-checker-b")
DEMO_JUSTIFICATION = "Asthma prevalence by age band, sex and deprivation for the public summary."
DEMO_COMMENTS = "Checked the tables, the chart and the automatic checks."
SAFE_VERSION_EXCEPTION = "Demo: the checker's safe version (small cells suppressed) is published."


def _checker(person_id: str, cp: ControlPlane) -> NewAccount:
    return NewAccount(
        person_id=person_id,
        public_name=person_id.replace("-", " ").title(),
        organisation="Demo Environment",
        roles=frozenset({Role.OUTPUT_CHECKER}),
        expires_on=cp.today() + timedelta(days=365),
        trained_on=cp.today() - timedelta(days=1),
    )


def demo_checkers(
    cp: ControlPlane, custodian_token: str, names: Sequence[str] = DEMO_CHECKERS
) -> list[tuple[str, Ed25519PrivateKey]]:
    """Two output checkers, created by the custodian, each with a registered signing key;
    returns their tokens and keys."""
    checkers = []
    for person_id in names:
        token = enrol(cp, create_account(cp, custodian_token, _checker(person_id, cp)).code).token
        key = Ed25519PrivateKey.generate()
        register_key(cp, token, key.public_key())
        checkers.append((token, key))
    return checkers


def demo_release(
    data_dir: DataDir,
    study: Path,
    files: Sequence[str],
    project_id: str,
    analyst_token: str,
    custodian_token: str,
    checker_names: Sequence[str] = DEMO_CHECKERS,
) -> Publication:
    """Request ``files`` of a study already submitted against the store, as the analyst; let two
    new demo output checkers approve; publish; return where the release is.

    Synthetic data of any size may make a table unreleasable (a total under the threshold): such
    a file is left out with the checker's reason printed, which is the checks doing their job.
    """
    with ControlPlane.open(data_dir) as cp:
        office = ReleaseOffice(cp, data_dir)
        releasable = list(files)
        try:
            check_request_files(office, project_id, study, releasable)
        except ReleaseError:
            releasable = []
            for path in files:
                try:
                    check_request_files(office, project_id, study, [path])
                except ReleaseError as refused:
                    print(f"not requested: {str(refused).splitlines()[0]}")
                else:
                    releasable.append(path)
        if not releasable:
            raise ReleaseError("none of the files can be released; see the reasons above")
        files = releasable
        checkers = demo_checkers(cp, custodian_token, checker_names)
        checks = check_request_files(office, project_id, study, files)
        exceptions = {c.path: SAFE_VERSION_EXCEPTION for c in checks if c.needs_exception}
        release_id, _ = request_release(
            office, analyst_token, project_id, study, files, DEMO_JUSTIFICATION, exceptions
        )
        for token, key in checkers:
            review_release(office, token, release_id, Verdict.APPROVE, DEMO_COMMENTS, key)
        return publish_release(office, analyst_token, release_id)


def describe_publication(publication: Publication) -> str:
    """What ``make demo`` prints: where the release is, and each released table in full."""
    lines = [f"released {publication.release_id} to {publication.folder}"]
    for path, digest in publication.files.items():
        lines.append(f"  {path}  sha256 {digest[:16]}…")
        if path.endswith(".csv"):
            text = (publication.folder / path).read_text(encoding="utf-8")
            lines += ["    " + line for line in text.splitlines()]
    lines.append(f"  summary: {publication.folder / 'summary.png'}")
    return "\n".join(lines)
