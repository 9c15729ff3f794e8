"""One world and one real server for the portal's tests: building the world runs a job in the
sandbox and publishes a release, the slow part."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from browser_support import launched_browser
from codelist_support import Coded, build_coded_world
from library_portal import LibraryPortal, build_library_portal
from portal_support import Portal, build_portal_world
from staff_support import StaffWorld, build_staff_world

from api.api_support import Running, serving
from jobs.jobs_support import SANDBOX_PROBLEM
from shared_files import in_ci


@pytest.fixture(scope="package")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Portal:
    _sandbox_or_skip()
    return build_portal_world(tmp_path_factory.mktemp("portal"))


def _sandbox_or_skip() -> None:
    if SANDBOX_PROBLEM is not None:
        problem = (
            f"the portal's world runs a real job; bubblewrap cannot run here: {SANDBOX_PROBLEM}"
        )
        if in_ci():  # CI has bubblewrap (.ci/run): a portal left untested must not pass there
            pytest.fail(problem)
        pytest.skip(problem)


@pytest.fixture(scope="package")
def library_portal(tmp_path_factory: pytest.TempPathFactory) -> LibraryPortal:
    _sandbox_or_skip()
    return build_library_portal(tmp_path_factory.mktemp("library"))


@pytest.fixture(scope="package")
def library_site(library_portal: LibraryPortal) -> Iterator[Running]:
    with serving(library_portal.data_dir) as running:
        yield running


@pytest.fixture(scope="package")
def site(portal: Portal) -> Iterator[Running]:
    with serving(portal.data_dir) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's Chromium, or a skip saying why not (a failure in CI)."""
    yield from launched_browser()


@pytest.fixture(scope="package")
def coded(tmp_path_factory: pytest.TempPathFactory) -> Coded:
    """The code lists' world (no job is run to build it)."""
    return build_coded_world(tmp_path_factory.mktemp("coded"))


@pytest.fixture(scope="package")
def coded_site(coded: Coded) -> Iterator[Running]:
    with serving(coded.data_dir) as running:
        yield running


@pytest.fixture(scope="package")
def staff(portal: Portal, tmp_path_factory: pytest.TempPathFactory) -> StaffWorld:
    return build_staff_world(portal, tmp_path_factory.mktemp("staff"))


@pytest.fixture(scope="package")
def staff_site(staff: StaffWorld) -> Iterator[Running]:
    with serving(staff.data_dir) as running:
        yield running
