"""The management API's jobs, outputs, disclosure checks and releases through HTTP: an analyst
on the project submits by commit, sees the job, its log and outputs, checks them, asks for
release; two output checkers vote (through the environment layer here, with their keys in
hand; the API's two-step signed votes are ``test_v1_signing``'s) and the analyst publishes. And
the refusals: an analyst off the project, a stranger, no token, an output checker reaching
their own project's job."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from api_support import Running, serving
from v1_support import V1, V1World, build_v1_world, problem_of, work_the_queue

from environment.environment_support import PROJECT
from fivesafes.environment import Environment, releases
from fivesafes.release import Verdict
from jobs.jobs_support import needs_sandbox

pytestmark = needs_sandbox


@dataclass
class Served:
    v1: V1World
    running: Running
    job: dict[str, Any]

    def get(self, who: str | None, path: str, **kwargs: Any) -> httpx.Response:
        headers = self.v1.auth(who) if who else {}
        return httpx.get(f"{self.running.base_url}{V1}{path}", headers=headers, **kwargs)

    def post(self, who: str | None, path: str, body: Any) -> httpx.Response:
        headers = self.v1.auth(who) if who else {}
        url = f"{self.running.base_url}{V1}{path}"
        return httpx.post(url, headers=headers, json=body, timeout=600)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    v1 = build_v1_world(tmp_path_factory.mktemp("v1"))
    with serving(v1.world.data_dir) as running:
        first = Served(v1, running, {})
        made = first.post("ana", f"/projects/{PROJECT}/jobs", {"commit": v1.commit})
        assert made.status_code == 202, made.text
        assert made.json()["record"]["state"] == "queued"  # answered at once; a worker runs it
        work_the_queue(v1.world.data_dir)
        job_id = made.json()["record"]["job_id"]
        first.job = first.get("ana", f"/jobs/{job_id}").json()
        yield first


def refusals(data_dir: Path) -> list[dict[str, Any]]:
    with Environment.open(data_dir, recover=False) as env:
        entries = [orjson.loads(e) for e in env.cp.ledger.entries()]
    return [e for e in entries if e["kind"] == "refusal"]


def test_a_member_submits_by_commit_and_the_job_runs_on_the_approved_data(served: Served) -> None:
    record = served.job["record"]
    assert record["state"] == "succeeded", record["error"]
    assert record["git_commit"] == served.v1.commit and record["git_dirty"] is False
    assert record["project_id"] == PROJECT and record["person_id"] == "ana"
    assert {r["action"] for r in served.job["runs"]} == {"extract", "count"}
    job_id = record["job_id"]
    assert served.get("ana", f"/jobs/{job_id}").json() == served.job
    listed = served.get("ana", f"/projects/{PROJECT}/jobs").json()
    assert [j["job_id"] for j in listed] == [job_id]
    log = served.get("ana", f"/jobs/{job_id}/log").json()["log"]
    assert "job: succeeded" in log
    outputs = {o["path"]: o["privacy"] for o in served.get("ana", f"/jobs/{job_id}/outputs").json()}
    assert outputs == {
        "output/dataset.csv": "highly_sensitive",
        "output/count.csv": "moderately_sensitive",
    }


def test_a_commit_not_in_the_approved_repository_is_refused(served: Served) -> None:
    answer = served.post("ana", f"/projects/{PROJECT}/jobs", {"commit": "0" * 40})
    assert answer.status_code == 400
    assert "no commit" in str(problem_of(answer)["detail"])


def test_a_queued_job_is_cancelled_by_a_member_and_never_by_anyone_off_the_project(
    served: Served,
) -> None:
    queued = served.post("ana", f"/projects/{PROJECT}/jobs", {"commit": served.v1.commit})
    assert queued.status_code == 202, queued.text
    job_id = queued.json()["record"]["job_id"]
    before = len(refusals(served.v1.world.data_dir))
    for who in ("ben", "pat", "oc1"):
        answer = served.post(who, f"/jobs/{job_id}/cancellation", None)
        assert answer.status_code == 403, (who, answer.text)
    assert len(refusals(served.v1.world.data_dir)) - before == 3
    assert served.get("ana", f"/jobs/{job_id}").json()["record"]["state"] == "queued"
    cancelled = served.post("ana", f"/jobs/{job_id}/cancellation", None)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["record"]["state"] == "cancelled"
    work_the_queue(served.v1.world.data_dir)  # nothing left for a worker to run
    assert served.get("ana", f"/jobs/{job_id}").json()["record"]["state"] == "cancelled"
    again = served.post("ana", f"/jobs/{job_id}/cancellation", None)
    assert again.status_code == 400 and "already ended" in problem_of(again)["detail"]


def test_nobody_off_the_project_reaches_its_jobs(served: Served) -> None:
    job_id = served.job["record"]["job_id"]
    before = len(refusals(served.v1.world.data_dir))
    for who in ("ben", "pat", "oc1"):  # an analyst off it, a patient, an output checker
        for path in (f"/jobs/{job_id}", f"/jobs/{job_id}/log", f"/projects/{PROJECT}/jobs"):
            answer = served.get(who, path)
            assert answer.status_code == 403, (who, path, answer.text)
            assert answer.headers["content-type"].startswith("application/problem+json")
        answer = served.post(who, f"/projects/{PROJECT}/jobs", {"commit": served.v1.commit})
        assert answer.status_code == 403, (who, answer.text)
    assert served.get(None, f"/jobs/{job_id}").status_code == 401
    after = refusals(served.v1.world.data_dir)
    assert len(after) - before == 3 * 4 + 1  # each no is in the ledger, the tokenless one too
    assert {e["actor"] for e in after[before:]} >= {"ben", "pat", "oc1"}


def test_outputs_are_checked_requested_reviewed_and_published(served: Served) -> None:
    v1, job_id = served.v1, served.job["record"]["job_id"]
    checks = served.post(
        "ana",
        f"/projects/{PROJECT}/jobs/{job_id}/disclosure-checks",
        {"files": ["output/count.csv"]},
    )
    assert checks.status_code == 200, checks.text
    (check,) = checks.json()
    assert check["path"] == "output/count.csv" and check["job_id"]
    exceptions = {"output/count.csv": "one total of the whole population"}
    highly = served.post(
        "ana",
        "/releases",
        {"project_id": PROJECT, "job_id": job_id, "files": ["output/dataset.csv"],
         "justification": "the extract", "exceptions": exceptions},
    )  # fmt: skip
    assert highly.status_code == 400, highly.text  # highly sensitive outputs never leave
    asked = served.post(
        "ana",
        "/releases",
        {"project_id": PROJECT, "job_id": job_id, "files": ["output/count.csv"],
         "justification": "the study's one count", "exceptions": exceptions},
    )  # fmt: skip
    assert asked.status_code == 201, asked.text
    release_id = asked.json()["release_id"]
    receipt = asked.json()["receipt"]
    assert receipt["entry"]["actor"] == "ana" and receipt["entry"]["index"] == receipt["index"]
    stranger = served.post(
        "ben",
        "/releases",
        {"project_id": PROJECT, "job_id": job_id, "files": ["output/count.csv"],
         "justification": "not my project"},
    )  # fmt: skip
    assert stranger.status_code == 403, stranger.text
    hidden, missing = served.get("ben", f"/releases/{release_id}"), served.get("ben", "/releases/x")
    assert hidden.status_code == missing.status_code == 400  # the release stage's own no
    assert problem_of(hidden)["detail"] == f"no release request {release_id} that you may see"
    assert served.get("ben", "/releases").json() == []
    shown = served.get("oc1", f"/releases/{release_id}").json()
    assert shown["state"] == "submitted" and shown["votes"] == []
    early = served.post("ana", f"/releases/{release_id}/publication", {})
    assert early.status_code == 400, early.text  # no votes yet: nothing to publish
    with Environment.open(v1.world.data_dir) as env:  # votes signed with the keys in hand
        for who in ("oc1", "oc2"):
            releases.review(env, v1.tokens[who], release_id, Verdict.APPROVE, "fine", v1.keys[who])
    done = served.post("ana", f"/releases/{release_id}/publication", {})
    assert done.status_code == 200, done.text
    published = done.json()
    assert set(published["files"]) >= {"output/count.csv"} and not published["already"]
    again = served.post("ana", f"/releases/{release_id}/publication", {}).json()
    assert again["already"] and again["receipt"]["index"] == published["receipt"]["index"]
    listed = served.get("ana", "/releases", params={"project_id": PROJECT}).json()
    assert [(r["release_id"], r["state"]) for r in listed] == [(release_id, "released")]
