"""Code lists as use cases: search the codes in the data, build a list, version, publish, export.

An analyst builds a code list the way OpenCodelists lets them, but from the codes that occur in
this environment's data: :func:`search` finds codes by term or code, with how many people and
records have each, under the one rule for code usage (:func:`~.catalogue.usage_in`: a code held
by fewer than the disclosure profile's threshold of people is not listed, only counted among
those left out, and every count is rounded), so no search tells anyone that a few people (one
to nine, under the default profile's threshold of ten) have a code, or even that anyone does.

A list (:func:`new`) has a slug, a name and one code system. Every change (:func:`add`,
:func:`remove`) is a new version, written once and never changed, so what a study used can
always be shown. The list's owner publishes a version (:func:`publish`: a ``codelist`` entry in
the ledger, with the publisher as its actor), and a published version is exported as
OpenCodelists' CSV, ``code,term`` (:func:`export_csv`), into the study's folder, where the
definition reads it with ``codelist_from_csv`` as any OpenCodelists download.

Who: an analyst on any approved, unexpired project may search and build (the search is a view
of the data, so it is for people already trusted with some of it); only a list's owner changes
or publishes it. Publishing needs no second person: a code list releases no data, it is open
code that a study's reviewers and output checkers read, and what it selects only leaves
through a release, which is checked twice.

What anyone may see, without signing in (:func:`published`, :func:`published_list`,
:func:`published_csv`, for the public portal): each list's published versions, with their
codes, date and publisher by public name, as the ledger's public ``codelist`` entries already
say; never a version not published (work in progress is its owner's), and never a count of
people. These take no credential and log nothing; what cannot be found is a ``Refused``
(``invalid``) that is not logged, as for the public project pages (:mod:`.public`).

A job tells its analyst, in its log and on its page, which published version each of its code
lists is, and warns of a list that matches no one in the data, or too few to count
(:func:`job_checks`), by the same rule as the search, so the warning says nothing a search
would not.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from fivesafes.disclosure import profile as named_profile
from fivesafes.disclosure.public import public_count
from fivesafes.environment.catalogue import coded_columns, known_terms, usage_in
from fivesafes.environment.public import public_names
from fivesafes.environment.refusals import RefusalKind, Refused, refusing
from fivesafes.failpoints import failpoint
from fivesafes.governance import Action, ControlPlane, Principal, authorise_on_any_project
from fivesafes.governance.codelist_tables import (
    CodelistPublication,
    CodelistRecord,
    CodelistVersion,
)
from fivesafes.governance.tables import Account
from fivesafes.ledger.intents import Intent
from fivesafes.ledger.schema import ENTRY_KINDS
from fivesafes.model import TABLES, CodeSystem
from fivesafes.model.codes import code_problem
from fivesafes.query.codelists import SYSTEM_NAMES, system_name
from fivesafes.query.codes_used import CodelistUse, codelists_used

if TYPE_CHECKING:
    from fivesafes.environment.core import Environment
    from fivesafes.query.serial import Query

SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
CSV_HEADER = ("code", "term")
PUBLICATION = "codelist"
"""The ledger kind of a publication: the outcome entry of its recoverable operation."""
"""OpenCodelists' CSV shape for a list without categories."""


@dataclass(frozen=True, slots=True)
class CodeHit:
    """One code found in one coded column, with its public counts."""

    code: str
    term: str | None
    system: str
    table: str
    column: str
    patients: int
    records: int


@dataclass(frozen=True, slots=True)
class CodeSearch:
    """What a search found; ``left_out`` says, per ``table.column``, how many codes (of any
    term) are not listed for being held by fewer than ``threshold`` people."""

    term: str
    system: str | None
    hits: tuple[CodeHit, ...]
    left_out: dict[str, int]
    profile: str
    threshold: int


@dataclass(frozen=True, slots=True)
class Code:
    code: str
    term: str


@dataclass(frozen=True, slots=True)
class VersionView:
    """One version of a list: its codes, what it changed, who made it, and its publication."""

    slug: str
    version: int
    system: str
    codes: tuple[Code, ...]
    codes_sha256: str
    change: str
    created_by: str
    created_at: datetime
    published_by: str | None
    published_at: datetime | None
    ledger_index: int | None

    @property
    def reference(self) -> str:
        """How a person names this version: ``slug/version``."""
        return f"{self.slug}/{self.version}"

    @property
    def published(self) -> bool:
        return self.published_at is not None


