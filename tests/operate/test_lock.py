"""The hashed lock file pins every dependency with its hashes, `make install` installs exactly
it (refusing a file whose hash differs), and the audit of it names a vulnerability, counts what
it could not audit, and never passes having audited nothing."""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import os
import re
import shlex
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))

import audit_lock  # noqa: E402

LOCK = REPO / "requirements.lock"


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=\[ ;]", r, maxsplit=1)[0].lower() for r in requirements}


def test_every_dependency_is_pinned_with_hashes() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = _names(project["dependencies"])
    for extra in ("test", "postgres", "spark"):
        wanted |= _names(project["optional-dependencies"][extra]) - {"fivesafes"}
    pinned = audit_lock.pins(LOCK)
    assert wanted - {"psycopg"} <= set(pinned), sorted(wanted - set(pinned))
    blocks = LOCK.read_text().split("\n\n", 1)[1].split("==")[1:]
    assert all("--hash=sha256:" in block for block in blocks)
    assert "file://" not in LOCK.read_text()


def test_the_audit_names_vulnerabilities_and_what_it_could_not_audit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lock = tmp_path / "requirements.lock"
    lock.write_text("good==1.0 \\\n    --hash=sha256:00\nbad==2.0 \\\n    --hash=sha256:11\n"
                    "old==0.1 \\\n    --hash=sha256:22\n")  # fmt: skip
    index = {
        "good": {"info": {"version": "1.0"}, "vulnerabilities": []},
        "bad": {"info": {"version": "2.0"},
                "vulnerabilities": [{"id": "GHSA-xxxx", "fixed_in": ["2.1"]}]},
        "old": {"info": {"version": "0.2"}, "vulnerabilities": []},
    }  # fmt: skip
    monkeypatch.setattr(audit_lock, "project", lambda name: index[name])
    assert audit_lock.main(lock) == 1
    out = capsys.readouterr().out
    assert "VULNERABLE bad 2.0: GHSA-xxxx (fixed in 2.1)" in out
    assert "old 0.1 (newest is 0.2)" in out

    def unreachable(name: str) -> dict[str, object]:
        raise OSError("no route")

    monkeypatch.setattr(audit_lock, "project", unreachable)
    assert audit_lock.main(lock) == 1  # nothing audited is not a pass


def _install_steps() -> list[list[str]]:
    """The pip commands `make install` runs to make the virtualenv, as make would run them."""
    shown = subprocess.run(
        ["make", "-n", "-B", ".venv/bin/.installed"],
        cwd=REPO, capture_output=True, text=True, check=True,
    )  # fmt: skip
    steps = [shlex.split(line) for line in shown.stdout.splitlines()]
    return [s for s in steps if s[0].endswith("/pip") and s[1] == "install"]


def _wheel(folder: Path, name: str, version: str) -> Path:
    """A minimal pure-Python wheel, so pip's hash check runs with no index."""
    folder.mkdir(exist_ok=True)
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    info = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": "VERSION = " + repr(version) + "\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    with zipfile.ZipFile(wheel, "w") as archive:
        record = []
        for path, text in files.items():
            archive.writestr(path, text)
            digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest())
            record.append(f"{path},sha256={digest.rstrip(b'=').decode()},{len(text)}")
        archive.writestr(f"{info}/RECORD", "\n".join([*record, f"{info}/RECORD,,"]) + "\n")
    return wheel


def test_make_install_installs_the_lock_and_refuses_a_file_whose_hash_differs(
    tmp_path: Path,
) -> None:
    """SATRE 2.7.02: what runs is what the lock pins. `make install` installs the lock
    hash-checked and resolves nothing itself; its very command refuses a file whose hash is
    not the lock's, and installs the one whose hash is."""
    steps = _install_steps()
    from_lock = [s for s in steps if "requirements.lock" in s]
    assert len(from_lock) == 1, steps
    [lock_step] = from_lock
    assert {"--require-hashes", "--no-deps"} <= set(lock_step)
    assert lock_step[lock_step.index("requirements.lock") - 1] == "-r"
    itself = [s for s in steps if s[-1] == "."]
    assert itself and all("--no-deps" in s for s in itself), steps
    assert [s for s in steps if s not in from_lock + itself] == [
        [steps[0][0], "install", "--quiet", "--upgrade", "pip"]
    ]  # pip itself is the one thing installed not from the lock

    wheel = _wheel(tmp_path / "wheels", "tinydep", "1.0")
    good = hashlib.sha256(wheel.read_bytes()).hexdigest()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull  # this machine's pip settings play no part

    def install(digest: str) -> subprocess.CompletedProcess[str]:
        lock = tmp_path / "requirements.lock"
        lock.write_text(f"tinydep==1.0 \\\n    --hash=sha256:{digest}\n")
        command = [a if a != "requirements.lock" else str(lock) for a in lock_step[2:]]
        where = ["--no-index", "--find-links", str(wheel.parent), "--target", str(tmp_path / "t")]
        return subprocess.run(
            [sys.executable, "-m", "pip", "install", *command, *where],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip

    tampered = install("0" * 64)
    assert tampered.returncode != 0 and "DO NOT MATCH THE HASHES" in tampered.stderr
    assert not (tmp_path / "t" / "tinydep").exists()
    installed = install(good)
    assert installed.returncode == 0, installed.stderr
    assert (tmp_path / "t" / "tinydep" / "__init__.py").read_text() == "VERSION = '1.0'\n"


def test_the_environment_running_the_tests_is_the_lock() -> None:
    """Every package the lock pins is installed here at exactly its pinned version (`make test`
    installs through `make install` first)."""
    pinned = audit_lock.pins(LOCK)
    found = {name: importlib.metadata.version(name) for name in pinned}
    assert {n: (v, found[n]) for n, v in pinned.items() if found[n] != v} == {}
