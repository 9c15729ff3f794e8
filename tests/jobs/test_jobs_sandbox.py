"""The sandbox, tested by trying to break each promise it makes.

Every attack is run twice: without the sandbox (or without the limit), where it must
succeed, which shows the test can see a breach; and sandboxed, where it must fail.
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jobs_support import OPEN_CUT, needs_sandbox, probe, reported, run, write_project

from fivesafes.jobs import Backend, Limits, sandbox_available
from fivesafes.jobs import runner as runner_module
from fivesafes.jobs.cgroups import confine
from fivesafes.store.config import DataDir
from fivesafes.store.database import Store

pytestmark = needs_sandbox

ATTEMPT = """
import pathlib, sys
def attempt():
{body}
try:
    outcome = "breached: " + str(attempt())
except Exception as exc:
    outcome = f"blocked: {{type(exc).__name__}}: {{exc}}"
pathlib.Path("output/result.txt").write_text(outcome)
"""


def attack(body: str) -> str:
    """A probe script that runs ``body`` and reports whether it got through."""
    indented = "\n".join("    " + line for line in body.strip().splitlines())
    return ATTEMPT.format(body=indented)


def outcome(root: Path, body: str, **options: object) -> str:
    result = probe(root, attack(body), **options)
    assert result.status == "ran", (result.reason, (root / str(result.record.log)).read_text())
    return reported(root)


def sandboxed(data: DataDir, **limits: float) -> dict[str, object]:
    """Options for a real-data run: store backend, sandbox on."""
    return {
        "backend": Backend.STORE,
        "sandbox": True,
        "data_dir": data,
        "cut": OPEN_CUT,
        "limits": Limits(**limits),  # type: ignore[arg-type]
    }


@pytest.fixture
def listener() -> Iterator[int]:
    """A TCP server on the host's loopback: reachable by anything on the host network."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(10)
        accept = threading.Thread(target=lambda: _accept_one(server), daemon=True)
        accept.start()
        yield server.getsockname()[1]


def _accept_one(server: socket.socket) -> None:
    try:
        conn, _ = server.accept()
        conn.close()
    except OSError:
        pass


def test_sandbox_is_available_here() -> None:
    assert sandbox_available() is None


def test_no_network(tmp_path: Path, environment: DataDir, listener: int) -> None:
    body = f"""
import socket
with socket.create_connection(("127.0.0.1", {listener}), timeout=5):
    return "connected"
"""
    assert outcome(tmp_path / "open", body) == "breached: connected"
    # Inside, only the sandbox's own loopback exists: nothing listens there.
    got = outcome(tmp_path / "closed", body, **sandboxed(environment))
    assert got.startswith("blocked: ConnectionRefusedError"), got


def test_the_key_and_the_database_are_out_of_reach(tmp_path: Path, environment: DataDir) -> None:
    for secret in (environment.key_file, environment.database):
        body = f"return len(open({str(secret)!r}, 'rb').read())"
        assert outcome(tmp_path / "open", body).startswith("breached")
        got = outcome(tmp_path / "closed", body, **sandboxed(environment))
        assert got.startswith("blocked: FileNotFoundError"), got


def write_attack(targets: list[str]) -> str:
    return f"""
written = []
for target in {targets!r}:
    try:
        open(target, "w").write("x")
        written.append(target)
    except OSError:
        pass
return written
"""


def test_nothing_is_written_outside_the_workspace(tmp_path: Path, environment: DataDir) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    study = tmp_path / "study"
    targets = [outside / "exfiltrated.csv", study / "planted.csv", study / "probe.py"]
    outcome(study, write_attack([str(t) for t in targets]))
    assert all(t.read_text() == "x" for t in targets)
    targets[0].unlink()
    targets[1].unlink()
    # Inside, also try the system folders (not tried unsandboxed: as root that would succeed).
    system = ["/usr/planted", "/planted", "/tmp/../planted", "/proc/planted"]
    got = outcome(study, write_attack([str(t) for t in targets] + system), **sandboxed(environment))
    assert got == "breached: []"
    assert not targets[0].exists() and not targets[1].exists()
    assert targets[2].read_text() != "x"


