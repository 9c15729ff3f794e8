"""Recovery at start-up: settle every operation a crash left between its intent and its outcome.

Each recoverable command (a load, a project decision, a publication, a job) writes an ``intent``
entry before it changes anything and an outcome entry after (:mod:`fivesafes.ledger.intents`).
When the environment opens, :func:`recover` finds every intent no outcome answers. For each one
whose owner is gone -- its lock is free, which the kernel guarantees once the process has died --
it asks that operation's resolver what the state says, and logs the truth:

- ``load``: committed if the store's ``meta.loads`` holds the load id (written in the load's own
  transaction), else abandoned;
- ``approval``: committed if the control plane holds the decision with the very signature the
  intent carries, else abandoned;
- ``release``: committed if the published folder holds the manifest whose hash the intent
  carries -- then the history and the request's state are brought up to date first -- else
  abandoned, after removing the unpublished staging copy. A published folder is never removed.

An intent whose owner still runs is left alone; one whose state cannot be read right now (the
store held by another writer) is deferred to the next start and reported. Recovery is itself
safe to kill: it only ever completes what the state shows, so running it again does the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Literal

from fivesafes.governance import ControlPlane
from fivesafes.ledger import LedgerError
from fivesafes.ledger.intents import INTERRUPTED, Intent, Operation
from fivesafes.store.config import DataDir

Resolver = Callable[[ControlPlane, DataDir, Intent], bool]


def _load(cp: ControlPlane, data_dir: DataDir, intent: Intent) -> bool:
    from fivesafes.environment.loading import load_resolved

    return load_resolved(data_dir, intent)


def _approval(cp: ControlPlane, data_dir: DataDir, intent: Intent) -> bool:
    from fivesafes.governance.projects import approval_committed

    return approval_committed(cp, intent)


def _release(cp: ControlPlane, data_dir: DataDir, intent: Intent) -> bool:
    from fivesafes.release import ReleaseOffice
    from fivesafes.release.publish import release_resolved

    return release_resolved(ReleaseOffice(cp, data_dir), intent)


def _return(cp: ControlPlane, data_dir: DataDir, intent: Intent) -> bool:
    from fivesafes.release import ReleaseOffice
    from fivesafes.release.publish import return_committed

    return return_committed(ReleaseOffice(cp, data_dir), intent)


RESOLVERS: dict[str, Resolver] = {
    "load": _load,
    "approval": _approval,
    "release": _release,
    "review": _return,  # publish returning a request whose files changed since approval
}
"""Each recoverable operation's look at its state, by the kind of its outcome entry (imports
are deferred: most starts find nothing to recover and should not pay for the release stage)."""


class RecoveryError(LedgerError):
    """The ledger holds an intent this version of fivesafes does not know how to settle."""


@dataclass(frozen=True)
class Recovered:
    """What recovery did with one open intent."""

    intent: int
    operation: str
    key: str
    outcome: Literal["committed", "abandoned", "deferred"]
    detail: str = ""

    def describe(self) -> str:
        what = f"the interrupted {self.operation} {self.key} (ledger entry {self.intent})"
        if self.outcome == "committed":
            return f"recovered {what}: it was made; its outcome is now in the ledger"
        if self.outcome == "abandoned":
            return f"recovered {what}: it was not made; logged as abandoned, retry it if needed"
        return f"could not settle {what} yet: {self.detail}; it will be tried at the next start"


def recover(cp: ControlPlane, data_dir: DataDir) -> list[Recovered]:
    """Settle every open intent whose owner has gone; returns what was done, oldest first."""
    done: list[Recovered] = []
    for intent in cp.open_intents():
        resolver = RESOLVERS.get(intent.operation)
        if resolver is None:
            raise RecoveryError(
                f"ledger entry {intent.index} is an intent to {intent.operation}, which this "
                "version cannot recover; finish it with the version that wrote it"
            )
        lock = cp.claim(intent.operation, intent.key)
        if lock is None:
            continue  # its owner is still at work
        operation = Operation.resume(cp.ledger, intent, partial(resolver, cp, data_dir))
        try:
            if cp.answered(intent):
                continue  # settled by another process between our look and our lock
            committed = operation.settle(INTERRUPTED)
        except Exception as exc:  # reported, and tried again at the next start
            done.append(Recovered(intent.index, intent.operation, intent.key, "deferred", str(exc)))
            continue
        finally:
            lock.release(remove=not operation.pending)
        outcome: Literal["committed", "abandoned"] = "committed" if committed else "abandoned"
        done.append(Recovered(intent.index, intent.operation, intent.key, outcome))
    return done
