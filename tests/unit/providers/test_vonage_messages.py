"""Vonage Messages API: the bearer JWT (HS256, payload_hash, iat), statuses, errors."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import orjson
import pytest

from dlrhub.providers.base import Account, AuthError, CallbackRequest, Event, ParseError
from dlrhub.providers.vonage_messages import make_jwt, payload_hash, provider
from dlrhub.services.insight.reasons import classify
from tests.fixtures import sample

JSON = "application/json"
NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
SECRET = "my-signature-secret"
ACCOUNT = Account(id="acc_m", provider="vonage_messages",
                  credentials={"signature_secret": SECRET}, timezone=ZoneInfo("UTC"),
                  default_region=None)
VECTOR_BODY = b'{"message_uuid":"aaaaaaaa-bbbb-cccc-dddd-0123456789ab","status":"delivered"}'
REJECTED = {"message_uuid": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab", "to": "447700900123",
            "from": "Acme", "timestamp": "2026-03-04T05:06:05.123Z", "status": "rejected",
            "channel": "sms", "client_ref": "order-9",
            "usage": {"currency": "EUR", "price": "0.0333"},
            "error": {"type": "https://developer.vonage.com/api-errors/messages#1050",
                      "title": "1050", "detail": "Number barred",
                      "instance": "bf0ca0bf927b3b52e3cb03217e1a1ddf"}}


def vector_jwt() -> str:
    for line in sample("wave2-vectors.out").decode().splitlines():
        if "vonage_messages_jwt_ours" in line:
            return line.split("'")[3]
    raise KeyError("vonage_messages_jwt_ours")


def signed(doc: dict[str, object] | bytes, *, secret: str = SECRET, at: datetime = NOW,
           **claims: object) -> CallbackRequest:
    body = doc if isinstance(doc, bytes) else orjson.dumps(doc)
    token = make_jwt({"iat": int(at.timestamp()), "jti": "j-1", "iss": "Vonage",
                      "payload_hash": payload_hash(body), "api_key": "abcd1234"} | claims,
                     secret)
    return CallbackRequest(body=body, headers={"authorization": f"Bearer {token}"},
                           content_type=JSON)


def events(request: CallbackRequest) -> list[Event]:
    provider.authenticate(request, ACCOUNT, NOW, 300)
    return [provider.normalize(r, ACCOUNT) for r in provider.extract(request, ACCOUNT)]


def test_our_vector() -> None:
    request = CallbackRequest(body=VECTOR_BODY, content_type=JSON,
                              headers={"authorization": f"Bearer {vector_jwt()}"})
    provider.authenticate(request, ACCOUNT, datetime.fromtimestamp(1700000000, UTC), 300)
    with pytest.raises(AuthError, match="iat"):
        provider.authenticate(request, ACCOUNT, NOW, 300)


def test_a_rejected_sms_with_its_error() -> None:
    (event,) = events(signed(REJECTED))
    assert (event.type, event.status, event.provider_status) == (
        "sms.status", "rejected", "rejected")
    assert (event.message_id, event.phone, event.reference, event.price) == (
        REJECTED["message_uuid"], "+447700900123", "order-9", "0.0333")
    assert (event.error_code, event.error_message) == ("1050", "Number barred")
    assert event.reported_at == datetime(2026, 3, 4, 5, 6, 5, 123000, tzinfo=UTC)
    assert classify("vonage_messages", event.status, event.error_code).reason_class == \
        "blacklisted"


@pytest.mark.parametrize(("status", "expected"), [
    ("submitted", "pending"), ("delivered", "delivered"), ("read", "delivered"),
    ("rejected", "rejected"), ("undeliverable", "failed"),
])
def test_status_map(status: str, expected: str) -> None:
    (event,) = events(signed({**REJECTED, "status": status}))
    assert event.status == expected
    assert event.error_code == ("1050" if expected in ("failed", "rejected") else None)


def test_the_code_is_read_from_the_type_when_the_title_is_words() -> None:
    doc = {**REJECTED, "error": {"type": "https://developer.vonage.com/api-errors/messages#1120",
                                 "title": "Illegal Sender Address - rejected"}}
    assert events(signed(doc))[0].error_code == "1120"


def test_inbound_sms_and_other_channels() -> None:
    doc = {"channel": "sms", "message_uuid": "m-1", "to": "447700900000",
           "from": "447700900001", "timestamp": "2026-03-04T05:06:07Z", "text": "Hi",
           "message_type": "text"}
    (event,) = events(signed(doc))
    assert (event.type, event.phone, event.text) == ("sms.inbound", "+447700900001", "Hi")
    assert events(signed({**REJECTED, "channel": "whatsapp"})) == []


def _alg_none(body: bytes) -> str:
    def enc(doc: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(orjson.dumps(doc)).rstrip(b"=").decode()
    claims = {"iat": int(NOW.timestamp()), "payload_hash": payload_hash(body)}
    return f"{enc({'alg': 'none'})}.{enc(claims)}."


@pytest.mark.parametrize(("headers", "why"), [
    ({}, "bearer"),
    ({"authorization": "Basic abc"}, "bearer"),
    ({"authorization": "Bearer a.b"}, "not a JWT"),
    ({"authorization": "Bearer !!.@@.##"}, "JWT|signature"),
])
def test_missing_or_broken_tokens_are_refused(headers: dict[str, str], why: str) -> None:
    request = CallbackRequest(body=orjson.dumps(REJECTED), headers=headers, content_type=JSON)
    with pytest.raises(AuthError, match=why):
        provider.authenticate(request, ACCOUNT, NOW, 300)


def test_tampered_stale_foreign_or_unsigned_tokens_are_refused() -> None:
    good = signed(REJECTED)
    body = orjson.dumps({**REJECTED, "status": "delivered"})
    cases = [
        (CallbackRequest(body=body, headers=good.headers, content_type=JSON), "payload_hash"),
        (signed(REJECTED, at=NOW - timedelta(seconds=301)), "iat"),
        (signed(REJECTED, secret="another"), "signature does not match"),
        (signed(REJECTED, exp=int((NOW - timedelta(hours=1)).timestamp())), "expired"),
        (signed(REJECTED, iat="yesterday"), "iat"),
        (CallbackRequest(body=body, content_type=JSON,
                         headers={"authorization": f"Bearer {_alg_none(body)}"}), "HS256"),
    ]
    for request, why in cases:
        with pytest.raises(AuthError, match=why):
            provider.authenticate(request, ACCOUNT, NOW, 300)


@pytest.mark.parametrize("body", [b"{}", b"[]", b'{"status":"delivered"}',
                                  b'{"message_type":"text","message_uuid":"m"}'])
def test_bodies_missing_what_vonage_sends_are_400(body: bytes) -> None:
    with pytest.raises(ParseError):
        provider.extract(CallbackRequest(body=body, headers={}, content_type=JSON), ACCOUNT)


def test_simulation_is_signed_with_the_accounts_secret() -> None:
    for kind in ("status", "inbound"):
        sim = provider.simulate(ACCOUNT, count=3, seq=19, now=NOW, kind=kind)
        request = CallbackRequest(body=sim.body, content_type=sim.content_type,
                                  headers={k.lower(): v for k, v in sim.headers.items()})
        assert len(events(request)) == sim.records == 1
    with pytest.raises(ValueError, match="signature_secret"):
        provider.simulate(Account(id="a", provider="vonage_messages"), count=1, seq=1,
                          now=NOW)
