"""The one FastAPI application: its routers, its error layer and its OpenAPI document.

:func:`create_app` is the factory every server and test uses. Areas are routers
(``fhir``, ``personal``, ``directory``, ``auth``, and ``management``: the management API under
``/api/v1``); the portal will be added the same way (``include_router``), sharing the caller
dependency (:mod:`.deps`), the error layer (:mod:`.errors`) and the document at
``/openapi.json``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import orjson
from fastapi import FastAPI

from fivesafes.api import auth, directory, errors, fhir, management, personal
from fivesafes.api.config import ServerConfig
from fivesafes.environment import Environment
from fivesafes.environment.records import Records
from fivesafes.store.config import DataDir
from fivesafes.web import pages

VERSION = "1.0.0"
DESCRIPTION = """
The fivesafes API: FHIR R4 for direct care (`/fhir/`), people's own details, choices and shared
data (`/personal/`), organisations' directory entries (`/directory/`), and the management API
for projects, jobs, outputs, releases, the catalogue and the public ledger (`/api/v1/`).
Send a bearer token: a personal token (`fivesafes token`) or one from `/oauth/token`.
"""


def create_app(config: ServerConfig) -> FastAPI:
    """The application for one environment; it opens the environment (refused unless it is
    initialised with its key in place; recovery first) and the store when it starts, and closes
    them (signing the ledger) when it stops."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        env = Environment.open(config.data_dir)
        records = Records.open(env)
        app.state.env, app.state.records = env, records
        try:
            yield
        finally:
            records.close()
            env.close()

    app = FastAPI(
        title="fivesafes API",
        version=VERSION,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.config = config
    errors.install(app)
    for area in (fhir, personal, directory, auth, management):
        app.include_router(area.router)
    pages.install(app)  # the public portal at / (refused if its design system is missing)
    return app


CONFIG_VARIABLE = "FIVESAFES_SERVE_CONFIG"
"""How ``fivesafes serve --workers N`` tells each worker process its configuration."""


def config_for_workers(config: ServerConfig) -> str:
    """The configuration as the text each worker reads back (:func:`from_environment`)."""
    where = config.data_dir
    fields = {"root": str(where.root), "key_file": str(where.key_file)}
    return orjson.dumps({**fields, "base_url": config.base_url, "name": config.name}).decode()


def from_environment() -> FastAPI:
    """The application a worker process makes (uvicorn's factory, one call a worker): several
    workers share nothing but the files — each follows the store, appends to the ledger (the
    ledger settles two writers' races) and authenticates on its own."""
    text = os.environ.get(CONFIG_VARIABLE)
    if not text:
        raise RuntimeError(f"{CONFIG_VARIABLE} is not set: start workers with `fivesafes serve`")
    given = orjson.loads(text)
    where = DataDir(Path(given["root"]), Path(given["key_file"]))
    return create_app(ServerConfig(where, given["base_url"], given["name"]))
