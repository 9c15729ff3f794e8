"""ledger stage: the public, tamper-evident transparency log (RFC 9162 Merkle tree).

Every load, account change, login, approval, job, release request, review, release and read of
identifiable data is appended as canonical JSON, hashed into an RFC 9162 Merkle tree and covered
by Ed25519-signed C2SP checkpoints. Start with :class:`Ledger`; :class:`Witness` is the
independent checker that refuses rollbacks and split views.
"""

from typing import TYPE_CHECKING

from fivesafes.lazy import exports

if TYPE_CHECKING:  # the names offered here, each imported on first use (see fivesafes.lazy)
    from fivesafes.ledger.audit import Problem, VerifyReport
    from fivesafes.ledger.entry import PatientDataError
    from fivesafes.ledger.errors import LedgerError, LedgerStorageError
    from fivesafes.ledger.export import ExportSummary
    from fivesafes.ledger.log import DEFAULT_HANDOVER, Ledger, verify_file
    from fivesafes.ledger.note import Checkpoint, NoteError, NoteSigner, NoteVerifier
    from fivesafes.ledger.origin import PUBLIC_NAME_ENV, OriginError, configured_origin, origin_for
    from fivesafes.ledger.public import PublicView
    from fivesafes.ledger.receipt import ConsistencyProof, InclusionProof, Receipt
    from fivesafes.ledger.schema import ENTRY_KINDS, KINDS, RECEIPT_KINDS, EntryKind
    from fivesafes.ledger.storage import LedgerStore, SqliteLedgerStore
    from fivesafes.ledger.tiles import TilesSummary
    from fivesafes.ledger.witness import Witness, WitnessRefusal
else:
    __getattr__, __dir__ = exports(__name__, __file__)

__all__ = [
    "DEFAULT_HANDOVER",
    "ENTRY_KINDS",
    "KINDS",
    "PUBLIC_NAME_ENV",
    "RECEIPT_KINDS",
    "Checkpoint",
    "ConsistencyProof",
    "EntryKind",
    "ExportSummary",
    "InclusionProof",
    "Ledger",
    "LedgerError",
    "LedgerStorageError",
    "LedgerStore",
    "NoteError",
    "NoteSigner",
    "NoteVerifier",
    "OriginError",
    "PatientDataError",
    "Problem",
    "PublicView",
    "Receipt",
    "SqliteLedgerStore",
    "TilesSummary",
    "VerifyReport",
    "Witness",
    "WitnessRefusal",
    "configured_origin",
    "origin_for",
    "verify_file",
]
