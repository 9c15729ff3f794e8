"""The table of `fivesafes` commands, so that running one imports only what it needs.

The stages under the commands load heavy libraries when imported (plotting, statistics, SQL
engines, the control plane's ORM): importing every command's module cost seconds before
`fivesafes --help` could answer. So the top-level group knows each command by its name, the
module that defines it and the line `fivesafes --help` shows for it, from :data:`COMMANDS`,
and imports that module only when the command is run or its own help is asked for.

A command missing from the table still works: a name the table does not know makes the group
import every module of this package before it answers (so it runs, or typos get "did you
mean"), and ``tests/cli/test_startup.py`` fails until the command is listed.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from typer.core import TyperCommand, TyperGroup

if TYPE_CHECKING:  # typer carries its own click, whose classes typer.core builds on
    from typer._click import Command, Context, HelpFormatter


@dataclass(frozen=True)
class Listed:
    """Where a command is defined (a module of ``fivesafes.cli``) and what the list says."""

    module: str
    summary: str


# In the order data flows (see DESIGN.md), then the people and the ledger that guard it.
COMMANDS: dict[str, Listed] = {
    "synth": Listed(
        "data",
        "Write a synthetic population as FHIR R4 NDJSON (and CSV tables); all of it made up.",
    ),
    "validate": Listed(
        "data", "Run every load check on files without loading anything, or only FHIR R4's."
    ),
    "load": Listed(
        "data",
        "Validate and load data into the store, in one transaction; rejects go to quarantine.",
    ),
    "quarantine": Listed(
        "data",
        "List rejected records with the rule they broke, why the rule exists and what to do.",
    ),
    "catalogue": Listed(
        "catalogue",
        "Every dataset in the store: description, columns, counts, coverage, completeness, loads.",
    ),
    "codes": Listed(
        "catalogue",
        "Which codes occur in each coded column, with how many people and records have each: "
        "what a code list can be built from without reading the data.",
    ),
    "codelist": Listed(
        "codelists",
        "Code lists built from the codes in the data: search, build, publish, export as CSV.",
    ),
    "init": Listed(
        "study",
        "Make a new study that runs on dummy data at once: definition, code list, analysis, "
        "project.yaml, application and .gitignore.",
    ),
    "generate-dataset": Listed(
        "query",
        "Make a dataset: on dummy data (--dummy), or on the store for a data custodian.",
    ),
    "generate-measures": Listed(
        "query",
        "Compute every measure for every interval and group (all intervals in one pass): on dummy "
        "data (--dummy), or on the store for a data custodian, as generate-dataset does.",
    ),
    "explain": Listed("query", "Print the SQL each engine runs for a dataset definition."),
    "test": Listed(
        "assure",
        "Run the dataset on the study's test patients (``test_patients``) with each engine, and "
        "say what each gives that the study does not expect.",
    ),
    "run": Listed(
        "jobs", "Run a study's actions on dummy data, on your own machine, in dependency order."
    ),
    "submit": Listed(
        "jobs", "Queue a study to run on real data, inside the environment, every action sandboxed."
    ),
    "job": Listed(
        "jobs", "Jobs run inside the environment: their state, log and outputs; cancel one."
    ),
    "worker": Listed("jobs", "Run queued jobs, oldest first, one at a time, until stopped."),
    "check-output": Listed(
        "disclosure", "Check an output table against the disclosure rules and print the report."
    ),
    "chart": Listed(
        "disclosure",
        "Draw the chart of a table that passes, linked to it: the only kind of chart that leaves.",
    ),
    "release": Listed("release", "Release checked outputs: request, two blind reviews, publish."),
    "dashboard": Listed(
        "dashboard",
        "Build a static, offline, accessible HTML dashboard from a project's released outputs.",
    ),
    "serve": Listed(
        "serve", "Serve the API: FHIR R4 for care, self-service and the directory, until stopped."
    ),
    "link": Listed(
        "serve",
        "Tie an account to an organisation (ODS code) or to the person's NHS number (custodian).",
    ),
    "client": Listed("serve", "Systems that get API tokens with OAuth2 client credentials"),
    "environment": Listed(
        "environment", "An environment: initialise it, once, with its first custodian."
    ),
    "user": Listed("trust", "People: verified accounts with roles, expiry and training dates."),
    "token": Listed("trust", "Personal access tokens: issue and revoke."),
    "project": Listed("trust", "Project applications, signed decisions and published waits."),
    "opt-out": Listed("trust", "National data opt-outs, type-1 objections and wearable consent."),
    "ledger": Listed(
        "trust", "The public, tamper-evident ledger: verify, prove, export, publish, view."
    ),
    # Running the environment: settings and checks, sign-in, people's and data's records,
    # backups and the end of it, incidents and usage (docs/running-an-environment.md).
    "settings": Listed(
        "operate",
        "Every deployment setting, checked, with where its value came from (``--format env``: "
        "as variables for a service's EnvironmentFile).",
    ),
    "doctor": Listed(
        "operate", "Check this installation against its configuration; exit 1 if anything fails."
    ),
    "mfa": Listed("operate", "Your second factor: a TOTP authenticator app."),
    "sign-in": Listed(
        "operate", "Exchange your credential and a current code for a signed-in token (12 hours)."
    ),
    "onboarding": Listed("operate", "Onboarding records: identity checks, training, terms of use."),
    "datasets": Listed("operate", "The datasets register: what is held, whose, under what terms."),
    "database": Listed("operate", "The control plane's schema: upgrade and roll back."),
    "backup": Listed("operate", "Full backups of an environment, sealed with a key of their own."),
    "restore": Listed(
        "operate", "Restore a backup into a new, empty data directory, and verify its ledger there."
    ),
    "decommission": Listed(
        "operate", "Destroy this environment's data and keys, leaving its public ledger verifiable."
    ),
    "incident": Listed(
        "incidents",
        "Incidents: their register, and suspending the environment while one is handled.",
    ),
    "security-log": Listed(
        "incidents",
        "Refused sign-ins, account and role changes, identifiable reads and administrative "
        "actions in a period, for review (a data custodian).",
    ),
    "usage": Listed(
        "operate",
        "Who used the environment in a period, what each project ran and released, what was "
        "loaded, and the storage each takes now (a data custodian).",
    ),
}


def command_modules() -> list[str]:
    """Every module of ``fivesafes.cli`` that may define commands (all but the machinery)."""
    import fivesafes.cli

    machinery = {"common", "commands"}
    found = pkgutil.iter_modules(fivesafes.cli.__path__)
    return sorted(info.name for info in found if info.name not in machinery)


def load_every_command() -> None:
    """Import every command's module: for tools that walk the whole command tree, and for
    processes that fork a child per command and would rather import once."""
    for module in command_modules():
        importlib.import_module(f"fivesafes.cli.{module}")


class LazyGroup(TyperGroup):
    """The top-level `fivesafes` group: lists every command from :data:`COMMANDS` and imports
    a command's module the first time the command itself is asked for."""

    _listing = False

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the command line. Off a terminal a usage error ("No such command 'lod'. Did you
        mean 'load'?") is click's plain lines: rich's panel would wrap the message at whatever
        width it guesses, splitting a name or a suggestion across lines for a script to read."""
        from typer.core import _main

        return _main(
            self,
            args=args,
            prog_name=prog_name,
            complete_var=complete_var,
            standalone_mode=standalone_mode,
            windows_expand_args=windows_expand_args,
            rich_markup_mode=self.rich_markup_mode if sys.stderr.isatty() else None,
            **extra,
        )

    def list_commands(self, ctx: Context) -> list[str]:
        unlisted = [name for name in self.commands if name not in COMMANDS]
        return [*COMMANDS, *unlisted]

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        if self._listing and cmd_name in COMMANDS:
            return TyperCommand(cmd_name, help=COMMANDS[cmd_name].summary)
        if cmd_name not in self.commands:
            listed = COMMANDS.get(cmd_name)
            self._load([listed.module] if listed else command_modules())
        return self.commands.get(cmd_name)

    def format_help(self, ctx: Context, formatter: HelpFormatter) -> None:
        self._listing = True  # the list of commands is the table's: no module is imported
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def _load(self, modules: list[str]) -> None:
        """Import modules (each registers its commands on the one app), then add the click
        commands typer builds for them."""
        import typer.main

        from fivesafes.cli.common import app

        for module in modules:
            importlib.import_module(f"fivesafes.cli.{module}")
        built = typer.main.get_command(app)
        assert isinstance(built, TyperGroup)
        for name, command in built.commands.items():
            self.commands.setdefault(name, command)
