"""C2SP signed notes and transparency-log checkpoints, signed with Ed25519.

A signed note (https://c2sp.org/signed-note) is UTF-8 text ending in a newline, a blank line, then
one line per signature: ``— <key name> <base64(key ID ‖ signature)>``. The text may itself hold
blank lines: it ends at the *last* blank line of the note. The key ID of an Ed25519 key
is SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ public key)[:4]. A checkpoint (https://c2sp.org/tlog-checkpoint)
is a note whose text is the log's origin line, the tree size in decimal and the base64 root hash.
Using these formats rather than our own lets any C2SP-aware tool (Go's ``sumdb/note``, witnesses)
check the ledger's signed tree heads; ``tests/ledger/test_ledger_go.py`` has Go's own code do so.
A note may carry several signatures: during a key handover the ledger signs each checkpoint with
both its new and its retiring key, so a client that pinned either accepts it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ALG_ED25519 = 0x01
"""The C2SP signature type byte for Ed25519."""

_SIG_PREFIX = "— "
_MAX_SIGNATURES = 100


class NoteError(ValueError):
    """A note, checkpoint or verifier key is malformed or its signature does not verify."""


def key_id(name: str, public_key: bytes) -> bytes:
    """The 4-byte C2SP key ID of an Ed25519 key: SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([ALG_ED25519]) + public_key).digest()[:4]


def _check_name(name: str) -> None:
    if not name or "+" in name or any(c.isspace() for c in name):
        raise NoteError(f"key name {name!r} must be non-empty with no spaces or '+'")


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise NoteError(f"bad base64 {text!r}") from exc


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class NoteVerifier:
    """A named Ed25519 public key that checks note signatures; published as a C2SP vkey."""

    name: str
    public_key: bytes

    def __post_init__(self) -> None:
        _check_name(self.name)
        if len(self.public_key) != 32:
            raise NoteError("an Ed25519 public key is 32 bytes")

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.public_key)

    @property
    def vkey(self) -> str:
        """The C2SP verifier key text: ``name+hex(key ID)+base64(0x01 ‖ public key)``."""
        encoded = base64.b64encode(bytes([ALG_ED25519]) + self.public_key).decode()
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    @classmethod
    def from_vkey(cls, vkey: str) -> NoteVerifier:
        """Parse a C2SP verifier key, refusing one whose key ID does not match its key."""
        name, sep, rest = vkey.strip().partition("+")
        hex_id, sep2, encoded = rest.partition("+")
        if not (sep and sep2) or len(hex_id) != 8:
            raise NoteError(f"malformed verifier key {vkey!r}")
        raw = _b64decode(encoded)
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise NoteError("verifier key is not an Ed25519 key")
        verifier = cls(name, raw[1:])
        if verifier.key_id.hex() != hex_id.lower():
            raise NoteError(f"verifier key {vkey!r} has the wrong key ID")
        return verifier

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class NoteSigner:
    """A named Ed25519 private key that signs notes."""

    name: str
    private_key: Ed25519PrivateKey

    def __post_init__(self) -> None:
        _check_name(self.name)

    @property
    def verifier(self) -> NoteVerifier:
        return NoteVerifier(self.name, _raw_public(self.private_key.public_key()))

    def sign(self, text: str) -> str:
        """The signed note: ``text``, a blank line and this key's signature line."""
        return sign_note(text, [self])

    def signature_line(self, message: bytes) -> str:
        signature = self.private_key.sign(message)
        encoded = base64.b64encode(self.verifier.key_id + signature).decode()
        return f"{_SIG_PREFIX}{self.name} {encoded}\n"


def sign_note(text: str, signers: Iterable[NoteSigner]) -> str:
    """``text``, a blank line and one signature line per signer, in order."""
    _check_text(text)
    message = text.encode()
    lines = [signer.signature_line(message) for signer in signers]
    if not lines:
        raise NoteError("a note needs at least one signature")
    return text + "\n" + "".join(lines)


@dataclass(frozen=True)
class Signature:
    """One parsed signature line of a note."""

    name: str
    key_id: bytes
    signature: bytes


@dataclass(frozen=True)
class Note:
    """A parsed note: the signed text and its signature lines (not yet verified)."""

    text: str
    signatures: tuple[Signature, ...]


