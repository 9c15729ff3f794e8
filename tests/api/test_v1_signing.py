"""Signed decisions and votes over the management API, with the key never sent: an approver and
two output checkers each ask the environment for the statement it will record, sign its bytes
on their own machine with the ``cryptography`` library (as any client would), and send back only
the signature. The decision verifies on the project's public page and in the public ledger; the
votes are revealed and verify once the request is decided.

And the attacks, each refused with an RFC 9457 problem and a refusal in the ledger naming the
caller: a statement altered after it was prepared, reasons other than those it hashes, a
signature made with someone else's key, a signed statement sent again, one sent after it
expired, one sent to another project, an approver deciding a project they are on, an analyst
deciding or voting, a checker voting twice, and the environment without its sealing key."""

from __future__ import annotations

import base64
import hashlib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from api_support import Running, serving
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from v1_support import FIVESAFES, V1, V1World, build_v1_world, problem_of, work_the_queue
from v1_support import application_form as form

from environment.environment_support import PROJECT
from fivesafes.environment import Environment, prepared, projects, public, releases
from fivesafes.governance import Verdict as Decision
from fivesafes.governance.control import utc_now
from fivesafes.governance.signing import check_ledger_decisions, signature_valid
from fivesafes.governance.tables import PersonKey
from fivesafes.release import Verdict
from jobs.jobs_support import needs_sandbox


@dataclass
class Served:
    v1: V1World
    running: Running
    release_id: str = ""

    def post(self, who: str | None, path: str, body: Any) -> httpx.Response:
        headers = self.v1.auth(who) if who else {}
        url = f"{self.running.base_url}{V1}{path}"
        return httpx.post(url, headers=headers, json=body, timeout=600)

    def get(self, who: str | None, path: str) -> httpx.Response:
        headers = self.v1.auth(who) if who else {}
        return httpx.get(f"{self.running.base_url}{V1}{path}", headers=headers)

    def entries(self) -> list[dict[str, Any]]:
        with Environment.open(self.v1.world.data_dir, recover=False) as env:
            return [orjson.loads(e) for e in env.cp.ledger.entries()]

    def refusals(self) -> list[dict[str, Any]]:
        return [e for e in self.entries() if e["kind"] == "refusal"]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    v1 = build_v1_world(tmp_path_factory.mktemp("v1sign"))
    with serving(v1.world.data_dir) as running:
        yield Served(v1, running)


def applied(served: Served, project_id: str, *members: str) -> None:
    made = served.post(members[0], f"/projects/{project_id}/application", form(*members))
    assert made.status_code == 201, made.text


def signed(prepared_statement: dict[str, Any], key: Ed25519PrivateKey) -> str:
    """What a careful client does with a prepared statement: check the bytes it is asked to
    sign say what the statement shows, then sign them with its own key, here."""
    raw = base64.b64decode(prepared_statement["canonical"])
    assert orjson.loads(raw) == prepared_statement["statement"]
    return base64.b64encode(key.sign(raw)).decode()


def reasons_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def one_refusal(served: Served, before: int, who: str, words: str) -> None:
    """Exactly one new refusal, saying ``words`` and naming ``who``: as its actor, or, when the
    credential itself was refused (a role missing), in its reason, as the ledger has it today."""
    new = served.refusals()[before:]
    assert len(new) == 1, new
    reason = new[0]["subject"]["reason"]
    assert words in reason and who in (new[0]["actor"], reason.split()[0]), new[0]


def until() -> str:
    return (utc_now().date() + timedelta(days=60)).isoformat()


def _behind() -> datetime:
    """A clock far enough behind that what it prepares has expired by now."""
    return utc_now() - prepared.LIFETIME - timedelta(minutes=1)


