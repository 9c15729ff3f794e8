"""Benchmark the public portal's two biggest pages beside the floor: the project list with
``--projects`` projects and the ledger page with ``--entries`` ledger entries.

The world is written fast but through the environment's own code: the projects and their
application forms as the control plane's own rows (``governance.tables``, each form made by
``Application.to_json`` as an application is), in one transaction; the entries by the ledger's
own bulk write (``Ledger.append_many``: hashed, in the Merkle tree, signed every 1,000 as any
ledger is), each a public ``project`` entry, the worst case for the page. Then a real server
(uvicorn on loopback, in this process) answers ``GET /projects`` and ``GET /ledger``.

The floor, timed alternately with ours in the same run: the same rows the page shows read with
one hand-written SQL query on the SQLite files and put in a minimal f-string HTML table, in
this process (what reading and printing them costs at the least, with no server, framework or
template). Printed: the best of ``--rounds`` for each, their ratio, the page's size, and the
peak memory (``tracemalloc``) one request and one floor render take.

    .venv/bin/python bench/bench_portal.py                          # 1,000 and 100,000
    .venv/bin/python bench/bench_portal.py --projects 50 --entries 500 --rounds 2
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import html
import sqlite3
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
from rich.console import Console
from rich.progress import Progress

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests")]

from api.api_support import serving  # noqa: E402
from environment.environment_support import open_with_custodian  # noqa: E402
from fivesafes.environment.public import LEDGER_PAGE  # noqa: E402
from fivesafes.governance import Application, Purpose  # noqa: E402
from fivesafes.governance.tables import ApplicationVersion, Project  # noqa: E402
from fivesafes.ledger.schema import PUBLIC_KINDS  # noqa: E402
from fivesafes.store.config import DataDir  # noqa: E402


def form(i: int) -> Application:
    return Application(
        title=f"Bench project {i}",
        purpose=Purpose.RESEARCH,
        purpose_description="A project the bench made.",
        public_benefit="Knowing how fast the public pages are.",
        legal_basis="Synthetic data only",
        datasets={"patients": ("patient_id",)},
        members=("cus",),
        repository="https://example.org/bench",
        planned_outputs=("nothing",),
        organisation=f"Bench organisation {i % 20}",
    )


def seed(data_dir: DataDir, projects: int, entries: int) -> None:
    """``projects`` projects in the control plane and ``entries`` public entries in the ledger."""
    people = open_with_custodian(data_dir)
    env = people.env
    try:
        now = datetime.now(UTC)
        with env.cp.transaction() as session:
            for i in range(projects):
                text = form(i).to_json()
                pid = f"bench-{i:05d}"
                session.add(
                    Project(project_id=pid, title=f"Bench project {i}", status="submitted",
                            created_by="cus", created_at=now, version=1)
                )  # fmt: skip
                session.flush()
                session.add(
                    ApplicationVersion(project_id=pid, version=1, form=text,
                                       form_hash=hashlib.sha256(text.encode()).hexdigest(),
                                       submitted_by="cus", submitted_at=now)
                )  # fmt: skip
        already = env.cp.ledger.size
        records = (
            ("project", "cus", {"project_id": f"bench-{i % max(projects, 1):05d}",
                                "title": "Bench", "purpose": "research", "status": "submitted"})
            for i in range(max(entries - already, 0))
        )  # fmt: skip
        env.cp.ledger.append_many(records)
    finally:
        env.close()


def floor_projects(data_dir: DataDir) -> str:
    con = sqlite3.connect(f"file:{data_dir.root / 'control.sqlite'}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "SELECT p.project_id, p.title, p.status, a.form FROM projects p JOIN applications a"
            " ON a.project_id = p.project_id AND a.version = p.version ORDER BY p.project_id"
        ).fetchall()
    finally:
        con.close()
    body = []
    for pid, title, status, text in rows:
        f = orjson.loads(text)
        body.append(
            f"<tr><td><a href='/projects/{pid}'>{html.escape(title)}</a></td>"
            f"<td>{html.escape(f['organisation'])}</td><td>{f['purpose']}</td><td>{status}</td></tr>"
        )
    return f"<table>{''.join(body)}</table>"


def floor_ledger(data_dir: DataDir) -> str:
    con = sqlite3.connect(f"file:{data_dir.root / 'ledger.sqlite'}?mode=ro", uri=True)
    kinds = sorted(PUBLIC_KINDS)
    marks = ",".join("?" * len(kinds))
    try:
        count = f"SELECT count(*) FROM entries WHERE kind IN ({marks})"
        (total,) = con.execute(count, kinds).fetchone()
        rows = con.execute(
            f"SELECT idx, kind, entry FROM entries WHERE kind IN ({marks})"
            " ORDER BY idx DESC LIMIT ?",
            [*kinds, LEDGER_PAGE],
        ).fetchall()
        checkpoints = con.execute("SELECT size, created FROM checkpoints ORDER BY size DESC")
        signed = "".join(f"<tr><td>{s}</td><td>{c}</td></tr>" for s, c in checkpoints)
    finally:
        con.close()
    body = "".join(
        f"<tr><td><a href='/ledger?entry={i}'>{i}</a></td><td>{k}</td>"
        f"<td>{orjson.loads(e)['time']}</td></tr>"
        for i, k, e in rows
    )
    return f"<p>{total} public entries</p><table>{body}</table><table>{signed}</table>"


def best_of(
    rounds: int, timed: dict[str, Callable[[], object]], progress: Progress
) -> dict[str, float]:
    """Each of ``timed`` once a round, in turn (alternately), best seconds of ``rounds``."""
    best = dict.fromkeys(timed, float("inf"))
    task = progress.add_task("timing", total=rounds * len(timed))
    for _ in range(rounds):
        for name, call in timed.items():
            began = time.perf_counter()
            call()
            best[name] = min(best[name], time.perf_counter() - began)
            progress.advance(task)
    return best


def peak_mib(call: Callable[[], object]) -> float:
    gc.collect()
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-portal-") as tmp:
        data_dir = DataDir.from_env(Path(tmp) / "env")
        began = time.perf_counter()
        seed(data_dir, args.projects, args.entries)
        made = time.perf_counter() - began
        with serving(data_dir) as site, httpx.Client(base_url=site.base_url, timeout=600) as web:

            def page(path: str) -> Callable[[], int]:
                def get() -> int:
                    answer = web.get(path)
                    assert answer.status_code == 200, (path, answer.status_code)
                    return len(answer.content)

                return get

            timed: dict[str, Callable[[], object]] = {
                "/projects": page("/projects"),
                "floor /projects": lambda: floor_projects(data_dir),
                "/ledger": page("/ledger"),
                "floor /ledger": lambda: floor_ledger(data_dir),
            }
            for call in timed.values():
                call()  # warm: the first request opens what later ones reuse
            with Progress(console=Console(stderr=True), transient=True) as progress:
                best = best_of(args.rounds, timed, progress)
            sizes = {p: page(p)() for p in ("/projects", "/ledger")}
            memory = {name: peak_mib(call) for name, call in timed.items()}
    print(f"{args.projects:,} projects, {args.entries:,} ledger entries (written in {made:.1f} s);"
          f" best of {args.rounds} rounds, timed alternately")  # fmt: skip
    for path in ("/projects", "/ledger"):
        ours, floor = best[path], best[f"floor {path}"]
        print(f"GET {path}: {ours * 1000:.1f} ms ({sizes[path] / 1024:.0f} KiB); floor, SQL and an "
              f"f-string table: {floor * 1000:.1f} ms; ratio {ours / floor:.1f}; peak memory "
              f"{memory[path]:.1f} MiB (floor {memory[f'floor {path}']:.1f} MiB)")  # fmt: skip


if __name__ == "__main__":
    main()
