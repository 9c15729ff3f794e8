"""The published ledger, followed by Go's own transparency-log code, not only by ours.

``interop/tlogcheck.go`` uses ``golang.org/x/mod/sumdb/note`` and ``sumdb/tlog`` (the code Go's
checksum database and its clients run), built offline from the sources Debian packages in
``golang-golang-x-mod-dev``. It pins the key the environment published first, follows a key
rotation through the handover, authenticates the C2SP tiles against signed checkpoints, reads the
entry bundles, and checks consistency and inclusion proofs. If it accepts our files, so will any
client written against that code.

Without a Go toolchain and those sources the test is skipped on a laptop; CI installs both
(``.ci/run``), so there (``CI`` set) a missing toolchain fails the test instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from ledger_support import ManualClock, job, login

from fivesafes.ledger import DEFAULT_HANDOVER, Ledger, NoteSigner, origin_for

GO_SOURCES = Path("/usr/share/gocode")
NOTE_PACKAGE = GO_SOURCES / "src/golang.org/x/mod/sumdb/note"
PROGRAM = Path(__file__).parent / "interop" / "tlogcheck.go"


def go_toolchain() -> str:
    """The ``go`` binary, or skip (fail in CI, where .ci/run installs it)."""
    go = shutil.which("go")
    missing = []
    if go is None:
        missing.append("a Go toolchain (Debian: golang-go)")
    if not NOTE_PACKAGE.is_dir():
        missing.append(f"Go's sumdb sources in {GO_SOURCES} (Debian: golang-golang-x-mod-dev)")
    if missing:
        message = "needs " + " and ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(message + "; .ci/run installs them")
        pytest.skip(message)
    assert go is not None
    return go


def build(go: str, work: Path) -> Path:
    """Build tlogcheck offline, in GOPATH mode against Debian's /usr/share/gocode."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(work),
        "GOPATH": str(GO_SOURCES),
        "GO111MODULE": "off",
        "GOPROXY": "off",
        "GOFLAGS": "",
        "GOCACHE": str(work / "go-cache"),
        "CGO_ENABLED": "0",
    }
    binary = work / "tlogcheck"
    result = subprocess.run(
        [go, "build", "-o", str(binary), str(PROGRAM)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"go build failed:\n{result.stderr}"
    return binary


def test_go_sumdb_follows_the_published_log_across_a_key_rotation(tmp_path: Path) -> None:
    go = go_toolchain()
    clock = ManualClock()
    origin = origin_for("sde.example-icb.nhs.uk")
    ledger = Ledger.open(
        tmp_path / "ledger.sqlite", tmp_path / "keys", origin, checkpoint_every=500, clock=clock
    )
    published = tmp_path / "published"
    pinned = ledger.verifier.vkey  # what the environment published out of band
    # Past one full level-1 tile (65,536 entries), so every kind of tile is exercised.
    ledger.append_many(("login", f"user-{i % 13}", login(f"t{i}")) for i in range(66_000))
    ledger.publish(published)
    rotation = ledger.rotate_key()
    ledger.append_many(("login", "ops", login(f"u{i}")) for i in range(700))
    ledger.append("job", job("J-1"))
    ledger.publish(published)
    handover = tmp_path / "handover-checkpoint"
    shutil.copy(published / "checkpoint", handover)
    clock.advance((DEFAULT_HANDOVER + timedelta(days=1)).total_seconds())
    ledger.append_many(("login", "ops", login(f"v{i}")) for i in range(300))
    ledger.publish(published)
    size, new_key = ledger.size, ledger.verifier.vkey
    ledger.close()

    binary = build(go, tmp_path)

    def follow(directory: Path) -> subprocess.CompletedProcess[str]:
        command = [str(binary), str(directory), pinned, str(handover)]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)

    result = follow(published)
    assert result.returncode == 0, result.stderr
    summary = orjson.loads(result.stdout)
    assert summary["origin"] == origin
    assert summary["handover_size"] == 66_000 + 2 + 700 + 1
    assert summary["latest_unverified_by_pinned_key"] is True
    assert summary["rotation_index"] == rotation.index
    assert summary["new_key"] == new_key
    assert summary["latest_size"] == summary["entries"] == size
    assert summary["consistent"] is True
    assert summary["inclusion_proofs_checked"] > size // 97

    # And Go's code is not just saying yes: one flipped byte in a tile or a bundle is refused.
    for damaged in ("tile/0/000", "tile/1/000", "tile/entries/123"):
        copy = tmp_path / f"damaged-{damaged.replace('/', '-')}"
        shutil.copytree(published, copy)
        data = bytearray((copy / damaged).read_bytes())
        data[40] ^= 1
        (copy / damaged).write_bytes(bytes(data))
        refused = follow(copy)
        assert refused.returncode == 1, (damaged, refused.stdout)


def test_go_note_opens_notes_with_blank_lines_that_we_sign(tmp_path: Path) -> None:
    """signed-note lets the text hold blank lines; Go's note.Open must accept what we sign."""
    go = go_toolchain()
    program = tmp_path / "opennote.go"
    program.write_text(OPEN_NOTE, encoding="utf-8")
    signer = NoteSigner(origin_for("example.org"), Ed25519PrivateKey.generate())
    text = "first paragraph\n\nsecond paragraph, after a blank line\n\n\nthird\n"
    signed = tmp_path / "note.txt"
    signed.write_text(signer.sign(text), encoding="utf-8")
    env = {**os.environ, "GOPATH": str(GO_SOURCES), "GO111MODULE": "off", "GOPROXY": "off"}
    env |= {"GOFLAGS": "", "GOCACHE": str(tmp_path / "go-cache"), "HOME": str(tmp_path)}
    result = subprocess.run(
        [go, "run", str(program), signer.verifier.vkey, str(signed)],
        env=env,
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode() == text


OPEN_NOTE = """package main

import (
\t"fmt"
\t"os"

\t"golang.org/x/mod/sumdb/note"
)

func main() {
\tv, err := note.NewVerifier(os.Args[1])
\tif err != nil {
\t\tpanic(err)
\t}
\tdata, _ := os.ReadFile(os.Args[2])
\tn, err := note.Open(data, note.VerifierList(v))
\tif err != nil {
\t\tfmt.Fprintln(os.Stderr, err)
\t\tos.Exit(1)
\t}
\tfmt.Print(n.Text)
}
"""
