"""The sandbox an action runs in inside the environment: bubblewrap, built up from nothing.

The sandbox starts from an empty root and adds only what an action needs
(SATRE v2, "Computing technology": analysis runs isolated from other projects and
from the network; outputs leave only through checks):

- the operating system's programs and libraries and the environment's Python,
  read-only, so ``python`` and ``fivesafes`` run; for an ``Rscript`` action, R's settings
  in ``/etc/R`` and ``/etc/fonts`` too (R and its packages are under ``/usr``);
- the action's workspace at ``/workspace``: a copy of the project's code and
  its declared inputs (read-only binds), the only place it can write, plus a small
  ``/tmp`` that vanishes with it;
- for ``fivesafes generate-dataset`` actions only, a copy of the store's analysis
  layer, read-only at ``/store`` (``snapshot``). The store's own file, with its
  identifiable layer, and the pseudonym key are never mounted, in any sandbox.

Every namespace is new (no network, its own processes, users, hostname, IPC),
all capabilities are dropped, nested user namespaces are refused, and the root
is read-only. The host's paths of what is mounted can be read inside from
``/proc/self/mountinfo``; that is left so, since knowing a path gives no way to it: nothing
else is mounted, and the environment never follows a link an action made (``workspace``
reaches every file by descriptor), which is what once let a link to the keys carry them out.
Where bubblewrap cannot run, ``sandbox_available`` says why, and nothing is run against real
data.

Resources: each process is held by rlimits (memory, CPU seconds, file size; see
``process``) and the job as a whole by a control group (number of processes, memory,
CPU bandwidth; see ``cgroups``), joined before bubblewrap starts, so a fork bomb or a
swarm of processes stops at the job's own limit. Where no cgroup can be made the
fallback, and what it does not cover, is written in the job record.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import fivesafes

WORKSPACE = PurePosixPath("/workspace")
STORE = PurePosixPath("/store")
SYSTEM_DIRS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
# What programs read from /etc; nothing here is a secret (no shadow, no keys).
ETC_FILES = ("ld.so.cache", "localtime", "passwd", "group", "nsswitch.conf", "alternatives")
R_PROGRAMS = frozenset({"R", "Rscript"})
R_ETC = ("R", "fonts")
"""What an R action also reads from /etc: R's own settings (``Renviron`` and ``ldpaths``: R does
not start without them) and fontconfig's, for the text of ggplot2's charts. R's packages
(readr, dplyr, ggplot2 from Debian) are under /usr, already there; nothing else is added."""
SAFE_R = Path(fivesafes.__file__).resolve().parent / "disclosure" / "safe.R"
"""The safe-output helpers for R, shipped inside the package; actions are told where."""
INSTALL_HINT = (
    "install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; "
    "Fedora/RHEL: dnf install bubblewrap)"
)


class SandboxUnavailable(RuntimeError):
    """Real data was asked for where no sandbox can run."""


@dataclass(frozen=True, slots=True)
class Mount:
    """A host path shown inside the sandbox at ``target``; read-only unless ``writable``.

    With ``fd`` (an ``O_PATH`` descriptor opened when the source was checked, see ``beneath``)
    bubblewrap binds that descriptor and never looks the path up again, so a source swapped
    for a link after it was checked is not what gets mounted; the caller keeps it open (and
    passes it on) until the sandbox has started."""

    source: Path
    target: PurePosixPath
    writable: bool = False
    fd: int | None = None


def python_paths() -> list[Path]:
    """The folders the environment's Python and the fivesafes package live in."""
    package_root = Path(fivesafes.__file__).resolve().parents[1]
    found = {Path(sys.base_prefix).resolve(), Path(sys.prefix), package_root}
    found.add(Path(sys.executable).resolve().parent)
    return sorted(p for p in found if not any(p != q and p.is_relative_to(q) for q in found))


