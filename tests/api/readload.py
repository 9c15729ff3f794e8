"""Read load on a running API from several threads, counting every answer: for the test of a
load running while the API is read, and for the benchmark that does the same at scale."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx


@dataclass
class ReadLoad:
    """Clients reading ``paths`` in turn until stopped; every status and failure counted."""

    base: str
    token: str
    paths: list[str]
    clients: int = 4
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _run(self, offset: int) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=self.base, headers=headers, timeout=60) as client:
            n = offset
            while not self._stop.is_set():
                path = self.paths[n % len(self.paths)]
                n += 1
                try:
                    status = client.get(path).status_code
                except httpx.HTTPError as exc:
                    with self._lock:
                        self.failures.append(f"{path}: {exc!r}")
                    continue
                with self._lock:
                    self.statuses[status] += 1
                    if status != 200:
                        self.failures.append(f"{path}: {status}")

    def __enter__(self) -> ReadLoad:
        for i in range(self.clients):
            thread = threading.Thread(target=self._run, args=(i,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def wait_for(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while sum(self.statuses.values()) < count and time.monotonic() < deadline:
            time.sleep(0.05)
