"""``fivesafes doctor``: check a running installation against its configuration, and say what
to fix (SATRE 2.4.03/2.4.04: verify the configuration; 2.2.12: watch for misconfiguration).

Each check reads the real thing — file modes on disk, the certificate and the key the API
serves, the database as a connection finds it, the sandbox by starting one, the ledger by
replaying it, the encrypted volume (gocryptfs or dm-crypt) under the data directory — and
reports ``ok``, ``warn`` (cannot be seen from here, or soon due) or ``fail`` with the fix.
Doctor writes nothing: it opens the database without migrating it and the ledger read-only.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import ssl
import stat
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from fivesafes.environment.configuration import SETTINGS, Configuration
from fivesafes.governance.control import LEDGER_FILE
from fivesafes.governance.database import normalise_url
from fivesafes.ledger import LedgerStorageError, SqliteLedgerStore
from fivesafes.ledger.audit import audit_store
from fivesafes.ledger.intents import open_intents
from fivesafes.ledger.storage import LedgerStore

CERTIFICATE_WARNING = timedelta(days=30)


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Finding:
    check: str
    status: Status
    message: str


def _ok(check: str, message: str) -> Finding:
    return Finding(check, Status.OK, message)


def _warn(check: str, message: str) -> Finding:
    return Finding(check, Status.WARN, message)


def _fail(check: str, message: str) -> Finding:
    return Finding(check, Status.FAIL, message)


def _private(path: Path) -> bool:
    return not stat.S_IMODE(path.stat().st_mode) & 0o077


def check_settings(config: Configuration) -> Iterator[Finding]:
    for setting in SETTINGS:
        if setting.production and config.get(setting.key) is None:
            yield _fail(
                "settings", f"{setting.key} is not set ({setting.variable}): {setting.meaning}"
            )
    if config.get("mfa") != "required":
        yield _fail(
            "sign-in",
            "mfa is off: any account signs in without a second factor; set mfa = "
            '"required" (only a demo on synthetic data may run without)',
        )
    else:
        yield _ok("sign-in", "every account signs in with a second factor")
    terms = config.path("terms_file")
    if terms is not None and not terms.is_file():
        yield _fail("settings", f"terms_file {terms} does not exist")


def check_files(config: Configuration) -> Iterator[Finding]:
    root = config.data_dir
    if not root.is_dir():
        yield _fail("data directory", f"{root} does not exist: restore or initialise it")
        return
    if root.stat().st_uid != os.geteuid():
        yield _fail("data directory", f"{root} is not owned by the user running fivesafes")
    if not _private(root):
        yield _fail("data directory", f"{root} is readable by others: chmod 700 {root}")
    else:
        yield _ok("data directory", f"{root} is owner-only")
    keys = config.key_file.parent
    found = sorted(p for p in keys.iterdir() if p.is_file()) if keys.is_dir() else []
    if not config.key_file.is_file():
        yield _fail("key files", f"the pseudonym key {config.key_file} is missing")
    loose = [p for p in found if not _private(p)]
    extra = [p for key in ("backup_key", "tls_key") if (p := config.path(key)) and p.is_file()]
    loose += [p for p in extra if not _private(p)]
    for path in loose:
        yield _fail("key files", f"{path} is readable by others: chmod 600 {path}")
    if keys.is_dir() and not _private(keys):
        yield _fail("key files", f"the key folder {keys} is open to others: chmod 700 {keys}")
    if not loose and config.key_file.is_file():
        yield _ok("key files", f"{len(found) + len(extra)} key files, each owner-only")
    backup_key = config.path("backup_key")
    if backup_key is not None and backup_key.is_file():
        if backup_key.stat().st_size != 32:
            yield _fail("backup key", f"{backup_key} is not a 32-byte backup key")
        elif backup_key.resolve().is_relative_to(root):
            yield _fail("backup key", f"{backup_key} is inside the data directory it protects")
        else:
            yield _ok("backup key", f"backups are sealed with {backup_key}")
    elif backup_key is not None:
        yield _fail("backup key", f"{backup_key} does not exist: `fivesafes backup key`")


def _head() -> str | None:
    config = Config()
    config.set_main_option("script_location", "fivesafes.governance:migrations")
    return ScriptDirectory.from_config(config).get_current_head()


def check_database(config: Configuration) -> Iterator[Finding]:
    url = normalise_url(config.database_url)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            revision = MigrationContext.configure(connection).get_current_revision()
            if engine.dialect.name == "postgresql":
                encrypted = connection.execute(
                    text("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                ).scalar()
                if not encrypted:
                    yield _fail("database", "the connection to PostgreSQL is not encrypted")
                else:
                    yield _ok("database", "PostgreSQL reached over TLS")
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None)  # the driver's own message, when there is one
        reason = str(cause if cause else exc).strip().splitlines()[0]
        yield _fail("database", f"cannot reach the control plane at {_safe(url)}: {reason}")
        return
    finally:
        engine.dispose()
    head = _head()
    if revision != head:
        yield _fail("database", f"the schema is at {revision}, not {head}: run `fivesafes upgrade`")
    else:
        yield _ok("database", f"schema at {head}")


def _safe(url: str) -> str:
    """A URL without its password, for a message."""
    if "@" in url and ":" in url.split("@")[0].split("//")[-1]:
        scheme, rest = url.split("//", 1)
        user = rest.split(":")[0]
        return f"{scheme}//{user}:***@{rest.split('@', 1)[1]}"
    return url


def check_ledger(config: Configuration) -> Iterator[Finding]:
    store: LedgerStore
    try:
        if config.database_url.startswith("sqlite:"):
            path = config.data_dir / LEDGER_FILE
            if not path.is_file():
                yield _warn("ledger", f"no ledger at {path} yet: nothing has been logged")
                return
            store = SqliteLedgerStore(path, read_only=True)
        else:
            from fivesafes.governance.ledger_store import SqlLedgerStore

            store = SqlLedgerStore(create_engine(normalise_url(config.database_url)))
    except LedgerStorageError as exc:
        yield _fail("ledger", f"cannot open the ledger: {exc}")
        return
    try:
        if next(store.entries(0, 1), None) is None:
            yield _warn("ledger", "the ledger is empty: nothing has been logged yet")
            return
        report = audit_store(store, None)
        left = open_intents(store) if report.ok else []
    except (LedgerStorageError, SQLAlchemyError) as exc:
        yield _fail("ledger", f"cannot read the ledger: {exc}")
        return
    finally:
        store.close()
    if not report.ok:
        yield _fail("ledger", f"the ledger does not verify: {report.problems[0].message}")
    elif left:
        yield _warn("ledger", f"{len(left)} operation(s) left open: any command settles them")
    else:
        yield _ok("ledger", f"{report.entries} entries verify, signed to {report.signed_size}")


def check_tls(config: Configuration) -> Iterator[Finding]:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    cert_path, key_path = config.path("tls_certificate"), config.path("tls_key")
    if cert_path is None or key_path is None:
        yield _fail("tls", "no TLS certificate and key: set tls_certificate and tls_key")
        return
    try:
        chain = x509.load_pem_x509_certificates(cert_path.read_bytes())
        key = load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        yield _fail("tls", f"cannot read the certificate or its key: {exc}")
        return
    leaf = chain[0]
    if _public(leaf.public_key()) != _public(key.public_key()):
        yield _fail("tls", f"{key_path} is not the key of {cert_path}")
        return
    left = leaf.not_valid_after_utc - datetime.now(UTC)
    if left <= timedelta(0):
        yield _fail("tls", f"the certificate expired on {leaf.not_valid_after_utc:%Y-%m-%d}")
        return
    if left < CERTIFICATE_WARNING:
        yield _warn("tls", f"the certificate expires in {left.days} days: renew it")
    yield from _served(config, cert_path)


def _public(key: object) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    der: bytes = key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)  # type: ignore[attr-defined]
    return der


def _served(config: Configuration, cert_path: Path) -> Iterator[Finding]:
    host, port = config.get("api_host") or "127.0.0.1", int(config.get("api_port") or 8443)
    context = ssl.create_default_context(cafile=str(cert_path))
    context.check_hostname = False  # the chain is pinned: the served certificate must be ours
    try:
        with (
            socket.create_connection((host, port), timeout=5) as raw,
            context.wrap_socket(raw) as tls,
        ):
            version = tls.version()
    except ConnectionRefusedError:
        yield _warn("tls", f"nothing listens on {host}:{port}: is the API running?")
        return
    except (ssl.SSLError, OSError) as exc:
        yield _fail("tls", f"the API on {host}:{port} does not serve this certificate: {exc}")
        return
    yield _ok("tls", f"the API on {host}:{port} serves its certificate over {version}")


GOCRYPTFS = "fuse.gocryptfs"


def _unescape(field: str) -> str:
    """A mountinfo path field as a path: the kernel writes space, tab, newline and backslash
    as octal escapes (``\\040``)."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), field)


