"""Named points where a test kills the process for real, to prove a command survives a crash.

A command that writes both the ledger and some state (the store, the control plane, a published
folder) calls :func:`failpoint` between each of its writes. The points are inert: unless
``FIVESAFES_FAILPOINT`` names one, a call costs one string comparison. When it names one, the
process sends itself SIGKILL there -- no exception, no ``finally``, no buffered write flushed:
what the OOM killer or a stopped container leaves behind -- and the test then restarts the
environment and checks that the ledger and the state agree and that a retry happens exactly
once (``tests/recovery``). The variable is read on the first call and never again.
"""

from __future__ import annotations

import os
import signal
from functools import cache

FAILPOINT_ENV = "FIVESAFES_FAILPOINT"


@cache
def _armed() -> str:
    return os.environ.get(FAILPOINT_ENV, "")


def failpoint(name: str) -> None:
    """Die here with SIGKILL if ``$FIVESAFES_FAILPOINT`` is ``name``; otherwise do nothing."""
    if name == _armed():
        os.kill(os.getpid(), signal.SIGKILL)
