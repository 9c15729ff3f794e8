"""C2SP signed notes and checkpoints, checked against the published Go ``sumdb/note`` vectors."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from fivesafes.ledger.note import (
    Checkpoint,
    NoteError,
    NoteSigner,
    NoteVerifier,
    key_id,
    open_checkpoint,
    open_note,
    parse_note,
    sign_note,
    signed_by,
)

# Published test vectors, taken as facts from golang.org/x/mod sumdb/note/note_test.go
# (TestNewSigner, TestNewVerifier, TestSign, TestOpen). The private key text is
# "PRIVATE+KEY+PeterNeumann+c74f20a3+" followed by base64(0x01 || Ed25519 seed).
PETER_SEED_B64 = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = (
    "— PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    "— EnochRoot "
    "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"
)


def peter() -> NoteSigner:
    seed = base64.b64decode(PETER_SEED_B64)[1:]
    return NoteSigner("PeterNeumann", Ed25519PrivateKey.from_private_bytes(seed))


def test_key_id_and_vkey_match_published_vector() -> None:
    verifier = peter().verifier
    assert key_id("PeterNeumann", verifier.public_key).hex() == "c74f20a3"
    assert verifier.vkey == PETER_VKEY
    assert NoteVerifier.from_vkey(PETER_VKEY) == verifier


def test_signature_matches_published_vector_byte_for_byte() -> None:
    assert peter().sign(TEXT) == TEXT + "\n" + PETER_SIG


def test_open_verifies_known_keys_and_ignores_unknown_ones() -> None:
    peter_v, enoch_v = NoteVerifier.from_vkey(PETER_VKEY), NoteVerifier.from_vkey(ENOCH_VKEY)
    message = TEXT + "\n" + PETER_SIG + ENOCH_SIG
    assert open_note(message, [peter_v]).text == TEXT
    assert len(open_note(message, [peter_v, enoch_v]).signatures) == 2
    with pytest.raises(NoteError, match="no signature from a trusted key"):
        open_note(message, [])


def test_a_bad_signature_from_a_known_key_rejects_the_note() -> None:
    bad = TEXT + "\n" + PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(NoteError):
        open_note(bad, [NoteVerifier.from_vkey(PETER_VKEY)])


def test_changed_text_fails() -> None:
    changed = TEXT.replace("answer", "Answer") + "\n" + PETER_SIG
    with pytest.raises(NoteError, match="invalid signature"):
        open_note(changed, [NoteVerifier.from_vkey(PETER_VKEY)])


@pytest.mark.parametrize(
    "message",
    [
        TEXT,
        TEXT + "\n",
        TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + TEXT + "\n" + PETER_SIG,
        TEXT + "\n" + PETER_SIG.replace("PeterNeumann", "Peter Neumann"),
        TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
        TEXT + "\n" + PETER_SIG.replace("— ", "-- "),
        TEXT + "\n" + PETER_SIG * 101,
    ],
)
def test_malformed_notes_are_refused(message: str) -> None:
    with pytest.raises(NoteError):
        open_note(message, [NoteVerifier.from_vkey(PETER_VKEY)])


@pytest.mark.parametrize(
    "vkey",
    [
        PETER_VKEY.replace("c74f20a3", "c74f20a4"),
        PETER_VKEY[:-2],
        "PeterNeumann+c74f20a3",
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ],
)
def test_malformed_verifier_keys_are_refused(vkey: str) -> None:
    with pytest.raises(NoteError):
        NoteVerifier.from_vkey(vkey)


def test_checkpoint_body_is_the_c2sp_layout() -> None:
    cp = Checkpoint("example.org/log", 12, bytes(range(32)))
    assert cp.body() == "example.org/log\n12\n" + base64.b64encode(bytes(range(32))).decode() + "\n"
    signer = NoteSigner("example.org/log", Ed25519PrivateKey.generate())
    assert open_checkpoint(cp.sign(signer), [signer.verifier]) == cp


def test_checkpoint_extension_lines_are_ignored_and_bad_sizes_refused() -> None:
    root = base64.b64encode(b"r" * 32).decode()
    assert Checkpoint.from_body(f"log\n3\n{root}\nextension\n").size == 3
    for size in ("-1", "03", "x", ""):
        with pytest.raises(NoteError):
            Checkpoint.from_body(f"log\n{size}\n{root}\n")


@settings(deadline=None)
@given(
    origin=st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=40),
    size=st.integers(0, 2**63),
    root=st.binary(min_size=32, max_size=32),
)
def test_checkpoints_round_trip_through_sign_and_open(origin: str, size: int, root: bytes) -> None:
    signer = NoteSigner("log", Ed25519PrivateKey.from_private_bytes(b"k" * 32))
    note = Checkpoint(origin, size, root).sign(signer)
    assert open_checkpoint(note, [signer.verifier]) == Checkpoint(origin, size, root)
    assert parse_note(note).signatures[0].key_id == signer.verifier.key_id


# signed-note: "The note text MAY contain empty lines; the text is separated from the signatures
# by the last empty line in the note." The spec's own example has one.
QUASIMODO = (
    "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n"
)
QUASIMODO_SIG = (
    "— quasimodo.example/salvatore "
    "NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n"
)


def test_the_spec_example_with_a_blank_line_in_its_text_parses() -> None:
    note = parse_note(QUASIMODO + "\n" + QUASIMODO_SIG)
    assert note.text == QUASIMODO
    assert [s.name for s in note.signatures] == ["quasimodo.example/salvatore"]
    assert note.signatures[0].key_id.hex() == "367ba04b"


@settings(deadline=None)
@given(
    lines=st.lists(
        st.text(st.characters(min_codepoint=0x20, max_codepoint=0x2FF), max_size=12),
        min_size=1,
        max_size=8,
    )
)
def test_any_text_with_blank_lines_round_trips(lines: list[str]) -> None:
    text = "\n".join(lines) + "\n"
    signer, other = peter(), NoteSigner("other", Ed25519PrivateKey.from_private_bytes(b"o" * 32))
    note = sign_note(text, [signer, other])
    opened = open_note(note, [signer.verifier])
    assert opened.text == text
    assert signed_by(opened, [signer.verifier, other.verifier]) == [
        signer.verifier,
        other.verifier,
    ]


def test_a_checkpoint_body_still_needs_its_three_non_empty_lines() -> None:
    root = base64.b64encode(b"r" * 32).decode()
    for body in (f"log\n\n3\n{root}\n", f"log\n3\n{root}\n\n", f"\nlog\n3\n{root}\n"):
        with pytest.raises(NoteError):
            Checkpoint.from_body(body)
    with pytest.raises(NoteError, match="32 bytes"):
        Checkpoint.from_body("log\n3\n" + base64.b64encode(b"r" * 31).decode() + "\n")