@dataclass(frozen=True, slots=True)
class CodelistView:
    """A list and every version of it, oldest first (none until codes are first added)."""

    slug: str
    name: str
    system: str
    owner: str
    created_at: datetime
    versions: tuple[VersionView, ...]

    @property
    def latest(self) -> VersionView | None:
        return self.versions[-1] if self.versions else None


@dataclass(frozen=True, slots=True)
class PublishedVersion:
    """A published version as the public sees it: its publisher by public name."""

    slug: str
    version: int
    system: str
    codes: tuple[Code, ...]
    codes_sha256: str
    published_by: str
    published_at: datetime
    ledger_index: int

    @property
    def reference(self) -> str:
        return f"{self.slug}/{self.version}"


@dataclass(frozen=True, slots=True)
class PublishedList:
    """A list as the public sees it: its published versions only, oldest first."""

    slug: str
    name: str
    system: str
    versions: tuple[PublishedVersion, ...]

    @property
    def latest(self) -> PublishedVersion:
        return self.versions[-1]


def _system(name: str) -> CodeSystem:
    system = SYSTEM_NAMES.get(name.strip().lower())
    if system is None:
        raise ValueError(f"unknown code system {name!r}: name one of {', '.join(SYSTEM_NAMES)}")
    return system


def search(env: Environment, credential: str, term: str, system: str | None = None) -> CodeSearch:
    """The codes in the data whose code or term contains ``term`` (of ``system`` when given:
    ``snomedct``, ``icd10``, ``dmd``...), with their people and records counted under the
    environment's disclosure profile, most people first within each column."""
    with refusing(env.cp, "search_codes"):
        _builder(env, credential)
        if not term.strip():
            raise ValueError("give a term (or part of a code) to search for")
        chosen = _system(system) if system is not None else None
        rules = named_profile(env.settings.disclosure_profile)
        columns = [c for c in coded_columns(chosen) if c[2] in _clinical_uris()]
        if not env.data_dir.database.is_file():
            raise Refused("no data is loaded yet: nothing to search", RefusalKind.UNAVAILABLE)
        with env.store(read_only=True) as store:
            found, left_out = usage_in(store, columns, term, rules)
        hits = tuple(
            CodeHit(
                u.code,
                u.term,
                system_name(CodeSystem(u.code_system)),
                u.table,
                u.column,
                u.patients or 0,
                u.records or 0,
            )
            for u in found
        )
        return CodeSearch(
            term,
            system_name(chosen) if chosen else None,
            hits,
            left_out,
            rules.name,
            rules.threshold,
        )


def _clinical_uris() -> frozenset[str]:
    """The code systems a code list can be of (not organisations or areas)."""
    return frozenset(s.value for s in SYSTEM_NAMES.values())


def _builder(env: Environment, credential: str) -> Principal:
    """The caller, if an analyst on an approved, unexpired project; refused otherwise."""
    return authorise_on_any_project(env.cp, credential, Action.BUILD_CODELISTS)


def _owned(env: Environment, session: Session, me: Principal, slug: str) -> CodelistRecord:
    record = _record(session, slug)
    if record.owner != me.person_id:
        raise env.cp.refuse(
            me, Action.BUILD_CODELISTS, f"code list {slug} is {record.owner}'s to change"
        )
    return record


def _record(session: Session, slug: str) -> CodelistRecord:
    record = session.get(CodelistRecord, slug)
    if record is None:
        raise KeyError(f"no code list {slug!r}")
    return record


def slug_for(name: str) -> str:
    """The slug a name gives when none is chosen: lower case, words joined by hyphens."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:64].strip("-")


def new(
    env: Environment, credential: str, name: str, system: str, slug: str | None = None
) -> CodelistView:
    """A new, empty list of ``system`` codes, owned by the caller; ``slug`` (default: from the
    name) is how studies and commands will name it, and cannot be taken twice."""
    with refusing(env.cp, "new_codelist"):
        me = _builder(env, credential)
        if not name.strip():
            raise ValueError("a code list needs a name")
        chosen = slug if slug is not None else slug_for(name)
        if not SLUG.fullmatch(chosen):
            raise ValueError(
                f"{chosen!r} cannot be a code list's slug: use lower-case letters, digits and "
                "hyphens (at most 64), starting and ending with a letter or digit"
            )
        code_system = system_name(_system(system))
        with env.cp.transaction() as session:
            if session.get(CodelistRecord, chosen) is not None:
                raise ValueError(f"a code list {chosen!r} already exists: choose another slug")
            session.add(CodelistRecord(
                slug=chosen, name=name.strip(), code_system=code_system,
                owner=me.person_id, created_at=env.cp.now(),
            ))  # fmt: skip
        return _view(env, chosen)


def _codes_of(row: CodelistVersion) -> dict[str, str]:
    return {code: term for code, term in orjson.loads(row.codes)}


def codes_sha256(codes: Iterable[str]) -> str:
    """The hash of a set of codes, the part of a list that decides whom a study selects (its
    terms are words for people): how a study's list is matched to a published version."""
    return hashlib.sha256("\n".join(sorted(set(codes))).encode("utf-8")).hexdigest()


