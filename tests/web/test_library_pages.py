"""The open library's pages over HTTP, from a real server, attacked as a visitor would: every
path that is not a file git lists at a commit that ran -- ``..`` raw or percent-encoded, an
absolute path, a symbolic link out of the study, a file only another commit holds, a commit
no job ran -- is a 404 that shows nothing of what it pointed at. Then what a visitor reads
(the tree, a file, the pipeline drawn, the code lists, the release, the download) and an
analyst's "reuse this study"."""

from __future__ import annotations

import html
import http.client
import io
import re
import subprocess
import zipfile
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from library_portal import PROJECT, LibraryPortal
from portal_pages import links
from signed_in_support import form_token, signed_in

from api.api_support import Running
from dashboards.accessibility import audit
from environment.library_support import MISTAKE, NEVER_RAN, STUDY_YAML
from fivesafes.environment import reuse
from fivesafes.jobs.project import load_project
from jobs.jobs_support import write_project

PASSWD = Path("/etc/passwd").read_text(encoding="utf-8").splitlines()[0]
SECRETS = (PASSWD, MISTAKE, NEVER_RAN, "root:x:0:0")


def _raw_get(site: Running, path: str) -> tuple[int, str]:
    """GET ``path`` exactly as written: no client tidies its ``..`` away first."""
    where = urlsplit(site.base_url)
    connection = http.client.HTTPConnection(where.hostname or "", where.port, timeout=60)
    try:
        connection.request("GET", path)
        answer = connection.getresponse()
        return answer.status, answer.read().decode("utf-8", "replace")
    finally:
        connection.close()


def _attacks(portal: LibraryPortal) -> list[str]:
    lib = portal.library
    ran = f"/library/{PROJECT}/{lib.ran}"
    return [
        f"{ran}/files/../../../../../../etc/passwd",
        f"{ran}/files/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        f"{ran}/files/..%2f..%2f..%2f..%2fetc%2fpasswd",
        f"{ran}/files/analysis/%2e%2e/%2e%2e/%2e%2e/data/environment.toml",
        f"{ran}/files/%2fetc%2fpasswd",
        f"{ran}/files//etc/passwd",
        f"{ran}/files/metadata/escape",
        f"{ran}/files/metadata/escape/..%2f..%2fetc%2fpasswd",
        f"{ran}/files/notes/mistake.txt",
        f"{ran}/files/analysis/never_ran.py",
        f"{ran}/files/analysis%5c..%5cproject.yaml",
        f"{ran}/files/project.yaml%00.txt",
        f"/library/{PROJECT}/{lib.unrun}/",
        f"/library/{PROJECT}/{lib.unrun}/files/analysis/never_ran.py",
        f"/library/{PROJECT}/{lib.unrun}/study.zip",
        f"/library/{PROJECT}/{lib.mistake}/files/notes/mistake.txt",
        f"/library/{PROJECT}/{lib.mistake}/study.zip",
        f"/library/{PROJECT}/{lib.ran[:12]}/files/project.yaml",
        f"/library/{PROJECT}/HEAD/files/notes/mistake.txt",
        f"/library/{PROJECT}/main~1/study.zip",
        f"/library/..%2f..%2fetc/{lib.ran}/files/passwd",
        "/library/nothing-here",
    ]


def test_every_attack_is_a_404_that_shows_nothing(
    library_site: Running, library_portal: LibraryPortal
) -> None:
    for path in _attacks(library_portal):
        status, body = _raw_get(library_site, path)
        assert status == 404, (path, status)
        for secret in SECRETS:
            assert secret not in body, (path, secret)


def test_every_library_page_passes_the_accessibility_audit(
    library_site: Running, library_portal: LibraryPortal
) -> None:
    commit = library_portal.commit_page()
    for path in ("/library", f"/library/{PROJECT}", commit, f"{commit}files/project.yaml"):
        status, page = _raw_get(library_site, path)
        assert status == 200 and audit(page).problems() == [], path


def test_the_library_lists_the_study_and_the_one_commit_that_ran(
    library_site: Running, library_portal: LibraryPortal
) -> None:
    lib = library_portal.library
    status, listing = _raw_get(library_site, "/library")
    assert status == 200 and f"/library/{PROJECT}" in links(listing)
    status, study = _raw_get(library_site, f"/library/{PROJECT}")
    assert status == 200
    commits = [h for h in links(study) if h.startswith(f"/library/{PROJECT}/")]
    assert commits == [library_portal.commit_page()]
    assert lib.unrun not in study and lib.mistake not in study
    status, project = _raw_get(library_site, f"/projects/{PROJECT}")
    assert status == 200 and f"/library/{PROJECT}" in links(project)  # from its jobs to its code