def test_an_approver_signs_on_their_own_machine_and_the_decision_verifies_in_public(
    served: Served,
) -> None:
    applied(served, "walk-sleep", "ben")
    reasons = "Meets the criteria; the outputs are aggregate."
    ask = {"verdict": "approve", "reasons": reasons, "until": until()}
    made = served.post("val", "/projects/walk-sleep/decision-statements", ask)
    assert made.status_code == 201, made.text
    ready = made.json()
    statement = ready["statement"]
    assert statement["project_id"] == "walk-sleep" and statement["version"] == 1
    assert statement["decision"] == "approve" and statement["person_id"] == "val"
    assert statement["reasons_sha256"] == reasons_hash(reasons)
    assert statement["until"] == ask["until"] and len(statement["nonce"]) == 32
    assert statement["expires_at"] > statement["decided_at"]
    assert served.get(None, "/projects/walk-sleep").json()["status"] == "submitted"  # not yet
    signature = signed(ready, served.v1.keys["val"])
    body = {
        "statement": statement,
        "reasons": reasons,
        "signature": signature,
        "seal": ready["seal"],
    }
    recorded = served.post("val", "/projects/walk-sleep/decisions", body)
    assert recorded.status_code == 201, recorded.text
    decision = recorded.json()
    assert decision["statement"] == statement and decision["signature"] == signature
    assert served.get(None, "/projects/walk-sleep").json()["status"] == "approved"
    with Environment.open(served.v1.world.data_dir, recover=False) as env:
        page = public.project(env, "walk-sleep")
        with env.cp.transaction() as session:
            key = session.get(PersonKey, statement["key_id"])
            assert key is not None and key.person_id == "val"
            raw = key.public_key
    (shown,) = page.decisions
    assert shown.decision == "approve" and shown.signature_verifies and shown.ledger_index
    assert signature_valid(raw, statement, signature)  # anyone can check it
    entries = served.entries()
    approval = entries[shown.ledger_index]
    assert approval["kind"] == "approval" and approval["subject"]["signature"] == signature
    checked = dict(check_ledger_decisions(orjson.dumps(e) for e in entries))
    assert checked[shown.ledger_index] is True and all(checked.values())


def test_the_key_never_travels_and_a_changed_or_borrowed_signature_is_refused(
    served: Served,
) -> None:
    applied(served, "sleep-only", "ben")
    reasons = "The legal basis needs work."
    ask = {"verdict": "request_changes", "reasons": reasons}
    ready = served.post("val", "/projects/sleep-only/decision-statements", ask).json()
    statement, seal = ready["statement"], ready["seal"]

    altered = {**statement, "decision": "reject"}  # signed as altered: still not what was prepared
    raw = orjson.dumps(altered, option=orjson.OPT_SORT_KEYS)
    forged = base64.b64encode(served.v1.keys["val"].sign(raw)).decode()
    before = len(served.refusals())
    answer = served.post(
        "val",
        "/projects/sleep-only/decisions",
        {"statement": altered, "reasons": reasons, "signature": forged, "seal": seal},
    )
    assert answer.status_code == 403 and problem_of(answer)["code"] == "ACCESS_DENIED"
    one_refusal(served, before, "val", "not one this environment prepared")

    good = signed(ready, served.v1.keys["val"])
    before = len(served.refusals())
    other_reasons = served.post(
        "val",
        "/projects/sleep-only/decisions",
        {"statement": statement, "reasons": "Something else.", "signature": good, "seal": seal},
    )
    assert other_reasons.status_code == 403, other_reasons.text
    one_refusal(served, before, "val", "not one this environment prepared")

    borrowed = signed(ready, served.v1.keys["oc1"])  # a registered key, but oc1's
    before = len(served.refusals())
    answer = served.post(
        "val",
        "/projects/sleep-only/decisions",
        {"statement": statement, "reasons": reasons, "signature": borrowed, "seal": seal},
    )
    assert answer.status_code == 403 and "does not verify" in str(problem_of(answer)["detail"])
    one_refusal(served, before, "val", "the signature does not verify")

    with (
        Environment.open(served.v1.world.data_dir, recover=False) as env,
        env.cp.transaction() as session,
    ):
        oc1_key = session.query(PersonKey).filter_by(person_id="oc1").one().key_id
    before = len(served.refusals())
    theirs = served.post(
        "val", "/projects/sleep-only/decision-statements", {**ask, "key_id": oc1_key}
    )
    assert theirs.status_code == 403, theirs.text
    one_refusal(served, before, "val", "sign with a key val has registered")

    before = len(served.refusals())
    by_ben = served.post(
        "ben",
        "/projects/sleep-only/decisions",
        {"statement": statement, "reasons": reasons, "signature": good, "seal": seal},
    )
    assert by_ben.status_code == 403, by_ben.text  # another caller cannot use val's signature
    one_refusal(served, before, "ben", "may not decide project")

    before = len(served.refusals())
    elsewhere = served.post(
        "val",
        f"/projects/{PROJECT}/decisions",
        {"statement": statement, "reasons": reasons, "signature": good, "seal": seal},
    )
    assert elsewhere.status_code in (400, 403), elsewhere.text  # heat is decided already
    assert len(served.refusals()) == before + 1

    assert served.get(None, "/projects/sleep-only").json()["status"] == "submitted"
    body = {"statement": statement, "reasons": reasons, "signature": good, "seal": seal}
    done = served.post("val", "/projects/sleep-only/decisions", body)
    assert done.status_code == 201, done.text
    assert served.get(None, "/projects/sleep-only").json()["status"] == "changes_requested"

    before = len(served.refusals())
    replayed = served.post("val", "/projects/sleep-only/decisions", body)
    assert replayed.status_code == 400 and "nothing to decide" in problem_of(replayed)["detail"]
    one_refusal(served, before, "val", "nothing to decide")

    again = httpx.put(
        f"{served.running.base_url}{V1}/projects/sleep-only/application",
        headers=served.v1.auth("ben"),
        json=form("ben"),
    )
    assert again.status_code == 200, again.text  # version 2 waits for a decision again
    before = len(served.refusals())
    stale = served.post("val", "/projects/sleep-only/decisions", body)
    assert stale.status_code == 403, stale.text  # it pins version 1: never the new version's
    one_refusal(served, before, "val", "not one this environment prepared")


