"""Sealed files: a stream encrypted and authenticated in chunks, so a backup holding patient
data, keys and the control plane is unreadable and tamper-evident off the machine (SATRE
2.8.01: data at rest, including backups; 2.8.04: a widely accepted algorithm).

AES-256-GCM in the STREAM construction (Hoang, Reyhanitabar, Rogaway and Vizár, 2015): the
plaintext is cut into 1 MiB chunks, each sealed with a nonce made of a random per-file prefix
and the chunk's counter, and the last chunk says it is last in its associated data. So a chunk
cannot be changed, dropped, reordered or moved to another file, and a file cut short fails
instead of reading as a shorter backup. The key is 32 random bytes in a file of its own, kept
apart from the backups (offline, or in the organisation's key vault): a backup without its key
is noise, which is also what lets decommissioning make every backup unreadable by destroying it.
"""

from __future__ import annotations

import os
import secrets
import struct
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"fivesafes-sealed-v1\n"
CHUNK = 1 << 20
KEY_BYTES = 32
_PREFIX = 7  # nonce = 7-byte random prefix | 4-byte counter | 1-byte last-chunk flag


class SealError(ValueError):
    """A sealed file that is not one, was changed or cut short, or a wrong key."""


def new_key(path: Path) -> None:
    """Write a new sealing key, owner-only; never overwrite one (it may seal backups)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(secrets.token_bytes(KEY_BYTES))


def read_key(path: Path) -> bytes:
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        raise SealError(f"no backup key at {path}") from None
    if len(key) != KEY_BYTES:
        raise SealError(f"{path}: a backup key is {KEY_BYTES} bytes, found {len(key)}")
    return key


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    return prefix + struct.pack(">IB", counter, 1 if last else 0)


class SealingWriter:
    """A write-only binary stream that seals what is written to ``out``; :meth:`close` seals
    the last chunk (a file never closed cannot be opened: its end is missing)."""

    def __init__(self, out: BinaryIO, key: bytes) -> None:
        self._out, self._aead = out, AESGCM(key)
        self._prefix = secrets.token_bytes(_PREFIX)
        self._buffer = bytearray()
        self._counter = 0
        out.write(MAGIC + self._prefix)

    def write(self, data: bytes) -> int:
        self._buffer += data
        while len(self._buffer) > CHUNK:
            self._seal(bytes(self._buffer[:CHUNK]), last=False)
            del self._buffer[:CHUNK]
        return len(data)

    def _seal(self, chunk: bytes, *, last: bool) -> None:
        sealed = self._aead.encrypt(_nonce(self._prefix, self._counter, last), chunk, MAGIC)
        self._out.write(struct.pack(">I", len(sealed)) + sealed)
        self._counter += 1

    def close(self) -> None:
        self._seal(bytes(self._buffer), last=True)
        self._buffer.clear()


def unseal(source: BinaryIO, key: bytes, out: BinaryIO) -> None:
    """Check and decrypt a sealed stream into ``out``; :class:`SealError` at the first chunk
    that is not exactly what was sealed, or if the stream ends before its last chunk."""
    head = source.read(len(MAGIC) + _PREFIX)
    if not head.startswith(MAGIC) or len(head) != len(MAGIC) + _PREFIX:
        raise SealError("not a sealed fivesafes file")
    prefix, aead, counter = head[len(MAGIC) :], AESGCM(key), 0
    while True:
        size = source.read(4)
        if len(size) < 4:
            raise SealError("the file is cut short: its last chunk is missing")
        sealed = source.read(struct.unpack(">I", size)[0])
        for last in (False, True):
            try:
                plain = aead.decrypt(_nonce(prefix, counter, last), sealed, MAGIC)
            except InvalidTag:
                continue
            out.write(plain)
            break
        else:
            raise SealError(f"chunk {counter} does not open: a wrong key, or the file was changed")
        counter += 1
        if last:
            if source.read(1):
                raise SealError("bytes follow the last chunk: the file was changed")
            return
