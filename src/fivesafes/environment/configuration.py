"""Every setting of a deployment in one reference, read from the environment and a config file,
validated at start with a clear message for each bad value (SATRE 2.4.01, 2.4.03).

A setting is given as an environment variable (``FIVESAFES_…``) or as a key in the deployment's
config file (TOML; ``$FIVESAFES_CONFIG``, written by ``deploy/install.sh`` as
``/etc/fivesafes/fivesafes.toml``); the variable wins, so one command can be pointed elsewhere
without editing the file. :data:`SETTINGS` is the whole list: the reference table in
``docs/running-an-environment.md`` is generated from it (a test keeps them equal), ``fivesafes
doctor`` checks a running installation against it, and :func:`load` refuses a configuration
with any bad value, naming every one at once so an operator fixes them in one go.

The environment's own ``environment.toml`` in the data directory (its public name, delivery,
disclosure profile: written once by ``fivesafes environment init``) is separate: it says what
the environment *is*; this says how one machine runs it.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

CONFIG_ENV = "FIVESAFES_CONFIG"
AT_REST_MODES = ("volume", "provider", "none")
MFA_MODES = ("required", "off")
OS_UPDATE_MODES = ("unattended-upgrades", "managed")
SECURE_SSLMODES = ("require", "verify-ca", "verify-full")


class ConfigurationError(ValueError):
    """One or more settings are wrong; the message names each, with where it came from."""


def _path(value: str) -> str | None:
    return None if value.strip() else "expected a path"


def _port(value: str) -> str | None:
    if not value.isdigit() or not 1 <= int(value) <= 65535:
        return "expected a port number from 1 to 65535"
    return None


def _one_of(*choices: str) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        return None if value in choices else f"expected one of {', '.join(choices)}"

    return check


def _database_url(value: str) -> str | None:
    if value.startswith("sqlite:///"):
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("postgresql", "postgres", "postgresql+psycopg"):
        return "expected sqlite:///PATH or postgresql://USER@HOST/DATABASE?sslmode=verify-full"
    if not parts.hostname or not parts.path.strip("/"):
        return "a PostgreSQL URL needs its host and database name"
    sslmode = parse_qs(parts.query).get("sslmode", [""])[-1]
    if sslmode not in SECURE_SSLMODES:
        return (
            f"TLS is not required (sslmode={sslmode or 'unset'}): add ?sslmode=verify-full "
            "(or require) so the control plane is never reached in clear"
        )
    return None


def _host(value: str) -> str | None:
    return None if value.strip() and " " not in value else "expected a host name or address"


def _issuer(value: str) -> str | None:
    parts = urlsplit(value)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme == "https" or (parts.scheme == "http" and loopback):
        return None
    return "expected the provider's https:// issuer URL"


def _name(value: str) -> str | None:
    return None if value.strip() else "expected the deployment's public name"


@dataclass(frozen=True)
class Setting:
    """One setting: its key in the config file, its variable, default, meaning and check."""

    key: str
    variable: str
    default: str | None
    meaning: str
    check: Callable[[str], str | None] = _path
    production: bool = False
    """Needed by a production deployment (``doctor`` fails without it)."""


SETTINGS: tuple[Setting, ...] = (
    Setting("data_dir", "FIVESAFES_DATA_DIR", "./fivesafes-data",
            "the data directory: store, control plane (SQLite), ledger, workspaces, outputs"),
    Setting("key_file", "FIVESAFES_KEY_FILE", "DATA_DIR/keys/pseudonym.key",
            "the pseudonym key; its folder also holds the ledger's signing keys. Put it on "
            "another volume from the data"),
    Setting("database_url", "FIVESAFES_DATABASE_URL", "sqlite:///DATA_DIR/control.sqlite",
            "the control plane (and, on PostgreSQL, the ledger); PostgreSQL must require TLS",
            _database_url, production=True),
    Setting("public_name", "FIVESAFES_PUBLIC_NAME", None,
            "the deployment's public name, which names the ledger (its origin)", _name,
            production=True),
    Setting("api_host", "FIVESAFES_API_HOST", "127.0.0.1",
            "the address `fivesafes serve` listens on", _host),
    Setting("api_port", "FIVESAFES_API_PORT", "8443", "the port it listens on", _port),
    Setting("tls_certificate", "FIVESAFES_TLS_CERTIFICATE", None,
            "the API's TLS certificate chain (PEM); the API never serves plain HTTP",
            production=True),
    Setting("tls_key", "FIVESAFES_TLS_KEY", None,
            "the certificate's private key (PEM, mode 0600)", production=True),
    Setting("at_rest", "FIVESAFES_AT_REST", "volume",
            "how data at rest is encrypted: `volume` (the data directory and keys are on a "
            "gocryptfs or dm-crypt/LUKS volume, which doctor checks), `provider` (a cloud "
            "provider's disk encryption, which doctor cannot see and reports as such) or `none` "
            "(doctor fails)",
            _one_of(*AT_REST_MODES)),
    Setting("os_updates", "FIVESAFES_OS_UPDATES", "unattended-upgrades",
            "how the host's own packages (PostgreSQL, bubblewrap, OpenSSL, Python) get security "
            "updates: `unattended-upgrades` (Debian's, which doctor checks is installed and "
            "switched on) or `managed` (the host is patched by other means, which doctor cannot "
            "see and reports as such)", _one_of(*OS_UPDATE_MODES)),
    Setting("backup_key", "FIVESAFES_BACKUP_KEY", None,
            "the key backups are sealed with (32 bytes, mode 0600), kept apart from them",
            production=True),
    Setting("mfa", "FIVESAFES_MFA", "required",
            "`required`: every account signs in with a second factor; `off` only for a demo "
            "on synthetic data (doctor fails)", _one_of(*MFA_MODES)),
    Setting("terms_file", "FIVESAFES_TERMS", None,
            "the terms of use every account must accept (plain text; its hash is what is "
            "accepted)", production=True),
    Setting("terms_version", "FIVESAFES_TERMS_VERSION", "1", "the terms' version label", _name),
    Setting("oidc_issuer", "FIVESAFES_OIDC_ISSUER", None,
            "an OpenID Connect provider to sign in with (the organisation's, or NHS CIS2)",
            _issuer),
    Setting("oidc_client_id", "FIVESAFES_OIDC_CLIENT_ID", None,
            "this deployment's client id at that provider", _name),
    Setting("oidc_client_secret_file", "FIVESAFES_OIDC_CLIENT_SECRET_FILE", None,
            "a file (0600) holding this deployment's client secret at that provider"),
    Setting("oidc_redirect_uri", "FIVESAFES_OIDC_REDIRECT_URI", None,
            "where the provider sends the browser back to, as registered with it", _issuer),
    Setting("cgroup", "FIVESAFES_CGROUP", None,
            "the cgroup v2 folder delegated to sandboxed jobs (their CPU, memory and "
            "process limits)"),
)  # fmt: skip
"""Every deployment setting. Per-command settings are not here: ``FIVESAFES_TOKEN`` (who is
acting), ``FIVESAFES_PROGRESS`` (progress bars off a terminal), ``FIVESAFES_BACKEND`` and
``FIVESAFES_SPARK_MASTER`` (the query engine), ``FIVESAFES_PYTHON`` / ``FIVESAFES_SAFE_R``
(interpreters inside the sandbox), and ``FIVESAFES_FAILPOINT`` (kill tests only)."""

BY_KEY: Mapping[str, Setting] = {s.key: s for s in SETTINGS}


@dataclass(frozen=True)
class Configuration:
    """A validated configuration: each setting's value (None: unset, no default) and where it
    came from (the variable, the file, or the default)."""

    values: Mapping[str, str | None]
    sources: Mapping[str, str]
    file: Path | None

    def get(self, key: str) -> str | None:
        return self.values[key]

    def path(self, key: str) -> Path | None:
        value = self.values[key]
        return Path(value) if value else None

    @property
    def data_dir(self) -> Path:
        return Path(self.values["data_dir"] or "./fivesafes-data").resolve()

    @property
    def key_file(self) -> Path:
        given = self.values["key_file"]
        return Path(given).resolve() if given else self.data_dir / "keys" / "pseudonym.key"

    @property
    def database_url(self) -> str:
        return self.values["database_url"] or f"sqlite:///{self.data_dir / 'control.sqlite'}"

    def environ(self) -> dict[str, str]:
        """The configuration as environment variables, for the processes a deployment starts."""
        return {BY_KEY[k].variable: v for k, v in self.values.items() if v is not None}


def _read_file(file: Path) -> dict[str, Any]:
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(f"{file}: no such config file") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"{file}: cannot read it: {exc}") from None
    return raw


def load(environ: Mapping[str, str] | None = None, file: Path | None = None) -> Configuration:
    """Read and check every setting; :class:`ConfigurationError` naming every bad one."""
    env = os.environ if environ is None else environ
    if file is None and env.get(CONFIG_ENV):
        file = Path(env[CONFIG_ENV])
    raw = _read_file(file) if file is not None else {}
    problems = [f"{file}: {key}: unknown setting" for key in sorted(set(raw) - set(BY_KEY))]
    values: dict[str, str | None] = {}
    sources: dict[str, str] = {}
    for setting in SETTINGS:
        if setting.variable in env:
            value, source = env[setting.variable], setting.variable
        elif setting.key in raw:
            given = raw[setting.key]
            value, source = str(given), f"{file}: {setting.key}"
            if isinstance(given, bool | dict | list):
                problems.append(f"{source}: expected a string or number")
                continue
        else:
            defaulted = setting.default
            is_placeholder = defaulted is not None and defaulted.startswith(
                ("DATA_DIR", "sqlite:///DATA_DIR")
            )
            values[setting.key] = None if is_placeholder else defaulted
            sources[setting.key] = "default"
            continue
        problem = setting.check(value)
        if problem:
            problems.append(f"{source}: {value!r}: {problem}")
        values[setting.key], sources[setting.key] = value, source
    if problems:
        raise ConfigurationError("bad settings:\n  " + "\n  ".join(problems))
    return Configuration(values, sources, file)


def reference_table() -> str:
    """The settings reference, as the Markdown table ``docs/running-an-environment.md`` holds."""
    lines = [
        "| config key | environment variable | default | production | what it is |",
        "|---|---|---|---|---|",
    ]
    for s in SETTINGS:
        default = f"`{s.default}`" if s.default else "none"
        needed = "required" if s.production else ""
        lines.append(f"| `{s.key}` | `{s.variable}` | {default} | {needed} | {s.meaning} |")
    return "\n".join(lines)
