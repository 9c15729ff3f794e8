"""What each kind of ledger entry holds, and which of it the public view shows: one definition.

Every subject is checked against its kind when it is appended: a field the kind does not
declare, or a required field left out, is refused with a message naming both. The public view
(:mod:`.public`) shows exactly the fields declared ``public`` here. So the code that writes an
entry and the view that shows it cannot disagree about a field's name again (issue 18, hole 11:
job entries were written with ``project`` and ``git_commit`` while the view kept ``project_id``
and ``commit``, so the public saw no job's project or commit). A writer builds its subject with
:meth:`EntryKind.subject`, which applies the same check at the call site.

``renamed`` maps field names that entries already in some log carry (an append-only log keeps
them for ever) to today's names, so the public view shows those old entries too; new entries
must use today's names.

Declared field names are themselves checked against the patient-data guard when this module
loads, so no kind can declare a field called ``nhs_number`` or ``address``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fivesafes.ledger.entry import KEY_INIT, KEY_ROTATION, PatientDataError, names_personal_data


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


@dataclass(frozen=True)
class EntryKind:
    """One kind of entry: its public fields, the fields it logs but does not show, which must be
    present, and the old names of renamed fields."""

    name: str
    public: frozenset[str] = frozenset()
    detail: frozenset[str] = frozenset()
    """Logged (so in the published log, which is complete) but not shown in the public view."""
    required: frozenset[str] = frozenset()
    receipt: bool = False
    """The submitter gets a receipt with a signed checkpoint covering the entry at once."""
    internal: bool = False
    """Written by the ledger itself (its key chain), never by a caller."""
    promises: tuple[str, str] | None = None
    """(kind field, subject field) of an entry that promises another entry's subject (an
    ``intent`` names its outcome's kind and subject): that subject is checked against its own
    kind when the promise is logged, so an outcome written after the change cannot be refused."""
    renamed: tuple[tuple[str, str], ...] = ()
    fields: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", self.public | self.detail)
        if self.public & self.detail:
            raise ValueError(f"{self.name}: {sorted(self.public & self.detail)} public and detail")
        if not self.required <= self.fields:
            raise ValueError(f"{self.name}: required {sorted(self.required - self.fields)} unknown")
        for old, new in self.renamed:
            if new not in self.fields or old in self.fields:
                raise ValueError(f"{self.name}: renamed {old!r} -> {new!r} does not fit the fields")
        personal = sorted(f for f in self.fields if names_personal_data(f))
        if personal:
            raise ValueError(f"{self.name}: fields {personal} name personal data")

    def check(self, subject: Mapping[str, Any]) -> None:
        """Raise ValueError unless ``subject`` has only declared fields and every required one."""
        if not self.fields.issuperset(subject):
            extra = subject.keys() - self.fields
            personal = [k for k in extra if not isinstance(k, str) or names_personal_data(k)]
            if personal:
                raise PatientDataError(
                    f"subject.{personal[0]}: a key naming personal data (or not a string), "
                    "which the ledger never holds"
                )
            unknown = sorted(str(k) for k in extra)
            raise ValueError(
                f"a {self.name!r} ledger entry has no field {', '.join(unknown)}; "
                f"its fields are {', '.join(sorted(self.fields))} (fivesafes.ledger.schema)"
            )
        if not subject.keys() >= self.required:
            missing = sorted(self.required - subject.keys())
            raise ValueError(f"a {self.name!r} ledger entry needs {', '.join(missing)}")
        if self.promises is not None:
            self._check_promise(subject)

    def _check_promise(self, subject: Mapping[str, Any]) -> None:
        kind_field, subject_field = self.promises or ("", "")
        promised = ENTRY_KINDS.get(subject[kind_field])
        outcome = subject[subject_field]
        if promised is None or promised.internal or not isinstance(outcome, Mapping):
            raise ValueError(
                f"a {self.name!r} entry must promise a subject of a kind of entry, "
                f"not {subject[kind_field]!r}"
            )
        promised.check({**outcome, "intent": 0})

    def subject(self, **fields: Any) -> dict[str, Any]:
        """A checked subject for this kind, for the code that writes the entry."""
        self.check(fields)
        return fields

    def public_fields(self, subject: Mapping[str, Any]) -> dict[str, Any]:
        """The public part of a stored subject, old field names read as today's."""
        current = dict(subject)
        for old, new in self.renamed:
            if old in current and new not in current:
                current[new] = current.pop(old)
        return {k: current[k] for k in sorted(self.public) if k in current}