def test_an_expired_statement_is_refused(served: Served) -> None:
    applied(served, "late-one", "ben")
    reasons = "Too late to matter."
    with Environment.open(served.v1.world.data_dir, clock=_behind) as env:  # prepared here
        made = projects.decision_statement(
            env, served.v1.tokens["val"], "late-one", Decision.REJECT, reasons
        )
    ready = {"statement": made.statement, "canonical": base64.b64encode(made.canonical).decode()}
    body = {
        "statement": made.statement,
        "reasons": reasons,
        "signature": signed(ready, served.v1.keys["val"]),
        "seal": made.seal,
    }
    before = len(served.refusals())
    answer = served.post("val", "/projects/late-one/decisions", body)
    assert answer.status_code == 403 and "expired" in problem_of(answer)["detail"]
    one_refusal(served, before, "val", "expired")
    assert served.get(None, "/projects/late-one").json()["status"] == "submitted"


def test_nobody_decides_a_project_they_are_on_and_an_analyst_decides_nothing(
    served: Served,
) -> None:
    applied(served, "with-val", "ben", "val")
    ask = {"verdict": "approve", "reasons": "Mine.", "until": until()}
    before = len(served.refusals())
    own = served.post("val", "/projects/with-val/decision-statements", ask)
    assert own.status_code == 403 and "conflict" in problem_of(own)["detail"]
    one_refusal(served, before, "val", "conflict")
    before = len(served.refusals())
    analyst = served.post("ben", "/projects/with-val/decision-statements", ask)
    assert analyst.status_code == 403, analyst.text
    one_refusal(served, before, "ben", "may not decide project")
    tokenless = served.post(None, "/projects/with-val/decision-statements", ask)
    assert tokenless.status_code == 401


def test_without_its_sealing_key_the_environment_prepares_nothing(served: Served) -> None:
    """Fail closed: no key, no statement (503); the operator's command makes a new one, and a
    statement sealed under the old key is then refused rather than trusted."""
    applied(served, "no-seal", "ben")
    reasons = "No data for this purpose."
    ask = {"verdict": "reject", "reasons": reasons}
    old = served.post("val", "/projects/no-seal/decision-statements", ask).json()
    path = prepared.key_path(served.v1.world.data_dir)
    path.unlink()
    answer = served.post("val", "/projects/no-seal/decision-statements", ask)
    assert answer.status_code == 503 and "statement-sealing key" in problem_of(answer)["detail"]
    root = str(served.v1.world.data_dir.root)
    command = [FIVESAFES, "environment", "statement-key", "--data-dir", root]
    made = subprocess.run(command, capture_output=True, text=True, check=False)
    assert made.returncode == 0 and "made at" in made.stdout, made.stderr
    assert path.stat().st_mode & 0o777 == 0o600
    before = len(served.refusals())
    stale = served.post("val", "/projects/no-seal/decisions", body(old, reasons, "val", served))
    assert stale.status_code == 403, stale.text
    one_refusal(served, before, "val", "not one this environment prepared")
    fresh = served.post("val", "/projects/no-seal/decision-statements", ask).json()
    done = served.post("val", "/projects/no-seal/decisions", body(fresh, reasons, "val", served))
    assert done.status_code == 201, done.text