def test_memory_limit(tmp_path: Path, environment: DataDir) -> None:
    body = "return len(bytearray(512 * 1024**2))"
    assert (
        outcome(tmp_path / "open", body, **sandboxed(environment)) == f"breached: {512 * 1024**2}"
    )
    limited = sandboxed(environment, memory_bytes=256 * 1024**2)
    assert outcome(tmp_path / "closed", body, **limited).startswith("blocked: MemoryError")


def test_cpu_limit(tmp_path: Path, environment: DataDir) -> None:
    body = """
import time
while time.process_time() < 1.5:
    pass
return "spun"
"""
    assert outcome(tmp_path / "open", body, **sandboxed(environment)) == "breached: spun"
    result = probe(tmp_path / "closed", attack(body), **sandboxed(environment, cpu_seconds=1))
    assert result.status == "failed" and result.record is not None
    assert result.record.exit_code != 0
    assert not (tmp_path / "closed" / "output" / "result.txt").exists()


def test_wall_clock_limit(tmp_path: Path, environment: DataDir) -> None:
    body = "import time; time.sleep(1.5); return 'slept'"
    assert outcome(tmp_path / "open", body, **sandboxed(environment)) == "breached: slept"
    result = probe(tmp_path / "closed", attack(body), **sandboxed(environment, wall_seconds=0.3))
    assert result.status == "failed" and "time limit" in str(result.reason)


def test_the_host_is_not_visible(tmp_path: Path, environment: DataDir) -> None:
    host_file = tmp_path / "host-only.txt"
    host_file.write_text("not for the sandbox")
    repository_readme = Path(__file__).resolve().parents[2] / "README.md"
    looked_for = [str(host_file), str(repository_readme), "/etc/hostname", "/etc/shadow", "/home"]
    body = f"""
import os
seen = [p for p in {looked_for!r} if os.path.exists(p)]
if not seen:
    raise FileNotFoundError("none of them")
return seen
"""
    assert outcome(tmp_path / "open", body).startswith("breached")
    got = outcome(tmp_path / "closed", body, **sandboxed(environment))
    assert got == "blocked: FileNotFoundError: none of them"


THREE = """
version: 1
actions:
  a:
    run: python write.py output/a.csv
    outputs: {highly_sensitive: {data: output/a.csv}}
  b:
    run: python write.py output/b.csv
    outputs: {highly_sensitive: {data: output/b.csv}}
  c:
    run: python read.py
    needs: [b]
    outputs: {moderately_sensitive: {seen: output/c.json}}
"""
WRITE = "import sys; open(sys.argv[1], 'w').write(sys.argv[1])\n"


def read_script(project: Path) -> str:
    """Try every output by relative and absolute path; report what could be read."""
    candidates = [f"output/{n}.csv" for n in "ab"]
    candidates += [str(project / "output" / f"{n}.csv") for n in "ab"]
    return f"""
import json
seen = []
for path in {candidates!r}:
    try:
        open(path).read()
        seen.append(path)
    except OSError:
        pass
json.dump(seen, open("output/c.json", "w"))
"""


def test_an_undeclared_input_cannot_be_read(tmp_path: Path, environment: DataDir) -> None:
    study = tmp_path / "study"
    write_project(study, THREE, {"write.py": WRITE, "read.py": read_script(study)})
    run(study, force=True)
    seen = orjson.loads((study / "output" / "c.json").read_bytes())
    assert str(study / "output" / "a.csv") in seen  # unsandboxed: a's output is on disk
    run(study, force=True, **sandboxed(environment))
    seen = orjson.loads((study / "output" / "c.json").read_bytes())
    assert sorted(seen) == ["output/b.csv"]


