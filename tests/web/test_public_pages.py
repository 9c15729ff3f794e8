"""The public portal on a real server: every page is a whole NHS.UK page anyone can read, what
it shows comes from the environment layer, a visitor can check a ledger entry by running the
page's own commands, and the catalogue never shows a small count exactly."""

from __future__ import annotations

import base64
import re
import subprocess
from pathlib import Path

import httpx
import orjson
import pytest
from portal_pages import PAGES, commands, links, row_cells
from portal_support import OUTPUT, REVISED, WAITING, Portal
from sqlalchemy import select
from typer.testing import CliRunner

from api.api_support import Running, serving
from dashboards.accessibility import audit
from environment.environment_support import approved_world, open_with_custodian
from fivesafes.cli.common import app
from fivesafes.environment import Environment, projects
from fivesafes.environment.catalogue import view_catalogue
from fivesafes.governance.tables import Decision
from fivesafes.ledger.schema import PUBLIC_KINDS
from fivesafes.store.config import DataDir
from fivesafes.web.assets import AssetsMissing, design_system
from governance.governance_support import application


def get(site: Running, path: str) -> httpx.Response:
    return httpx.get(site.base_url + path, timeout=60)


@pytest.mark.parametrize("path", PAGES)
def test_every_public_page_is_a_whole_accessible_page(site: Running, path: str) -> None:
    answer = get(site, path)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    page = answer.text
    assert audit(page).problems() == []  # a language, one h1, no skipped level, captions...
    assert '<a class="nhsuk-skip-link" href="#maincontent">' in page
    assert '<main class="nhsuk-main-wrapper" id="maincontent"' in page
    assert 'role="banner"' in page and 'role="contentinfo"' in page
    pointed = re.findall(r'(?:src|href|action)="([^"]*)"', page)
    assert pointed and [p for p in pointed if not p.startswith(("/", "#"))] == []  # all here


def test_the_stylesheet_served_fetches_nothing_from_another_host(site: Running) -> None:
    css = get(site, "/assets/nhsuk-frontend.min.css")
    assert css.status_code == 200 and ".nhsuk-header" in css.text
    assert "://" not in css.text and "@font-face" not in css.text
    for image in set(re.findall(r"url\((/assets/images/[^)]+)\)", css.text)):
        assert get(site, image).status_code == 200, image


def test_the_pages_are_not_in_the_api_document(site: Running) -> None:
    paths = set(get(site, "/openapi.json").json()["paths"])
    assert paths and not {"/", "/projects", "/ledger", "/catalogue"} & paths


def test_a_project_page_shows_purpose_signed_decisions_waits_jobs_and_releases(
    site: Running, portal: Portal
) -> None:
    page = get(site, "/projects/heat").text
    assert "How heatwaves change asthma admissions." in page  # its lay summary
    assert "Better heatwave planning for respiratory services." in page
    decision = next(r for r in _rows(page) if r[1].startswith("Approve until"))
    assert decision[2] == "Person Val" and decision[4] == "Signature verifies"
    wait = row_cells(page, "submitted, waiting for a decision")
    assert wait[3] != "still waiting" and float(wait[4]) >= 0
    job = next(r for r in _rows(page) if r[0].startswith(portal.job_id))
    assert job[1] == "Succeeded" and job[4] == "Person Ana" and job[5] == portal.commit[:12]
    released = row_cells(page, OUTPUT)
    assert released[1] == "Review only" and released[2] == portal.job_id
    assert "2 signed approvals" in page
    assert "ok" not in [cell for row in _rows(page) for cell in row]  # reasons stay private


def test_waits_show_a_project_still_waiting_and_one_sent_back(site: Running) -> None:
    waiting = get(site, f"/projects/{WAITING}").text
    assert row_cells(waiting, "submitted, waiting for a decision")[3] == "still waiting"
    revised = get(site, f"/projects/{REVISED}").text
    steps = [r[0] for r in _rows(revised) if r[0].startswith(("submitted", "changes"))]
    assert steps == [
        "submitted, waiting for a decision",
        "changes asked for, waiting for the applicant",
        "submitted, waiting for a decision",
    ]
    verdicts = [r[1] for r in _rows(revised) if r[4:5] == ["Signature verifies"]]
    assert verdicts[0] == "Request changes" and verdicts[1].startswith("Approve until")


def test_an_unknown_project_is_a_page_that_says_so(site: Running) -> None:
    answer = get(site, "/projects/no-such-project")
    assert answer.status_code == 404 and "no project no-such-project" in answer.text
    assert audit(answer.text).problems() == []