def body(ready: dict[str, Any], reasons: str, signer: str, served: Served) -> dict[str, Any]:
    """A prepared decision, signed by ``signer`` on their own machine, ready to send back."""
    signature = signed(ready, served.v1.keys[signer])
    return {
        "statement": ready["statement"],
        "reasons": reasons,
        "signature": signature,
        "seal": ready["seal"],
    }


def _release(served: Served) -> str:
    """A release request of the job's count, by ana, waiting for votes."""
    made = served.post("ana", f"/projects/{PROJECT}/jobs", {"commit": served.v1.commit})
    assert made.status_code == 202, made.text
    work_the_queue(served.v1.world.data_dir)
    job_id = made.json()["record"]["job_id"]
    asked = served.post(
        "ana",
        "/releases",
        {
            "project_id": PROJECT,
            "job_id": job_id,
            "files": ["output/count.csv"],
            "justification": "the study's one count",
            "exceptions": {"output/count.csv": "one total of the whole population"},
        },
    )
    assert asked.status_code == 201, asked.text
    return str(asked.json()["release_id"])


@needs_sandbox
def test_two_checkers_vote_blind_with_their_own_keys_and_each_attack_is_refused(
    served: Served,
) -> None:
    release_id = _release(served)
    path = f"/releases/{release_id}"
    comments = "Counts of ten or more, rounded; nothing identifying."

    before = len(served.refusals())
    analyst = served.post(
        "ana", f"{path}/vote-statements", {"verdict": "approve", "comments": comments}
    )
    assert analyst.status_code == 403, analyst.text
    one_refusal(served, before, "ana", "may not review output")

    first = served.post(
        "oc1", f"{path}/vote-statements", {"verdict": "approve", "comments": comments}
    ).json()
    statement, seal = first["statement"], first["seal"]
    assert statement["release_id"] == release_id and statement["person_id"] == "oc1"
    assert statement["comments_sha256"] == reasons_hash(comments)

    altered = {**statement, "decision": "reject"}
    raw = orjson.dumps(altered, option=orjson.OPT_SORT_KEYS)
    forged = base64.b64encode(served.v1.keys["oc1"].sign(raw)).decode()
    before = len(served.refusals())
    answer = served.post(
        "oc1",
        f"{path}/votes",
        {"statement": altered, "comments": comments, "signature": forged, "seal": seal},
    )
    assert answer.status_code == 403, answer.text
    one_refusal(served, before, "oc1", "not one this environment prepared")

    before = len(served.refusals())
    borrowed = served.post(
        "oc1",
        f"{path}/votes",
        {
            "statement": statement,
            "comments": comments,
            "signature": signed(first, served.v1.keys["oc2"]),
            "seal": seal,
        },
    )
    assert borrowed.status_code == 403, borrowed.text
    one_refusal(served, before, "oc1", "the signature does not verify")

    body = {
        "statement": statement,
        "comments": comments,
        "signature": signed(first, served.v1.keys["oc1"]),
        "seal": seal,
    }
    cast = served.post("oc1", f"{path}/votes", body)
    assert cast.status_code == 201 and cast.json()["state"] == "under_review", cast.text
    shown = served.get("oc2", path).json()
    assert shown["votes"] == [] and shown["sealed_votes"] == 1  # blind to oc2

    before = len(served.refusals())
    replayed = served.post("oc1", f"{path}/votes", body)
    assert replayed.status_code == 400 and "already voted" in problem_of(replayed)["detail"]
    one_refusal(served, before, "oc1", "already voted")
    before = len(served.refusals())
    twice = served.post(
        "oc1", f"{path}/vote-statements", {"verdict": "reject", "comments": comments}
    )
    assert twice.status_code == 400 and "already voted" in problem_of(twice)["detail"]
    one_refusal(served, before, "oc1", "already voted")

    with Environment.open(served.v1.world.data_dir, clock=_behind) as env:
        late = releases.vote_statement(
            env, served.v1.tokens["oc2"], release_id, Verdict.APPROVE, comments
        )
    stale = {"statement": late.statement, "canonical": base64.b64encode(late.canonical).decode()}
    before = len(served.refusals())
    expired = served.post(
        "oc2",
        f"{path}/votes",
        {
            "statement": late.statement,
            "comments": comments,
            "signature": signed(stale, served.v1.keys["oc2"]),
            "seal": late.seal,
        },
    )
    assert expired.status_code == 403 and "expired" in problem_of(expired)["detail"]
    one_refusal(served, before, "oc2", "expired")

    second = served.post(
        "oc2", f"{path}/vote-statements", {"verdict": "approve", "comments": "Agreed."}
    ).json()
    decided = served.post(
        "oc2",
        f"{path}/votes",
        {
            "statement": second["statement"],
            "comments": "Agreed.",
            "signature": signed(second, served.v1.keys["oc2"]),
            "seal": second["seal"],
        },
    )
    assert decided.status_code == 201 and decided.json()["state"] == "approved", decided.text
    revealed = [
        e["subject"]
        for e in served.entries()
        if e["kind"] == "review"
        and "signature" in e["subject"]
        and e["subject"]["release_id"] == release_id
    ]
    assert {r["person_id"] for r in revealed} == {"oc1", "oc2"}
    with (
        Environment.open(served.v1.world.data_dir, recover=False) as env,
        env.cp.transaction() as session,
    ):
        for vote in revealed:
            key = session.get(PersonKey, vote["key_id"])
            assert key is not None and key.person_id == vote["person_id"]
            unsigned = {"round", "signature", "vote_sha256"}
            statement = {k: v for k, v in vote.items() if k not in unsigned}
            assert signature_valid(key.public_key, statement, vote["signature"])
    published = served.post("ana", f"{path}/publication", {})
    assert published.status_code == 200, published.text


