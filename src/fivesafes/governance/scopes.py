"""SMART on FHIR scopes: what a token may do, resource type by resource type.

A scope reads ``<context>/<resource type>.<permissions>`` (SMART App Launch v2): the context is
``patient`` (the person's own record), ``user`` (what the signed-in person may see) or ``system``
(a backend service); the resource type may be ``*``; the permissions are some of ``c r u d s``
(create, read, update, delete, search), in that order. The v1 forms ``read``, ``write`` and
``*`` are accepted as ``rs``, ``cud`` and ``cruds``. Scopes narrow a token, never widen it: what
the account's role and relationships allow is decided in the environment; a scope can only take
some of it away.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from fivesafes.governance.roles import Role

CONTEXTS = ("patient", "user", "system")
PERMISSIONS = "cruds"
V1 = {"read": "rs", "write": "cud", "*": "cruds"}
_SCOPE = re.compile(r"(patient|user|system)/(\*|[A-Z][A-Za-z]+)\.([a-z*]+)")


class Permission(StrEnum):
    CREATE = "c"
    READ = "r"
    UPDATE = "u"
    DELETE = "d"
    SEARCH = "s"


class ScopeError(ValueError):
    """A scope string that is not a SMART scope."""


@dataclass(frozen=True)
class Scope:
    context: str
    resource_type: str
    permissions: frozenset[Permission]

    @classmethod
    def parse(cls, text: str) -> Scope:
        match = _SCOPE.fullmatch(text)
        if match is None:
            raise ScopeError(
                f"{text!r} is not a SMART scope (e.g. patient/Observation.rs, user/*.rs, "
                "system/*.rs)"
            )
        context, rtype, perms = match.groups()
        perms = V1.get(perms, perms)
        if not perms or any(p not in PERMISSIONS for p in perms) or _out_of_order(perms):
            raise ScopeError(f"{text!r}: permissions must be some of c r u d s, in that order")
        return cls(context, rtype, frozenset(Permission(p) for p in perms))

    def grants(self, resource_type: str, permission: Permission) -> bool:
        return self.resource_type in ("*", resource_type) and permission in self.permissions

    def __str__(self) -> str:
        perms = "".join(p for p in PERMISSIONS if Permission(p) in self.permissions)
        return f"{self.context}/{self.resource_type}.{perms}"


def _out_of_order(perms: str) -> bool:
    positions = [PERMISSIONS.index(p) for p in perms]
    return positions != sorted(set(positions))


@dataclass(frozen=True)
class Scopes:
    """The scopes a token carries."""

    items: frozenset[Scope]

    @classmethod
    def parse(cls, text: str) -> Scopes:
        """Space-separated scopes; words that are not resource scopes (``openid``,
        ``launch/patient``, ``offline_access``) are left out, as SMART servers do."""
        found = set()
        for word in text.split():
            if "/" in word and not word.startswith("launch"):
                found.add(Scope.parse(word))
        return cls(frozenset(found))

    def grants(self, resource_type: str, permission: Permission) -> bool:
        return any(s.grants(resource_type, permission) for s in self.items)

    def within(self, allowed: Scopes) -> Scopes:
        """The scopes of these that ``allowed`` covers (what a client may be given)."""
        kept = {
            s
            for s in self.items
            if any(
                a.context == s.context
                and a.resource_type in ("*", s.resource_type)
                and s.permissions <= a.permissions
                for a in allowed.items
            )
        }
        return Scopes(frozenset(kept))

    def __str__(self) -> str:
        return " ".join(sorted(str(s) for s in self.items))


DIRECTORY_TYPES = ("Organization", "Location", "HealthcareService")

ROLE_SCOPES: dict[Role, str] = {
    Role.CLINICIAN: "user/*.rs",
    Role.PATIENT: "patient/*.cruds",
    Role.ORG_ADMIN: " ".join(f"user/{t}.cruds" for t in DIRECTORY_TYPES),
}
"""What a personal token may do through the API, by the roles of its account; other roles'
personal tokens reach only the public directory."""


def personal_scopes(roles: frozenset[Role]) -> Scopes:
    words = " ".join(ROLE_SCOPES[r] for r in sorted(roles) if r in ROLE_SCOPES)
    return Scopes.parse(words)