def _latest(session: Session, slug: str) -> CodelistVersion | None:
    return session.scalars(
        select(CodelistVersion)
        .where(CodelistVersion.slug == slug)
        .order_by(CodelistVersion.version.desc())
        .limit(1)
    ).first()


def _terms_for(env: Environment, system: CodeSystem) -> dict[str, str]:
    if not env.data_dir.database.is_file():
        return {}
    with env.store(read_only=True) as store:
        return {c: t for (s, c), t in known_terms(store).items() if s == system.value}


def _change(
    env: Environment, credential: str, slug: str, added: Mapping[str, str | None], removed: set[str]
) -> VersionView:
    """A new version: the latest's codes with ``added`` and without ``removed``."""
    me = _builder(env, credential)
    with env.cp.transaction() as session:
        record = _owned(env, session, me, slug)
        system = SYSTEM_NAMES[record.code_system]
        for code in added:
            problem = code_problem(system, code)
            if problem:
                raise ValueError(f"code list {slug}: {problem}")
        latest = _latest(session, slug)
        codes = _codes_of(latest) if latest is not None else {}
        missing = sorted(removed - set(codes))
        if missing:
            raise ValueError(f"code list {slug} has no code {', '.join(missing)} to remove")
        known = _terms_for(env, system) if any(t is None for t in added.values()) else {}
        new_codes = {c: (t if t is not None else known.get(c, "")) for c, t in added.items()}
        fresh = sorted(c for c in new_codes if c not in codes or codes[c] != new_codes[c])
        if not fresh and not removed:
            raise ValueError(f"code list {slug} already holds exactly these codes: no change")
        merged = {c: t for c, t in (codes | new_codes).items() if c not in removed}
        said = []
        if fresh:
            said.append(f"added {', '.join(fresh)}")
        if removed:
            said.append(f"removed {', '.join(sorted(removed))}")
        version = (latest.version if latest is not None else 0) + 1
        session.add(CodelistVersion(
            slug=slug, version=version,
            codes=orjson.dumps(sorted(merged.items())).decode(),
            codes_sha256=codes_sha256(merged), change="; ".join(said),
            created_by=me.person_id, created_at=env.cp.now(),
        ))  # fmt: skip
    return _version(env, slug, version)


def add(
    env: Environment, credential: str, slug: str, codes: Mapping[str, str | None]
) -> VersionView:
    """A new version of the caller's list with ``codes`` added (each with its term, or None to
    take the term the environment knows for it); every code is checked as one of the list's
    system. A code not in the data may be added: a list can be meant for other data too."""
    with refusing(env.cp, "change_codelist"):
        if not codes:
            raise ValueError("name at least one code to add")
        cleaned = {c.strip(): (t.strip() if t is not None else None) for c, t in codes.items()}
        return _change(env, credential, slug, cleaned, set())


def remove(env: Environment, credential: str, slug: str, codes: Iterable[str]) -> VersionView:
    """A new version of the caller's list without ``codes``."""
    with refusing(env.cp, "change_codelist"):
        gone = {c.strip() for c in codes}
        if not gone:
            raise ValueError("name at least one code to remove")
        return _change(env, credential, slug, {}, gone)


def parse_reference(reference: str) -> tuple[str, int | None]:
    """``slug/version`` (or a bare ``slug``, meaning its latest version) as (slug, version)."""
    slug, _, version = reference.strip().partition("/")
    if version and not version.isdigit():
        raise ValueError(f"{reference!r}: a version is a number, as in {slug}/2")
    return slug, int(version) if version else None


