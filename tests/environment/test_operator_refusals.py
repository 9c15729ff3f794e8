"""The operator's commands attacked as a hostile user would: an analyst (or a stranger) asks for
what only a data custodian or an approver may do (incidents, suspension, the security log,
backup, decommissioning, usage, the datasets register, onboarding records, second factors, a
project's documents, ceiling and closure). Each is refused in one line naming why, leaves a
``refusal`` entry naming the action in the ledger, and changes nothing: the environment is
neither suspended nor destroyed, no archive is written, the project's files stay.

These commands once opened the control plane themselves and logged no refusal entry; they now
go through the environment layer like every other use case."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
from environment_support import PROJECT, open_with_custodian
from typer.testing import CliRunner, Result

import fivesafes.cli  # noqa: F401  (registers the commands)
from fivesafes.cli.common import app
from fivesafes.environment import Environment, projects
from fivesafes.governance import Role, Verdict
from fivesafes.store.config import DataDir
from governance.governance_support import application


@dataclass
class Site:
    data_dir: DataDir
    tokens: dict[str, str]
    backup_key: Path

    def run(self, who: str, *args: str) -> Result:
        token = self.tokens.get(who, who)
        where = ["--data-dir", str(self.data_dir.root), "--token", token]
        return CliRunner().invoke(app, [*args, *where])

    def refusals(self) -> list[tuple[str, str, str]]:
        with Environment.open(self.data_dir, recover=False) as env:
            return [
                (e["actor"], e["subject"]["action"], e["subject"]["kind"])
                for e in map(orjson.loads, env.cp.ledger.entries())
                if e["kind"] == "refusal"
            ]

    def ledger_size(self) -> int:
        with Environment.open(self.data_dir, recover=False) as env:
            return env.cp.ledger.size


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """An environment with a custodian, an approver and analyst ana on approved project heat,
    whose released outputs hold a file; and a backup key."""
    data_dir = DataDir.from_env(tmp_path / "data")
    people = open_with_custodian(data_dir)
    env = people.env
    try:
        people.add("ana", Role.ANALYST)
        people.add("val", Role.APPROVER)
        projects.apply(env, people.tokens["ana"], PROJECT, application("ana"))
        until = env.cp.today().replace(year=env.cp.today().year + 1)
        projects.decision(
            env, people.tokens["val"], PROJECT, Verdict.APPROVE, "ok", people.keys["val"], until
        )
    finally:
        env.close()
    released = data_dir.root / "released" / PROJECT
    released.mkdir(parents=True)
    (released / "table.csv").write_text("n\n12\n")
    key = tmp_path / "offline" / "backup.key"
    assert CliRunner().invoke(app, ["backup", "key", "--out", str(key)]).exit_code == 0
    yield Site(data_dir, dict(people.tokens), key)


def _one_refusal_line(result: Result, reason: str) -> None:
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)  # never a traceback
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: refused: "), result.stderr
    assert reason in lines[0]


INCIDENT = ("incident", "open", "a token was posted in a chat", "--category", "incident",
            "--severity", "high")  # fmt: skip

# (command, the action its refusal names, words of the reason); asked by analyst ana
ASKED: dict[str, tuple[tuple[str, ...], str, str]] = {
    "incident open": (INCIDENT, "open_incident", "ana may not manage incidents"),
    "incident close": (("incident", "close", "INC-1", "--root-cause", "x", "--actions", "y"),
                       "close_incident", "ana may not manage incidents"),
    "incident list": (("incident", "list"), "list_incidents", "ana may not manage incidents"),
    "incident suspend": (("incident", "suspend", "because I can"), "suspend_environment",
                         "ana may not manage incidents"),
    "incident resume": (("incident", "resume"), "resume_environment",
                        "ana may not manage incidents"),
    "security-log": (("security-log", "--since", "2000-01-01", "--until", "2100-01-01"),
                     "security_report", "ana may not"),
    "usage": (("usage", "--since", "2000-01-01", "--until", "2100-01-01"), "usage_report",
              "ana may not"),
    "datasets register": (("datasets", "register", "deaths", "--owner", "x", "--agreement", "y",
                           "--sensitivity", "pseudonymised", "--legal-basis", "z",
                           "--retain-until", "2099-01-01"), "register_dataset", "ana may not"),
    "datasets approve": (("datasets", "approve", "deaths"), "approve_dataset", "ana may not"),
    "onboarding identity": (("onboarding", "identity", "ana", "--method", "I say so", "--on",
                             "2026-01-01"), "record_identity_check", "ana may not"),
    "onboarding training": (("onboarding", "training", "ana", "--course", "x", "--completed",
                             "2026-01-01", "--expires", "2099-01-01"), "record_training",
                            "ana may not"),
    "mfa reset": (("mfa", "reset", "cus"), "reset_second_factor", "ana may not"),
    "project document": (("project", "document", PROJECT, "--kind", "dpia", "--reference",
                          "DPIA-1", "--ends", "2099-01-01"), "record_project_document",
                         "ana may not"),
    "project ceiling": (("project", "ceiling", PROJECT, "--cpu-cores", "64", "--memory-mb",
                         "65536", "--storage-mb", "65536", "--max-seconds", "86400"),
                        "set_project_ceiling", "ana may not"),
}  # fmt: skip


@pytest.mark.parametrize("command", list(ASKED))
def test_an_analyst_is_refused_in_one_line_and_the_refusal_is_logged(
    site: Site, command: str
) -> None:
    args, action, reason = ASKED[command]
    _one_refusal_line(site.run("ana", *args), reason)
    assert site.refusals() == [("unknown", action, "forbidden")]


def test_a_stranger_is_refused_and_logged_too(site: Site) -> None:
    _one_refusal_line(site.run("fst_guessed", *INCIDENT), "unknown token")
    assert site.refusals() == [("unknown", "open_incident", "forbidden")]


def test_an_analyst_cannot_suspend_the_environment(site: Site) -> None:
    _one_refusal_line(site.run("ana", "incident", "suspend", "lockout"), "may not manage")
    assert site.run("ana", "user", "whoami").exit_code == 0  # nothing was suspended


def test_an_analyst_cannot_take_a_backup(site: Site, tmp_path: Path) -> None:
    """A backup holds every key and record: only a custodian may take one."""
    archive = tmp_path / "mine.sealed"
    result = site.run("ana", "backup", "create", str(archive), "--key-file", str(site.backup_key))
    _one_refusal_line(result, "ana may not")
    assert not archive.exists() and not archive.with_name("mine.sealed.partial").exists()
    assert site.refusals() == [("unknown", "backup", "forbidden")]


def test_a_custodian_s_backup_over_an_archive_is_refused_and_logged(
    site: Site, tmp_path: Path
) -> None:
    archive = tmp_path / "taken.sealed"
    archive.write_bytes(b"someone else's archive")
    result = site.run("cus", "backup", "create", str(archive), "--key-file", str(site.backup_key))
    _one_refusal_line(result, "a backup never overwrites another")
    assert archive.read_bytes() == b"someone else's archive"
    # checked before the credential, so the entry cannot name cus: it names what was refused
    assert site.refusals() == [("unknown", "backup", "invalid")]


def test_an_analyst_cannot_decommission_even_with_the_right_confirmation(
    site: Site, tmp_path: Path
) -> None:
    public = tmp_path / "public"
    confirm = str(site.data_dir.root)
    result = site.run("ana", "decommission", "--confirm", confirm, "--public-copy", str(public))
    _one_refusal_line(result, "ana may not")
    assert site.data_dir.key_file.exists() and (site.data_dir.root / "released").is_dir()
    assert site.refusals() == [("unknown", "decommission", "forbidden")]


def test_an_analyst_cannot_close_their_own_project(site: Site, tmp_path: Path) -> None:
    """Closing deletes the project's outputs: a member may not, to hide or to lose them."""
    archive = tmp_path / "heat.sealed"
    args = ("project", "close", PROJECT, "--archive", str(archive), "--key-file")
    _one_refusal_line(site.run("ana", *args, str(site.backup_key)), "ana may not")
    assert not archive.exists()
    assert (site.data_dir.root / "released" / PROJECT / "table.csv").exists()
    assert site.refusals() == [("unknown", "close_project", "forbidden")]


def test_an_approver_records_documents_but_never_a_bad_one(site: Site) -> None:
    """The role is right, the input is not: refused as invalid, and logged."""
    bad = ("project", "document", PROJECT, "--kind", "horoscope", "--reference", "R",
           "--ends", "2099-01-01")  # fmt: skip
    _one_refusal_line(site.run("val", *bad), "document must be one of")
    assert site.refusals() == [("unknown", "record_project_document", "invalid")]
    good = ("project", "document", PROJECT, "--kind", "dpia", "--reference", "DPIA-1",
            "--ends", "2099-01-01")  # fmt: skip
    assert site.run("val", *good).exit_code == 0


def test_the_ledger_s_public_reads_write_nothing(site: Site, tmp_path: Path) -> None:
    before = site.ledger_size()
    where = ["--data-dir", str(site.data_dir.root)]
    for args in (["ledger", "verify"], ["ledger", "public"]):
        assert CliRunner().invoke(app, [*args, *where]).exit_code == 0
    missing = CliRunner().invoke(app, ["ledger", "prove", "100000", *where])
    assert missing.exit_code == 2 and "entry 100000 does not exist" in missing.stderr
    assert site.ledger_size() == before
