"""Signing in to the portal over HTTP as its people do, and reading its forms' tokens."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from api.api_support import Running


@contextmanager
def signed_in(site: Running, token: str) -> Iterator[httpx.Client]:
    """A client holding the session cookie the sign-in page set for ``token``."""
    with httpx.Client(base_url=site.base_url, timeout=60) as client:
        answer = client.post("/sign-in", data={"token": token})
        assert answer.status_code == 303 and answer.headers["location"] == "/my/projects"
        yield client


def form_token(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the page has no form token"
    return found.group(1)
