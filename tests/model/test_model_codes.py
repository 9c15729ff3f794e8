"""Check digits as properties: every single-digit error is caught, valid codes pass."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fivesafes.model.codes import (
    CodeSystem,
    code_problem,
    is_valid_nhs_number,
    nhs_number_check_digit,
    nhs_number_problem,
    verhoeff_check_digit,
    verhoeff_valid,
)

nine_digits = st.text("0123456789", min_size=9, max_size=9)


def test_known_nhs_numbers() -> None:
    # The NHS Digital worked example (943 476 5919) and a 999 test-range number.
    assert is_valid_nhs_number("9434765919")
    assert not is_valid_nhs_number("9434765918")
    assert not is_valid_nhs_number("943476591")
    assert nhs_number_problem("943 476 5919") is not None


@given(nine_digits, st.integers(0, 9), st.integers(1, 9))
def test_modulus_11_catches_every_single_digit_error(first: str, position: int, shift: int) -> None:
    check = nhs_number_check_digit(first)
    if check is None:
        return
    number = first + str(check)
    assert is_valid_nhs_number(number)
    wrong = number[:position] + str((int(number[position]) + shift) % 10) + number[position + 1 :]
    assert not is_valid_nhs_number(wrong)


@given(st.text("0123456789", min_size=5, max_size=17), st.integers(0, 16), st.integers(1, 9))
def test_verhoeff_catches_every_single_digit_error(body: str, position: int, shift: int) -> None:
    code = body + str(verhoeff_check_digit(body))
    assert verhoeff_valid(code)
    i = position % len(code)
    wrong = code[:i] + str((int(code[i]) + shift) % 10) + code[i + 1 :]
    assert not verhoeff_valid(wrong)


# Real codes of each system that must pass, and codes that must fail, each with why.
WELL_FORMED: dict[CodeSystem, tuple[str, ...]] = {
    CodeSystem.SNOMEDCT: ("44054006", "195967001", "999000011000000103"),
    CodeSystem.DMD: ("318412000", "39720311000001101"),
    # WHO forms (E11, E11.9) and the NHS Data Dictionary's (R69X, M2406, A170-D, G01XA).
    CodeSystem.ICD10: ("E11", "E11.9", "E119", "R69X", "U07.1", "M2406", "A170-D", "G01XA"),
    # U13.3 is MRI of bone or joint (chapter U, imaging); O13.2 a site code (overflow chapter O).
    CodeSystem.OPCS4: ("K40.1", "K401", "W37", "U13.3", "U133", "O13.2", "Z84.6"),
    CodeSystem.LOINC: ("41950-7", "1-8", "93832-4"),
    CodeSystem.ETHNIC_CATEGORY: tuple("ABCDEFGHJKLMNPRSZ"),
    CodeSystem.ODS: ("QWE", "RXX01", "A81001"),
    CodeSystem.LSOA: ("E01000001", "E01033768", "W01000001"),
    CodeSystem.LOCAL_AUTHORITY: ("E06000001", "E07000240", "E08000025", "E09000033"),
    CodeSystem.SUB_ICB: ("E38000007", "E38000257"),
    CodeSystem.ICB: ("E54000008", "E54000064"),
}
MALFORMED: dict[CodeSystem, tuple[str, ...]] = {
    CodeSystem.SNOMEDCT: (
        "44054007",  # wrong Verhoeff check digit
        "44054",  # too short
        "0440540066",  # leading zero
        "123456016",  # partition 01 is a description, not a concept
        "٤٤٠٥٤٠٠٦",  # Arabic-Indic digits
    ),
    CodeSystem.DMD: ("318412001", "12345"),
    CodeSystem.ICD10: (
        "E1",  # two characters
        "e11.9",  # lower case
        "E11.",  # a point with nothing after it
        "E11XX",  # X fills only the fourth place
        "E11.X",  # ... and is not written after a point
        "E119X",
        "E119B",  # markers are A (asterisk) and D (dagger) only
        "E119C",
        "E11.999",  # at most a fifth digit
        "E11-D",  # '-' fills the fifth place, after a fourth
        "11.9",
    ),
    CodeSystem.OPCS4: (
        "I40.1",  # no chapter I
        "K40.12",  # one digit after the category
        "K4",
        "K40.",
        "k40.1",
    ),
    CodeSystem.LOINC: (
        "41950-8",  # wrong check digit
        "0-0",  # no leading zeros: LOINC numbers start at 1
        "041950-7",
        "41950",
        "12345678-9",  # too long
    ),
    CodeSystem.ETHNIC_CATEGORY: ("I", "O", "Q", "a", "AB", "", "99"),
    CodeSystem.ODS: ("A8", "a81001", "A81001-X", "A810011234567"),
    CodeSystem.LOCAL_AUTHORITY: (
        "E10000001",  # a county: not a local authority district
        "W06000001",  # a Welsh unitary authority: England only
        "E01000001",  # an LSOA
        "E0600001",  # five digits
        "e06000001",
    ),
    CodeSystem.SUB_ICB: ("E54000008", "E3800001", "00L"),
    CodeSystem.ICB: ("E38000007", "E540000080", "QHG"),
    CodeSystem.LSOA: (
        "E02000001",  # an MSOA
        "W02000001",  # an MSOA in Wales
        "E06000001",  # a unitary authority
        "E07000001",  # a district
        "E08000001",  # a metropolitan district
        "E09000001",  # a London borough
        "W06000001",  # a Welsh unitary authority
        "S01000001",  # a Scottish data zone
        "E0100001",  # six digits after E01, not five
        "E010000001",
        "e01000001",
    ),
}


def test_every_code_system_has_cases_that_pass_and_fail() -> None:
    assert set(WELL_FORMED) == set(MALFORMED) == set(CodeSystem)


@pytest.mark.parametrize(
    ("system", "code"), [(s, c) for s, codes in WELL_FORMED.items() for c in codes]
)
def test_well_formed_codes_pass(system: CodeSystem, code: str) -> None:
    assert code_problem(system, code) is None


@pytest.mark.parametrize(
    ("system", "code"), [(s, c) for s, codes in MALFORMED.items() for c in codes]
)
def test_malformed_codes_fail_with_what_the_system_expects(system: CodeSystem, code: str) -> None:
    problem = code_problem(system, code)
    assert problem is not None
    assert problem.startswith(f"{code!r} is not a well-formed ")


def test_the_lsoa_message_says_what_the_check_accepts() -> None:
    assert "E01 or W01 followed by six digits" in str(code_problem(CodeSystem.LSOA, "E02000001"))


@pytest.mark.parametrize("number", ["٩٤٣٤٧٦٥٩١٩", "943476591²", "9434 76591", "+943476591"])
def test_nhs_numbers_are_ascii_digits_only(number: str) -> None:
    """``str.isdigit`` accepts Arabic-Indic and superscript digits; an NHS number must not."""
    assert not is_valid_nhs_number(number)
    assert nhs_number_problem(number) == (
        f"NHS number {number!r} must be exactly 10 digits (0-9), with no spaces"
    )
