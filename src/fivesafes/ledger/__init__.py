"""ledger stage: the public, tamper-evident transparency log (RFC 9162 Merkle tree).

Every load, account change, login, approval, job, release request, review, release and read of
identifiable data is appended as canonical JSON, hashed into an RFC 9162 Merkle tree and covered
by Ed25519-signed C2SP checkpoints. Start with :class:`Ledger`; :class:`Witness` is the
independent checker that refuses rollbacks and split views.
"""

from fivesafes.ledger.audit import Problem, VerifyReport
from fivesafes.ledger.entry import KINDS, RECEIPT_KINDS, PatientDataError
from fivesafes.ledger.export import ExportSummary
from fivesafes.ledger.log import DEFAULT_ORIGIN, Ledger, LedgerError, verify_file
from fivesafes.ledger.note import Checkpoint, NoteError, NoteSigner, NoteVerifier
from fivesafes.ledger.public import PublicView
from fivesafes.ledger.receipt import ConsistencyProof, InclusionProof, Receipt
from fivesafes.ledger.storage import LedgerStore, SqliteLedgerStore
from fivesafes.ledger.witness import Witness, WitnessRefusal

__all__ = [
    "DEFAULT_ORIGIN",
    "KINDS",
    "RECEIPT_KINDS",
    "Checkpoint",
    "ConsistencyProof",
    "ExportSummary",
    "InclusionProof",
    "Ledger",
    "LedgerError",
    "LedgerStore",
    "NoteError",
    "NoteSigner",
    "NoteVerifier",
    "PatientDataError",
    "Problem",
    "PublicView",
    "Receipt",
    "SqliteLedgerStore",
    "VerifyReport",
    "Witness",
    "WitnessRefusal",
    "verify_file",
]
