"""Limits on a sandboxed job's processes together: control groups, with rlimits as the fallback.

The rlimits of :mod:`.process` bind each process on its own. ``RLIMIT_AS`` caps one process's
address space, not what a job's processes use together; ``RLIMIT_NPROC``, the only rlimit on
processes, counts every process of the user and does not bind root at all, so a job run as root
could fork until the host's process table is full (a fork bomb). A control group binds the job
as a whole (SATRE: one project's analysis cannot exhaust the shared environment). In order of
preference:

1. **cgroup v2**: ``pids.max``, ``memory.max`` (with ``memory.swap.max`` 0, where there is swap
   accounting) and ``cpu.max`` on a new child of the cgroup fivesafes runs in, or of
   ``$FIVESAFES_CGROUP`` (a cgroup delegated to fivesafes), when that cgroup offers the ``pids``,
   ``memory`` and ``cpu`` controllers and lets them be enabled for its children: the root cgroup
   does, and so does a delegated cgroup with no processes of its own.
2. **cgroup v1 pids**: on hosts that still mount the v1 controllers (hybrid systemd, older
   container hosts) a child of the v1 ``pids`` hierarchy limits processes; memory and CPU stay the
   per-process rlimits.
3. **rlimit**: ``RLIMIT_NPROC`` set to the user's tasks now plus the job's allowance (it counts
   all of the user's processes and threads). For root nothing limits processes, and the job record
   says so.

The job record's ``confinement`` says, in words, what bound each resource; its ``resources`` add
what the cgroup counted (peak processes, forks refused, peak memory, OOM kills).
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from fivesafes.jobs.process import Limits

CGROUP_ENV = "FIVESAFES_CGROUP"
V2_CONTROLLERS = ("pids", "memory", "cpu")
CPU_PERIOD_US = 100_000
EMPTY_WAIT_S = 5.0
"""How long to wait for a finished job's cgroup to empty after killing what is left in it."""


@dataclass(frozen=True, slots=True)
class Hierarchy:
    """A mounted cgroup hierarchy: where, which part of it, which version, which controllers."""

    point: Path
    root: str
    version: int
    controllers: frozenset[str]

    def directory(self, cgroup_path: str) -> Path | None:
        """Where the cgroup ``cgroup_path`` (as /proc/self/cgroup names it) is on this mount."""
        inside = PurePosixPath(cgroup_path)
        if not inside.is_relative_to(self.root):
            return None
        return self.point / inside.relative_to(self.root)


def parse_mountinfo(text: str) -> list[Hierarchy]:
    """The cgroup hierarchies in ``/proc/self/mountinfo`` text (see proc(5))."""
    found = []
    for line in text.splitlines():
        before, _, after = line.partition(" - ")
        fields, rest = before.split(), after.split()
        if len(fields) < 5 or len(rest) < 3 or rest[0] not in ("cgroup", "cgroup2"):
            continue
        point = Path(fields[4].replace("\\040", " "))
        if rest[0] == "cgroup2":
            found.append(Hierarchy(point, fields[3], 2, frozenset()))
        else:
            found.append(Hierarchy(point, fields[3], 1, frozenset(rest[2].split(","))))
    return found


def parse_proc_cgroup(text: str) -> dict[str, str]:
    """The cgroup of each v1 controller, and of the v2 hierarchy under ``""``, from
    ``/proc/self/cgroup`` text (lines ``id:controllers:path``)."""
    paths = {}
    for line in text.splitlines():
        number, controllers, path = line.split(":", 2)
        if number == "0" and not controllers:
            paths[""] = path
        for controller in filter(None, controllers.split(",")):
            paths[controller] = path
    return paths


