"""The API server runs under the deployment's access policy, as the command line does.

A deployment's config file (``$FIVESAFES_CONFIG``) requires a second factor by default; the
server opened its environment without it, so a token that had never been through sign-in read
care records over HTTP that the command line would have refused. Tested as someone holding
such a token would try it: the same token, the same request, before and after the deployment
says what it requires.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from api_support import World, serving


def test_a_token_without_a_second_factor_reads_nothing_where_the_deployment_requires_one(
    fresh_world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    terms = tmp_path / "terms.txt"
    terms.write_text("Use the data only as the project was approved to.\n", encoding="utf-8")
    config = tmp_path / "fivesafes.toml"
    config.write_text(f'mfa = "required"\nterms_file = "{terms}"\n', encoding="utf-8")
    plain = {"Authorization": f"Bearer {fresh_world.tokens['dana']}"}
    with serving(fresh_world.data_dir) as running:  # no config: the plain policy of a demo
        assert httpx.get(f"{running.fhir}/Patient", headers=plain).status_code == 200
    monkeypatch.setenv("FIVESAFES_CONFIG", str(config))
    with serving(fresh_world.data_dir) as running:
        refused = httpx.get(f"{running.fhir}/Patient", headers=plain)
        read = httpx.get(f"{running.fhir}/Patient/p0", headers=plain)
    assert refused.status_code in (401, 403), refused.text
    assert read.status_code in (401, 403), read.text
    assert refused.json()["resourceType"] == "OperationOutcome"
    assert "second factor" in refused.text
    assert "p0" not in read.text
