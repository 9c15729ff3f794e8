"""An environment's settings: ``environment.toml`` in its data directory, written once at init.

The file says that the data directory is an initialised environment (an environment without it
refuses to open, rather than run on defaults nobody chose), its public name, how messages to
people are delivered, and the disclosure profile its outputs are checked with. It holds no
secret: keys live in ``keys/``, and SMTP credentials, if a server needs them, come from the
environment variable named in the file, never from the file itself.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SETTINGS_FILE = "environment.toml"
DELIVERY_KINDS = ("outbox", "smtp")


class SettingsError(ValueError):
    """The settings file is missing or wrong; the message names the file and the setting."""


@dataclass(frozen=True)
class Delivery:
    """How messages reach people: a folder of ``.eml`` files (demo, tests) or an SMTP server."""

    kind: str = "outbox"
    host: str = ""
    port: int = 587
    sender: str = ""
    starttls: bool = True
    password_variable: str = ""
    """The environment variable holding the SMTP password, if the server needs one."""


@dataclass(frozen=True)
class Settings:
    name: str
    """The deployment's public name, shown to people in what it sends them."""
    delivery: Delivery = Delivery()
    disclosure_profile: str = "default"

    def to_toml(self) -> str:
        d = self.delivery
        lines = [
            "# This environment's settings (fivesafes environment init wrote them).",
            f"name = {_quoted(self.name)}",
            f"disclosure_profile = {_quoted(self.disclosure_profile)}",
            "",
            "[delivery]",
            f"kind = {_quoted(d.kind)}",
        ]
        if d.kind == "smtp":
            lines += [
                f"host = {_quoted(d.host)}",
                f"port = {d.port}",
                f"sender = {_quoted(d.sender)}",
                f"starttls = {'true' if d.starttls else 'false'}",
                f"password_variable = {_quoted(d.password_variable)}",
            ]
        return "\n".join(lines) + "\n"


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _problem(file: Path, key: str, message: str) -> SettingsError:
    return SettingsError(f"{file}: {key}: {message}")


def _delivery(file: Path, raw: Any) -> Delivery:
    if not isinstance(raw, dict):
        raise _problem(file, "delivery", "expected a [delivery] table")
    kind = raw.get("kind", "outbox")
    if kind not in DELIVERY_KINDS:
        raise _problem(file, "delivery.kind", f"{kind!r} is not one of {', '.join(DELIVERY_KINDS)}")
    unknown = set(raw) - set(Delivery.__dataclass_fields__)
    if unknown:
        raise _problem(file, "delivery", f"unknown settings {', '.join(sorted(unknown))}")
    delivery = Delivery(**raw)
    if kind == "smtp" and not (delivery.host and delivery.sender):
        raise _problem(file, "delivery", "an smtp delivery needs its host and sender")
    return delivery


def read_settings(root: Path) -> Settings:
    """The settings of the environment at ``root``; ``SettingsError`` saying what is wrong."""
    file = root / SETTINGS_FILE
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(
            f"no environment at {root} (no {SETTINGS_FILE}): a data custodian initialises one "
            "with `fivesafes environment init`"
        ) from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"{file}: cannot read it: {exc}") from None
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _problem(file, "name", "the environment's public name is required")
    profile = raw.get("disclosure_profile", "default")
    if not isinstance(profile, str):
        raise _problem(file, "disclosure_profile", "expected the name of a profile")
    unknown = set(raw) - {"name", "disclosure_profile", "delivery"}
    if unknown:
        raise _problem(file, ", ".join(sorted(unknown)), "unknown setting")
    return Settings(name, _delivery(file, raw.get("delivery", {})), profile)


def write_settings(root: Path, settings: Settings) -> Path:
    """Write the settings file (the last step of initialisation); refuse to overwrite one."""
    file = root / SETTINGS_FILE
    partial = file.with_name(file.name + ".partial")
    partial.write_text(settings.to_toml(), encoding="utf-8")
    if file.exists():
        partial.unlink()
        raise SettingsError(f"{file} exists: this environment is already initialised")
    partial.replace(file)
    return file
