"""The first minutes of an incident: a custodian suspends the environment and every action but
the response's is refused for everyone, naming the suspension, until it is lifted; both steps
are public ledger entries. Driven through ``fivesafes incident`` as a custodian would."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from governance_support import World
from typer.testing import CliRunner

from fivesafes.cli import app
from fivesafes.environment.settings import Settings, write_settings
from fivesafes.governance import AccessDenied, ControlPlane, Role, whoami
from fivesafes.governance.projects import list_projects
from fivesafes.governance.suspension import resume, suspend
from fivesafes.store.config import DataDir
from fivesafes.store.pseudonym import create_key


def run(data_dir: DataDir, token: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, [*args, "--data-dir", str(data_dir.root), "--token", token])
    return result.exit_code, " ".join((result.stdout + result.stderr).split())


def test_suspension_stops_all_but_the_response_until_lifted(tmp_path: Path) -> None:
    data_dir = DataDir.from_env(tmp_path / "data")
    create_key(data_dir.key_file)  # an environment, as `fivesafes environment init` makes one
    write_settings(data_dir.root, Settings("Test environment"))
    with ControlPlane.open(data_dir) as cp:
        world = World.start(cp)
        ann = world.add("ann", Role.ANALYST)
        cus = world.tokens["cus"]
        assert whoami(cp, ann).person_id == "ann"
    code, out = run(data_dir, cus, "incident", "open", "A token was posted in a chat.",
                    "--category", "incident", "--severity", "high", "--entry", "1")  # fmt: skip
    assert code == 0, out
    incident = out.split()[0]
    code, out = run(data_dir, ann, "incident", "suspend", "token leak")
    assert code == 2 and "may not manage incidents" in out  # only a custodian suspends
    code, out = run(data_dir, cus, "incident", "suspend", "token leak", "--incident", incident)
    assert code == 0, out

    with ControlPlane.open(data_dir) as cp:
        with pytest.raises(AccessDenied, match=r"suspended since .* \(token leak\)"):
            whoami(cp, ann)
        with pytest.raises(ValueError, match="already suspended"):
            suspend(cp, cus, "again")
        assert list_projects(cp) == []  # the public listing stays readable
    listed = CliRunner().invoke(
        app,
        ["incident", "list", "--format", "json", "--data-dir", str(data_dir.root), "--token", cus],
    )
    assert json.loads(listed.stdout)[0]["incident_id"] == incident  # the response goes on
    code, out = run(data_dir, cus, "incident", "resume")
    assert code == 0, out

    with ControlPlane.open(data_dir) as cp:
        assert whoami(cp, ann).person_id == "ann"
        with pytest.raises(ValueError, match="not suspended"):
            resume(cp, cus)
        public = [r for r in cp.ledger.public_view().to_list() if r["kind"] == "environment"]
    assert [r["change"] for r in public] == ["suspended", "resumed"]
    assert public[0]["statement"] == f"suspended: token leak ({incident})"
    code, out = run(data_dir, cus, "security-log", "--since", "2000-01-01", "--until", "2100-01-01")
    # ann's refused login to suspend and its refusal entry (suspend_environment), and ann's
    # login refused while the environment was suspended
    assert code == 0 and "refused: 3" in out and "suspended since" in out, out
    assert "refusal action=suspend_environment, kind=forbidden" in out