def sandbox_argv(
    command: Sequence[str],
    workspace: Path,
    mounts: Sequence[Mount],
    env: Mapping[str, str],
    tmp_bytes: int,
    cwd: PurePosixPath = WORKSPACE,
) -> list[str]:
    """The bubblewrap command that runs ``command`` in ``workspace`` with only ``mounts`` added
    (in the folder ``cwd`` inside the sandbox: the workspace unless told)."""
    bwrap = shutil.which("bwrap") or "bwrap"
    args = [bwrap, "--unshare-all", "--unshare-user", "--disable-userns", "--cap-drop", "ALL"]
    # The action is the namespace's process 1 (no bubblewrap init between), so that wait4 on
    # bubblewrap reports the action's own CPU time and memory.
    args += ["--as-pid-1", "--die-with-parent", "--new-session", "--hostname", "sandbox"]
    args += ["--clearenv"]
    args += ["--ro-bind", "/usr", "/usr"]
    for name in SYSTEM_DIRS:
        host = Path("/") / name
        if host.is_symlink():
            args += ["--symlink", str(host.readlink()), str(host)]
        elif host.is_dir():
            args += ["--ro-bind", str(host), str(host)]
    etc = ETC_FILES + (R_ETC if PurePosixPath(command[0]).name in R_PROGRAMS else ())
    for name in etc:
        if (Path("/etc") / name).exists():
            args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    # /tmp first: Python may be installed under it (a checkout in /tmp), and a later mount
    # would hide what was bound there.
    args += ["--size", str(tmp_bytes), "--tmpfs", "/tmp"]
    for path in python_paths():
        args += ["--ro-bind", str(path), str(path)]
    args += ["--proc", "/proc", "--dev", "/dev"]
    args += ["--size", str(64 * 1024**2), "--tmpfs", "/dev/shm"]
    args += ["--bind", str(workspace), str(WORKSPACE)]
    for mount in mounts:
        if mount.fd is not None:
            args += ["--bind-fd" if mount.writable else "--ro-bind-fd", str(mount.fd)]
        else:
            args += ["--bind" if mount.writable else "--ro-bind", str(mount.source)]
        args.append(str(mount.target))
    for name, value in env.items():
        args += ["--setenv", name, value]
    args += ["--remount-ro", "/", "--chdir", str(cwd), "--", *command]
    return args


@functools.cache
def sandbox_available() -> str | None:
    """None when actions can be sandboxed here; otherwise why not, and what to install."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return f"bubblewrap (bwrap) is not installed: {INSTALL_HINT}"
    try:
        usage = subprocess.run([bwrap, "--help"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bubblewrap could not start: {exc}"
    if "--ro-bind-fd" not in usage.stdout + usage.stderr:
        return (
            "bubblewrap is too old to bind a file by descriptor (--ro-bind-fd: bubblewrap 0.10, "
            "or a distribution's fix for CVE-2024-42472), which inputs are bound by so that a "
            "file swapped after it was checked is never what a job sees: upgrade bubblewrap"
        )
    with tempfile.TemporaryDirectory(prefix="fivesafes-probe-") as tmp:
        (Path(tmp) / "input").touch()
        fd = os.open(Path(tmp) / "input", os.O_PATH | os.O_CLOEXEC)
        mount = Mount(Path(tmp) / "input", WORKSPACE / "input", fd=fd)
        argv = sandbox_argv([sys.executable, "-c", "pass"], Path(tmp), [mount], {}, 1024**2)
        try:
            probe = subprocess.run(
                argv, capture_output=True, text=True, timeout=60, check=False, pass_fds=(fd,)
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"bubblewrap could not start: {exc}"
        finally:
            os.close(fd)
    if probe.returncode != 0:
        detail = probe.stderr.strip() or f"exit code {probe.returncode}"
        return (
            f"bubblewrap cannot create a sandbox here ({detail}); it needs user namespaces: "
            "run as root, or allow them (sysctl kernel.unprivileged_userns_clone=1, "
            "user.max_user_namespaces > 0, or an AppArmor profile for bwrap)"
        )
    return None
