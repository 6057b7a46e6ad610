"""Twilio's facts for the conformance kit: its captured status callback, its vector."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode

from dlrhub.providers.base import CallbackRequest
from dlrhub.providers.twilio import signature
from tests.conformance.kit import ProviderKit, Sample, Vector
from tests.fixtures import sample

FORM = "application/x-www-form-urlencoded"
CREDENTIALS = {"auth_token": "kit-twilio-auth-token"}


def _captured() -> bytes:
    lines = sample("twilio_status_failed.txt").decode().splitlines()
    return next(line for line in lines if not line.startswith("#")).encode()


def sign(s: Sample, url: str, credentials: Mapping[str, str], now: datetime) -> Sample:
    """Sign as Twilio does: the full URL called, then the POST params sorted."""
    called = f"{url}?{s.query}" if s.query else url
    params = parse_qsl(s.body.decode(), keep_blank_values=True) if s.method == "POST" else []
    return s.with_(headers={**s.headers, "X-Twilio-Signature": signature(
        credentials["auth_token"], called, params)})


def _tampered_body(s: Sample, url: str, credentials: Mapping[str, str],
                   now: datetime) -> Sample:
    signed = sign(s, url, credentials, now)
    if s.method == "GET":  # the record is in the query, which is signed as the URL
        return signed.with_(query=signed.query.replace("Body=", "Body=x", 1))
    return signed.with_(body=signed.body.replace(b"Status=", b"Status=x", 1))


def _other_url(s: Sample, url: str, credentials: Mapping[str, str], now: datetime) -> Sample:
    return sign(s, url.replace("/v1/", "/v2/", 1), credentials, now)


def _missing_header(s: Sample, url: str, credentials: Mapping[str, str],
                    now: datetime) -> Sample:
    signed = sign(s, url, credentials, now)
    return signed.with_(headers={k: v for k, v in signed.headers.items()
                                 if k != "X-Twilio-Signature"})


_INBOUND = {"MessageSid": "SM5f0c6e7e1a4b4c1f9d1b8c2a3e4f5a6b", "SmsStatus": "received",
            "Body": "Yes, see you then", "From": "+14155550123", "To": "+14155550199",
            "NumSegments": "1", "NumMedia": "0", "AccountSid": "AC" + "0" * 32,
            "ApiVersion": "2010-04-01"}
_DELIVERED = {"SmsSid": "SM1f0c6e7e1a4b4c1f9d1b8c2a3e4f5a6b", "SmsStatus": "delivered",
              "MessageStatus": "delivered", "To": "+447700900123",
              "MessageSid": "SM1f0c6e7e1a4b4c1f9d1b8c2a3e4f5a6b",
              "AccountSid": "AC" + "0" * 32, "From": "+14155550199",
              "ApiVersion": "2010-04-01", "RawDlrDoneDate": "2603040506"}

KIT = ProviderKit(
    slug="twilio",
    credentials=CREDENTIALS,
    samples=[
        Sample("captured-failed", _captured(), FORM, headers={
            "I-Twilio-Idempotency-Token": "b4c0ffee-0000-4000-8000-000000000001",
            "User-Agent": "TwilioProxy/1.1"},
            expected=[{"type": "sms.status", "status": "failed", "provider_status": "failed",
                       "message_id": "SM0123456789abcdef0123456789abcdef",
                       "phone": "+14155550100", "error_code": "30007",
                       "reason_class": "content_blocked",
                       "reported_at": datetime(2023, 3, 9, 20, 21, tzinfo=UTC)}]),
        Sample("delivered", urlencode(_DELIVERED).encode(), FORM,
               expected=[{"type": "sms.status", "status": "delivered",
                          "message_id": _DELIVERED["MessageSid"], "phone": "+447700900123",
                          "error_code": None,
                          "reported_at": datetime(2026, 3, 4, 5, 6, tzinfo=UTC)}]),
        Sample("incoming-post", urlencode(_INBOUND).encode(), FORM,
               expected=[{"type": "sms.inbound", "status": "received",
                          "message_id": _INBOUND["MessageSid"], "phone": "+14155550123",
                          "text": "Yes, see you then", "segments": 1}]),
        Sample("incoming-get", method="GET", query=urlencode(_INBOUND),
               expected=[{"type": "sms.inbound", "status": "received",
                          "text": "Yes, see you then"}]),
    ],
    signer=sign,
    tampers={"body": _tampered_body, "other-url": _other_url,
             "missing-header": _missing_header},
    vectors=[Vector(
        "twilio-request-validator",
        CallbackRequest(
            body=urlencode({"CallSid": "CA1234567890ABCDE", "Caller": "+14158675309",
                            "Digits": "1234", "From": "+14158675309",
                            "To": "+18005551212"}).encode(),
            headers={"x-twilio-signature": "RSOYDt4T1cUTdK1PDd93/VVr8B8="},
            content_type=FORM, query="foo=1&bar=2",
            url="https://mycompany.com/myapp.php?foo=1&bar=2"),
        {"auth_token": "12345"}, datetime(2026, 1, 1, tzinfo=UTC))],
    success_body=None,
)
