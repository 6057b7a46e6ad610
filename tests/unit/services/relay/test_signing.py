"""Standard Webhooks signing: the spec's vector, an independent HMAC, rotation, tampering."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from dlrhub.services.relay.transport.signing import (
    DEFAULT_TOLERANCE,
    VerificationError,
    headers,
    new_secret,
    sign,
    verify,
)

# The example of the Standard Webhooks spec (and of svix's test suite).
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

NOW = datetime.fromtimestamp(SPEC_TIMESTAMP, tz=UTC)
OLD_SECRET = "whsec_" + base64.b64encode(b"o" * 24).decode()
NEW_SECRET = "whsec_" + base64.b64encode(b"n" * 24).decode()


def by_hand(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """Compute a signature with nothing but the standard library, as a customer would."""
    key = base64.b64decode(secret.split("_", 1)[1])
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def test_spec_example_signs_to_the_spec_signature() -> None:
    assert sign(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE
    assert by_hand(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE


def test_spec_example_verifies() -> None:
    signed = {"webhook-id": SPEC_ID, "webhook-timestamp": str(SPEC_TIMESTAMP),
              "webhook-signature": SPEC_SIGNATURE}
    verify(SPEC_SECRET, signed, SPEC_BODY, NOW)


@pytest.mark.parametrize("body", [b"", b"{}", '{"text": "您好 ✓"}'.encode(), bytes(range(256))])
def test_signature_matches_an_independent_hmac(body: bytes) -> None:
    secret = new_secret()
    assert sign(secret, "msg_1", 1700000000, body) == by_hand(secret, "msg_1", 1700000000, body)


def test_new_secret_is_prefixed_base64_of_24_random_bytes() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 24
    assert new_secret() != secret


def test_headers_carry_id_timestamp_and_signature() -> None:
    out = headers([SPEC_SECRET], SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY)
    assert out == {"webhook-id": SPEC_ID, "webhook-timestamp": "1614265330",
                   "webhook-signature": SPEC_SIGNATURE}


def test_rotation_signs_with_every_secret_and_either_verifies() -> None:
    out = headers([NEW_SECRET, OLD_SECRET], "msg_2", SPEC_TIMESTAMP, b"{}")
    assert out["webhook-signature"] == " ".join([
        by_hand(NEW_SECRET, "msg_2", SPEC_TIMESTAMP, b"{}"),
        by_hand(OLD_SECRET, "msg_2", SPEC_TIMESTAMP, b"{}"),
    ])
    verify(NEW_SECRET, out, b"{}", NOW)
    verify(OLD_SECRET, out, b"{}", NOW)
    with pytest.raises(VerificationError, match="no matching signature"):
        verify(new_secret(), out, b"{}", NOW)


def test_headers_need_a_list_of_at_least_one_secret() -> None:
    with pytest.raises(ValueError, match="at least one"):
        headers([], "msg_3", SPEC_TIMESTAMP, b"{}")
    with pytest.raises(TypeError):
        headers(SPEC_SECRET, "msg_3", SPEC_TIMESTAMP, b"{}")


def test_header_names_are_matched_case_insensitively() -> None:
    signed = {k.title(): v for k, v in headers([SPEC_SECRET], SPEC_ID, SPEC_TIMESTAMP,
                                                SPEC_BODY).items()}
    assert "Webhook-Signature" in signed
    verify(SPEC_SECRET, signed, SPEC_BODY, NOW)


def test_secret_without_prefix_signs_the_same() -> None:
    bare = SPEC_SECRET.removeprefix("whsec_")
    assert sign(bare, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE


def test_secret_that_is_not_base64_is_refused() -> None:
    with pytest.raises(ValueError, match="not base64"):
        sign("whsec_not base64!", SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY)


@pytest.mark.parametrize(("header", "value"), [
    ("webhook-id", "msg_other"),
    ("webhook-timestamp", str(SPEC_TIMESTAMP + 1)),
])
def test_tampered_id_or_timestamp_fails(header: str, value: str) -> None:
    signed = headers([SPEC_SECRET], SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY)
    signed[header] = value
    with pytest.raises(VerificationError, match="no matching signature"):
        verify(SPEC_SECRET, signed, SPEC_BODY, NOW)


def test_tampered_body_fails() -> None:
    signed = headers([SPEC_SECRET], SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY)
    with pytest.raises(VerificationError):
        verify(SPEC_SECRET, signed, b'{"test": 2432232315}', NOW)


@pytest.mark.parametrize("signature", [
    "",
    "v1,",
    "v1,!!!not-base64!!!",
    "v2," + SPEC_SIGNATURE.removeprefix("v1,"),
    SPEC_SIGNATURE.removeprefix("v1,"),
    "v1," + base64.b64encode(b"\0" * 32).decode(),
])
def test_bad_signatures_fail(signature: str) -> None:
    signed = headers([SPEC_SECRET], SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY)
    signed["webhook-signature"] = signature
    with pytest.raises(VerificationError):
        verify(SPEC_SECRET, signed, SPEC_BODY, NOW)


def test_other_versions_are_skipped_and_a_later_v1_matches() -> None:
    signed = headers([SPEC_SECRET], SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY)
    signed["webhook-signature"] = f"v1a,c29tZXRoaW5n v1,garbage== {SPEC_SIGNATURE}"
    verify(SPEC_SECRET, signed, SPEC_BODY, NOW)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_header_fails(missing: str) -> None:
    signed = headers([SPEC_SECRET], SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY)
    del signed[missing]
    with pytest.raises(VerificationError, match="missing"):
        verify(SPEC_SECRET, signed, SPEC_BODY, NOW)


@pytest.mark.parametrize("timestamp", ["1614265330.0", "-1614265330", " 1614265330", "soon"])
def test_timestamp_that_is_not_an_integer_fails(timestamp: str) -> None:
    signed = headers([SPEC_SECRET], SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY)
    signed["webhook-timestamp"] = timestamp
    with pytest.raises(VerificationError, match="not an integer"):
        verify(SPEC_SECRET, signed, SPEC_BODY, NOW)


@pytest.mark.parametrize("skew", [-DEFAULT_TOLERANCE, 0, DEFAULT_TOLERANCE])
def test_timestamp_within_tolerance_passes(skew: int) -> None:
    signed = headers([SPEC_SECRET], SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY)
    verify(SPEC_SECRET, signed, SPEC_BODY, NOW + timedelta(seconds=skew))


@pytest.mark.parametrize(("skew", "reason"), [
    (DEFAULT_TOLERANCE + 1, "too old"),
    (-DEFAULT_TOLERANCE - 1, "too new"),
    (86400, "too old"),
])
def test_stale_or_future_timestamp_fails_even_if_signed(skew: int, reason: str) -> None:
    # The signature is right: only the clock may reject these.
    signed = headers([SPEC_SECRET], SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY)
    with pytest.raises(VerificationError, match=reason):
        verify(SPEC_SECRET, signed, SPEC_BODY, NOW + timedelta(seconds=skew))


def test_tolerance_is_configurable() -> None:
    signed = headers([SPEC_SECRET], SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY)
    later = NOW + timedelta(seconds=60)
    verify(SPEC_SECRET, signed, SPEC_BODY, later, tolerance=60)
    with pytest.raises(VerificationError, match="too old"):
        verify(SPEC_SECRET, signed, SPEC_BODY, later, tolerance=59)


def test_verification_error_is_a_value_error() -> None:
    assert issubclass(VerificationError, ValueError)


def test_naive_now_is_refused() -> None:
    signed = headers([SPEC_SECRET], SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY)
    with pytest.raises(ValueError, match="timezone-aware"):
        verify(SPEC_SECRET, signed, SPEC_BODY, datetime(2021, 2, 26))  # noqa: DTZ001