def _mount_of(path: Path) -> tuple[str, str, str] | None:
    """The mount ``path`` lives on, as /proc/self/mountinfo names it: its mount point (the
    longest one that is a prefix of the resolved path), filesystem type and device number."""
    try:
        mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None
    resolved, best = str(path.resolve()), None
    for line in mounts:
        fields = line.split()
        point, device = _unescape(fields[4]), fields[2]
        fstype = fields[fields.index("-") + 1]
        inside = resolved == point or resolved.startswith(point.rstrip("/") + "/")
        if inside and (best is None or len(point) >= len(best[0])):  # a later mount covers
            best = (point, fstype, device)
    return best


def _encrypted_volume(path: Path) -> str | None:
    """What encrypts ``path``'s filesystem at rest: a gocryptfs volume mounted over it, or a
    dm-crypt device under it (through LVM or not); None when neither can be seen."""
    mount = _mount_of(path)
    if mount is None:
        return None
    point, fstype, device = mount
    if fstype == GOCRYPTFS:
        return f"a gocryptfs volume mounted at {point}"
    if _crypt(Path("/sys/dev/block") / device):
        return "a dm-crypt volume"
    return None


def _crypt(device: Path, depth: int = 0) -> bool | None:
    if not device.exists() or depth > 8:
        return None
    uuid = device / "dm" / "uuid"
    if uuid.exists() and uuid.read_text().startswith("CRYPT-"):
        return True
    slaves = sorted((device / "slaves").iterdir()) if (device / "slaves").is_dir() else []
    return any(_crypt(s, depth + 1) for s in slaves)