def test_the_public_journey_from_a_project_to_a_checked_ledger_entry(
    site: Running, portal: Portal, tmp_path: Path
) -> None:
    """A visitor finds the project, its job and its release, follows the release's link to the
    ledger, and runs the page's commands as shown: the checkpoint's signature verifies with
    openssl, and the release's entry is in it."""
    listing = get(site, "/projects").text
    project = next(h for h in links(listing) if h == "/projects/heat")
    page = get(site, project).text
    assert portal.job_id in page and portal.release_id in page
    check = _release_link(page)
    ledger = get(site, check).text
    steps = commands(ledger)
    assert len(steps) == 4
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", "\n".join(steps)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Signature Verified Successfully" in done.stdout
    entry = int(check.split("=")[1].split("#")[0])
    assert f"entry {entry} IS in the checkpoint" in done.stdout
    said = orjson.loads(_entry_line(done.stdout))
    assert said["kind"] == "release" and said["subject"]["release_id"] == portal.release_id


def test_the_steps_catch_a_checkpoint_that_was_changed(site: Running, tmp_path: Path) -> None:
    """The same commands on a checkpoint whose root was altered: openssl refuses it."""
    steps = commands(get(site, "/ledger").text)
    tamper = "sed -i '2s/$/0/' checkpoint"  # claims ten times as many entries
    script = "\n".join([steps[0], tamper, *steps[1:]])
    done = subprocess.run(
        ["bash", "-eu", "-c", script], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode != 0 and "Signature Verified Successfully" not in done.stdout


def test_a_private_ledger_entry_has_no_receipt(site: Running, portal: Portal) -> None:
    """Logins, loads and refusals are in the log but not public: asking for one is answered
    exactly as asking for an entry that does not exist."""
    listed = CliRunner().invoke(
        app, ["ledger", "public", "--format", "json", "--data-dir", str(portal.data_dir.root)]
    )
    public = {row["index"] for row in orjson.loads(listed.stdout)}
    private = min(set(range(max(public))) - public)
    hidden = get(site, f"/ledger/entries/{private}.json")
    absent = get(site, "/ledger/entries/999999.json")
    assert hidden.status_code == absent.status_code == 404
    assert hidden.text.replace(str(private), "N") == absent.text.replace("999999", "N")
    assert get(site, f"/ledger?entry={private}").status_code == 404
    shown = get(site, f"/ledger/entries/{max(public)}.json")
    assert shown.status_code == 200 and orjson.loads(shown.content)["index"] == max(public)


def test_the_catalogue_never_shows_a_small_count_exactly(site: Running, portal: Portal) -> None:
    """The attack: six people are loaded. Their exact count, which a custodian sees, must not
    be readable on the public page, on a dataset's page, or in the catalogue command's JSON
    for anyone who is not a custodian."""
    exact = view_catalogue(portal.data_dir, portal.tokens["cus"])
    small = {d.name: d for d in exact.datasets if d.rows and d.rows < 10}
    assert small["patients"].rows == 6 and small["patients"].patients == 6
    page = get(site, "/catalogue").text
    for name, d in small.items():
        cells = row_cells(page, name)
        assert cells[2] == "–" and str(d.rows) not in cells[2:4], (name, cells)
        detail = get(site, f"/catalogue/{name}").text
        assert row_value(detail, "Rows") == "–" and row_value(detail, "People") in ("–", "")
    for token in ([], ["--token", portal.tokens["ana"]]):
        shown = CliRunner().invoke(
            app,
            ["catalogue", "--format", "json", "--data-dir", str(portal.data_dir.root), *token],
        )
        assert shown.exit_code == 0, shown.output
        document = orjson.loads(shown.stdout)
        assert document["view"] == "public"
        for d in document["datasets"]:
            if d["name"] in small:
                assert d["rows"] is None and not d["patients"], d
    custodian = CliRunner().invoke(
        app,
        ["catalogue", "--format", "json", "--data-dir", str(portal.data_dir.root),
         "--token", portal.tokens["cus"]],
    )  # fmt: skip
    rows = {d["name"]: d["rows"] for d in orjson.loads(custodian.stdout)["datasets"]}
    assert rows["patients"] == 6  # the custodian's view is exact: the test can tell them apart


def test_the_portal_refuses_to_start_without_its_design_system(tmp_path: Path) -> None:
    with pytest.raises(AssetsMissing) as refused:
        design_system(tmp_path / "nhsuk-frontend")
    said = str(refused.value)
    assert "\n" not in said and "make install" in said and "nhsuk-frontend" in said


def row_value(page: str, key: str) -> str:
    found = re.search(
        rf'<dt class="nhsuk-summary-list__key">{key}</dt>\s*<dd[^>]*>(.*?)</dd>', page, re.S
    )
    assert found, key
    return found.group(1).strip()


def _rows(page: str) -> list[list[str]]:
    import html

    return [
        [
            html.unescape(re.sub(r"<[^>]+>", "", c)).strip()
            for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)
        ]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", page, re.S)
    ]


