"""The seam through which the environment sends people their own credentials.

A new account's enrolment code must reach its person and nobody else: not the custodian who made
the account, not the terminal that ran the command. So it leaves through a :class:`Delivery`:
in production an SMTP server (:class:`SmtpDelivery`), in the demo and the tests a folder of
RFC 5322 messages (:class:`FileOutbox`, ``<data dir>/outbox/``, owner-only), which stands for the
person's mailbox. Either way the face that asked for the account is told only where the code
went, never the code.
"""

from __future__ import annotations

import os
import re
import smtplib
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Protocol

from fivesafes.environment import settings as settings_module

OUTBOX = "outbox"


@dataclass(frozen=True)
class Message:
    to: str
    subject: str
    body: str


class Delivery(Protocol):
    """Sends a message to one person; returns where it went, in words safe to show anyone."""

    def send(self, message: Message) -> str: ...


def _email(message: Message, sender: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = message.to
    mail["Subject"] = message.subject
    mail["Date"] = format_datetime(datetime.now(UTC))
    mail["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    mail.set_content(message.body)
    return mail


def masked(address: str) -> str:
    """``a***@example.org``: enough for the sender to recognise, too little to harvest."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


class FileOutbox:
    """Messages written as ``.eml`` files (mode 0600) to an owner-only folder: the demo's mail."""

    def __init__(self, folder: Path, sender: str = "fivesafes@localhost") -> None:
        self.folder = folder
        self.sender = sender

    def send(self, message: Message) -> str:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        who = re.sub(r"[^A-Za-z0-9._-]", "_", message.to)
        path = self.folder / f"{stamp}-{who}.eml"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(bytes(_email(message, self.sender)))
        return f"{masked(message.to)} (outbox {path.name})"


class SmtpDelivery:
    """Messages sent through an SMTP server, with STARTTLS unless told otherwise."""

    def __init__(self, config: settings_module.Delivery) -> None:
        self.config = config

    def send(self, message: Message) -> str:
        c = self.config
        with smtplib.SMTP(c.host, c.port, timeout=30) as server:
            if c.starttls:
                server.starttls(context=ssl.create_default_context())
            if c.password_variable:
                server.login(c.sender, os.environ[c.password_variable])
            server.send_message(_email(message, c.sender))
        return masked(message.to)


def delivery_for(config: settings_module.Delivery, data_root: Path) -> Delivery:
    """The delivery an environment's settings name."""
    if config.kind == "smtp":
        return SmtpDelivery(config)
    return FileOutbox(data_root / OUTBOX, config.sender or "fivesafes@localhost")


def enrolment_message(
    environment: str, to: str, person_id: str, code: str, expires: datetime
) -> Message:
    body = (
        f"An account has been made for you ({person_id}) in {environment}.\n\n"
        "To start, make your own personal token with this one-time enrolment code:\n\n"
        f"    fivesafes user enrol {code}\n\n"
        f"The code works once, and only until {expires:%Y-%m-%d %H:%M} UTC. Nobody else has "
        "been sent it, and nobody from the environment will ever ask you for it or for your "
        "token.\n"
    )
    return Message(to, f"Your enrolment code for {environment}", body)
