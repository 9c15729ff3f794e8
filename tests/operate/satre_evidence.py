"""What every test in this run did, for the SATRE assessment's evidence check.

The assessment test (moved to the end of the run) checks that each test a satisfied requirement
names passed here; the hook is a conftest hook (it sees every item), the recorder a plugin
registered from it (so reports from every folder reach it, not only this one's)."""

from __future__ import annotations

import pytest

ASSESSMENT_TEST = "tests/operate/test_satre_assessment.py::"
OUTCOMES: dict[str, list[str]] = {}
"""Each test's outcome per phase (setup, call, teardown) in this run."""
IN_RUN: set[str] = set()


class _Recorder:
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        OUTCOMES.setdefault(report.nodeid, []).append(report.outcome)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Run the assessment's tests last, and record every outcome (a plugin, not this conftest,
    so reports from every folder reach it)."""
    last = [i for i in items if i.nodeid.startswith(ASSESSMENT_TEST)]
    if not last:
        return
    items[:] = [i for i in items if not i.nodeid.startswith(ASSESSMENT_TEST)] + last
    IN_RUN.update(i.nodeid for i in items)
    if not config.pluginmanager.has_plugin("satre-evidence"):
        config.pluginmanager.register(_Recorder(), "satre-evidence")
