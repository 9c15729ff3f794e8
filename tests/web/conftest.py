"""One world and one real server for the portal's tests: building the world runs a job in the
sandbox and publishes a release, the slow part."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from browser_support import launched_browser
from portal_support import Portal, build_portal_world
from staff_support import StaffWorld, build_staff_world

from api.api_support import Running, serving
from jobs.jobs_support import SANDBOX_PROBLEM
from shared_files import in_ci


@pytest.fixture(scope="package")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Portal:
    if SANDBOX_PROBLEM is not None:
        problem = (
            f"the portal's world runs a real job; bubblewrap cannot run here: {SANDBOX_PROBLEM}"
        )
        if in_ci():  # CI has bubblewrap (.ci/run): a portal left untested must not pass there
            pytest.fail(problem)
        pytest.skip(problem)
    return build_portal_world(tmp_path_factory.mktemp("portal"))


@pytest.fixture(scope="package")
def site(portal: Portal) -> Iterator[Running]:
    with serving(portal.data_dir) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's Chromium, or a skip saying why not (a failure in CI)."""
    yield from launched_browser()


@pytest.fixture(scope="package")
def staff(portal: Portal, tmp_path_factory: pytest.TempPathFactory) -> StaffWorld:
    return build_staff_world(portal, tmp_path_factory.mktemp("staff"))


@pytest.fixture(scope="package")
def staff_site(staff: StaffWorld) -> Iterator[Running]:
    with serving(staff.data_dir) as running:
        yield running
