"""Commands for releasing outputs: check, request, review, publish, and look at requests.

Files are named by the job that made them (``--job``): a job's outputs stay in the environment,
so there is nothing in anyone's own folder to name. ``fivesafes release check`` is the dry run an
analyst sees before asking; ``request`` asks (or keeps a ``--draft`` to ``submit`` later), with a
justification and a written exception for each file that failed a check, and prints the ledger
receipt; output checkers ``approve``, ``return``
or ``reject`` with their own signing key, blind to each other's vote until both are in;
``publish`` writes an approved request to the project's released outputs; ``verify`` checks a
released folder against the environment's key.

Who may do what is governance's roles table: ``check``, ``request`` and ``submit`` need the
``request_release`` action (the analyst role, as a member of the approved project), votes need
``review_output`` (the output_checker role, never on one's own project); a refusal names the
missing role and the command exits with code 2.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import orjson
import typer
from rich.table import Column
from rich.table import Table as RichTable
from rich.text import Text

from fivesafes.cli.common import (
    DataDirOption,
    FormatOption,
    TokenOption,
    app,
    console,
    fail,
    need_token,
)
from fivesafes.cli.environment import opened, signing_key
from fivesafes.release.model import State, Verdict

if TYPE_CHECKING:  # the use cases are imported by the commands that run them, not by --help
    from fivesafes.ledger.receipt import Receipt
    from fivesafes.release.model import FileCheck, ReleaseView

release_app = typer.Typer(help="Release checked outputs: request, two blind reviews, publish.")
app.add_typer(release_app, name="release", no_args_is_help=True)

ProjectIdOption = Annotated[str, typer.Option("--project-id", help="The approved project")]
JobOption = Annotated[str, typer.Option("--job", help="The job that made the files (job-...)")]
FilesArgument = Annotated[
    list[str], typer.Argument(help="Output files of the job, as project.yaml names them")
]
ExceptionOption = Annotated[
    list[str] | None,
    typer.Option(
        "--exception",
        help="FILE=why, for a file that did not pass every check (repeat for several)",
    ),
]
KeyOption = Annotated[Path, typer.Option("--key", help="Your private signing key (keygen)")]
ReceiptOption = Annotated[Path | None, typer.Option(help="Save the ledger receipt here")]
CommentsOption = Annotated[str, typer.Option("--comments", help="What you checked; concerns")]
VERDICT_MARK = {"passed": ("passed", "green"), "safe_version": ("safe version", "yellow")}


def _exceptions(given: Sequence[str] | None) -> dict[str, str]:
    found = {}
    for item in given or ():
        path, sep, why = item.partition("=")
        if not sep or not why.strip():
            raise fail(f"--exception takes FILE=why, not {item!r}")
        found[path] = why
    return found


def _files_table(files: Sequence[FileCheck]) -> RichTable:
    table = RichTable(
        Column("file", no_wrap=True), "kind", "checks", "rules that fired", "exception"
    )
    for f in files:
        fired = [r["rule"] for r in f.report.get("rules", []) if not r["passed"]]
        table.add_row(
            f.path,
            f.kind.value,
            Text(*VERDICT_MARK.get(f.outcome.value, ("reviewers only", "yellow"))),
            ", ".join(fired) or "-",
            f.exception or "-",
        )
    return table


def _print_json(value: object) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")


@release_app.command("check")
def release_check(
    files: FilesArgument,
    project_id: ProjectIdOption,
    job: JobOption,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Dry run: would these outputs of a job be accepted, and what do the automatic checks say?

    Only someone who may request the release (an analyst on the approved project) may ask: the
    checks read the project's release history."""
    from fivesafes.environment import releases

    credential = need_token(token)
    with opened(data_dir) as env:
        checks = releases.check(env, credential, project_id, job, files)
    console.print(_files_table(checks))
    for check in checks:
        if check.needs_exception:
            console.print(f"{check.path}: needs --exception {check.path}='why' to be requested")


