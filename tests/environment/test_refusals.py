"""Every refusal is in the ledger as a refusal, saying what was refused and why (issue 18, hole
16): signing with another person's key, voting twice, publishing with one approval, revoking
another person's token, and nobody issues a token for someone else at all."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from environment_support import PROJECT, People, study, submitted

from fivesafes.environment import Environment, Refused, accounts, projects, releases
from fivesafes.governance import Role, Verdict
from fivesafes.release import Verdict as Vote
from governance.governance_support import application
from jobs.jobs_support import needs_sandbox


def _refusals(env: Environment) -> list[tuple[str, str, str]]:
    return [
        (e["actor"], e["subject"]["action"], e["subject"]["reason"])
        for e in map(orjson.loads, env.cp.ledger.entries())
        if e["kind"] == "refusal"
    ]


def test_signing_a_decision_with_another_persons_key(people: People) -> None:
    env = people.env
    people.add("ana", Role.ANALYST)
    people.add("val", Role.APPROVER)
    people.add("vic", Role.APPROVER)
    projects.apply(env, people.tokens["ana"], "heat", application("ana"))
    with pytest.raises(Refused, match="sign with a key val has registered"):
        projects.decision(
            env, people.tokens["val"], "heat", Verdict.REJECT, "no", people.keys["vic"]
        )
    assert _refusals(env) == [
        ("val", "decide_project", "sign with a key val has registered (fivesafes user keygen)")
    ]


def test_revoking_another_persons_token(people: People) -> None:
    env = people.env
    people.add("ana", Role.ANALYST)
    people.add("bob", Role.ANALYST)
    bobs = accounts.whoami(env, people.tokens["bob"]).token_id or ""
    with pytest.raises(Refused, match="may not revoke bob's tokens"):
        accounts.revoke_token(env, people.tokens["ana"], bobs)
    assert _refusals(env)[-1] == ("ana", "revoke_token", "ana may not revoke bob's tokens")
    assert accounts.whoami(env, people.tokens["bob"]).person_id == "bob"


def test_a_refusal_of_a_stranger_is_logged_too(people: People) -> None:
    with pytest.raises(Refused, match="unknown token"):
        accounts.whoami(people.env, "fst_guessed")
    assert _refusals(people.env) == [("unknown", "whoami", "unknown token")]


@needs_sandbox
def test_voting_twice_and_publishing_with_one_approval(world: People, tmp_path: Path) -> None:
    env = world.env
    for checker in ("chk1", "chk2"):
        world.add(checker, Role.OUTPUT_CHECKER)
    world.delegate("chk1", "chk2")
    folder = study(tmp_path / "study")
    table = "age_band,count\n0-17,40\n18-64,120\n65+,75\n"
    (folder / "analysis" / "count.py").write_text(f"open('output/count.csv', 'w').write({table!r})")
    job = submitted(env, world.tokens["ana"], PROJECT, folder)
    files = ["output/count.csv"]
    why = "Counts for the report."
    asked = releases.request(env, world.tokens["ana"], PROJECT, job.job_id, files, why)
    vote = (asked.release_id, Vote.APPROVE, "fine")
    releases.review(env, world.tokens["chk1"], *vote, world.keys["chk1"])
    with pytest.raises(Refused, match="already voted"):
        releases.review(env, world.tokens["chk1"], *vote, world.keys["chk1"])
    with pytest.raises(Refused, match="only approved requests publish"):
        releases.publish(env, world.tokens["ana"], asked.release_id)
    refused = [(who, what) for who, what, _ in _refusals(env)]
    assert refused == [("chk1", "review_release"), ("ana", "publish_release")]
    releases.review(env, world.tokens["chk2"], *vote, world.keys["chk2"])
    published = releases.publish(env, world.tokens["ana"], asked.release_id)
    assert (published.folder / "output" / "count.csv").is_file()


def test_nobody_issues_a_token_for_someone_else(people: People) -> None:
    """Issuing another person's token was refused but logged only as an allowed login; now
    there is no such thing to ask for: a token is always the caller's own."""
    issued = accounts.issue_token(people.env, people.tokens["cus"])
    assert issued.person_id == "cus"
    with pytest.raises(TypeError):
        accounts.issue_token(people.env, people.tokens["cus"], "ana")  # type: ignore[arg-type]
