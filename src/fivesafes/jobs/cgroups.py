"""Limits on a sandboxed job's processes together: control groups, with rlimits as the fallback.

The rlimits of :mod:`.process` bind each process on its own. ``RLIMIT_AS`` caps one process's
address space, not what a job's processes use together (three processes once held 2.92 GB
against a 2 GiB job limit: issue 18, hole 15); ``RLIMIT_NPROC``, the only rlimit on processes,
counts every process of the user and does not bind root at all, so a job run as root could fork
until the host's process table is full. A control group binds the job as a whole (SATRE: one
project's analysis cannot exhaust the shared environment).

Each of the three controllers (``pids``, ``memory``, ``cpu``) is taken from wherever this host
has it, since hosts mix them (hybrid systemd, container hosts with the v1 controllers mounted
and an empty unified hierarchy beside them):

1. **cgroup v2**, for the controllers that the cgroup fivesafes runs in (or ``$FIVESAFES_CGROUP``,
   a cgroup delegated to fivesafes) offers and lets be enabled for its children: a new child with
   ``pids.max``, ``memory.max`` (``memory.swap.max`` 0 where swap is accounted,
   ``memory.oom.group`` 1 so that running out stops the whole job) and ``cpu.max``. The root
   cgroup can, and so can a delegated cgroup with no processes of its own.
2. **cgroup v1**, for each controller v2 does not give: a new child in that controller's own
   hierarchy, below this process's cgroup there: ``pids.max``; ``memory.limit_in_bytes`` (and
   ``memory.memsw.limit_in_bytes``, so swap does not stretch it); ``cpu.cfs_quota_us`` over
   ``cpu.cfs_period_us``.
3. **rlimits**: memory and CPU stay limited per process only (``RLIMIT_AS``, ``RLIMIT_CPU``);
   processes by ``RLIMIT_NPROC`` set to the user's tasks now plus the job's allowance (it counts
   all of the user's processes and threads). For root nothing limits processes, and the job
   record says so.

The job record's ``confinement`` says, in words, what bound each resource (which controller,
which version, which group) or which fallback and what it does not cover; its ``resources`` add
what the groups counted (peak processes, forks refused, peak memory, OOM kills). A job in which
the kernel killed a process for going over the job's memory is failed, whatever its exit code.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from fivesafes.jobs.process import Limits

CGROUP_ENV = "FIVESAFES_CGROUP"
CONTROLLERS = ("pids", "memory", "cpu")
RESOURCES = {"pids": "processes", "memory": "memory", "cpu": "cpu"}
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
    """One cgroup directory made for one job, holding ``controllers``; ``version`` says which
    files it has."""

    path: Path
    version: int
    controllers: tuple[str, ...]
    limits: tuple[tuple[str, str], ...] = ()
    """The limit files written, with their values, as the job record tells them."""

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
        peaks = {"pids": ("pids.peak",), "memory": ("memory.peak", "memory.max_usage_in_bytes")}
        keys = {"pids": "pids_peak", "memory": "memory_peak_bytes"}
        found: dict[str, float] = {}
        for controller in self.controllers:
            for name in peaks.get(controller, ()):
                value = (self.read(name) or "").strip()
                if value.isdigit():
                    found[keys[controller]] = float(value)
        events = {"pids": ("pids.events", "max", "forks_refused"),
                  "memory": ("memory.events", "oom_kill", "oom_kills")}  # fmt: skip
        if self.version == 1:
            events["memory"] = ("memory.oom_control", "oom_kill", "oom_kills")
        for controller in self.controllers:
            if controller in events:
                name, event, key = events[controller]
                counted = _counters(self.read(name))
                if event in counted:
                    found[key] = float(counted[event])
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


def _cpu_quota(limits: Limits) -> int:
    return max(1000, round(limits.cpu_cores * CPU_PERIOD_US))


def settings(controller: str, version: int, limits: Limits) -> dict[str, str]:
    """The files that hold ``limits`` for one controller, in the order they must be written."""
    if controller == "pids":
        return {"pids.max": str(limits.processes)}
    if controller == "memory" and version == 2:
        return {"memory.max": str(limits.memory_bytes)}
    if controller == "memory":  # memsw (memory + swap) may not be set below the memory limit
        memory = str(limits.memory_bytes)
        return {"memory.limit_in_bytes": memory, "memory.memsw.limit_in_bytes": memory}
    if version == 2:
        return {"cpu.max": f"{_cpu_quota(limits)} {CPU_PERIOD_US}"}
    return {"cpu.cfs_period_us": str(CPU_PERIOD_US), "cpu.cfs_quota_us": str(_cpu_quota(limits))}


OPTIONAL = {"memory.memsw.limit_in_bytes", "memory.swap.max", "memory.oom.group"}
"""Files a kernel may lack (no swap accounting, an older kernel): written where present."""


def _make(group: ControlGroup, limits: Limits) -> ControlGroup:
    """Create the group with its limits, and say which it wrote; on any failure leave nothing
    behind, and raise."""
    group.path.mkdir()
    wanted: dict[str, str] = {}
    for controller in group.controllers:
        wanted |= settings(controller, group.version, limits)
    if group.version == 2 and "memory" in group.controllers:
        wanted |= {"memory.swap.max": "0", "memory.oom.group": "1"}
    written = []
    try:
        for name, value in wanted.items():
            if name not in OPTIONAL or (group.path / name).exists():
                group.write(name, value)
                written.append((name, value))
    except OSError:
        group.remove()
        raise
    return replace(group, limits=tuple(written))


def _v2_group(
    name: str, limits: Limits, hierarchies: list[Hierarchy], own: Mapping[str, str]
) -> tuple[ControlGroup | None, str]:
    """A v2 group for the job with every controller v2 offers here, or None and why not."""
    unified = next((h for h in hierarchies if h.version == 2), None)
    if unified is None:
        return None, "no cgroup v2 hierarchy is mounted"
    delegated = os.environ.get(CGROUP_ENV)
    parent = Path(delegated) if delegated else unified.directory(own.get("", "/"))
    if parent is None:
        return None, "this process's cgroup v2 is outside the mounted hierarchy"
    here = ControlGroup(parent, 2, ())
    offered = set((here.read("cgroup.controllers") or "").split())
    controllers = tuple(c for c in CONTROLLERS if c in offered)
    if not controllers:
        return None, f"cgroup v2 {parent} offers none of the {', '.join(CONTROLLERS)} controllers"
    enabled = set((here.read("cgroup.subtree_control") or "").split())
    wanted = " ".join(f"+{c}" for c in controllers if c not in enabled)
    group = ControlGroup(parent / f"fivesafes-{name}", 2, controllers)
    try:
        if wanted:
            here.write("cgroup.subtree_control", wanted)
        group = _make(group, limits)
    except OSError as exc:
        return None, (
            f"cannot make a child of cgroup v2 {parent} with its controllers ({exc.strerror}); "
            f"a cgroup with processes of its own cannot: set {CGROUP_ENV} to a delegated one"
        )
    return group, ""


def _v1_group(
    name: str,
    controller: str,
    limits: Limits,
    hierarchies: list[Hierarchy],
    own: Mapping[str, str],
) -> tuple[ControlGroup | None, str]:
    """A group in ``controller``'s v1 hierarchy for the job, or None and why not."""
    mounted = next((h for h in hierarchies if h.version == 1 and controller in h.controllers), None)
    parent = mounted.directory(own.get(controller, "/")) if mounted is not None else None
    if parent is None:
        return None, f"no cgroup v1 {controller} hierarchy is mounted"
    group = ControlGroup(parent / f"fivesafes-{name}", 1, (controller,))
    try:
        group = _make(group, limits)
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
    """How one sandboxed job is held: a control group for each controller this host gives, the
    rlimit fallback for the rest."""

    limits: Limits
    groups: dict[str, ControlGroup]
    """Controller → the group holding it (one v2 group may hold several)."""
    described: dict[str, str]
    nproc: int | None = None
    _distinct: list[ControlGroup] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._distinct = list({g.path: g for g in self.groups.values()}.values())

    def before_exec(self) -> None:
        """In the job's first process, before it runs anything: join the groups and set the
        fallback rlimit."""
        for group in self._distinct:
            group.join()
        if self.nproc is not None:
            resource.setrlimit(resource.RLIMIT_NPROC, (self.nproc, self.nproc))

    def usage(self) -> dict[str, float]:
        found: dict[str, float] = {}
        for group in self._distinct:
            found |= group.usage()
        return found

    def stopped(self) -> str | None:
        """Why the kernel stopped the job, if it did: a process killed for going over the
        job's memory (the job may still have exited 0 without it)."""
        kills = self.usage().get("oom_kills", 0)
        if not kills:
            return None
        return (
            f"stopped: its processes together went over the job's memory limit of "
            f"{self.limits.memory_bytes // 1024**2} MiB ({int(kills)} killed; "
            f"held by {self.described['memory'].split(' for ')[0]})"
        )

    def remove(self) -> None:
        for group in self._distinct:
            group.remove()


