"""Property tests of the release promises.

- nothing highly_sensitive can ever be requested, so never released;
- a release never happens without two independent approvals by people other than the author;
- no released table ever contains a non-zero count under the threshold;
- reviewers cannot see each other's votes (nor can anyone else) before both are in.

Each property shares one control plane across its examples (setting one up costs more than the
examples): requests accumulate, which is what a real environment does too.
"""

from __future__ import annotations

import csv
import itertools
import re
import tempfile
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from release_support import PROJECT, SAFE_COUNTS, People, Study, counts_csv, held_job

from fivesafes.disclosure import profile
from fivesafes.governance import AccessDenied
from fivesafes.ledger.public import public_view
from fivesafes.release import (
    ReleaseError,
    ReleaseOffice,
    State,
    Verdict,
    outcome_of,
    publish_release,
    request_release,
    review_release,
    show_release,
    verify_release,
)

SHARED = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
WHY = "For the annual report."
EXCEPTION = "Publish the checker's safe version."
THRESHOLD = profile("default").threshold
NUMBER = re.compile(r"-?\d+(\.\d+)?")
verdicts = st.sampled_from(list(Verdict))


def _fresh_study(office: ReleaseOffice) -> Study:
    """A new job's study, held where the environment holds jobs (a fresh one per example)."""
    office.data_dir.jobs.mkdir(parents=True, exist_ok=True)
    job = Path(tempfile.mkdtemp(prefix="job-", dir=office.data_dir.jobs))
    return held_job(office.data_dir, job.name, cp=office.cp)


@SHARED
@given(
    privacies=st.lists(
        st.sampled_from(["highly_sensitive", "moderately_sensitive"]), min_size=1, max_size=4
    ),
    data=st.data(),
)
def test_nothing_highly_sensitive_is_ever_requested(
    office: ReleaseOffice, people: People, privacies: list[str], data: st.DataObject
) -> None:
    study = _fresh_study(office)
    outputs = {f"output/t{k}.csv": level for k, level in enumerate(privacies)}
    levels = "\n".join(
        f"      {level}: {{t{k}: output/t{k}.csv}}" for k, level in enumerate(privacies)
    )
    actions = "\n".join(
        f"  a{k}:\n    run: python a{k}.py\n    outputs:\n{levels.splitlines()[k]}"
        for k in range(len(privacies))
    )
    (study.root / "project.yaml").write_text(f"version: 1\nactions:\n{actions}\n")
    for k, (path, level) in enumerate(outputs.items()):
        # tables differ by 20 girls, so differencing one against another exposes no small group
        study.write(path, counts_csv({**SAFE_COUNTS, ("0-17", "F"): 40 + 20 * k}))
        # a job record may even claim the wrong level: both the file and the record must agree
        claimed = data.draw(st.sampled_from([level, "moderately_sensitive"]))
        study.record_job(f"a{k}", [path], privacy=claimed)
    wanted = data.draw(st.lists(st.sampled_from(sorted(outputs)), min_size=1, unique=True))
    try:
        rid, _ = request_release(office, people.token("ana"), PROJECT, study.root, wanted, WHY)
    except ReleaseError as refused:
        assert any(outputs[p] == "highly_sensitive" for p in wanted)
        assert "highly_sensitive" in str(refused)
        return
    assert all(outputs[p] == "moderately_sensitive" for p in wanted)
    view = show_release(office, people.token("ana"), rid)
    assert {f.path for f in view.files} == set(wanted)


REVIEWERS = ["chk1", "chk2", "chk3", "chk4", "ana", "apo"]
LIKELY = st.sampled_from([*REVIEWERS, "chk1", "chk2", "chk3"])  # checkers drawn more often


@SHARED
@given(votes=st.lists(st.tuples(LIKELY, verdicts), max_size=5))
def test_a_release_needs_two_independent_approvals(
    office: ReleaseOffice, people: People, votes: list[tuple[str, Verdict]]
) -> None:
    study = _fresh_study(office)
    study.write("output/table.csv", counts_csv(SAFE_COUNTS))
    study.record_job("summarise", ["output/table.csv"])
    rid, _ = request_release(
        office, people.token("ana"), PROJECT, study.root, ["output/table.csv"], WHY
    )
    counted: list[tuple[str, Verdict]] = []
    for who, verdict in votes:
        try:
            review_release(
                office,
                people.token(who),
                rid,
                verdict,
                "looked",
                people.world.keys.get(who) or people.key("chk1"),
            )
        except (ReleaseError, AccessDenied):
            continue
        counted.append((who, verdict))
    try:
        published = publish_release(office, people.token("ana"), rid)
    except ReleaseError:
        assert outcome_of([v for _, v in counted]) is not State.APPROVED
        return
    voters = [who for who, _ in counted]
    approvers = {who for who, v in counted if v is Verdict.APPROVE}
    assert len(approvers) >= 2 and len(voters) == len(set(voters))
    assert approvers <= {"chk1", "chk2", "chk3"}  # checkers, not the author nor a member
    manifest = orjson.loads((published.folder / "manifest.json").read_bytes())
    signed = {a["statement"]["person_id"] for a in manifest["approvals"]}
    assert len(signed) >= 2 and "ana" not in signed and signed <= approvers
    assert verify_release(published.folder, office.cp.ledger.keys) == []