def check_at_rest(config: Configuration) -> Iterator[Finding]:
    mode = config.get("at_rest")
    if mode == "none":
        yield _fail("encryption at rest", "at_rest = none: the data is not encrypted at rest")
        return
    if mode == "provider":
        yield _warn(
            "encryption at rest",
            "at_rest = provider: the provider's disk encryption is assumed; doctor cannot see it",
        )
        return
    for what, path in (("data directory", config.data_dir), ("key folder", config.key_file.parent)):
        volume = _encrypted_volume(path) if path.exists() else None
        if volume:
            yield _ok("encryption at rest", f"the {what} is on {volume}")
        else:
            yield _fail(
                "encryption at rest",
                f"the {what} ({path}) is not on an encrypted volume (gocryptfs or "
                "dm-crypt/LUKS): move it onto one (docs/running-an-environment.md, 'Encryption')",
            )


UNATTENDED = "APT::Periodic::Unattended-Upgrade"


def _apt_setting(name: str) -> str | None:
    """``name`` as apt itself reads its configuration (``apt-config``); None without apt."""
    try:
        done = subprocess.run(
            ["apt-config", "shell", "V", name],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.fullmatch(r"V='(.*)'\n?", done.stdout)
    return found[1] if found else ""


def check_os_updates(config: Configuration) -> Iterator[Finding]:
    """The host's packages take security updates (SATRE 2.7.02): Debian's unattended-upgrades
    installed and switched on, as apt reads its own configuration."""
    check = "security updates"
    if config.get("os_updates") == "managed":
        seen = "os_updates = managed: the host is patched by other means, which doctor cannot see"
        yield _warn(check, seen)
        return
    switched = _apt_setting(UNATTENDED)
    if switched is None:
        fix = 'patch the host by other means and set os_updates = "managed"'
        yield _fail(check, f"no apt on this host, so no unattended-upgrades: {fix}")
    elif switched != "1":
        fix = "dpkg-reconfigure -plow unattended-upgrades"
        yield _fail(
            check, f"unattended upgrades are off ({UNATTENDED} is {switched or 'unset'}): {fix}"
        )
    elif shutil.which("unattended-upgrade") is None:
        fix = "apt-get install unattended-upgrades"
        yield _fail(check, f"Debian's unattended-upgrades is not installed: {fix}")
    else:
        yield _ok(check, "Debian's unattended-upgrades applies the host's security updates")


def check_sign_in(config: Configuration) -> Iterator[Finding]:
    """The organisation's OpenID Connect provider, when one is configured: its client secret
    file private, and the provider answering as the configured issuer."""
    from fivesafes.environment.sign_in import oidc_client
    from fivesafes.governance.oidc import discover
    from fivesafes.governance.roles import AccessDenied

    try:
        client = oidc_client(config)
    except (ValueError, OSError) as exc:
        yield _fail("sign-in", str(exc))
        return
    if client is None:
        yield _ok("sign-in", "accounts sign in with a TOTP second factor (no OIDC provider)")
        return
    secret = config.path("oidc_client_secret_file")
    if secret is not None and not _private(secret):
        yield _fail("sign-in", f"{secret} is readable by others: chmod 0600 it")
    try:
        found = discover(client)
    except (OSError, ValueError, KeyError, AccessDenied) as exc:
        yield _fail("sign-in", f"the OIDC provider {client.issuer} did not answer: {exc}")
        return
    yield _ok("sign-in", f"the OIDC provider {found.issuer} publishes its endpoints")


def check_sandbox(config: Configuration) -> Iterator[Finding]:
    from fivesafes.jobs.sandbox import sandbox_available

    problem = sandbox_available()
    if problem:
        yield _fail("sandbox", problem)
    else:
        yield _ok("sandbox", "jobs run in a bubblewrap sandbox without network")


CHECKS: tuple[Callable[[Configuration], Iterator[Finding]], ...] = (
    check_settings,
    check_files,
    check_database,
    check_ledger,
    check_tls,
    check_at_rest,
    check_os_updates,
    check_sign_in,
    check_sandbox,
)


def doctor(config: Configuration) -> list[Finding]:
    """Every finding of every check, in order."""
    return [finding for check in CHECKS for finding in check(config)]
