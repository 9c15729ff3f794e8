"""The public ledger's own reads: verify it, prove an entry, export it, publish its tiles, and
its public view. Anyone may do these; none takes a credential or changes what the ledger holds.

Unlike every other use case they do not run inside :func:`.refusals.refusing`, for two reasons:
there is nobody to refuse (no credential is checked), and a read of a damaged ledger must report
the damage, not try to write a ``refusal`` entry into the very log that cannot be read (verify
and the public view are also opened with ``recover=False``, so they write nothing at all). What
cannot be done comes back as one :class:`~.refusals.Refused`, as from any use case, only not
logged.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from fivesafes.environment.refusals import RefusalKind, Refused, kind_of, reason_of
from fivesafes.ledger import (
    ConsistencyProof,
    ExportSummary,
    PublicView,
    Receipt,
    TilesSummary,
    VerifyReport,
)
from fivesafes.ledger.schema import PUBLIC_KINDS
from fivesafes.ledger.storage import StoredCheckpoint

if TYPE_CHECKING:
    from fivesafes.environment.core import Environment


@contextmanager
def _reading() -> Iterator[None]:
    """A damaged ledger, an unknown entry or a bad folder as an (unlogged) refusal."""
    try:
        yield
    except Exception as error:
        kind = RefusalKind.INVALID if isinstance(error, FileExistsError) else kind_of(error)
        if kind is None:
            raise
        raise Refused(reason_of(error), kind) from None


def verify(env: Environment, trusted_key: str | None = None) -> VerifyReport:
    """Replay the whole log: every entry's hash, every root, every signature; a ledger that
    cannot be read at all is a failed report, never an error."""
    with _reading():
        return env.cp.verify_ledger(trusted_key)


def prove(env: Environment, index: int) -> Receipt:
    """Entry ``index`` with its inclusion proof and the latest signed checkpoint, as it stands:
    a read signs no checkpoint (every public entry is signed by the write that made it), so an
    entry no checkpoint covers yet comes without proof."""
    with _reading():
        size = env.cp.ledger.size
        if not 0 <= index < size:
            raise Refused(
                f"entry {index} does not exist; the ledger has {size} entries", RefusalKind.INVALID
            )
        return env.cp.ledger.receipt(index)


def checkpoints(env: Environment) -> list[StoredCheckpoint]:
    """Every signed checkpoint, smallest first: the roots anyone can hold the log to."""
    with _reading():
        return env.cp.ledger.checkpoints()


def entries(env: Environment, start: int, stop: int) -> list[bytes]:
    """The stored entries ``start`` up to (not including) ``stop``, as their canonical bytes."""
    with _reading():
        size = env.cp.ledger.size
        if not 0 <= start <= stop:
            raise Refused(f"entries {start} to {stop}: give 0 <= start <= stop")
        if start >= size:  # past the end: nothing, without asking the store for it
            return []
        return list(env.cp.ledger.entries(start, min(stop, size)))


def consistency(env: Environment, old_size: int, new_size: int | None = None) -> ConsistencyProof:
    """Proof that the log of ``old_size`` entries is a prefix of it at ``new_size`` (default:
    its size now), so a holder of an old checkpoint can check nothing was rewritten."""
    with _reading():
        size = env.cp.ledger.size
        new = size if new_size is None else new_size
        if not 0 < old_size <= new <= size:
            raise Refused(
                f"sizes {old_size} and {new}: give 0 < old <= new <= {size}, the ledger's size"
            )
        return env.cp.ledger.consistency(old_size, new)


def export(env: Environment, directory: Path) -> ExportSummary:
    """Entries, checkpoints, keys and proofs as static files anyone can serve and check."""
    with _reading():
        return env.cp.ledger.export(directory)


def publish(env: Environment, directory: Path) -> tuple[TilesSummary, str]:
    """Write or bring up to date the C2SP tlog-tiles log in ``directory``; and its origin."""
    with _reading():
        return env.cp.ledger.publish(directory), env.cp.ledger.origin


def public_view(env: Environment, kinds: Iterable[str] = PUBLIC_KINDS) -> PublicView:
    """Projects, purposes, people's public names, decisions, jobs and releases; no patient
    data. Only entries of ``kinds`` when the reader needs no others."""
    with _reading():
        return env.cp.ledger.public_view(kinds)


def public_page(env: Environment, skip: int, count: int) -> tuple[int, PublicView]:
    """How many public entries there are, and ``count`` of the public view newest first after
    the newest ``skip``."""
    with _reading():
        return env.cp.ledger.public_page(skip, count)