def _described(
    limits: Limits,
    groups: Mapping[str, ControlGroup],
    why_not: Mapping[str, str],
    nproc: int | None,
) -> dict[str, str]:
    per_process = {
        "memory": f"RLIMIT_AS={limits.memory_bytes} for each process",
        "cpu": f"RLIMIT_CPU={limits.cpu_seconds} s for each process",
    }
    told: dict[str, str] = {}
    for controller in CONTROLLERS:
        group = groups.get(controller)
        if group is None:
            continue
        mine = settings(controller, group.version, limits)
        held = " ".join(f"{k}={v}" for k, v in group.limits if k in mine)
        if controller == "pids":
            told["processes"] = f"cgroup v{group.version} {held} ({group.path})"
        else:
            told[controller] = (
                f"cgroup v{group.version} {held} for the job's processes together "
                f"({group.path}); {per_process[controller]}"
            )
    for controller in ("memory", "cpu"):
        if controller not in told:
            told[controller] = (
                f"{per_process[controller]} only: the job's processes together are not limited "
                f"({why_not[controller]})"
            )
    if "processes" not in told:
        if nproc is not None:
            told["processes"] = (
                f"RLIMIT_NPROC={nproc}: uid {os.getuid()}'s tasks when the job started plus "
                f"{limits.processes} (no cgroup: {why_not['pids']})"
            )
        else:
            told["processes"] = (
                "not limited: RLIMIT_NPROC does not bind root and no cgroup could be used "
                f"({why_not['pids']}); the CPU and wall-clock limits still end the job"
            )
    return {key: told[key] for key in ("processes", "memory", "cpu")}


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