def test_generate_dataset_sees_only_the_analysis_layer_read_only_and_never_the_key(
    tmp_path: Path, data_dir: DataDir, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a ``fivesafes generate-dataset`` action gets the store; stand in for the command."""
    with Store.open(data_dir) as store:
        store.con.execute("INSERT INTO identifiable.Patient (id, resource) VALUES ('p', 'NHS')")
        store.con.execute(
            "INSERT INTO analysis.patients VALUES (1, 'male', DATE '1970-01-01', NULL, NULL)"
        )
        store.key  # noqa: B018  (records the key's fingerprint, as a load does)
    study = tmp_path / "study"
    spec = """
    version: 1
    actions:
      extract:
        run: fivesafes generate-dataset study.py --output output/dataset.json
        outputs: {highly_sensitive: {dataset: output/dataset.json}}
    """
    script = f"""
    import json, os, sys, duckdb
    store = os.path.dirname(sys.argv[1])
    con = duckdb.connect(sys.argv[1], read_only=True)
    found = {{
        "listing": sorted(os.listdir(store)),
        "schemas": sorted({{r[0] for r in con.execute(
            "SELECT schema_name FROM duckdb_tables()").fetchall()}}),
        "patients": con.execute("SELECT count(*) FROM analysis.patients").fetchone()[0],
    }}
    try:
        con.execute("FROM identifiable.Patient").fetchall()
        found["identifiable"] = "reached"
    except duckdb.Error as exc:
        found["identifiable"] = type(exc).__name__
    for name, path in [("key", {str(data_dir.key_file)!r}),
                       ("store_on_host", {str(data_dir.database)!r}),
                       ("write", sys.argv[1])]:
        try:
            open(path, "a" if name == "write" else "r").close()
            found[name] = "reached"
        except OSError as exc:
            found[name] = type(exc).__name__
    json.dump(found, open("output/dataset.json", "w"))
    """
    write_project(study, spec, {"study.py": script})
    # The extraction's second step runs only the environment's own code; here the probe stands in
    # for it, as if that code could be made to do anything, to show what that process can reach.
    monkeypatch.setattr(runner_module, "evaluate_argv", lambda *_: [sys.executable, "-c", "0"])
    monkeypatch.setattr(
        runner_module, "extract_argv", lambda _c, _m, store: [sys.executable, "study.py", store]
    )
    options = {"backend": Backend.STORE, "sandbox": True, "data_dir": data_dir, "cut": OPEN_CUT}
    result = run(study, **options)["extract"]
    assert result.status == "ran", (result.reason, (study / str(result.record.log)).read_text())
    found = orjson.loads((study / "output" / "dataset.json").read_bytes())
    assert found["listing"] == ["store.duckdb"]
    assert found["schemas"] == ["analysis", "meta"]
    assert (found["patients"], found["identifiable"]) == (1, "CatalogException")
    assert found["key"] == found["store_on_host"] == "FileNotFoundError"
    assert found["write"] in ("OSError", "PermissionError")
    assert data_dir.key_file.is_file()


@st.composite
def pipelines(draw: st.DrawFn) -> list[list[int]]:
    """Up to four actions; action i needs a subset of the actions before it."""
    n = draw(st.integers(2, 4))
    return [draw(st.lists(st.integers(0, i - 1), unique=True)) if i else [] for i in range(n)]


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pipelines())
def test_an_action_can_never_read_anything_it_did_not_declare(needs: list[list[int]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        study = Path(tmp) / "study"
        environment = DataDir(Path(tmp) / "data", Path(tmp) / "data" / "key")
        environment.root.mkdir()
        environment.database.write_bytes(b"store")
        names = [f"step{i}" for i in range(len(needs))]
        everything = [f"output/{n}.json" for n in names]
        everything += [str(study / p) for p in everything]
        everything += [str(environment.database), str(environment.key_file)]
        lines = ["version: 1", "actions:"]
        for i, name in enumerate(names):
            lines += [
                f"  {name}:",
                f"    run: python probe.py output/{name}.json",
                f"    needs: [{', '.join(names[j] for j in needs[i])}]",
                f"    outputs: {{moderately_sensitive: {{seen: output/{name}.json}}}}",
            ]
        script = f"""
import json, os, sys
seen = [p for p in {everything!r} if os.path.isfile(p) and open(p, "rb").read(1) is not None]
json.dump(seen, open(sys.argv[1], "w"))
"""
        write_project(study, "\n".join(lines) + "\n", {"probe.py": script})
        results = run(study, **sandboxed(environment))
        assert all(r.status == "ran" for r in results.values()), results
        for i, name in enumerate(names):
            seen = orjson.loads((study / "output" / f"{name}.json").read_bytes())
            assert sorted(seen) == sorted(f"output/{names[j]}.json" for j in needs[i])


PROCESS_LIMIT = 64
FORKS = 500


def fork_bomb(forks: int) -> str:
    """Fork up to ``forks`` children that sleep, then kill them all: bounded, and tidy."""
    return f"""
import os, signal, time
children = []
try:
    for _ in range({forks}):
        pid = os.fork()
        if pid == 0:
            time.sleep(30)
            os._exit(0)
        children.append(pid)
except OSError as exc:
    raise OSError(exc.errno, f"fork refused after {{len(children)}} children") from None
finally:
    for pid in children:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
return f"{{len(children)}} children"
"""


def _held_here() -> dict[str, str]:
    """How a sandboxed job would be held on this host, resource by resource."""
    with confine(f"probe-{os.getpid()}", Limits()) as held:
        return held.described


HELD = _held_here()
PROCESSES_HELD = HELD["processes"]


@pytest.mark.skipif(
    not PROCESSES_HELD.startswith("cgroup"),
    reason=f"no cgroup can limit processes here: {PROCESSES_HELD}",
)
def test_process_limit_stops_a_fork_bomb(tmp_path: Path, environment: DataDir) -> None:
    body = fork_bomb(FORKS)
    assert outcome(tmp_path / "open", body) == f"breached: {FORKS} children"
    # Sandboxed with room for them (the default limit), the children are made: the sandbox
    # alone does not stop them, the process limit does.
    assert (
        outcome(tmp_path / "roomy", body, **sandboxed(environment)) == f"breached: {FORKS} children"
    )
    closed = tmp_path / "closed"
    result = probe(closed, attack(body), **sandboxed(environment, processes=PROCESS_LIMIT))
    assert result.status == "ran" and result.record is not None, result.reason
    got = reported(closed)
    assert got.startswith("blocked: BlockingIOError: [Errno 11] fork refused after "), got
    forked = int(got.split("fork refused after ")[1].split()[0])
    assert 0 < forked < PROCESS_LIMIT
    assert f"pids.max={PROCESS_LIMIT}" in result.record.confinement["processes"]
    assert result.record.resources["forks_refused"] >= 1


def test_the_record_says_what_held_the_job(tmp_path: Path, environment: DataDir) -> None:
    result = probe(tmp_path / "study", attack("return 'ok'"), **sandboxed(environment))
    assert result.record is not None
    held = result.record.confinement
    assert set(held) == {"processes", "memory", "cpu"}
    assert held["processes"] == PROCESSES_HELD.replace(f"probe-{os.getpid()}", result.record.job_id)
    assert str(Limits().memory_bytes) in held["memory"]
    unsandboxed = probe(tmp_path / "laptop", attack("return 'ok'"))
    assert unsandboxed.record is not None and unsandboxed.record.confinement == {}


def together(children: int, mib: int) -> str:
    """Start ``children`` processes that each hold ``mib`` MiB at once; report how each ended."""
    return f"""
import os, time
pids = []
for _ in range({children}):
    pid = os.fork()
    if pid == 0:
        held = b"x" * ({mib} * 1024**2)
        time.sleep(2)
        os._exit(0)
    pids.append(pid)
return [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in pids]
"""


@pytest.mark.skipif(
    not HELD["memory"].startswith("cgroup"),
    reason=f"no cgroup can limit a job's memory here: {HELD['memory']}",
)
def test_processes_that_together_exceed_the_job_memory_stop_the_job(
    tmp_path: Path, environment: DataDir
) -> None:
    """Hole 15: three processes, each within the limit, together over it. Per-process limits
    let them all through; the job's cgroup (v1 memory on a hybrid host) stops the job."""
    limit = 384 * 1024**2
    assert outcome(tmp_path / "open", together(3, 160), **sandboxed(environment)) == (
        "breached: [0, 0, 0]"
    )
    one = outcome(tmp_path / "one", together(1, 160), **sandboxed(environment, memory_bytes=limit))
    assert one == "breached: [0]"  # each process alone is within the limit
    result = probe(
        tmp_path / "closed", attack(together(3, 160)), **sandboxed(environment, memory_bytes=limit)
    )
    assert result.status == "failed" and result.record is not None
    assert "went over the job's memory limit of 384 MiB" in str(result.reason)
    assert result.record.resources["oom_kills"] >= 1
    held = result.record.confinement["memory"]
    assert held.startswith("cgroup v") and f"={limit}" in held
    assert "for the job's processes together" in held and result.record.job_id in held
    assert held.split(" (")[0] == HELD["memory"].split(" (")[0].replace(
        str(Limits().memory_bytes), str(limit)
    )
    assert not (tmp_path / "closed" / "output" / "result.txt").exists()
