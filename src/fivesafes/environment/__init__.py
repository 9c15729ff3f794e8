"""environment: the use cases of a secure data environment, end to end, in one place.

Every face (``cli``, ``api``, ``web``) calls this layer and nothing below it for a use case it
owns: load data, submit and run a job, extract for a project, check outputs, request, review and
publish a release, decide an application, change an account, read a record, self-service. Each
use case takes the acting person's credential, authorises it, applies exclusions (opt-outs,
consent), does the work through the stages, and writes the ledger entries, failing closed: a
missing key, setting or grant stops the work with a clear error. The stages below stay free of
policy; the faces above hold none of their own (DESIGN.md, "Shape of the system").

A face opens an :class:`Environment`, calls a use case from the module of its area
(``accounts``, ``projects``, ``consent``, ``jobs``, ``extraction``, ``releases``, ``data``,
``incidents``, ``operations``, ``datasets``, ``onboarding``, ``public_ledger``, ``codelists``)
with the caller's credential, renders the typed result it gets back, and renders a
:class:`Refused` (already in the ledger) as a refusal.
"""

from typing import TYPE_CHECKING

from fivesafes.lazy import exports

if TYPE_CHECKING:  # the names offered here, each imported on first use (see fivesafes.lazy)
    from fivesafes.environment.core import Environment
    from fivesafes.environment.refusals import RefusalKind, Refused
else:
    __getattr__, __dir__ = exports(__name__, __file__)

__all__ = ["Environment", "RefusalKind", "Refused"]