@release_app.command("request")
def release_request(
    files: FilesArgument,
    project_id: ProjectIdOption,
    justification: Annotated[str, typer.Option(help="Why these outputs should be released")],
    job: JobOption,
    exception: ExceptionOption = None,
    draft: Annotated[
        bool, typer.Option("--draft", help="Keep it as a draft; submit later")
    ] = False,
    receipt: ReceiptOption = None,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Ask for outputs to be released; prints the request and your ledger receipt."""
    from fivesafes.environment import releases

    credential, given = need_token(token), _exceptions(exception)
    with opened(data_dir) as env:
        made = releases.request(
            env, credential, project_id, job, files, justification, given, draft
        )
        view = releases.show(env, credential, made.release_id)
    release_id, proof = made.release_id, made.receipt
    console.print(_files_table(view.files))
    if proof is None:
        console.print(
            Text.assemble(
                "draft ", (release_id, "bold"), f" saved; `fivesafes release submit {release_id}`"
            )
        )
        return
    _submitted(release_id, proof, receipt)


@release_app.command("submit")
def release_submit(
    release_id: str,
    exception: ExceptionOption = None,
    receipt: ReceiptOption = None,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Submit a draft request for review (its requester), adding any exceptions it still needs."""
    from fivesafes.environment import releases

    credential = need_token(token)
    with opened(data_dir) as env:
        proof = releases.submit_draft(env, credential, release_id, _exceptions(exception))
    _submitted(release_id, proof, receipt)


def _submitted(release_id: str, proof: Receipt, receipt: Path | None) -> None:
    console.print(
        Text.assemble(
            "release request ", (release_id, "bold"), f" submitted; ledger entry {proof.index}"
        )
    )
    if receipt is not None:
        receipt.write_bytes(orjson.dumps(proof.to_dict(), option=orjson.OPT_INDENT_2))
        console.print(f"receipt saved to {receipt} (check it with `fivesafes ledger verify`)")


def _vote_command(verdict: Verdict) -> Callable[..., None]:
    """One command per verdict (typer wants a function each); all cast a signed, sealed vote."""

    def vote(
        release_id: str,
        comments: CommentsOption,
        key: KeyOption,
        token: TokenOption = None,
        data_dir: DataDirOption = None,
    ) -> None:
        from fivesafes.environment import releases

        credential, signer = need_token(token), signing_key(key)
        with opened(data_dir) as env:
            state = releases.review(env, credential, release_id, verdict, comments, signer)
        console.print(
            f"your {verdict.value} vote on {release_id} is signed and sealed; now {state}"
        )

    return vote


for _name, _verdict, _help in (
    (
        "approve",
        Verdict.APPROVE,
        "Vote to release (output checker); signed with your key, sealed until both votes are in.",
    ),
    (
        "return",
        Verdict.RETURN,
        "Vote to send the request back for changes, saying what to change (output checker).",
    ),
    ("reject", Verdict.REJECT, "Vote against releasing these outputs at all (output checker)."),
):
    release_app.command(_name, help=_help)(_vote_command(_verdict))


@release_app.command("publish")
def release_publish(
    release_id: str, token: TokenOption = None, data_dir: DataDirOption = None
) -> None:
    """Publish an approved request to the project's released outputs, signed and logged."""
    from fivesafes.environment import releases

    credential = need_token(token)
    with opened(data_dir) as env:
        published = releases.publish(env, credential, release_id)
    done = "already released " if published.already else "released "
    console.print(Text.assemble(done, (release_id, "bold"), f" to {published.folder}"))
    for path, digest in published.files.items():
        console.print(f"  {path}  sha256 {digest}")
    console.print(
        f"ledger entry {published.receipt.index}; summary: {published.folder}/summary.png"
    )


def _show(view: ReleaseView) -> None:
    console.print(
        Text.assemble((view.release_id, "bold"), f" project {view.project_id}: {view.state.value}")
    )
    console.print(f"requested by {view.requester} on {view.created_at:%Y-%m-%d %H:%M} UTC")
    console.print(f"justification: {view.justification}")
    if view.note:
        console.print(f"note: {view.note}")
    console.print(_files_table(view.files))
    for vote in view.votes:
        console.print(
            f"  round {vote.round}: {vote.person_id} {vote.verdict.value}: {vote.comments}"
        )
    if view.sealed_votes:
        console.print(f"  {view.sealed_votes} sealed vote(s): shown once both votes are in")
    if view.folder:
        console.print(f"released to {view.folder}")


@release_app.command("show")
def release_show(
    release_id: str,
    output_format: FormatOption = "text",
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """One request: its files, their checks, and the votes you may see."""
    from fivesafes.environment import releases

    credential = need_token(token)
    with opened(data_dir) as env:
        view = releases.show(env, credential, release_id)
    if output_format == "json":
        _print_json(view.to_dict())
        return
    _show(view)
    for check in view.files:
        report = check.report
        for rule in report.get("rules", []):
            mark = "pass" if rule["passed"] else "FAIL"
            console.print(f"    {check.path} [{mark}] {rule['rule']}: {rule['summary']}")


@release_app.command("list")
def release_list(
    project_id: Annotated[str | None, typer.Option("--project-id")] = None,
    state: Annotated[State | None, typer.Option("--state")] = None,
    output_format: FormatOption = "text",
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """The requests you may see, oldest first."""
    from fivesafes.environment import releases

    credential = need_token(token)
    with opened(data_dir) as env:
        views = releases.listing(env, credential, project_id, state)
    if output_format == "json":
        _print_json([v.to_dict() for v in views])
        return
    table = RichTable(
        *(Column(name, no_wrap=True) for name in ("release", "project", "state", "requester")),
        "files",
        "votes in",
    )
    for v in views:
        table.add_row(
            v.release_id,
            v.project_id,
            v.state.value,
            v.requester,
            str(len(v.files)),
            str(len(v.votes) + v.sealed_votes),
        )
    console.print(table)


@release_app.command("verify")
def release_verify(
    folder: Path,
    vkey: Annotated[
        list[str] | None,
        typer.Option("--vkey", help="The environment's published key(s); else its ledger's"),
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Check a released folder: the environment's signature, file hashes, two approvals."""
    from fivesafes.release.manifest import verify_release

    if vkey:
        from fivesafes.ledger.note import NoteError, NoteVerifier

        try:
            keys = [NoteVerifier.from_vkey(k) for k in vkey]
        except NoteError as exc:
            raise fail(str(exc)) from None
        problems = verify_release(folder, keys)
    else:
        with opened(data_dir) as env:
            problems = verify_release(folder, env.cp.ledger.keys)
    if problems:
        raise fail(f"{folder} does not verify:\n" + "\n".join(problems))
    console.print(f"{folder}: signature, hashes and two independent approvals verify")
