"""Check digits as properties: every single-digit error is caught, valid codes pass."""

from __future__ import annotations

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


def test_code_shapes() -> None:
    assert code_problem(CodeSystem.SNOMEDCT, "44054006") is None  # diabetes mellitus type 2
    assert code_problem(CodeSystem.SNOMEDCT, "44054007") is not None
    assert code_problem(CodeSystem.ICD10, "E11.9") is None
    assert code_problem(CodeSystem.ICD10, "E1") is not None
    assert code_problem(CodeSystem.OPCS4, "K40.1") is None
    assert code_problem(CodeSystem.OPCS4, "U40.1") is not None  # no chapter U in OPCS-4
    assert code_problem(CodeSystem.LOINC, "41950-7") is None
    assert code_problem(CodeSystem.LOINC, "41950-8") is not None
    assert code_problem(CodeSystem.ETHNIC_CATEGORY, "A") is None
    assert code_problem(CodeSystem.ETHNIC_CATEGORY, "I") is not None
