"""Finding a cgroup to hold a sandboxed job, and the fallback when there is none.

The kernel's side (that pids.max really stops a fork bomb) is tested in test_jobs_sandbox.py on
this host's own cgroups; here the discovery and the files written are tested on fake cgroup
trees, since a test cannot choose which cgroup versions the host mounts.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fivesafes.jobs import Limits
from fivesafes.jobs import cgroups as cgroups_module
from fivesafes.jobs.cgroups import (
    CGROUP_ENV,
    Hierarchy,
    confine,
    parse_mountinfo,
    parse_proc_cgroup,
)

# proc(5) mountinfo lines, trimmed: a hybrid host (v1 controllers, v2 with none of them) ...
HYBRID = """\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""
# ... and a current systemd host: the unified hierarchy only.
UNIFIED = """\
24 1 259:2 / / rw,relatime shared:1 - ext4 /dev/root rw
35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate
"""
PROC_CGROUP_HYBRID = "8:pids:/\n4:memory:/process_api/3bca\n1:cpu,cpuacct:/\n0::/\n"
PROC_CGROUP_UNIFIED = "0::/system.slice/fivesafes.service\n"


def test_mountinfo_names_each_hierarchy_with_its_controllers() -> None:
    found = {(str(h.point), h.version, h.controllers) for h in parse_mountinfo(HYBRID)}
    assert found == {
        ("/sys/fs/cgroup/cpu", 1, frozenset({"rw", "cpu"})),
        ("/sys/fs/cgroup/memory", 1, frozenset({"rw", "memory"})),
        ("/sys/fs/cgroup/pids", 1, frozenset({"rw", "pids"})),
        ("/sys/fs/cgroup/unified", 2, frozenset()),
    }
    assert [(str(h.point), h.version) for h in parse_mountinfo(UNIFIED)] == [("/sys/fs/cgroup", 2)]


def test_proc_cgroup_gives_each_controllers_cgroup() -> None:
    assert parse_proc_cgroup(PROC_CGROUP_HYBRID) == {
        "pids": "/",
        "memory": "/process_api/3bca",
        "cpu": "/",
        "cpuacct": "/",
        "": "/",
    }
    assert parse_proc_cgroup(PROC_CGROUP_UNIFIED) == {"": "/system.slice/fivesafes.service"}


def test_a_cgroup_is_found_under_the_part_of_the_hierarchy_mounted() -> None:
    whole = Hierarchy(Path("/sys/fs/cgroup"), "/", 2, frozenset())
    assert whole.directory("/a/b") == Path("/sys/fs/cgroup/a/b")
    part = Hierarchy(Path("/cg"), "/a", 2, frozenset())  # a container sees only /a
    assert part.directory("/a/b") == Path("/cg/b")
    assert part.directory("/elsewhere") is None


def fake_host(monkeypatch: pytest.MonkeyPatch, mountinfo: str, proc_cgroup: str) -> None:
    """Make ``confine`` read these instead of this process's /proc files."""
    texts = {"/proc/self/mountinfo": mountinfo, "/proc/self/cgroup": proc_cgroup}
    monkeypatch.setattr(cgroups_module, "_read", texts.__getitem__)
    monkeypatch.delenv(CGROUP_ENV, raising=False)


def fake_cgroup(path: Path, controllers: str) -> Path:
    path.mkdir(parents=True)
    (path / "cgroup.controllers").write_text(controllers + "\n")
    (path / "cgroup.subtree_control").write_text("")
    return path


LIMITS = Limits(processes=64, memory_bytes=256 * 1024**2, cpu_cores=1.5)


def test_cgroup_v2_gets_all_three_limits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    service = fake_cgroup(
        tmp_path / "system.slice" / "fivesafes.service", "cpuset cpu io memory pids"
    )
    fake_host(monkeypatch, UNIFIED.replace("/sys/fs/cgroup", str(tmp_path)), PROC_CGROUP_UNIFIED)
    with confine("job-1", LIMITS) as held:
        group = service / "fivesafes-job-1"
        written = {
            name: (group / name).read_text() for name in ("pids.max", "memory.max", "cpu.max")
        }
        assert written == {
            "pids.max": "64",
            "memory.max": str(256 * 1024**2),
            "cpu.max": "150000 100000",
        }
        assert (service / "cgroup.subtree_control").read_text() == "+pids +memory +cpu"
        assert held.described["processes"] == f"cgroup v2 pids.max=64 ({group})"
        assert held.described["memory"].startswith(
            f"cgroup v2 memory.max={256 * 1024**2} for the job"
        )
        assert held.described["cpu"].startswith("cgroup v2 cpu.max=150000 100000 for the job")