@dataclass(frozen=True, slots=True)
class ControlGroup:
    """One cgroup directory made for one job; ``version`` says which files it has."""

    path: Path
    version: int

    def write(self, name: str, value: str) -> None:
        (self.path / name).write_text(value)

    def read(self, name: str) -> str | None:
        try:
            return (self.path / name).read_text()
        except OSError:
            return None

    def join(self) -> None:
        """Move the calling process (the job, before it executes anything) into the group."""
        self.write("cgroup.procs", str(os.getpid()))

    def usage(self) -> dict[str, float]:
        """What the kernel counted for the job, where this kernel keeps it."""
        found: dict[str, float] = {}
        for name, key in (("pids.peak", "pids_peak"), ("memory.peak", "memory_peak_bytes")):
            value = self.read(name)
            if value is not None and value.strip().isdigit():
                found[key] = float(value)
        for name, event, key in (("pids.events", "max", "forks_refused"),
                                 ("memory.events", "oom_kill", "oom_kills")):  # fmt: skip
            events = _counters(self.read(name))
            if event in events:
                found[key] = float(events[event])
        return found

    def remove(self) -> None:
        """Kill whatever the job left behind in the group and remove the group (best effort: a
        group that will not empty is left, empty of anything but what would not die)."""
        kill_all = self.path / "cgroup.kill"
        if kill_all.exists():
            with contextlib.suppress(OSError):
                kill_all.write_text("1")
        deadline = time.monotonic() + EMPTY_WAIT_S
        while (left := (self.read("cgroup.procs") or "").split()) and time.monotonic() < deadline:
            for pid in left:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(int(pid), signal.SIGKILL)
            time.sleep(0.01)
        with contextlib.suppress(OSError):
            self.path.rmdir()


def _counters(text: str | None) -> dict[str, int]:
    pairs = (line.split() for line in (text or "").splitlines())
    return {p[0]: int(p[1]) for p in pairs if len(p) == 2 and p[1].isdigit()}


def _v2_settings(limits: Limits) -> dict[str, str]:
    quota = max(1000, round(limits.cpu_cores * CPU_PERIOD_US))
    return {
        "pids.max": str(limits.processes),
        "memory.max": str(limits.memory_bytes),
        "cpu.max": f"{quota} {CPU_PERIOD_US}",
    }


def _make(group: ControlGroup, settings: Mapping[str, str]) -> None:
    """Create the group with its limits; on any failure leave nothing behind, and raise."""
    group.path.mkdir()
    try:
        for name, value in settings.items():
            group.write(name, value)
        if group.version == 2 and (group.path / "memory.swap.max").exists():
            group.write("memory.swap.max", "0")
    except OSError:
        group.remove()
        raise


def _v2_group(
    name: str, limits: Limits, hierarchies: list[Hierarchy], own: Mapping[str, str]
) -> tuple[ControlGroup | None, str]:
    """A v2 group for the job, or None and why not."""
    unified = next((h for h in hierarchies if h.version == 2), None)
    if unified is None:
        return None, "no cgroup v2 hierarchy is mounted"
    delegated = os.environ.get(CGROUP_ENV)
    parent = Path(delegated) if delegated else unified.directory(own.get("", "/"))
    if parent is None:
        return None, "this process's cgroup v2 is outside the mounted hierarchy"
    offered = set((ControlGroup(parent, 2).read("cgroup.controllers") or "").split())
    missing = [c for c in V2_CONTROLLERS if c not in offered]
    if missing:
        return None, f"cgroup v2 {parent} does not offer the {', '.join(missing)} controller(s)"
    enabled = set((ControlGroup(parent, 2).read("cgroup.subtree_control") or "").split())
    wanted = " ".join(f"+{c}" for c in V2_CONTROLLERS if c not in enabled)
    group = ControlGroup(parent / f"fivesafes-{name}", 2)
    try:
        if wanted:
            ControlGroup(parent, 2).write("cgroup.subtree_control", wanted)
        _make(group, _v2_settings(limits))
    except OSError as exc:
        return None, (
            f"cannot make a child of cgroup v2 {parent} with its controllers ({exc.strerror}); "
            f"a cgroup with processes of its own cannot: set {CGROUP_ENV} to a delegated one"
        )
    return group, ""