FIELDS = (
    "project_id", "version", "form_sha256", "decision", "reasons_sha256", "person_id", "key_id",
    "until", "decided_at", "nonce", "expires_at",
)  # fmt: skip
"""Every field of a prepared decision statement."""


def _other_than(field: str, value: Any) -> st.SearchStrategy[Any]:
    """Any JSON value but ``value``: a string, a number, null, a near miss of the original,
    or, for a time or a date, another well-formed one (a later expiry, a backdated decision)."""
    near = [str(value) + "0", str(value)[:-1]] if isinstance(value, str) and value else []
    well_formed = {
        "decided_at": st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat),
        "expires_at": st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat),
        "until": st.dates().map(date.isoformat),
        "decision": st.sampled_from([v.value for v in Decision]),
    }.get(field, st.nothing())
    # integers within 64 bits: what the statement is signed as (orjson) cannot encode more
    whole = st.integers(min_value=-(2**63), max_value=2**63 - 1)
    choices = st.one_of(
        st.text(max_size=40), whole, st.none(), st.sampled_from(near or ["x"]), well_formed
    )
    return choices.filter(lambda v: v != value)


@given(data=st.data())
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_change_to_any_field_of_a_prepared_statement_is_recorded(
    served: Served, data: st.DataObject
) -> None:
    """Whatever field a hostile approver changes, to whatever value, and whatever they then
    sign (the changed statement, with their own registered key), nothing is recorded: each
    attempt is a refusal in the ledger and the application still waits for a decision."""
    project_id = "any-field"
    if served.get(None, f"/projects/{project_id}").status_code == 404:
        applied(served, project_id, "ben")
    reasons = "Meets the criteria."
    ask = {"verdict": "approve", "reasons": reasons, "until": until()}
    ready = served.post("val", f"/projects/{project_id}/decision-statements", ask).json()
    field = data.draw(st.sampled_from(FIELDS))
    changed = {
        **ready["statement"],
        field: data.draw(_other_than(field, ready["statement"][field])),
    }
    raw = orjson.dumps(changed, option=orjson.OPT_SORT_KEYS)
    signature = base64.b64encode(served.v1.keys["val"].sign(raw)).decode()
    sent = {"statement": changed, "reasons": reasons, "signature": signature,
            "seal": ready["seal"]}  # fmt: skip
    before = len(served.refusals())
    answer = served.post("val", f"/projects/{project_id}/decisions", sent)
    assert answer.status_code in (400, 403), (field, answer.text)
    assert problem_of(answer)["detail"]
    assert len(served.refusals()) == before + 1
    assert served.get(None, f"/projects/{project_id}").json()["status"] == "submitted"