def test_a_delegated_cgroup_is_used_when_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    delegated = fake_cgroup(tmp_path / "delegated", "cpu memory pids")
    fake_cgroup(tmp_path / "system.slice" / "fivesafes.service", "")  # offers nothing itself
    fake_host(monkeypatch, UNIFIED.replace("/sys/fs/cgroup", str(tmp_path)), PROC_CGROUP_UNIFIED)
    monkeypatch.setenv(CGROUP_ENV, str(delegated))
    with confine("job-2", LIMITS) as held:
        assert (delegated / "fivesafes-job-2" / "pids.max").read_text() == "64"
        assert held.described["processes"].startswith("cgroup v2 pids.max=64")


def test_each_controller_v2_lacks_is_taken_from_its_v1_hierarchy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The host of issue 18's hole 15: v1 controllers mounted, an empty unified hierarchy; the
    job's memory is held by a child of this process's own v1 memory cgroup."""
    fake_cgroup(tmp_path / "unified", "hugetlb")
    memory = tmp_path / "memory" / "process_api" / "3bca"
    for folder in (tmp_path / "pids", memory, tmp_path / "cpu"):
        folder.mkdir(parents=True)
    (tmp_path / "memory" / "fivesafes-job-3").mkdir()  # in the root: not where the job goes
    fake_host(monkeypatch, HYBRID.replace("/sys/fs/cgroup", str(tmp_path)), PROC_CGROUP_HYBRID)
    with confine("job-3", LIMITS) as held:
        assert (tmp_path / "pids" / "fivesafes-job-3" / "pids.max").read_text() == "64"
        group = memory / "fivesafes-job-3"
        assert (group / "memory.limit_in_bytes").read_text() == str(256 * 1024**2)
        assert not (group / "memory.memsw.limit_in_bytes").exists()  # no swap accounting here
        cpu = tmp_path / "cpu" / "fivesafes-job-3"
        assert (cpu / "cpu.cfs_quota_us").read_text() == "150000"
        assert (cpu / "cpu.cfs_period_us").read_text() == "100000"
        assert held.described == {
            "processes": f"cgroup v1 pids.max=64 ({tmp_path / 'pids' / 'fivesafes-job-3'})",
            "memory": f"cgroup v1 memory.limit_in_bytes={256 * 1024**2} for the job's processes "
            f"together ({group}); RLIMIT_AS={256 * 1024**2} for each process",
            "cpu": "cgroup v1 cpu.cfs_period_us=100000 cpu.cfs_quota_us=150000 for the job's "
            f"processes together ({cpu}); RLIMIT_CPU={LIMITS.cpu_seconds} s for each process",
        }
        assert {c: g.version for c, g in held.groups.items()} == {"pids": 1, "memory": 1, "cpu": 1}


def test_v2_controllers_and_v1_ones_are_mixed_as_the_host_mounts_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = fake_cgroup(tmp_path / "unified", "memory cpu")
    (tmp_path / "pids").mkdir()
    fake_host(monkeypatch, HYBRID.replace("/sys/fs/cgroup", str(tmp_path)), PROC_CGROUP_HYBRID)
    with confine("job-6", LIMITS) as held:
        assert {c: g.version for c, g in held.groups.items()} == {"pids": 1, "memory": 2, "cpu": 2}
        assert (service / "fivesafes-job-6" / "memory.max").read_text() == str(256 * 1024**2)
        assert (service / "cgroup.subtree_control").read_text() == "+memory +cpu"
        assert held.described["processes"].startswith("cgroup v1 pids.max=64")
        assert held.described["memory"].startswith("cgroup v2 memory.max=")


def test_without_a_memory_controller_the_record_says_what_is_not_covered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_cgroup(tmp_path / "unified", "hugetlb")
    (tmp_path / "pids").mkdir()
    fake_host(monkeypatch, HYBRID.replace("/sys/fs/cgroup", str(tmp_path)), PROC_CGROUP_HYBRID)
    with confine("job-7", LIMITS) as held:
        assert held.described["processes"].startswith("cgroup v1 pids.max=64")
        assert held.described["memory"] == (
            f"RLIMIT_AS={256 * 1024**2} for each process only: the job's processes together are "
            f"not limited (cgroup v2 {tmp_path / 'unified'} offers none of the pids, memory, cpu "
            f"controllers; cannot make a child of cgroup v1 "
            f"{tmp_path / 'memory' / 'process_api' / '3bca'} (No such file or directory))"
        )


def test_with_no_cgroup_the_fallback_is_stated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_host(monkeypatch, "", "0::/\n")
    monkeypatch.setattr(os, "getuid", lambda: 0)
    with confine("job-4", LIMITS) as held:
        assert held.groups == {} and held.nproc is None
        assert held.described["processes"].startswith(
            "not limited: RLIMIT_NPROC does not bind root"
        )
    nobody = 65534
    tasks = cgroups_module._user_tasks(nobody)
    monkeypatch.setattr(os, "getuid", lambda: nobody)
    with confine("job-5", LIMITS) as held:
        assert held.nproc == tasks + 64
        assert held.described["processes"].startswith(f"RLIMIT_NPROC={tasks + 64}: uid {nobody}'s")
        assert "no cgroup v2 hierarchy is mounted; no cgroup v1 pids" in held.described["processes"]