@contextlib.contextmanager
def confine(name: str, limits: Limits) -> Iterator[Confinement]:
    """Hold the job ``name`` to ``limits`` together, as well as this host allows; the groups
    (and anything still running in them) are removed when the block ends."""
    hierarchies = parse_mountinfo(_read("/proc/self/mountinfo"))
    own = parse_proc_cgroup(_read("/proc/self/cgroup"))
    groups: dict[str, ControlGroup] = {}
    why_not: dict[str, str] = {}
    try:
        unified, why_not_v2 = _v2_group(name, limits, hierarchies, own)
        for controller in CONTROLLERS:
            if unified is not None and controller in unified.controllers:
                groups[controller] = unified
                continue
            group, why_not_v1 = _v1_group(name, controller, limits, hierarchies, own)
            if group is not None:
                groups[controller] = group
                continue
            v2 = why_not_v2 or f"cgroup v2 does not offer the {controller} controller here"
            why_not[controller] = f"{v2}; {why_not_v1}"
        nproc = None
        if "pids" not in groups and os.getuid() != 0:
            nproc = _user_tasks(os.getuid()) + limits.processes
        held = Confinement(limits, groups, _described(limits, groups, why_not, nproc), nproc)
    except BaseException:
        for group in {g.path: g for g in groups.values()}.values():
            group.remove()
        raise
    try:
        yield held
    finally:
        held.remove()
