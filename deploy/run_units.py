"""Start a deployment's systemd units without systemd: the same commands, environment and user.

    python3 deploy/run_units.py UNITS_DIR UNIT...

For a machine or container with no systemd, and for the test that rehearses a deployment on
loopback: for each unit named, in order, it reads ``[Service]`` from the unit file that
``deploy/install.sh`` wrote (``Environment=``, ``EnvironmentFile=``, ``User=``,
``ExecStartPre=``, ``ExecStart=``; ``name@instance.service`` fills ``%i``), runs the
pre-start commands (each retried for up to 30 s, as ``Restart=on-failure`` would, while the
database it needs comes up), then starts the main command and moves on. It prints ``started
UNIT pid N`` for each, then waits; SIGTERM or SIGINT stops every unit in reverse order with
the unit's own stop signal (``KillSignal=``), as systemd would. A main command that exits is
reported and ends the runner with its exit code. A ``Type=forking`` unit's command (gocryptfs
mounting the encrypted volume) returns once its daemon is ready: the runner waits for it,
fails if it fails, and runs the unit's ``ExecStop=`` when stopping.
"""

from __future__ import annotations

import os
import pwd
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

PRE_START_RETRY_SECONDS = 30.0


def parse_unit(path: Path, instance: str = "") -> dict[str, list[str]]:
    """Every ``key=value`` of the unit's ``[Service]`` section, values in order."""
    section, found = "", {}  # type: ignore[var-annotated]
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        if section == "Service" and "=" in line:
            key, value = line.split("=", 1)
            found.setdefault(key, []).append(value.replace("%i", instance))
    return found


def environment(service: dict[str, list[str]]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIVESAFES_")}
    for name in service.get("EnvironmentFile", []):
        for line in Path(name.lstrip("-")).read_text().splitlines():
            if "=" in line and not line.startswith("#"):
                key, value = line.split("=", 1)
                env[key.strip()] = value.strip()
    for assignment in service.get("Environment", []):
        for item in shlex.split(assignment):
            key, value = item.split("=", 1)
            env[key] = value
    return env


def as_user(service: dict[str, list[str]]) -> dict[str, int]:
    """``Popen`` arguments that run a command as the unit's ``User=`` (when we are root), the
    process itself taking the user, so signals reach it as they would under systemd."""
    user = service.get("User", [""])[-1]
    if not user or os.geteuid() != 0:
        return {}
    entry = pwd.getpwnam(user)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}  # type: ignore[dict-item]


def main(units_dir: Path, names: list[str]) -> int:
    running: list[tuple[str, subprocess.Popen[bytes], int]] = []
    forked: list[tuple[str, dict[str, list[str]]]] = []  # stopped by their ExecStop=, last

    def stop(*_: object) -> None:
        for _name, process, stop_signal in reversed(running):
            if process.poll() is None:
                process.send_signal(stop_signal)
        for name, process, _ in reversed(running):
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
            print(f"stopped {name}", flush=True)
        for name, service in reversed(forked):
            for command in service.get("ExecStop", []):
                subprocess.run(
                    shlex.split(command), env=environment(service), cwd="/", **as_user(service)
                )
            print(f"stopped {name}", flush=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for name in names:
        template, _, rest = name.partition("@")
        instance = rest.removesuffix(".service")
        file = units_dir / (f"{template}@.service" if rest else name)
        service = parse_unit(file, instance)
        env = environment(service)
        for pre in service.get("ExecStartPre", []):
            deadline = time.monotonic() + PRE_START_RETRY_SECONDS
            while subprocess.run(shlex.split(pre), env=env, cwd="/", **as_user(service)).returncode:
                if time.monotonic() > deadline:
                    print(f"failed {name}: {pre}", flush=True)
                    stop()
                time.sleep(0.5)
        argv = shlex.split(service["ExecStart"][-1])
        if service.get("Type", ["simple"])[-1] == "forking":
            if subprocess.run(argv, env=env, cwd="/", **as_user(service)).returncode:
                print(f"failed {name}: {argv[0]}", flush=True)
                stop()
            forked.append((name, service))
            print(f"started {name}", flush=True)
            continue
        kill = getattr(signal, service.get("KillSignal", ["SIGTERM"])[-1])
        running.append((name, subprocess.Popen(argv, env=env, cwd="/", **as_user(service)), kill))
        print(f"started {name} pid {running[-1][1].pid}", flush=True)
    while True:
        for name, process, _ in running:
            code = process.poll()
            if code is not None:
                print(f"exited {name} with {code}", flush=True)
                stop()
        time.sleep(0.5)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    sys.exit(main(Path(sys.argv[1]), sys.argv[2:]))
