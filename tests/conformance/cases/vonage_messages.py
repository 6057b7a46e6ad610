"""Vonage Messages API facts for the conformance kit: JWT-signed SMS webhooks, our vector."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import orjson

from dlrhub.providers.base import CallbackRequest
from dlrhub.providers.vonage_messages import make_jwt, payload_hash
from tests.conformance.kit import ProviderKit, Sample, Vector

JSON = "application/json"
CREDENTIALS = {"signature_secret": "kit-vonage-messages-secret"}


def _sign(s: Sample, secret: str, now: datetime) -> Sample:
    token = make_jwt({"iat": int(now.timestamp()), "jti": "kit-jti", "iss": "Vonage",
                      "payload_hash": payload_hash(s.body), "api_key": "abcd1234",
                      "application_id": "aaaaaaaa-0000-4000-8000-000000000000"}, secret)
    return s.with_(headers={**s.headers, "Authorization": f"Bearer {token}"})


def sign(s: Sample, url: str, credentials: Mapping[str, str], now: datetime) -> Sample:
    """Add the bearer JWT Vonage sends: HS256 with the secret, payload_hash of the body."""
    return _sign(s, credentials["signature_secret"], now)


def _body(s: Sample, url: str, credentials: Mapping[str, str], now: datetime) -> Sample:
    signed = sign(s, url, credentials, now)
    return signed.with_(body=signed.body.replace(b'"channel":"sms"', b'"channel":"sms" ', 1))


def _stale(s: Sample, url: str, credentials: Mapping[str, str], now: datetime) -> Sample:
    return sign(s, url, credentials, now - timedelta(minutes=10))


def _missing_header(s: Sample, url: str, credentials: Mapping[str, str],
                    now: datetime) -> Sample:
    return s.with_(headers={k: v for k, v in s.headers.items() if k != "Authorization"})


def _other_secret(s: Sample, url: str, credentials: Mapping[str, str],
                  now: datetime) -> Sample:
    return _sign(s, "another-secret", now)


_REJECTED = orjson.dumps({
    "message_uuid": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab", "to": "447700900123",
    "from": "Acme", "timestamp": "2026-03-04T05:06:05.123Z", "status": "rejected",
    "channel": "sms", "usage": {"currency": "EUR", "price": "0.0333"},
    "error": {"type": "https://developer.vonage.com/api-errors/messages#1050",
              "title": "1050", "detail": "Number barred"}})
_DELIVERED = orjson.dumps({
    "message_uuid": "aaaaaaaa-bbbb-cccc-dddd-0123456789ac", "to": "447700900124",
    "from": "Acme", "timestamp": "2026-03-04T05:06:05Z", "status": "delivered",
    "channel": "sms"})
_INBOUND = orjson.dumps({
    "channel": "sms", "message_uuid": "aaaaaaaa-bbbb-4ccc-8ddd-000000000001",
    "to": "447700900000", "from": "447700900001", "timestamp": "2026-03-04T05:06:07Z",
    "text": "Yes", "message_type": "text", "sms": {"num_messages": "1"}})

KIT = ProviderKit(
    slug="vonage_messages",
    credentials=CREDENTIALS,
    samples=[
        Sample("rejected", _REJECTED, JSON, expected=[{
            "type": "sms.status", "status": "rejected", "error_code": "1050",
            "reason_class": "blacklisted", "phone": "+447700900123",
            "reported_at": datetime(2026, 3, 4, 5, 6, 5, 123000, tzinfo=UTC)}]),
        Sample("delivered", _DELIVERED, JSON, expected=[{
            "type": "sms.status", "status": "delivered", "error_code": None,
            "message_id": "aaaaaaaa-bbbb-cccc-dddd-0123456789ac"}]),
        Sample("inbound", _INBOUND, JSON, expected=[{
            "type": "sms.inbound", "status": "received", "phone": "+447700900001",
            "text": "Yes"}]),
    ],
    signer=sign,
    tampers={"body": _body, "stale": _stale, "missing-header": _missing_header,
             "other-secret": _other_secret},
    vectors=[Vector(
        "vonage-messages-jwt-ours",
        CallbackRequest(
            body=b'{"message_uuid":"aaaaaaaa-bbbb-cccc-dddd-0123456789ab",'
                 b'"status":"delivered"}',
            content_type=JSON,
            headers={"authorization": "Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpYXQi"
                     "OjE3MDAwMDAwMDAsImp0aSI6ImM1YjRiMGEyLTAwMDAtNDAwMC04MDAwLTAwMDAwMDAw"
                     "MDAwMSIsImlzcyI6IlZvbmFnZSIsInBheWxvYWRfaGFzaCI6IjMyMTM4YjY0NzVjNGM0"
                     "YjU1YjI0YjU2MjBlOTJjZGNmMzI2ZDQ0ZDcyZjVjNDI1MzVlMGQyZTg2NWFmNWI1YzciL"
                     "CJhcGlfa2V5IjoiYWJjZDEyMzQifQ.EpkTLzTNDxqt6GcY7vsMxkm0cis53f-UXoLXXpO"
                     "754E"}),
        {"signature_secret": "my-signature-secret"}, datetime.fromtimestamp(1700000000, UTC))],
    success_body=None,
)
