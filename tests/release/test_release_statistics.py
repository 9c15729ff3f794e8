"""17(b) through the release workflow: a statistic over fewer than the threshold of people never
leaves, and the dominance and minimum-contributor rules run at request and again at publication
on the contributions the job kept — release never had the records (``--microdata``) to run them.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pyarrow as pa
import pytest
from release_support import PROJECT, People, Study

from fivesafes.disclosure import safe
from fivesafes.disclosure.magnitude import contributions_path
from fivesafes.release import (
    Outcome,
    ReleaseError,
    Verdict,
    check_request_files,
    publish_release,
    request_release,
    review_release,
)

TABLE = "output/table.csv"
KEPT = contributions_path(Path(TABLE)).as_posix()  # output/table.contributions.csv
WHY = "Costs by team for the annual report."


def _costs(dominated: bool = False) -> pa.Table:
    """Twelve people in each of teams A and B; in A, with ``dominated``, one costs 1,000 and
    the others 1 each (the p% and n,k rules' case: the total is mostly one person's)."""
    a = [1000.0] + [1.0] * 11 if dominated else [50.0 + k for k in range(12)]
    return pa.table({"team": ["A"] * 12 + ["B"] * 12, "cost": a + [40.0 + k for k in range(12)]})


def _made_by_the_safe_api(study: Study, records: pa.Table, keep: bool = True) -> None:
    """What the job writes: the table of sums and, beside it, its contributions (declared
    highly sensitive), as ``safe.total(...).write_csv`` writes them."""
    with contextlib.chdir(study.root):
        safe.total(records, "cost", "team").write_csv(TABLE)
    study.record_job("summarise", [TABLE], highly_sensitive=[KEPT] if keep else [])


def _rules(check) -> dict[str, bool]:
    return {rule["rule"]: rule["passed"] for rule in check.report["rules"]}


def test_the_dominance_rules_run_at_request_on_what_the_job_kept(office, study: Study) -> None:
    _made_by_the_safe_api(study, _costs())
    (check,) = check_request_files(office, PROJECT, study.root, [TABLE])
    assert check.outcome is Outcome.PASSED
    ran = _rules(check)
    assert ran["contributors_known"] and ran["matches_contributions"]
    assert ran["p_percent"] and ran["nk_dominance"] and ran["small_group_statistics"]


def test_a_dominated_sum_written_by_hand_goes_out_only_hidden(office, study: Study) -> None:
    """The safe API hides team A's sum itself; an analysis that writes its own sums (beside
    the contributions, in their documented layout) is held to the same rules at request."""
    records = _costs(dominated=True)
    with contextlib.chdir(study.root):
        safe.total(records, "cost", "team").write_csv(TABLE)
    study.write(TABLE, "team,cost_sum\nA,1011\nB,546\n")  # the raw sums, A's mostly one person's
    study.record_job("summarise", [TABLE], highly_sensitive=[KEPT])
    (check,) = check_request_files(office, PROJECT, study.root, [TABLE])
    assert check.outcome is Outcome.SAFE_VERSION  # the file as written may not leave
    failed = {r["rule"]: r["cells"] for r in check.report["rules"] if not r["passed"]}
    assert any("team=A" in cell for cell in failed["nk_dominance"])


@pytest.mark.parametrize("how", ["not kept", "changed since the job", "kept as a table"])
def test_a_sum_without_the_contributions_its_job_kept_is_not_releasable(
    office, study: Study, how: str
) -> None:
    _made_by_the_safe_api(study, _costs(), keep=how != "not kept")
    if how == "changed since the job":  # forged to pass: no longer the job's bytes
        kept = study.root / KEPT
        kept.write_text(kept.read_text() + "\n")
    if how == "kept as a table":  # a moderately sensitive "contributions" file proves nothing
        study.record_job("summarise", [TABLE, KEPT])
    with pytest.raises(ReleaseError, match=r"(?s)not releasable.*contributors_known"):
        check_request_files(office, PROJECT, study.root, [TABLE])


@pytest.mark.parametrize(
    "table",
    [
        "team,n,mean_cost\nA,2,513.5\nB,40,220.0\n",  # n hidden as small: the mean with it
        "unit,mean_cost\nA,513.5\nB,220.0\n",  # no count of contributors at all
    ],
)
def test_a_mean_of_a_small_or_unknown_group_never_leaves(
    office, people: People, study: Study, table: str
) -> None:
    study.write(TABLE, table)
    study.record_job("summarise", [TABLE])
    with pytest.raises(ReleaseError, match=r"(?s)not releasable.*contributors_known"):
        request_release(office, people.token("ana"), PROJECT, study.root, [TABLE], WHY)


def test_publication_checks_the_statistics_again_with_the_same_contributions(
    office, people: People, study: Study
) -> None:
    """The recheck at publication finds the contributions through the job record, so a table
    that passed at request is published, not returned for want of them."""
    _made_by_the_safe_api(study, _costs())
    release_id, _ = request_release(office, people.token("ana"), PROJECT, study.root, [TABLE], WHY)
    for checker in ("chk1", "chk2"):
        review_release(
            office, people.token(checker), release_id, Verdict.APPROVE, "ok", people.key(checker)
        )
    published = publish_release(office, people.token("ana"), release_id)
    assert list(published.files) == [TABLE]
    assert not (published.folder / KEPT).exists()  # the contributions never leave
