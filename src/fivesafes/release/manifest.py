"""The release manifest: what was released, on whose approval, signed with the environment's key.

The manifest is canonical JSON (sorted keys) listing each published file with its hash, the hash
of the file the job wrote, its check report and the reviewers' signed votes. The environment
signs a C2SP signed note naming the release and the manifest's SHA-256 with its Ed25519 ledger
key — the key whose public half anyone already holds to check the ledger — so a released folder
can be checked long after, away from the environment, with :func:`verify_release`.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from fivesafes.governance.signing import signature_valid
from fivesafes.ledger.note import NoteError, NoteSigner, NoteVerifier, open_note

MANIFEST_FILE = "manifest.json"
SIGNATURE_FILE = "manifest.sig"
FORMAT = "fivesafes-release/1"
NOTE_HEADER = "fivesafes release manifest"


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return orjson.dumps(manifest, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2)


def note_text(release_id: str, digest: str) -> str:
    """The signed text: a header no checkpoint can have, the release and the manifest's hash."""
    return f"{NOTE_HEADER}\n{release_id}\n{digest}\n"


def sign_manifest(folder: Path, manifest: dict[str, Any], signer: NoteSigner) -> None:
    data = manifest_bytes(manifest)
    (folder / MANIFEST_FILE).write_bytes(data)
    text = note_text(manifest["release_id"], hashlib.sha256(data).hexdigest())
    (folder / SIGNATURE_FILE).write_text(signer.sign(text), encoding="utf-8")


def verify_release(folder: Path, verifiers: Iterable[NoteVerifier]) -> list[str]:
    """Everything wrong with a released folder (empty when it is sound): the environment's
    signature, each file's hash, and two approvals signed by distinct reviewers, not the
    requester, each for this very request."""
    try:
        data = (folder / MANIFEST_FILE).read_bytes()
        note = open_note((folder / SIGNATURE_FILE).read_text(encoding="utf-8"), verifiers)
    except (OSError, NoteError) as exc:
        return [f"signature: {exc}"]
    manifest = orjson.loads(data)
    problems = []
    if note.text != note_text(manifest["release_id"], hashlib.sha256(data).hexdigest()):
        problems.append("signature: the signed note is not for this manifest")
    for entry in manifest["files"]:
        target = folder / entry["path"]
        if not target.is_file():
            problems.append(f"{entry['path']}: missing")
        elif hashlib.sha256(target.read_bytes()).hexdigest() != entry["sha256"]:
            problems.append(f"{entry['path']}: does not match its hash")
    approvers = set()
    for vote in manifest["approvals"]:
        statement = vote["statement"]
        ok = (
            statement["decision"] == "approve"
            and statement["release_id"] == manifest["release_id"]
            and statement["request_sha256"] == manifest["request_sha256"]
            and statement["person_id"] != manifest["requester"]
            and signature_valid(base64.b64decode(vote["public_key"]), statement, vote["signature"])
        )
        if ok:
            approvers.add(statement["person_id"])
        else:
            problems.append(f"approval by {statement.get('person_id')}: does not verify")
    if len(approvers) < 2:
        problems.append(f"{len(approvers)} valid approval(s); a release needs two")
    return problems
