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
  abandoned, after removing the unpublished staging copy. A published folder is never removed;
- ``codelist``: committed if the control plane holds the version's publication, else
  abandoned;
- ``reuse``: committed if the new repository is in place under ``repositories/``, else
  abandoned, after removing its staging folder;
- ``review`` (publish returning a request whose files changed since approval): committed if
  the request is returned with the note whose hash the intent carries, else abandoned.

An intent whose owner still runs is left alone; one whose state cannot be read right now (the
store held by another writer) is deferred to the next start and reported. Last, the scratch
paths an operation noted in its lock file before its intent (a publication's staging folder)
are removed when their owner is gone: no intent names them, so nothing was published. Recovery
is itself safe to kill: it only ever completes what the state shows, so running it again does
the rest.
"""

from __future__ import annotations

import shutil
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


def _job(cp: ControlPlane, data_dir: DataDir, intent: Intent) -> bool:
    from fivesafes.environment.job_records import resolved

    return resolved(cp, data_dir, intent)


def _return(cp: ControlPlane, data_dir: DataDir, intent: Intent) -> bool:
    from fivesafes.release import ReleaseOffice
    from fivesafes.release.publish import return_committed

    return return_committed(ReleaseOffice(cp, data_dir), intent)


def _codelist(cp: ControlPlane, data_dir: DataDir, intent: Intent) -> bool:
    from fivesafes.environment.codelists import publication_committed

    return publication_committed(cp, intent)


def _reuse(cp: ControlPlane, data_dir: DataDir, intent: Intent) -> bool:
    from fivesafes.environment.reuse import reuse_committed

    return reuse_committed(data_dir, intent)


def _dataset(cp: ControlPlane, data_dir: DataDir, intent: Intent) -> bool:
    from fivesafes.environment.datasets import deletion_resolved

    return deletion_resolved(cp, data_dir, intent.key, intent.actor)


RESOLVERS: dict[str, Resolver] = {
    "load": _load,
    "approval": _approval,
    "release": _release,
    "review": _return,  # publish returning a request whose files changed since approval
    "job": _job,  # a job's start or end (environment.job_records)
    "codelist": _codelist,  # a code list version's publication (environment.codelists)
    "reuse": _reuse,  # a study's code given to a new repository (environment.reuse)
    "dataset": _dataset,  # a dataset deleted from the store (environment.datasets)
}
"""Each recoverable operation's look at its state, by the kind of its outcome entry (imports
are deferred: most starts find nothing to recover and should not pay for the release stage)."""


class RecoveryError(LedgerError):
    """The ledger holds an intent this version of fivesafes does not know how to settle."""


@dataclass(frozen=True)
class Recovered:
    """What recovery did with one open intent, or with what an operation left before one."""

    intent: int | None
    operation: str
    key: str
    outcome: Literal["committed", "abandoned", "deferred", "tidied"]
    detail: str = ""

    def describe(self) -> str:
        what = f"the interrupted {self.operation} {self.key} (ledger entry {self.intent})"
        if self.outcome == "committed":
            return f"recovered {what}: it was made; its outcome is now in the ledger"
        if self.outcome == "abandoned":
            return f"recovered {what}: it was not made; logged as abandoned, retry it if needed"
        if self.outcome == "tidied":
            return (
                f"removed what the {self.operation} {self.key} left when it was interrupted "
                f"before announcing anything: {self.detail}"
            )
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
    return done + _tidy(cp)


def _tidy(cp: ControlPlane) -> list[Recovered]:
    """Remove the scratch paths of operations whose owner died before writing an intent."""
    waiting = {(i.operation, i.key) for i in cp.open_intents()}
    done = []
    for lock in cp.leftover_locks():
        operation, key, paths = lock.contents()
        if (operation, key) in waiting:
            lock.release(remove=False)  # its intent is deferred: its resolver tidies it
            continue
        for path in paths:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        lock.release(remove=True)
        if paths:
            detail = ", ".join(map(str, paths))
            done.append(Recovered(None, operation, key, "tidied", detail))
    return done
