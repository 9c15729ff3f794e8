"""The access policy a deployment runs under, from its configuration (:mod:`.configuration`).

``mfa = "required"`` (the default) with the terms of use in ``terms_file`` gives the standard
policy of :mod:`fivesafes.governance.people`: second factor, identity check, accreditation,
training per role and accepted terms. ``mfa = "off"`` is for demos on synthetic data only, and
``fivesafes doctor`` fails a deployment that runs so.
"""

from __future__ import annotations

import os

from fivesafes.environment.configuration import CONFIG_ENV, Configuration, ConfigurationError, load
from fivesafes.governance.people import AccessPolicy, Terms


def terms_of(config: Configuration) -> Terms:
    path = config.path("terms_file")
    if path is None:
        raise ConfigurationError("terms_file is not set: the terms of use every account accepts")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"terms_file {path}: cannot read it: {exc}") from None
    return Terms(config.get("terms_version") or "1", text)


def policy_for(config: Configuration) -> AccessPolicy:
    """The policy the configuration asks for; refuses a required policy without its terms."""
    if config.get("mfa") == "off":
        return AccessPolicy()
    return AccessPolicy.standard(terms_of(config))


def configured_policy() -> AccessPolicy | None:
    """The deployment's access policy when it has a config file (``$FIVESAFES_CONFIG``, which
    ``deploy/`` sets for every service): the standard one unless it says ``mfa = "off"``.

    :meth:`Environment.open` asks for it, so every face (the command line, the API server, the
    portal) runs under the same policy; a face that had to pass it could forget it."""
    if not os.environ.get(CONFIG_ENV):
        return None
    return policy_for(load())