def publish(env: Environment, credential: str, reference: str) -> VersionView:
    """Publish a version of the caller's list (``slug/version``; a bare slug publishes the
    latest): a ``codelist`` entry in the ledger, the publisher its actor. Publishing a version
    again returns its publication, with no second entry; a list with no codes has nothing to
    publish.

    A recoverable operation (:mod:`fivesafes.ledger.intents`), as a project decision is: its
    ``intent`` entry, holding the ``codelist`` entry to come, is logged before the publication
    row is written and the ``codelist`` entry after it commits, so a kill at any point is
    settled by recovery from the row (:func:`publication_committed`) and a retry publishes once.
    The row names its ``codelist`` entry once that is logged (its intent until then, and until a
    retry if a kill came in between)."""
    with refusing(env.cp, "publish_codelist"):
        me = _builder(env, credential)
        slug, wanted = parse_reference(reference)
        with env.cp.transaction() as session:
            _owned(env, session, me, slug)
            version = _version_row(session, slug, wanted).version
        resolve = partial(publication_committed, env.cp)
        with env.cp.operation(PUBLICATION, f"{slug}/{version}", resolve) as operation:
            with env.cp.transaction() as session:
                record = _owned(env, session, me, slug)
                row = _version_row(session, slug, version)
                fresh = session.get(CodelistPublication, (slug, version)) is None
                if fresh:
                    subject = ENTRY_KINDS[PUBLICATION].subject(
                        slug=slug,
                        version=version,
                        code_system=record.code_system,
                        codes=len(_codes_of(row)),
                        codes_sha256=row.codes_sha256,
                        change="published",
                    )
                    intent = operation.intend(subject, me.person_id)
                    failpoint("codelist.after-intent")
                    session.add(CodelistPublication(
                        slug=slug, version=version, published_by=me.person_id,
                        published_at=env.cp.now(), ledger_index=intent.index,
                    ))  # fmt: skip
            if fresh:
                failpoint("codelist.after-commit")
                operation.commit()
                failpoint("codelist.after-outcome")
        _name_outcome(env, slug, version)
        return _version(env, slug, version)


def _name_outcome(env: Environment, slug: str, version: int) -> None:
    """Point the publication at its ``codelist`` entry, where it still names the intent (just
    published, or a kill came between the outcome entry and this)."""
    with env.cp.transaction() as session:
        published = session.get(CodelistPublication, (slug, version))
        assert published is not None
        at = published.ledger_index
        named = orjson.loads(next(env.cp.ledger.entries(at, at + 1)))
        if named["kind"] == PUBLICATION:
            return
        for raw in env.cp.ledger.entries(published.ledger_index + 1, None):
            entry = orjson.loads(raw)
            if entry["kind"] == PUBLICATION and entry["subject"].get("intent") == named["index"]:
                published.ledger_index = entry["index"]
                return


def publication_committed(cp: ControlPlane, intent: Intent) -> bool:
    """Recovery's look at the control plane: is the publication an intent announced recorded?
    A version is published at most once, so its publication row is this one."""
    promised = intent.outcome
    with cp.transaction() as session:
        found = session.get(CodelistPublication, (promised["slug"], promised["version"]))
        return found is not None


def _version_row(session: Session, slug: str, version: int | None) -> CodelistVersion:
    _record(session, slug)
    row = (
        _latest(session, slug) if version is None else session.get(CodelistVersion, (slug, version))
    )
    if row is None:
        if version is None:
            raise ValueError(f"code list {slug} has no codes yet: add some first")
        raise KeyError(f"code list {slug} has no version {version}")
    return row


def show(env: Environment, credential: str, slug: str) -> CodelistView:
    """A list with every version (codes, change, author, publication)."""
    with refusing(env.cp, "show_codelist"):
        _builder(env, credential)
        return _view(env, slug)


def listing(env: Environment, credential: str) -> tuple[CodelistView, ...]:
    """Every list, by slug."""
    with refusing(env.cp, "list_codelists"):
        _builder(env, credential)
        with env.cp.transaction() as session:
            slugs = list(session.scalars(select(CodelistRecord.slug).order_by(CodelistRecord.slug)))
        return tuple(_view(env, slug) for slug in slugs)


