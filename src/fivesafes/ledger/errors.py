"""The ledger's errors, in one module so that storage, the log and the faces share them.

:class:`LedgerError` is what a face turns into a one-line message (``cli.common`` catches it);
:class:`LedgerStorageError` says the stored log itself cannot be read, which
``ledger verify`` reports as a failure rather than letting a database error escape as a traceback.
"""

from __future__ import annotations


class LedgerError(RuntimeError):
    """The ledger cannot be opened or extended safely (for example its key is missing)."""


class LedgerStorageError(LedgerError):
    """The ledger's storage cannot be read as a ledger: not a database, a table or column gone."""