def _release_link(page: str) -> str:
    found = re.search(r'<a href="(/ledger\?entry=\d+#verify)">Check its ledger entry', page)
    assert found, "the release links to no ledger entry"
    return found.group(1)


def _entry_line(output: str) -> str:
    return next(line for line in output.splitlines() if line.startswith('{"actor"'))


def test_a_decision_whose_signature_was_altered_is_shown_not_to_verify(tmp_path: Path) -> None:
    """The attack: someone with write access to the control plane changes a stored decision's
    signature (to make it look decided by someone else, say). The page re-checks it and says
    it does not verify."""
    data_dir = DataDir(tmp_path / "data", tmp_path / "data" / "keys" / "pseudonym.key")
    people = approved_world(open_with_custodian(data_dir), tmp_path)
    with people.env.cp.transaction() as session:
        row = session.scalars(select(Decision)).one()
        signature = base64.b64decode(row.signature)
        row.signature = base64.b64encode(bytes([signature[0] ^ 1]) + signature[1:]).decode()
    people.env.close()
    with serving(data_dir) as altered:
        page = get(altered, "/projects/heat").text
    assert "Signature does not verify" in page and "Signature verifies" not in page


DOC = Path(__file__).resolve().parents[2] / "docs" / "portal.md"
DOC_SITE, DOC_ENTRY = "https://portal.example.nhs.uk", 42


def test_the_docs_show_the_very_steps_the_ledger_page_gives(site: Running) -> None:
    """docs/portal.md's block is the page's commands, so the commands the journey test runs
    are the ones the doc shows."""
    text = DOC.read_text(encoding="utf-8")
    marker = text.index("<!-- portal-ledger-steps")
    block = text[text.index("```sh\n", marker) + 6 : text.index("\n```\n", marker)]
    steps = "\n".join(commands(get(site, "/ledger?entry=1").text))
    shown = steps.replace(site.base_url, DOC_SITE).replace(
        "entries/1.json", f"entries/{DOC_ENTRY}.json"
    )
    assert block == shown


def test_an_entry_another_process_appended_is_shown_and_proved(
    site: Running, portal: Portal, tmp_path: Path
) -> None:
    """A project applied for from the command line while the server runs (another ledger
    writer): the portal proves its entry, and the page's steps check it."""
    env = Environment.open(portal.data_dir)
    try:
        projects.apply(env, portal.tokens["ana"], "late-one", application("ana", title="Late"))
        index = env.cp.ledger.size - 1
    finally:
        env.close()
    answer = get(site, f"/ledger?entry={index}")
    assert answer.status_code == 200, answer.text  # the server's ledger took the entry in
    steps = commands(answer.text)
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", "\n".join(steps)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"entry {index} IS in the checkpoint" in done.stdout
    assert orjson.loads(_entry_line(done.stdout))["subject"]["project_id"] == "late-one"


def test_a_release_whose_manifest_is_gone_says_so(site: Running, portal: Portal) -> None:
    """A released request always has its signed manifest; if someone removes it, the public
    page says so rather than show the release as if nothing were wrong."""
    manifest = portal.data_dir.root / "released" / "heat" / portal.release_id / "manifest.json"
    aside = manifest.with_name("manifest.json.aside")
    manifest.rename(aside)
    try:
        page = get(site, "/releases").text
    finally:
        aside.rename(manifest)
    assert "Manifest missing" in page and audit(page).problems() == []
    assert "Manifest missing" not in get(site, "/releases").text


def test_a_receipt_is_given_for_every_public_entry_and_no_other(
    site: Running, portal: Portal
) -> None:
    """Every index of the log, and a few past its end: a receipt exactly for the entries the
    public view lists, each of a kind the ledger declares public."""
    listed = CliRunner().invoke(
        app, ["ledger", "public", "--format", "json", "--data-dir", str(portal.data_dir.root)]
    )
    public = {row["index"] for row in orjson.loads(listed.stdout)}
    size = int(get(site, "/ledger/checkpoint").text.split("\n")[1])
    given = set()
    for index in range(size + 3):
        answer = get(site, f"/ledger/entries/{index}.json")
        assert answer.status_code in (200, 404), (index, answer.status_code)
        if answer.status_code == 200:
            entry = orjson.loads(orjson.loads(answer.content)["entry"])
            assert entry["index"] == index and entry["kind"] in PUBLIC_KINDS
            given.add(index)
    assert given == {i for i in public if i < size + 3} and given
