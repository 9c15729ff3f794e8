"""One environment: its data directory, settings, keys, control plane, ledger and store.

:meth:`Environment.open` is how every face starts: it refuses to open a data directory that was
never initialised (no settings file) or whose pseudonym key is missing, rather than run on defaults
or make a key (SATRE: pseudonymisation keys held apart from the records, in a file outside any
database, and only made on purpose). The use cases (:mod:`.accounts`, :mod:`.projects`,
:mod:`.jobs`, :mod:`.extraction`, :mod:`.releases`, :mod:`.data`, :mod:`.consent`,
:mod:`.incidents`, :mod:`.operations`, :mod:`.datasets`, :mod:`.onboarding`) take an open
environment and the acting person's credential; :mod:`.public_ledger` takes only the environment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType

from fivesafes.environment import job_records, recovery
from fivesafes.environment.access import configured_policy
from fivesafes.environment.configuration import ConfigurationError
from fivesafes.environment.delivery import Delivery, delivery_for
from fivesafes.environment.refusals import RefusalKind, Refused
from fivesafes.environment.settings import Settings, SettingsError, read_settings
from fivesafes.governance import ControlPlane
from fivesafes.governance.control import utc_now
from fivesafes.governance.people import AccessPolicy
from fivesafes.ledger import LedgerError
from fivesafes.store.config import DataDir
from fivesafes.store.database import Store
from fivesafes.store.pseudonym import PseudonymKeyError, read_key


@dataclass
class Environment:
    """An open environment. Close it (or use ``with``) to sign the ledger."""

    data_dir: DataDir
    settings: Settings
    cp: ControlPlane
    delivery: Delivery
    recovered: list[str] = field(default_factory=list)
    """What opening it settled of what a crash left half-done, in words for a face to show."""

    @classmethod
    def open(
        cls,
        where: DataDir | Path | None = None,
        *,
        url: str | None = None,
        clock: Callable[[], datetime] = utc_now,
        delivery: Delivery | None = None,
        policy: AccessPolicy | None = None,
        recover: bool = True,
    ) -> Environment:
        """Open the environment at ``where`` (a data directory; default ``$FIVESAFES_DATA_DIR``
        or ``./fivesafes-data``); ``Refused`` if it is not initialised or its key is missing.

        ``policy`` is what accounts must hold to act; by default the deployment's, from its
        configuration (``$FIVESAFES_CONFIG``), and without one the plain policy of
        :mod:`fivesafes.governance.people`. ``recover=False`` leaves
        what a crash left half-done as it is, so a read-only look writes nothing."""
        data_dir = where if isinstance(where, DataDir) else DataDir.from_env(where)
        try:
            settings = read_settings(data_dir.root)
            read_key(data_dir.key_file)
            if policy is None:
                policy = configured_policy()
        except (SettingsError, PseudonymKeyError, ConfigurationError) as exc:
            raise Refused(str(exc), RefusalKind.UNAVAILABLE) from None
        try:  # e.g. a public name that is not a host name (the ledger's origin)
            cp = ControlPlane.open(data_dir, url=url, clock=clock, policy=policy)
        except (ValueError, LedgerError) as exc:
            raise Refused(str(exc), RefusalKind.UNAVAILABLE) from None
        chosen = delivery or delivery_for(settings.delivery, data_dir.root)
        env = cls(data_dir, settings, cp, chosen)
        if not recover:
            return env
        try:  # what a dead process left half-done is settled before anything else is done
            env.recovered = [r.describe() for r in recovery.recover(cp, data_dir)]
            env.recovered += [
                f"job {j} was left running by a process that stopped: logged as interrupted"
                for j in job_records.close_orphans(env)
            ]
        except LedgerError as exc:  # a damaged ledger: nothing can be settled, or done
            cp.close()
            raise Refused(str(exc), RefusalKind.UNAVAILABLE) from None
        except BaseException:
            cp.close()
            raise
        return env

    @property
    def jobs_root(self) -> Path:
        return self.data_dir.jobs

    @contextmanager
    def store(self, read_only: bool = True) -> Iterator[Store]:
        """The store, its key checked against the fingerprint it recorded on first use."""
        with Store.open(self.data_dir, read_only=read_only) as store:
            _ = store.key
            yield store

    def close(self) -> None:
        self.cp.close()

    def __enter__(self) -> Environment:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
