"""What every test in this run did, for the SATRE assessment's evidence check.

The assessment test (moved to the end of the run) checks that each test a satisfied requirement
names passed here; the hook is a conftest hook (it sees every item), the recorder a plugin
registered from it (so reports from every folder reach it, not only this one's).

A parallel run (``make test``) spreads the tests over workers, none of which sees the others'
outcomes: there the assessment test is left out of the run and run after it on its own, with
``FIVESAFES_EVIDENCE_REPORT`` naming the run's JUnit report, which :func:`this_run` then reads.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from worker_groups import plain_nodeid

ASSESSMENT_TEST = "tests/operate/test_satre_assessment.py::"
OUTCOMES: dict[str, list[str]] = {}
"""Each test's outcome per phase (setup, call, teardown) in this run."""
IN_RUN: set[str] = set()
_REPORT = os.environ.get("FIVESAFES_EVIDENCE_REPORT")
REPORT = Path(_REPORT).resolve() if _REPORT else None
"""The parallel run's JUnit report, if named: read when this module loads, at collection,
because each test's clean start (``tests/conftest.py``) takes the FIVESAFES_* settings away
and moves into the test's own folder, where a relative name would find nothing."""


def junit_outcomes(report: Path) -> dict[str, str]:
    """Each test's outcome in a JUnit report: passed, or failure, error or skipped."""
    outcomes: dict[str, str] = {}
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        module = case.get("classname", "").replace(".", "/") + ".py"
        nodeid = plain_nodeid(f"{module}::{case.get('name')}")
        failed = [c.tag for c in case if c.tag in ("failure", "error", "skipped")]
        outcomes[nodeid] = failed[0] if failed else "passed"
    return outcomes


def this_run() -> tuple[set[str], dict[str, list[str]]]:
    """The tests of the run the assessment checks, and each one's outcomes: this process's, or
    the report ``FIVESAFES_EVIDENCE_REPORT`` names (a parallel run's)."""
    if REPORT is None:
        return IN_RUN, OUTCOMES
    outcomes = junit_outcomes(REPORT)
    return set(outcomes), {nodeid: [outcome] for nodeid, outcome in outcomes.items()}


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