def export_csv(env: Environment, credential: str, reference: str) -> str:
    """A published version (``slug/version``; a bare slug: its latest published version) as
    OpenCodelists' CSV, ``code,term``, one row a code in code order; what a study keeps in its
    folder and reads with ``codelist_from_csv``. A version not yet published is refused: what
    a study uses must be a version anyone can look up."""
    with refusing(env.cp, "export_codelist"):
        _builder(env, credential)
        slug, wanted = parse_reference(reference)
        view = _view(env, slug)
        published = [v for v in view.versions if v.published]
        if wanted is not None:
            chosen = next((v for v in view.versions if v.version == wanted), None)
            if chosen is None:
                raise KeyError(f"code list {slug} has no version {wanted}")
            if not chosen.published:
                raise ValueError(f"{chosen.reference} is not published: publish it first")
        elif not published:
            raise ValueError(f"code list {slug} has no published version: publish one first")
        else:
            chosen = published[-1]
        return to_csv(chosen.codes)


def published(env: Environment) -> tuple[PublishedList, ...]:
    """Every list with a published version, by slug, as anyone may see it."""
    with env.cp.transaction() as session:
        slugs = sorted(set(session.scalars(select(CodelistPublication.slug))))
    return tuple(found for slug in slugs if (found := _public(env, slug)) is not None)


def published_list(env: Environment, slug: str) -> PublishedList:
    """One list as anyone may see it; refused (not logged) if it has no published version."""
    found = _public(env, slug) if SLUG.fullmatch(slug) else None
    if found is None:
        raise Refused(f"no published code list {slug!r}", RefusalKind.INVALID)
    return found


def published_csv(env: Environment, reference: str) -> str:
    """A published version (``slug/version``; a bare slug, its latest) as OpenCodelists' CSV,
    for anyone; refused (not logged) for a version not published."""
    try:
        slug, wanted = parse_reference(reference)
    except ValueError as error:
        raise Refused(str(error), RefusalKind.INVALID) from None
    listed = published_list(env, slug)
    chosen = next((v for v in listed.versions if v.version == wanted), None)
    if wanted is None:
        chosen = listed.latest
    elif chosen is None:
        raise Refused(f"{slug}/{wanted} is not a published version", RefusalKind.INVALID)
    return to_csv(chosen.codes)


def _public(env: Environment, slug: str) -> PublishedList | None:
    try:
        view = _view(env, slug)
    except KeyError:
        return None
    with env.cp.transaction() as session:
        names = public_names(session)
    versions = tuple(
        PublishedVersion(
            v.slug,
            v.version,
            v.system,
            v.codes,
            v.codes_sha256,
            names.get(v.published_by or "", v.published_by or ""),
            v.published_at,
            v.ledger_index if v.ledger_index is not None else 0,
        )
        for v in view.versions
        if v.published_at is not None
    )
    return PublishedList(view.slug, view.name, view.system, versions) if versions else None


def to_csv(codes: Iterable[Code]) -> str:
    """Codes as OpenCodelists' CSV: a ``code,term`` header, then a row a code."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    writer.writerows((c.code, c.term) for c in codes)
    return out.getvalue()


def _view(env: Environment, slug: str) -> CodelistView:
    with env.cp.transaction() as session:
        record = _record(session, slug)
        rows = session.scalars(
            select(CodelistVersion)
            .where(CodelistVersion.slug == slug)
            .order_by(CodelistVersion.version)
        ).all()
        published = {
            p.version: p
            for p in session.scalars(
                select(CodelistPublication).where(CodelistPublication.slug == slug)
            )
        }
        versions = tuple(_version_view(record, row, published.get(row.version)) for row in rows)
        return CodelistView(
            record.slug, record.name, record.code_system, record.owner, record.created_at, versions
        )


def _version(env: Environment, slug: str, version: int) -> VersionView:
    return next(v for v in _view(env, slug).versions if v.version == version)


def _version_view(
    record: CodelistRecord, row: CodelistVersion, published: CodelistPublication | None
) -> VersionView:
    return VersionView(
        row.slug,
        row.version,
        record.code_system,
        tuple(Code(c, t) for c, t in sorted(_codes_of(row).items())),
        row.codes_sha256,
        row.change,
        row.created_by,
        row.created_at,
        published.published_by if published else None,
        published.published_at if published else None,
        published.ledger_index if published else None,
    )


def _published_as(
    session: Session, codes: Iterable[str], system: CodeSystem | None
) -> list[tuple[str, int, str, datetime]]:
    """The published versions (slug, version, publisher, date) holding exactly ``codes``, of
    ``system`` (of any system when None)."""
    query = (
        select(
            CodelistVersion.slug,
            CodelistVersion.version,
            CodelistPublication.published_by,
            CodelistPublication.published_at,
        )
        .join(CodelistRecord, CodelistRecord.slug == CodelistVersion.slug)
        .join(
            CodelistPublication,
            (CodelistPublication.slug == CodelistVersion.slug)
            & (CodelistPublication.version == CodelistVersion.version),
        )
        .where(CodelistVersion.codes_sha256 == codes_sha256(codes))
        .order_by(CodelistVersion.slug, CodelistVersion.version)
    )
    if system is not None:
        query = query.where(CodelistRecord.code_system == system_name(system))
    return [(s, v, by, at) for s, v, by, at in session.execute(query).all()]


@dataclass(frozen=True, slots=True)
class Publication:
    """A published version, by reference, with its publisher's public name and date."""

    reference: str
    system: str
    published_by: str
    published_at: datetime


