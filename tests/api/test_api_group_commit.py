"""Requests' ledger entries appended in groups: every entry stored exactly once, each request
returning only once its own are stored, and a request the ledger refuses failing alone."""

from __future__ import annotations

import threading
from pathlib import Path

import orjson
import pytest

from fivesafes.environment.records import GroupCommit
from fivesafes.governance import ControlPlane
from fivesafes.ledger import LedgerError
from fivesafes.store.config import DataDir


def _read(n: int) -> list[tuple[str, str, dict[str, object]]]:
    subject = {"patient": f"p{n}", "resource_types": ["Patient"], "relationship": "registered"}
    return [("identifiable_read", "dana", subject)]


def test_many_requests_at_once_each_stored_once_and_durable_on_return(tmp_path: Path) -> None:
    data_dir = DataDir(tmp_path / "data", tmp_path / "data" / "keys" / "pseudonym.key")
    with ControlPlane.open(data_dir) as cp:
        group = GroupCommit(cp)
        seen_on_return: list[bool] = []
        lock = threading.Lock()

        def request(n: int) -> None:
            group.append(_read(n))
            stored = {
                orjson.loads(e)["subject"]["patient"]
                for e in cp.ledger.of_kinds(["identifiable_read"])
            }
            with lock:
                seen_on_return.append(f"p{n}" in stored)

        threads = [threading.Thread(target=request, args=(n,)) for n in range(40)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        patients = [
            orjson.loads(e)["subject"]["patient"] for e in cp.ledger.of_kinds(["identifiable_read"])
        ]
        assert sorted(patients) == sorted(f"p{n}" for n in range(40))
        assert seen_on_return == [True] * 40
        assert cp.ledger.verify().ok


def test_a_refused_entry_fails_its_own_request_only(tmp_path: Path) -> None:
    data_dir = DataDir(tmp_path / "data", tmp_path / "data" / "keys" / "pseudonym.key")
    with ControlPlane.open(data_dir) as cp:
        group = GroupCommit(cp)
        bad = [("identifiable_read", "dana", {"patient": "p9", "nhs_number": "9434765919"})]
        errors: list[BaseException] = []

        def request(records: list[tuple[str, str, dict[str, object]]]) -> None:
            try:
                group.append(records)
            except (LedgerError, ValueError) as exc:
                errors.append(exc)

        threads = [threading.Thread(target=request, args=(r,)) for r in (_read(1), bad, _read(2))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        patients = {
            orjson.loads(e)["subject"]["patient"] for e in cp.ledger.of_kinds(["identifiable_read"])
        }
        assert patients == {"p1", "p2"}
        assert len(errors) == 1
        with pytest.raises((LedgerError, ValueError)):
            group.append(bad)
