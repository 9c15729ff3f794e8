"""SATRE 2.8.01, data encrypted at rest: an environment made, loaded and run on a real
gocryptfs volume leaves none of its planted values (an NHS number, a code from the loaded
records, a person's email) in any byte on the disk; its passphrase rotated (the old one then
refused) and mounted again, its ledger verifies and its data reads back; and doctor accepts
the volume, and names the path of a plain directory."""

from __future__ import annotations

from pathlib import Path

from test_doctor import installation
from tls_support import self_signed
from typer.testing import CliRunner
from volume_support import change_passphrase, make_volume, mounted, refused

from environment.environment_support import (
    PROJECT,
    address,
    approved_world,
    open_with_custodian,
    study,
    submitted,
)
from fhir_factory import condition, nhs_number, write_ndjson
from fivesafes.cli import app
from fivesafes.environment import Environment
from fivesafes.environment.configuration import load as load_config
from fivesafes.environment.doctor import Status, doctor
from fivesafes.store.config import DataDir
from fivesafes.store.load import load

CODE = "195967001"
"""Asthma (SNOMED CT), a condition no other loaded record has: on the volume only as loaded."""


def _every_byte(root: Path) -> bytes:
    files = sorted(p for p in root.rglob("*") if p.is_file())
    assert files, f"nothing under {root}"
    return b"".join(p.read_bytes() for p in files)


def test_an_environment_on_a_gocryptfs_volume_leaves_nothing_readable_on_disk(
    tmp_path: Path,
) -> None:
    volume = make_volume(tmp_path / "volume")
    planted = [nhs_number(1), CODE, address("ana")]
    with mounted(volume) as plain:
        data_dir = DataDir(plain / "data", plain / "data" / "keys" / "pseudonym.key")
        people = approved_world(open_with_custodian(data_dir), tmp_path)
        env = people.env
        extra = write_ndjson(tmp_path / "extra.ndjson", [condition("c-planted", "p2", CODE)])
        with env.store(read_only=False) as store:  # DuckDB writing through FUSE
            assert load(store, [extra]).counts["Condition"] == {"loaded": 1}
        job = submitted(env, people.tokens["ana"], PROJECT, study(tmp_path / "study"))
        assert job.state == "succeeded", job.record.error
        entries = env.cp.ledger.size
        env.close()
        seen = _every_byte(plain)
        for value in planted:  # so the scan below is not looking for what was never written
            assert value.encode() in seen, f"{value} was not written at all"
    on_disk = _every_byte(volume.cipher)
    assert len(on_disk) > len(seen) // 2  # the encrypted copy of it all, not an empty folder
    for value in planted:
        assert value.encode() not in on_disk, f"{value} is readable in {volume.cipher}"

    old = volume
    volume = change_passphrase(volume, tmp_path / "new-passphrase")
    assert "Password incorrect" in refused(old)
    with mounted(volume) as plain:
        verified = CliRunner().invoke(app, ["ledger", "verify", "--data-dir", str(plain / "data")])
        assert verified.exit_code == 0, verified.output
        again = Environment.open(data_dir)
        try:
            assert again.cp.ledger.size == entries
            with again.store() as store:
                [[found]] = store.con.execute(
                    """SELECT count(*) FROM identifiable."Condition" WHERE code = ?""", [CODE]
                ).fetchall()
            assert found == 1
        finally:
            again.close()


def test_doctor_accepts_a_gocryptfs_volume_and_names_a_plain_directory(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path / "tls")
    volume = make_volume(tmp_path / "volume")
    with mounted(volume) as plain:
        config = installation(plain, 1, cert, key)
        assert _at_rest(config) == {
            f"the {what} is on a gocryptfs volume mounted at {plain}": Status.OK
            for what in ("data directory", "key folder")
        }
    config = installation(tmp_path / "plain", 1, cert, key)
    assert _at_rest(config) == {
        f"the {what} ({path}) is not on an encrypted volume (gocryptfs or dm-crypt/LUKS): move it "
        "onto one (docs/running-an-environment.md, 'Encryption')": Status.FAIL
        for what, path in (("data directory", tmp_path / "plain" / "data"),
                           ("key folder", tmp_path / "plain" / "keys"))
    }  # fmt: skip


def _at_rest(config: Path) -> dict[str, Status]:
    findings = doctor(load_config({"FIVESAFES_AT_REST": "volume"}, config))
    return {f.message: f.status for f in findings if f.check == "encryption at rest"}