def test_the_commit_page_shows_its_tree_pipeline_code_lists_and_release(
    library_site: Running, library_portal: LibraryPortal
) -> None:
    lib = library_portal.library
    status, page = _raw_get(library_site, library_portal.commit_page())
    assert status == 200
    base = library_portal.commit_page()
    shown = {h[len(base) + len("files/") :] for h in links(page) if h.startswith(f"{base}files/")}
    tracked = subprocess.run(
        ["git", "-C", str(lib.repository), "ls-tree", "-r", "--name-only", lib.ran],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert shown == set(tracked) - {"metadata/escape"}  # a link is listed, never linked
    assert "metadata/escape" in page and "Symbolic link (not shown)" in page
    real = load_project(write_project(lib.repository.parent / "drawn", STUDY_YAML))
    svg = re.search(r"<svg [^>]*class=\"portal-pipeline\".*?</svg>", page, re.S)
    assert svg is not None
    drawn = svg.group(0)
    assert re.findall(r'data-action="([^"]+)"', drawn) == list(real.actions)
    edges = set(re.findall(r'data-from="([^"]+)" data-to="([^"]+)"', drawn))
    assert edges == {(n, a.name) for a in real.actions.values() for n in a.needs}
    assert '<title id="pipeline-title">' in drawn and '<desc id="pipeline-desc">' in drawn
    assert "asthma/1</code> (snomedct), published by Person Ana" in page
    assert "none published here holds exactly these codes" in page  # fractures.csv
    assert library_portal.release_id in page and "output/methods.md" in page
    assert f"{base}study.zip" in links(page)


def test_a_file_is_shown_as_escaped_text(
    library_site: Running, library_portal: LibraryPortal
) -> None:
    lib = library_portal.library
    status, page = _raw_get(library_site, f"{library_portal.commit_page()}files/analysis/study.py")
    assert status == 200
    shown = re.search(r"<pre [^>]*><code>(.*?)</code></pre>", page, re.S)
    assert shown is not None
    text = (lib.repository / "analysis" / "study.py").read_text(encoding="utf-8")
    assert html.unescape(shown.group(1)) == text


def test_the_download_is_the_commit_that_ran(
    library_site: Running, library_portal: LibraryPortal
) -> None:
    import httpx

    answer = httpx.get(f"{library_site.base_url}{library_portal.commit_page()}study.zip")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/zip"
    top = f"{PROJECT}-{library_portal.library.ran[:12]}"
    assert answer.headers["content-disposition"] == f'attachment; filename="{top}.zip"'
    with zipfile.ZipFile(io.BytesIO(answer.content)) as opened:
        assert f"{top}/project.yaml" in opened.namelist()
        everything = b"".join(opened.read(n) for n in opened.namelist())
    for secret in SECRETS:
        assert secret.encode() not in everything


def test_an_analyst_reuses_the_study_and_is_sent_to_a_draft_application(
    library_site: Running, library_portal: LibraryPortal
) -> None:
    lib = library_portal.library
    page = library_portal.commit_page()
    with signed_in(library_site, library_portal.tokens["ana"]) as client:
        token = form_token(client.get(page).text)
        unrun = library_portal.commit_page(lib.unrun)
        assert client.post(f"{unrun}reuse", data={"csrf_token": token}).status_code == 404
        answer = client.post(f"{page}reuse", data={"csrf_token": token})
    assert answer.status_code == 303
    target = urlsplit(answer.headers["location"])
    assert target.path == "/my/applications/new"
    [repository] = parse_qs(target.query)["repository"]
    made = Path(repository)
    assert made.parent == library_portal.data_dir.root / reuse.REUSED
    listed = subprocess.run(
        ["git", "-C", repository, "ls-tree", "-r", "--name-only", "main"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    tracked = subprocess.run(
        ["git", "-C", str(lib.repository), "ls-tree", "-r", "--name-only", lib.ran],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert set(listed) == set(tracked) - {"metadata/escape"}


@pytest.mark.parametrize("who", ["cus", None])
def test_reuse_is_refused_to_anyone_but_an_analyst(
    library_site: Running, library_portal: LibraryPortal, who: str | None
) -> None:
    import httpx

    page = library_portal.commit_page()
    reused = library_portal.data_dir.root / reuse.REUSED
    before = set(reused.glob("*")) if reused.is_dir() else set()
    if who is None:
        answer = httpx.post(f"{library_site.base_url}{page}reuse", data={"csrf_token": "x"})
        assert answer.status_code == 303 and answer.headers["location"] == "/sign-in"
    else:
        with signed_in(library_site, library_portal.tokens[who]) as client:
            token = form_token(client.get(page).text)
            assert client.post(f"{page}reuse", data={"csrf_token": "forged"}).status_code == 403
            answer = client.post(f"{page}reuse", data={"csrf_token": token})
            assert answer.status_code == 403 and "This was not done" in answer.text
    assert (set(reused.glob("*")) if reused.is_dir() else set()) == before
