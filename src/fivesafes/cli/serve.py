"""``fivesafes serve`` and what the API's callers need first: links to care, and clients.

``serve`` runs the one API application (FHIR for care, self-service, the directory) with
uvicorn, on a host and port, with TLS when given a certificate and key, writing absolute links
from the public base URL it is told (the proxy's, behind one). ``link`` ties an account to its
organisation's ODS code (clinicians, organisation administrators) or to the person's own NHS
number (patients); ``client register`` lets a system get tokens with OAuth2 client credentials.

``serve`` also starts ``--workers-for-jobs`` job workers (``fivesafes worker``), each its own
process, so that a job's sandboxed actions never share the API's event loop or its memory: they
stop with the server (SIGTERM, and the kernel's parent-death signal if the server is killed);
jobs queued meanwhile wait in the control plane for the next start.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from fivesafes.cli.common import DataDirOption, TokenOption, app, console, fail, need_token
from fivesafes.cli.environment import opened
from fivesafes.store.config import DataDir

clients = typer.Typer(help="Systems that get API tokens with OAuth2 client credentials")
app.add_typer(clients, name="client")


@app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port)")] = 8000,
    base_url: Annotated[
        str | None,
        typer.Option(help="Public base URL for links (default: http(s)://HOST:PORT)"),
    ] = None,
    cert: Annotated[Path | None, typer.Option(help="TLS certificate (PEM)")] = None,
    key: Annotated[Path | None, typer.Option(help="TLS private key (PEM)")] = None,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Worker processes (one per core serves most)")
    ] = 1,
    workers_for_jobs: Annotated[
        int,
        typer.Option(
            "--workers-for-jobs", min=0, max=64, help="Job workers to run beside the API (0: none)"
        ),
    ] = 1,
    data_dir: DataDirOption = None,
) -> None:
    """Serve the API: FHIR R4 for care, self-service and the directory, until stopped."""
    import os

    import uvicorn

    from fivesafes.api.app import CONFIG_VARIABLE, config_for_workers, create_app
    from fivesafes.api.config import ServerConfig
    from fivesafes.web.assets import AssetsMissing, design_system

    if (cert is None) != (key is None):
        raise fail("TLS needs both --cert and --key")
    for path in (p for p in (cert, key) if p is not None):
        if not path.is_file():
            raise fail(f"{path}: no such file")
    where = DataDir.from_env(data_dir)
    with opened(where.root):  # refused here, in one line, if it is not an environment
        pass
    try:  # and here if the portal's design system is not installed
        design_system()
    except AssetsMissing as missing:
        raise fail(str(missing)) from None
    scheme = "https" if cert else "http"
    config = ServerConfig(where, base_url or f"{scheme}://{host}:{port}")
    if workers > 1:  # each worker makes its own application from the configuration
        os.environ[CONFIG_VARIABLE] = config_for_workers(config)
    application = create_app(config) if workers == 1 else "fivesafes.api.app:from_environment"
    with job_workers(where, workers_for_jobs):
        uvicorn.run(
            application,
            factory=workers > 1,
            workers=workers,
            # A worker imports the whole command line before it answers its first health check:
            # on a busy machine that takes far longer than uvicorn's 5 s, and it would be
            # restarted, over and over, before it ever served.
            timeout_worker_healthcheck=120,
            host=host,
            port=port,
            ssl_certfile=str(cert) if cert else None,
            ssl_keyfile=str(key) if key else None,
            log_level="warning",
            proxy_headers=False,
        )


def _die_with_parent() -> None:
    """In a worker, before it starts: the kernel sends it SIGTERM if the server dies, however."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


@contextmanager
def job_workers(where: DataDir, count: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    """``count`` job workers on ``where`` for as long as the block runs; each is asked to stop
    (SIGTERM: a job it is running ends ``interrupted``) and waited for when it ends."""
    argv = [sys.executable, "-c", "from fivesafes.cli import app; app(prog_name='fivesafes')"]
    started = [
        subprocess.Popen(
            [*argv, "worker", "--data-dir", str(where.root)],
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        for _ in range(count)
    ]
    try:
        yield started
    finally:
        for worker in started:
            worker.send_signal(signal.SIGTERM)
        for worker in started:
            worker.wait()


@app.command("link")
def link_command(
    person_id: Annotated[str, typer.Argument(help="The account to link")],
    ods: Annotated[str | None, typer.Option(help="Their organisation's ODS code")] = None,
    nhs_number: Annotated[str | None, typer.Option(help="The person's own NHS number")] = None,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Tie an account to an organisation (ODS code) or to the person's NHS number (custodian)."""
    from fivesafes.environment import accounts

    if ods is None and nhs_number is None:
        raise fail("give --ods or --nhs-number")
    with opened(data_dir) as env:
        accounts.link(env, need_token(token), person_id, ods_code=ods, nhs_number=nhs_number)
    console.print(f"linked {person_id}")


@clients.command("register")
def register_command(
    client_id: Annotated[str, typer.Argument(help="The client's id")],
    acting_as: Annotated[str, typer.Option("--as", help="The account the client acts as")],
    scopes: Annotated[str, typer.Option(help="SMART scopes, e.g. 'system/*.rs'")],
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Register a system for client credentials; prints its secret once (custodian)."""
    from fivesafes.environment import accounts

    with opened(data_dir) as env:
        made = accounts.register_client(env, need_token(token), client_id, acting_as, scopes)
    console.print(f"client {made.client_id} acts as {made.person_id} with {made.scopes}")
    console.print(made.client_secret)