def _v1_pids_group(
    name: str, limits: Limits, hierarchies: list[Hierarchy], own: Mapping[str, str]
) -> tuple[ControlGroup | None, str]:
    """A group in the v1 pids hierarchy for the job, or None and why not."""
    pids = next((h for h in hierarchies if h.version == 1 and "pids" in h.controllers), None)
    parent = pids.directory(own.get("pids", "/")) if pids is not None else None
    if parent is None:
        return None, "no cgroup v1 pids hierarchy is mounted"
    group = ControlGroup(parent / f"fivesafes-{name}", 1)
    try:
        _make(group, {"pids.max": str(limits.processes)})
    except OSError as exc:
        return None, f"cannot make a child of cgroup v1 {parent} ({exc.strerror})"
    return group, ""


def _user_tasks(uid: int) -> int:
    """Processes and threads of ``uid`` now: what RLIMIT_NPROC counts."""
    tasks = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        with contextlib.suppress(OSError):
            fields = dict(
                line.split(":", 1) for line in status.read_text().splitlines() if ":" in line
            )
            if int(fields["Uid"].split()[0]) == uid:
                tasks += int(fields["Threads"])
    return tasks


@dataclass
class Confinement:
    """How one sandboxed job is held: its control group if any, else the rlimit fallback."""

    limits: Limits
    group: ControlGroup | None
    described: dict[str, str]
    nproc: int | None = None

    def before_exec(self) -> None:
        """In the job's first process, before it runs anything: join the group or set the
        fallback rlimit."""
        if self.group is not None:
            self.group.join()
        if self.nproc is not None:
            resource.setrlimit(resource.RLIMIT_NPROC, (self.nproc, self.nproc))

    def usage(self) -> dict[str, float]:
        return self.group.usage() if self.group is not None else {}


def _described(
    limits: Limits, group: ControlGroup | None, why_not: str, nproc: int | None
) -> dict[str, str]:
    memory = f"RLIMIT_AS={limits.memory_bytes} for each process"
    cpu = f"RLIMIT_CPU={limits.cpu_seconds} s for each process"
    if group is not None and group.version == 2:
        settings = _v2_settings(limits)
        return {
            "processes": f"cgroup v2 pids.max={limits.processes} ({group.path})",
            "memory": f"cgroup v2 memory.max={settings['memory.max']} for the job; {memory}",
            "cpu": f"cgroup v2 cpu.max={settings['cpu.max']} for the job; {cpu}",
        }
    memory, cpu = (f"{limit} only ({why_not})" for limit in (memory, cpu))
    if group is not None:
        processes = f"cgroup v1 pids.max={limits.processes} ({group.path})"
    elif nproc is not None:
        processes = (
            f"RLIMIT_NPROC={nproc}: uid {os.getuid()}'s tasks when the job started plus "
            f"{limits.processes} (no cgroup: {why_not})"
        )
    else:
        processes = (
            f"not limited: RLIMIT_NPROC does not bind root and no cgroup could be used "
            f"({why_not}); the CPU and wall-clock limits still end the job"
        )
    return {"processes": processes, "memory": memory, "cpu": cpu}


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


@contextlib.contextmanager
def confine(name: str, limits: Limits) -> Iterator[Confinement]:
    """Hold the job ``name`` to ``limits`` together, as well as this host allows; the group
    (and anything still running in it) is removed when the block ends."""
    hierarchies = parse_mountinfo(_read("/proc/self/mountinfo"))
    own = parse_proc_cgroup(_read("/proc/self/cgroup"))
    group, why_not = _v2_group(name, limits, hierarchies, own)
    if group is None:
        group, why_not_v1 = _v1_pids_group(name, limits, hierarchies, own)
        if group is None:
            why_not = f"{why_not}; {why_not_v1}"
    nproc = None
    if group is None and os.getuid() != 0:
        nproc = _user_tasks(os.getuid()) + limits.processes
    try:
        yield Confinement(limits, group, _described(limits, group, why_not, nproc), nproc)
    finally:
        if group is not None:
            group.remove()