counts = st.integers(min_value=0, max_value=60)


@settings(SHARED, max_examples=8)
@given(
    grid=st.lists(st.lists(counts, min_size=2, max_size=3), min_size=2, max_size=4).filter(
        lambda g: len({len(r) for r in g}) == 1
    )
)
def test_no_released_table_has_a_count_under_the_threshold(
    office: ReleaseOffice, people: People, grid: list[list[int]]
) -> None:
    study = _fresh_study(office)
    cells = {(f"band{r}", f"group{c}"): n for r, row in enumerate(grid) for c, n in enumerate(row)}
    study.write("output/table.csv", counts_csv(cells))
    study.record_job("summarise", ["output/table.csv"])
    try:
        rid, _ = request_release(
            office,
            people.token("ana"),
            PROJECT,
            study.root,
            ["output/table.csv"],
            WHY,
            {"output/table.csv": EXCEPTION},
        )
    except ReleaseError:
        return  # not releasable at all (small totals, differencing): nothing goes out
    for checker in ("chk1", "chk2"):
        review_release(
            office, people.token(checker), rid, Verdict.APPROVE, "ok", people.key(checker)
        )
    try:
        published = publish_release(office, people.token("ana"), rid)
    except ReleaseError:
        return  # returned: an earlier release made it a differencing risk
    with (published.folder / "output/table.csv").open(newline="") as handle:
        rows = list(csv.reader(handle))
    numbers = [float(v) for row in rows[1:] for v in row if NUMBER.fullmatch(v)]
    assert rows[0] == ["age_band", "sex", "count"]  # released as written: no margins added
    assert all(n == 0 or n >= THRESHOLD for n in numbers)


@SHARED
@given(
    first=st.sampled_from(["chk1", "chk2", "chk3"]),
    verdict=verdicts,
    words=st.text(alphabet="0123456789abcdef", min_size=16, max_size=24).map("zq-{}".format),
)
def test_no_one_sees_a_vote_before_both_are_in(
    office: ReleaseOffice, people: People, first: str, verdict: Verdict, words: str
) -> None:
    study = _fresh_study(office)
    study.write("output/table.csv", counts_csv(SAFE_COUNTS))
    study.record_job("summarise", ["output/table.csv"])
    rid, _ = request_release(
        office, people.token("ana"), PROJECT, study.root, ["output/table.csv"], WHY
    )
    review_release(office, people.token(first), rid, verdict, words, people.key(first))
    for viewer in ("chk1", "chk2", "chk3", "ana", "bob"):
        if viewer == first:
            continue
        seen = orjson.dumps(show_release(office, people.token(viewer), rid).to_dict())
        assert words.encode() not in seen and b'"verdict"' not in seen
    public = public_view(office.cp.ledger.entries()).to_list()
    mine = [r for r in public if r["kind"] == "review" and r.get("release_id") == rid]
    assert mine and all("decision" not in r for r in mine)
    raw = b"".join(itertools.islice(office.cp.ledger.entries(), None))
    assert words.encode() not in raw


@pytest.mark.parametrize(
    ("votes", "state"),
    [
        ([Verdict.APPROVE], State.UNDER_REVIEW),
        ([Verdict.APPROVE, Verdict.APPROVE], State.APPROVED),
        ([Verdict.REJECT, Verdict.REJECT], State.REJECTED),
        ([Verdict.REJECT, Verdict.RETURN], State.RETURNED),
        ([Verdict.APPROVE, Verdict.REJECT], State.AWAITING_THIRD),
        ([Verdict.APPROVE, Verdict.REJECT, Verdict.APPROVE], State.APPROVED),
        ([Verdict.REJECT, Verdict.APPROVE, Verdict.RETURN], State.RETURNED),
    ],
)
def test_outcome_of_votes(votes: list[Verdict], state: State) -> None:
    assert outcome_of(votes) is state


@given(st.lists(verdicts, min_size=2, max_size=3))
def test_approval_always_rests_on_two_approving_votes(votes: list[Verdict]) -> None:
    if outcome_of(votes) is State.APPROVED:
        assert votes.count(Verdict.APPROVE) >= 2
