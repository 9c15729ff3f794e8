"""Code systems and identifiers the common data model uses, with their shape checks.

These are facts about the codes themselves (a SNOMED CT identifier carries a
Verhoeff check digit; an NHS number a Modulus-11 one), so they live beside the
model and every stage -- ingest, synthetic data, dummy data -- checks and makes
codes the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
ODS_CODE_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"


class CodeSystem(StrEnum):
    """Code systems a column may hold; values are the FHIR system URIs used on the way in."""

    SNOMEDCT = "http://snomed.info/sct"
    DMD = "https://dmd.nhs.uk"
    ICD10 = "http://hl7.org/fhir/sid/icd-10"
    OPCS4 = "http://fhir.nhs.net/CodeSystem/opcs-4"
    LOINC = "http://loinc.org"
    ETHNIC_CATEGORY = "https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategory"
    ODS = ODS_CODE_SYSTEM
    LSOA = "https://geoportal.statistics.gov.uk/lsoa"
    LOCAL_AUTHORITY = "https://geoportal.statistics.gov.uk/lad"
    SUB_ICB = "https://geoportal.statistics.gov.uk/sicbl"
    ICB = "https://geoportal.statistics.gov.uk/icb"


# --- Modulus 11 (NHS number) -------------------------------------------------

_NHS_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)


def nhs_number_check_digit(first_nine: str) -> int | None:
    """The Modulus-11 check digit for nine digits, or None when no valid digit exists (10)."""
    total = sum(int(d) * w for d, w in zip(first_nine, _NHS_WEIGHTS, strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    if check == 10:
        return None
    return check


_TEN_DIGITS = re.compile(r"[0-9]{10}")
"""ASCII digits only: ``str.isdigit`` also accepts Arabic-Indic, superscript and other digits."""


def is_valid_nhs_number(value: str) -> bool:
    """Ten digits whose last is the Modulus-11 check digit of the first nine."""
    if _TEN_DIGITS.fullmatch(value) is None:
        return False
    return nhs_number_check_digit(value[:9]) == int(value[9])


def nhs_number_problem(value: str) -> str | None:
    """Why a value is not an NHS number, in words a data manager can act on; None when valid."""
    if _TEN_DIGITS.fullmatch(value) is None:
        return f"NHS number {value!r} must be exactly 10 digits (0-9), with no spaces"
    if nhs_number_check_digit(value[:9]) is None:
        return f"NHS number {value!r} can never be valid: its first nine digits give check 10"
    if nhs_number_check_digit(value[:9]) != int(value[9]):
        return (
            f"NHS number {value!r} fails the Modulus-11 check digit: it was mistyped or corrupted"
        )
    return None


# --- Verhoeff (SNOMED CT identifiers) ---------------------------------------

_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)
_INV = (0, 4, 3, 2, 1, 5, 6, 7, 8, 9)


def verhoeff_check_digit(digits: str) -> int:
    """The Verhoeff check digit to append to ``digits``."""
    c = 0
    for i, d in enumerate(reversed(digits)):
        c = _D[c][_P[(i + 1) % 8][int(d)]]
    return _INV[c]


def verhoeff_valid(digits: str) -> bool:
    """True when the last digit of ``digits`` is its Verhoeff check digit."""
    c = 0
    for i, d in enumerate(reversed(digits)):
        c = _D[c][_P[i % 8][int(d)]]
    return c == 0


_SCTID = re.compile(r"[1-9][0-9]{5,17}")
# Partition identifiers (penultimate two digits): 00 concept, 10 concept in an extension.
_CONCEPT_PARTITIONS = ("00", "10")

# ICD-10 as WHO writes it (E11, E11.9) and in the NHS Data Dictionary's ICD-10 CODE format: a
# fourth character (a digit, or X to fill an undivided three-character code), a fifth digit (or
# '-' when only a marker follows) and an asterisk (A) or dagger (D) marker.
_ICD10 = re.compile(r"[A-Z][0-9]{2}(?:(?:\.?[0-9]|X)(?:[0-9]|-(?=[AD]))?[AD]?)?")
# OPCS-4 has chapters A to Z except I (U is diagnostic imaging, O the overflow chapter) and codes
# of at most four characters: a three-character category and one digit.
_OPCS4 = re.compile(r"[A-HJ-Z][0-9]{2}(?:\.?[0-9])?")
_LOINC = re.compile(r"[1-9][0-9]{0,6}-[0-9]")
_ETHNIC = frozenset("ABCDEFGHJKLMNPRSZ")
_ODS = re.compile(r"[A-Z0-9]{3,10}")
# 2011 LSOAs only: E02/W02 are MSOAs, E06-E09/W06 local authorities, S01 Scottish data zones.
_LSOA = re.compile(r"(?:E01|W01)[0-9]{6}")
# ONS (GSS) codes of the areas above LSOAs: local authority districts are E06 (unitary), E07
# (non-metropolitan district), E08 (metropolitan district) or E09 (London borough); Sub ICB
# Locations E38; Integrated Care Boards E54.
_LOCAL_AUTHORITY = re.compile(r"E0[6-9][0-9]{6}")
_SUB_ICB = re.compile(r"E38[0-9]{6}")
_ICB = re.compile(r"E54[0-9]{6}")


@dataclass(frozen=True, slots=True)
class CodeCheck:
    """How to tell a well-formed code of one system, and what to say when it is not."""

    system: CodeSystem
    label: str
    expected: str

    def problem(self, code: str) -> str | None:
        """Why ``code`` is not a well-formed code of this system; None when it is."""
        if _CHECKS[self.system](code):
            return None
        return f"{code!r} is not a well-formed {self.label} code ({self.expected})"


def _is_sctid(code: str) -> bool:
    return (
        _SCTID.fullmatch(code) is not None
        and code[-3:-1] in _CONCEPT_PARTITIONS
        and verhoeff_valid(code)
    )


def _loinc_check_ok(code: str) -> bool:
    """LOINC codes carry a Modulus-10 (Luhn-style) check digit after the hyphen."""
    body, check = code.split("-")
    total = 0
    for i, d in enumerate(reversed(body)):
        n = int(d)
        if i % 2 == 0:
            n *= 2
            n = n - 9 if n > 9 else n
        total += n
    return (10 - total % 10) % 10 == int(check)


_CHECKS: dict[CodeSystem, Callable[[str], bool]] = {
    CodeSystem.SNOMEDCT: _is_sctid,
    CodeSystem.DMD: _is_sctid,
    CodeSystem.ICD10: lambda c: _ICD10.fullmatch(c) is not None,
    CodeSystem.OPCS4: lambda c: _OPCS4.fullmatch(c) is not None,
    CodeSystem.LOINC: lambda c: _LOINC.fullmatch(c) is not None and _loinc_check_ok(c),
    CodeSystem.ETHNIC_CATEGORY: lambda c: c in _ETHNIC,
    CodeSystem.ODS: lambda c: _ODS.fullmatch(c) is not None,
    CodeSystem.LSOA: lambda c: _LSOA.fullmatch(c) is not None,
    CodeSystem.LOCAL_AUTHORITY: lambda c: _LOCAL_AUTHORITY.fullmatch(c) is not None,
    CodeSystem.SUB_ICB: lambda c: _SUB_ICB.fullmatch(c) is not None,
    CodeSystem.ICB: lambda c: _ICB.fullmatch(c) is not None,
}


CODE_CHECKS: dict[CodeSystem, CodeCheck] = {
    CodeSystem.SNOMEDCT: CodeCheck(
        CodeSystem.SNOMEDCT,
        "SNOMED CT",
        "6 to 18 digits, a concept partition and a valid Verhoeff check digit",
    ),
    CodeSystem.DMD: CodeCheck(
        CodeSystem.DMD,
        "dm+d",
        "a SNOMED CT identifier: 6 to 18 digits, a concept partition and a Verhoeff check digit",
    ),
    CodeSystem.ICD10: CodeCheck(
        CodeSystem.ICD10,
        "ICD-10",
        "a letter and two digits, optionally a fourth character (a digit after an optional "
        "'.', or X), a fifth digit and an asterisk (A) or dagger (D) marker",
    ),
    CodeSystem.OPCS4: CodeCheck(
        CodeSystem.OPCS4,
        "OPCS-4",
        "a chapter letter (not I), two digits, then optionally '.' and one digit",
    ),
    CodeSystem.LOINC: CodeCheck(
        CodeSystem.LOINC,
        "LOINC",
        "1 to 7 digits without a leading zero, a hyphen and a Modulus-10 check digit",
    ),
    CodeSystem.ETHNIC_CATEGORY: CodeCheck(
        CodeSystem.ETHNIC_CATEGORY,
        "NHS ethnic category",
        "one letter of the NHS Data Dictionary ethnic categories A-H, J-N, P, R, S or Z",
    ),
    CodeSystem.ODS: CodeCheck(CodeSystem.ODS, "ODS", "3 to 10 upper-case letters or digits"),
    CodeSystem.LSOA: CodeCheck(CodeSystem.LSOA, "LSOA", "E01 or W01 followed by six digits"),
    CodeSystem.LOCAL_AUTHORITY: CodeCheck(
        CodeSystem.LOCAL_AUTHORITY,
        "local authority (ONS)",
        "E06, E07, E08 or E09 followed by six digits",
    ),
    CodeSystem.SUB_ICB: CodeCheck(
        CodeSystem.SUB_ICB, "Sub ICB Location (ONS)", "E38 followed by six digits"
    ),
    CodeSystem.ICB: CodeCheck(CodeSystem.ICB, "ICB (ONS)", "E54 followed by six digits"),
}

ETHNIC_GROUPS: dict[str, str] = {
    **dict.fromkeys("ABC", "White"),
    **dict.fromkeys("DEFG", "Mixed or multiple"),
    **dict.fromkeys("HJKL", "Asian or Asian British"),
    **dict.fromkeys("MNP", "Black or Black British"),
    **dict.fromkeys("RS", "Other ethnic group"),
    "Z": "Not stated",
}
"""Each NHS ethnic category's high-level group: the five groups of the ONS 2011 census
classification the categories are drawn from (A-C White, D-G Mixed, H-L Asian, M-P Black,
R-S Other), and Z (not stated) on its own, as NHS Digital's publications report them."""
ETHNIC_GROUP_ORDER = (
    "Asian or Asian British",
    "Black or Black British",
    "Mixed or multiple",
    "White",
    "Other ethnic group",
    "Not stated",
)
"""The groups in the order the ONS lists them, Not stated last."""


@lru_cache(maxsize=1 << 16)
def code_problem(system: CodeSystem, code: str) -> str | None:
    """Why ``code`` is not a well-formed code of ``system``; None when it is.

    Cached: real data draws on a small vocabulary, so most codes are checked once per process.
    """
    return CODE_CHECKS[system].problem(code)
