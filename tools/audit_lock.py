"""Audit the hashed lock file against PyPI's vulnerability data (SATRE 2.7.02).

    python tools/audit_lock.py [requirements.lock]

``pip-audit`` is the usual tool, but its PyPI service asks for each pinned version's JSON
(``/pypi/NAME/VERSION/json``), and OSV's API is another host: neither is reachable from the
machines this project is built on, where only the package registries are. What is reachable is
each project's JSON (``/pypi/NAME/json``), whose ``vulnerabilities`` (from OSV, the PyPA
advisory database) are those of the project's newest release. So this audits every pin that is
the newest release — which is what the lock holds the day it is refreshed — and lists the pins
it could not audit because a newer release exists (refresh the lock: that is the update
process). It fails (exit 1) when any audited pin has a known vulnerability, naming it and the
versions that fix it; and when the index cannot be reached at all, since an audit that audited
nothing has not passed.
"""

from __future__ import annotations

import json
import re
import sys
import urllib.request
from pathlib import Path

INDEX = "https://pypi.org/pypi/{name}/json"
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s\\;]+)")


def pins(lock: Path) -> dict[str, str]:
    return {m[1].lower(): m[2] for line in lock.read_text().splitlines() if (m := PIN.match(line))}


def project(name: str) -> dict[str, object]:
    with urllib.request.urlopen(INDEX.format(name=name), timeout=30) as response:
        return dict(json.load(response))


def main(lock: Path) -> int:
    pinned = pins(lock)
    found, unaudited, unreachable = [], [], []
    for name, version in sorted(pinned.items()):
        try:
            data = project(name)
        except OSError as exc:
            unreachable.append(f"{name}: {exc}")
            continue
        latest = str(data["info"]["version"])  # type: ignore[index]
        if latest != version:
            unaudited.append(f"{name} {version} (newest is {latest})")
            continue
        for vuln in data.get("vulnerabilities", []):  # type: ignore[union-attr]
            if not vuln.get("withdrawn"):
                fixed = ", ".join(vuln.get("fixed_in", [])) or "no fix yet"
                found.append(f"{name} {version}: {vuln['id']} (fixed in {fixed})")
    audited = len(pinned) - len(unaudited) - len(unreachable)
    print(f"audited {audited} of {len(pinned)} pins in {lock}: {len(found)} known vulnerabilities")
    for line in found:
        print(f"  VULNERABLE {line}")
    if unaudited:
        print(f"not audited ({len(unaudited)}), a newer release exists: refresh the lock")
        for line in unaudited:
            print(f"  {line}")
    for line in unreachable:
        print(f"  unreachable {line}")
    return 1 if found or audited == 0 else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "requirements.lock")))