def published_holding(
    env: Environment, codes: Iterable[str], system: CodeSystem | None
) -> list[Publication]:
    """The published versions that hold exactly ``codes`` (of ``system``, or of any system):
    what the open library says of a code list file a study reads. Public: a publication is."""
    with env.cp.transaction() as session:
        found = _published_as(session, codes, system)
        names = {a.person_id: a.public_name for a in session.scalars(select(Account))}
        systems = {
            r.slug: r.code_system
            for r in session.scalars(
                select(CodelistRecord).where(CodelistRecord.slug.in_({s for s, *_ in found}))
            )
        }
    return [Publication(f"{s}/{v}", systems[s], names.get(by, by), at) for s, v, by, at in found]


def _people_with(env: Environment, use: CodelistUse) -> int:
    """How many people have a row holding any of the list's codes in its column."""
    table = TABLES[use.table]
    column = table.column(use.column).name  # a column of the model, never the document's
    with env.store(read_only=True) as store:
        found = store.con.execute(
            f"""SELECT count(DISTINCT patient_id) FROM analysis.{table.name}
                WHERE list_contains(?, CAST("{column}" AS VARCHAR))""",
            [sorted(use.codes)],
        ).fetchone()
    return int(found[0]) if found else 0


@dataclass(frozen=True, slots=True)
class ListCheck:
    """What the environment found of one code list a job's definition used: the published
    versions holding exactly its codes (``slug``, version, publisher, day), and whether fewer
    people than the disclosure threshold have any of its codes (``too_few``: none or a few, it
    does not say which)."""

    codelist: str
    table: str
    column: str
    codes: int
    published: tuple[tuple[str, int, str, str], ...]
    too_few: bool
    threshold: int

    @property
    def lines(self) -> list[str]:
        """What the job's log says of it."""
        where = f"code list {self.codelist} (on {self.table}.{self.column})"
        if self.published:
            said = ", ".join(f"{s}/{v}, published by {by} on {on}" for s, v, by, on in
                             self.published)  # fmt: skip
            found = [f"{where} is {said}"]
        else:
            found = [f"{where} is not a code list published in this environment"]
        if self.too_few:
            found.append(
                f"warning: {where}: fewer than {self.threshold} people in the data have any of "
                f"its {self.codes} codes, perhaps none; check its codes and code system"
            )
        return found

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self))

    @classmethod
    def from_json(cls, line: str) -> ListCheck:
        given = orjson.loads(line)
        given["published"] = tuple(tuple(p) for p in given["published"])
        return cls(**given)


def job_checks(env: Environment, query: Query) -> tuple[ListCheck, ...]:
    """Each code list the definition uses, checked: the published version it is (or that it is
    none), and whether fewer people than the disclosure threshold have any of its codes in the
    data. That does not say whether it is none or a few: a search does not say whether a rare
    code is present either (it counts such codes, never names them), so a job learns nothing a
    search would not."""
    rules = named_profile(env.settings.disclosure_profile)
    checks = []
    for use in codelists_used(query):
        with env.cp.transaction() as session:
            published = _published_as(session, use.codes, use.system)
        checks.append(
            ListCheck(
                use.codelist,
                use.table,
                use.column,
                len(use.codes),
                tuple((s, v, by, f"{at:%Y-%m-%d}") for s, v, by, at in published),
                not public_count(_people_with(env, use), rules),
                rules.threshold,
            )
        )
    return tuple(checks)


def job_notes(env: Environment, query: Query) -> list[str]:
    """What a job's log says of each code list its definition uses (:func:`job_checks`)."""
    return [line for check in job_checks(env, query) for line in check.lines]