def _check_text(text: str) -> None:
    """Note text: non-empty, ending in a newline, no control characters but newlines.

    Blank lines are allowed (signed-note: "The note text MAY contain empty lines"); the
    signatures start after the note's last blank line, so any such text round-trips.
    """
    if not text.endswith("\n"):
        raise NoteError("note text must be non-empty and end with a newline")
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise NoteError("note text must not hold control characters")


def parse_note(data: str) -> Note:
    """Split a note into its text and signature lines, checking the syntax of each line."""
    if any(ord(c) < 0x20 and c != "\n" for c in data):
        raise NoteError("a note must not hold control characters")
    text, sep, sig_block = data.rpartition("\n\n")
    if not sep or not sig_block.endswith("\n"):
        raise NoteError("a note needs its text, a blank line and signature lines")
    text += "\n"
    _check_text(text)
    lines = sig_block[:-1].split("\n")
    if len(lines) > _MAX_SIGNATURES:
        raise NoteError("too many signatures")
    signatures = []
    for line in lines:
        if not line.startswith(_SIG_PREFIX):
            raise NoteError(f"malformed signature line {line!r}")
        name, space, encoded = line[len(_SIG_PREFIX) :].partition(" ")
        _check_name(name)
        raw = _b64decode(encoded) if space else b""
        if len(raw) < 5:
            raise NoteError(f"malformed signature line {line!r}")
        signatures.append(Signature(name, raw[:4], raw[4:]))
    return Note(text, tuple(signatures))


def signed_by(note: Note, verifiers: Iterable[NoteVerifier]) -> list[NoteVerifier]:
    """Which of ``verifiers`` signed ``note``, each once, in signature order.

    As C2SP requires, a signature line that claims a known key (name *and* key ID) but does not
    verify makes the whole note invalid; lines from unknown keys are ignored.
    """
    known = {(v.name, v.key_id): v for v in verifiers}
    message = note.text.encode()
    found: list[NoteVerifier] = []
    for sig in note.signatures:
        verifier = known.get((sig.name, sig.key_id))
        if verifier is None:
            continue
        if not verifier.verify(message, sig.signature):
            raise NoteError(f"invalid signature for key {sig.name}+{sig.key_id.hex()}")
        if verifier not in found:
            found.append(verifier)
    return found


def open_note(data: str, verifiers: Iterable[NoteVerifier]) -> Note:
    """Parse a note and check it is signed by at least one of ``verifiers``."""
    note = parse_note(data)
    if not signed_by(note, verifiers):
        raise NoteError("note has no signature from a trusted key")
    return note


@dataclass(frozen=True)
class Checkpoint:
    """A signed tree head's body: the log's origin, its size and its root hash."""

    origin: str
    size: int
    root_hash: bytes

    def __post_init__(self) -> None:
        if not self.origin or any(ord(c) < 0x20 for c in self.origin):
            raise NoteError("a checkpoint's origin must be one non-empty line")
        if self.size < 0:
            raise NoteError("a checkpoint's size cannot be negative")
        if len(self.root_hash) != 32:
            raise NoteError("a checkpoint's root hash is 32 bytes (SHA-256)")

    def body(self) -> str:
        """The checkpoint text: ``origin\\nsize\\nbase64(root)\\n``."""
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root_hash).decode()}\n"

    @classmethod
    def from_body(cls, text: str) -> Checkpoint:
        """Parse a checkpoint's text: at least three lines, none empty; extension lines (after
        the root hash) are allowed and ignored, as tlog-checkpoint says."""
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "" or not all(lines[:-1]):
            raise NoteError("a checkpoint is an origin, a size and a root hash line, none empty")
        size_text = lines[1]
        if not (size_text.isascii() and size_text.isdigit()) or (
            size_text != "0" and size_text.startswith("0")
        ):
            raise NoteError(f"bad checkpoint size {size_text!r}")
        return cls(lines[0], int(size_text), _b64decode(lines[2]))

    def sign(self, *signers: NoteSigner) -> str:
        """The signed checkpoint note, with one signature line per signer."""
        return sign_note(self.body(), signers)


def open_checkpoint(data: str, verifiers: Iterable[NoteVerifier]) -> Checkpoint:
    """Verify a signed checkpoint note and return its parsed body."""
    return Checkpoint.from_body(open_note(data, verifiers).text)
