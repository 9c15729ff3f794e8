"""How a server is told where it is: its data directory and the public base URL links use."""

from __future__ import annotations

from dataclasses import dataclass

from fivesafes.store.config import DataDir


@dataclass(frozen=True)
class ServerConfig:
    """What one running API needs to know about itself."""

    data_dir: DataDir
    base_url: str
    """The public base URL, e.g. ``https://fhir.example.org`` (behind a proxy, the proxy's):
    every absolute link the API writes (Bundle paging, SMART endpoints) starts with it."""
    name: str = "fivesafes"

    @property
    def fhir_base(self) -> str:
        return self.base_url.rstrip("/") + "/fhir"
