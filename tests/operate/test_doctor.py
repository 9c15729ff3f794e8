"""``fivesafes doctor`` on a real installation: it passes, then names each setting broken on
purpose (a world-readable key, missing TLS, a wrong database URL), through the command line."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from tls_support import self_signed, tls_server
from typer.testing import CliRunner

from fivesafes.cli import app
from fivesafes.environment.configuration import ConfigurationError, load, reference_table
from fivesafes.environment.doctor import Status, doctor
from fivesafes.environment.sealed import new_key
from fivesafes.governance import ControlPlane
from fivesafes.store.config import DataDir
from fivesafes.store.database import Store
from fivesafes.store.pseudonym import create_key

DOC = Path(__file__).resolve().parents[2] / "docs" / "running-an-environment.md"


def installation(root: Path, port: int, cert: Path, key: Path) -> Path:
    """An installed environment and its config file; returns the config file."""
    data = DataDir(root / "data", root / "keys" / "pseudonym.key")
    create_key(data.key_file)  # as `fivesafes environment init` makes it
    with Store.open(data):
        pass
    with ControlPlane.open(data) as cp:
        cp.log("environment", {"change": "installed"}, "operator")
    os.chmod(data.root, 0o700)
    os.chmod(data.key_file.parent, 0o700)
    new_key(root / "offline" / "backup.key")
    (root / "terms.txt").write_text("Use the data only for approved purposes.")
    config = root / "fivesafes.toml"
    config.write_text(
        f'data_dir = "{data.root}"\nkey_file = "{data.key_file}"\n'
        f'database_url = "sqlite:///{data.root}/control.sqlite"\npublic_name = "doctor.example"\n'
        f'api_port = {port}\ntls_certificate = "{cert}"\ntls_key = "{key}"\n'
        f'backup_key = "{root / "offline" / "backup.key"}"\nterms_file = "{root / "terms.txt"}"\n'
        'at_rest = "provider"\nos_updates = "managed"\n'
    )
    return config


def failed(config: Path, **env: str) -> dict[str, str]:
    findings = doctor(load(env, config))
    return {f.check: f.message for f in findings if f.status is Status.FAIL}


def test_doctor_passes_then_names_each_broken_setting(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path / "tls")
    with tls_server(cert, key) as port:
        config = installation(tmp_path, port, cert, key)
        result = CliRunner().invoke(app, ["doctor", "--config", str(config)])
        assert result.exit_code == 0, result.output
        assert "serves its certificate over TLS" in result.output

        os.chmod(tmp_path / "keys" / "pseudonym.key", 0o644)
        assert "pseudonym.key is readable by others" in failed(config)["key files"]
        os.chmod(tmp_path / "keys" / "pseudonym.key", 0o600)

        no_tls = config.read_text().replace(f'tls_certificate = "{cert}"\n', "")
        (tmp_path / "no-tls.toml").write_text(no_tls)
        problems = failed(tmp_path / "no-tls.toml")
        assert "no TLS certificate" in problems["tls"]
        assert "tls_certificate is not set" in problems["settings"]

        wrong = {"FIVESAFES_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none?sslmode=require"}
        assert "cannot reach the control plane" in failed(config, **wrong)["database"]

        other_cert, _ = self_signed(tmp_path / "other", name="other")
        mismatched = config.read_text().replace(str(cert), str(other_cert))
        (tmp_path / "mismatch.toml").write_text(mismatched)
        assert "is not the key of" in failed(tmp_path / "mismatch.toml")["tls"]

        result = CliRunner().invoke(app, ["doctor", "--config", str(tmp_path / "no-tls.toml")])
        assert result.exit_code == 1 and "no TLS certificate" in result.output


def test_encryption_at_rest_off_or_unseen_is_reported(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path / "tls")
    config = installation(tmp_path, 1, cert, key)
    assert "not encrypted at rest" in failed(config, FIVESAFES_AT_REST="none")["encryption at rest"]
    volume = failed(config, FIVESAFES_AT_REST="volume")
    # This machine has no dm-crypt volume (no device mapper): doctor says so, by path.
    assert (
        "is not on an encrypted volume (gocryptfs or dm-crypt/LUKS)" in volume["encryption at rest"]
    )
    assert "mfa is off" in failed(config, FIVESAFES_MFA="off")["sign-in"]


def test_the_host_s_security_updates_are_checked_as_apt_reads_its_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SATRE 2.7.02 for the host's own packages: doctor reads apt's configuration as apt
    does (``APT_CONFIG`` points apt at a file of this test's), and names what is off."""
    if shutil.which("apt-config") is None:
        pytest.skip("not a Debian host")
    cert, key = self_signed(tmp_path / "tls")
    config = installation(tmp_path, 1, cert, key)
    [managed] = [f for f in doctor(load({}, config)) if f.check == "security updates"]
    assert managed.status is Status.WARN and "doctor cannot see" in managed.message
    debian = {"FIVESAFES_OS_UPDATES": "unattended-upgrades"}
    parts = tmp_path / "apt.conf.d"
    parts.mkdir()

    def apt(*lines: str) -> str | None:
        file = tmp_path / "apt.conf"
        file.write_text("\n".join([f'Dir::Etc::parts "{parts}/";', 'Dir::Etc::main "/dev/null";',
                                   *lines]) + "\n")  # fmt: skip
        monkeypatch.setenv("APT_CONFIG", str(file))
        return failed(config, **debian).get("security updates")

    assert apt() == (
        "unattended upgrades are off (APT::Periodic::Unattended-Upgrade is unset): "
        "dpkg-reconfigure -plow unattended-upgrades"
    )
    assert "(APT::Periodic::Unattended-Upgrade is 0)" in str(
        apt('APT::Periodic::Unattended-Upgrade "0";')
    )
    switched_on = apt('APT::Periodic::Unattended-Upgrade "1";')
    if shutil.which("unattended-upgrade"):
        assert switched_on is None
    else:
        assert switched_on == (
            "Debian's unattended-upgrades is not installed: apt-get install unattended-upgrades"
        )
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    assert "no apt on this host" in str(failed(config, **debian)["security updates"])


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("FIVESAFES_DATABASE_URL", "postgresql://u@db/x", "TLS is not required"),
        ("FIVESAFES_DATABASE_URL", "mysql://u@db/x", "expected sqlite"),
        ("FIVESAFES_API_PORT", "80000", "port number"),
        ("FIVESAFES_MFA", "sometimes", "expected one of required, off"),
        ("FIVESAFES_AT_REST", "maybe", "expected one of volume, provider, none"),
        ("FIVESAFES_OIDC_ISSUER", "http://idp.example", "https:// issuer"),
    ],
)
def test_each_bad_value_is_named_with_where_it_came_from(
    variable: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message) as raised:
        load({variable: value})
    assert variable in str(raised.value)


def test_every_bad_value_in_a_file_is_named_at_once(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('api_port = "x"\nat_rest = "maybe"\ncolour = "blue"\n')
    with pytest.raises(ConfigurationError) as raised:
        load({}, config)
    text = str(raised.value)
    assert "api_port" in text and "at_rest" in text and "colour: unknown setting" in text


def test_the_settings_reference_in_the_docs_is_the_code_s() -> None:
    assert reference_table() in DOC.read_text()