_KINDS = (
    EntryKind(
        "load",
        detail=_names(
            "load_id files totals what file_sha256 rows added by_kind kind scope granted intent "
            # the API's self-service and directory writes, and people's own choices:
            "resource version content_sha256 paths request_id patient kept rejected ods_code "
            "choice made"
        ),
    ),
    EntryKind(
        "account",
        public=_names("person_id public_name role organisation change"),
        detail=_names(
            "token_id expires key_id public_key ods_code client_id scopes "
            # factor..method: the lifetime of a person's access (fivesafes.governance.people)
            "factor course until terms_version terms_sha256 method"
        ),
        required=_names("person_id change"),
    ),
    EntryKind(
        "login",
        detail=_names("provider action outcome token_id"),
        required=_names("provider action outcome"),
    ),
    EntryKind(
        "project",
        public=_names("project_id title purpose organisation status members datasets"),
        detail=_names("version form_sha256"),
        required=_names("project_id title purpose status"),
    ),
    EntryKind(
        "approval",
        public=_names("project_id person_id decision what until waited_seconds"),
        detail=_names(
            "version form_sha256 reasons_sha256 key_id decided_at nonce expires_at signature intent"
        ),
        required=_names("project_id person_id decision"),
    ),
    EntryKind(
        "job",
        public=_names("job_id project_id action commit status outputs"),
        detail=_names("command intent study_sha256 error error_sha256"),
        required=_names("job_id project_id action commit status outputs"),
        receipt=True,
        renamed=(("project", "project_id"), ("git_commit", "commit")),
    ),
    EntryKind(
        "release_request",
        public=_names("release_id project_id job_id files"),
        detail=_names("request_sha256 justification_sha256"),
        required=_names("release_id project_id files"),
        receipt=True,
    ),
    EntryKind(
        "review",
        public=_names("release_id decision"),
        detail=_names(
            "round vote_sha256 reason_sha256 request_sha256 comments_sha256 person_id key_id "
            "nonce voted_at expires_at signature intent"
        ),
        required=_names("release_id"),
    ),
    EntryKind(
        "release",
        public=_names("release_id project_id files"),
        detail=_names("manifest_sha256 intent"),
        required=_names("release_id project_id files"),
        receipt=True,
    ),
    EntryKind(
        "identifiable_read",
        # a custodian's look at the quarantine (table ...), or a read of one person's record
        # through the API (patient ...), with the relationship or break-glass reason behind it
        detail=_names(
            "table rule limit patient resource_types relationship client_id ods_code "
            "break_glass reason reason_sha256"
        ),
    ),
    # A data custodian's own extract from the store, outside any project (issue 18, hole 1): the
    # public see that one was made, for what purpose and by which definition (its query model's
    # hash); how many rows it held is a count of people, so it is logged but not shown.
    EntryKind(
        "extract",
        public=_names("purpose query_sha256"),
        detail=_names("file rows"),
        required=_names("purpose query_sha256 rows"),
    ),
    # Every use case the environment refuses, whatever refused it (issue 18, hole 16): who was
    # refused (the actor), doing what, and why; not public, like the logins it sits beside.
    EntryKind(
        "refusal",
        detail=_names("action kind reason reason_sha256 token_id"),
        required=_names("action kind reason"),
    ),
    # Operating an environment (issue 15): a project's documents, ceilings and closure; the
    # datasets register; incidents (a public notice only where one affects the public); and the
    # environment's own life: backups, restores and its decommissioning, said publicly.
    EntryKind(
        "project_record",
        public=_names("project_id change document until"),
        detail=_names("reference_sha256 ceilings archive_sha256 removed"),
        required=_names("project_id change"),
    ),
    EntryKind(
        "dataset",
        public=_names("dataset owner sensitivity legal_basis retention_until change delegate"),
        detail=_names("agreement_sha256 rows resources intent authority_sha256"),
        required=_names("dataset change"),
    ),
    EntryKind(
        "incident",
        public=_names("incident_id change notice"),
        detail=_names("category severity entries summary_sha256 root_cause_sha256"),
        required=_names("incident_id change"),
    ),
    EntryKind(
        "environment",
        public=_names("change statement"),
        detail=_names("archive_sha256 files size"),
        required=_names("change"),
    ),
    # A code list's version published for studies to use (issue 14): which list, which version,
    # of which code system, and the hash of its codes; the publisher is the entry's actor.
    EntryKind(
        "codelist",
        public=_names("slug version code_system codes codes_sha256 change"),
        detail=_names("intent"),
        required=_names("slug version code_system codes codes_sha256 change"),
    ),
    # A study's code at a commit that ran, given to a new repository from the open library
    # (issue 14): which project and commit were reused, publicly; the new repository's name and
    # its one commit are logged; the analyst who reused it is the entry's actor.
    EntryKind(
        "reuse",
        public=_names("project_id commit"),
        detail=_names("repository seeded intent"),
        required=_names("project_id commit repository seeded"),
    ),
    # A command that changes state as well as the ledger logs an intent first, then its outcome
    # (an entry of the operation's own kind, with ``intent`` set) or ``abandoned`` (.intents).
    EntryKind(
        "intent",
        detail=_names("operation key outcome"),
        required=_names("operation key outcome"),
        promises=("operation", "outcome"),
    ),
    EntryKind(
        "abandoned",
        detail=_names("operation key intent reason"),
        required=_names("operation key intent"),
    ),
    EntryKind(KEY_INIT, detail=_names("key"), required=_names("key"), internal=True),
    EntryKind(
        KEY_ROTATION,
        detail=_names("old_key new_key statement handover_until"),
        required=_names("old_key new_key statement"),
        internal=True,
    ),
)

ENTRY_KINDS: Mapping[str, EntryKind] = {kind.name: kind for kind in _KINDS}
"""Every kind of entry the ledger holds, by name."""

KINDS = frozenset(k.name for k in _KINDS if not k.internal)
"""Kinds of event a caller may append: every arrow the design says the ledger records."""

RECEIPT_KINDS = frozenset(k.name for k in _KINDS if k.receipt)
PUBLIC_KINDS = frozenset(k.name for k in _KINDS if k.public)
