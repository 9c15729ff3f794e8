"""TOTP against RFC 6238's own test vectors (Appendix B), and the promises made on top of it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fivesafes.governance.totp import (
    STEP_SECONDS,
    b32,
    from_b32,
    hotp,
    matching_step,
    new_secret,
    provisioning_uri,
    step_at,
    totp,
)

# RFC 6238 Appendix B: the seeds are the ASCII digits 1234567890 repeated to the hash's size.
SEEDS = {
    "SHA1": b"12345678901234567890",
    "SHA256": b"12345678901234567890123456789012",
    "SHA512": b"1234567890123456789012345678901234567890123456789012345678901234",
}
VECTORS = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]


@pytest.mark.parametrize(("time", "sha1", "sha256", "sha512"), VECTORS)
def test_rfc_6238_appendix_b_vectors(time: int, sha1: str, sha256: str, sha512: str) -> None:
    for algorithm, expected in (("SHA1", sha1), ("SHA256", sha256), ("SHA512", sha512)):
        assert totp(SEEDS[algorithm], time, digits=8, algorithm=algorithm) == expected


def test_rfc_4226_appendix_d_hotp_vectors() -> None:
    expected = ["755224", "287082", "359152", "969429", "338314"]
    assert [hotp(SEEDS["SHA1"], c) for c in range(5)] == expected


def test_a_code_is_accepted_one_step_either_side_and_no_further() -> None:
    secret, now = new_secret(), 1_700_000_000.0
    for offset, accepted in ((-2, False), (-1, True), (0, True), (1, True), (2, False)):
        code = totp(secret, now + offset * STEP_SECONDS)
        found = matching_step(secret, code, now)
        assert (found is not None) is accepted, offset
        if accepted:
            assert found == step_at(now) + offset


def test_a_used_step_is_never_accepted_again() -> None:
    secret, now = new_secret(), 1_700_000_000.0
    code = totp(secret, now)
    used = matching_step(secret, code, now)
    assert used is not None
    assert matching_step(secret, code, now, after_step=used) is None
    assert matching_step(secret, code, now + 10, after_step=used) is None


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "12 34 5x"])
def test_malformed_codes_match_nothing(code: str) -> None:
    assert matching_step(new_secret(), code, 1_700_000_000.0) is None


@given(st.binary(min_size=1, max_size=64))
def test_base32_round_trips(secret: bytes) -> None:
    assert from_b32(b32(secret)) == secret
    assert from_b32(b32(secret).lower()) == secret


def test_provisioning_uri_carries_secret_issuer_and_period() -> None:
    uri = provisioning_uri(SEEDS["SHA1"], "ana.lyst", "Example SDE")
    assert uri.startswith("otpauth://totp/Example%20SDE%3Aana.lyst?")
    assert f"secret={b32(SEEDS['SHA1'])}" in uri and "period=30" in uri
