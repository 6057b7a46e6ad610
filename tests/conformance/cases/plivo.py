"""Plivo's facts for the conformance kit: signed V3 callbacks, Plivo's V2 vectors, ours."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode

from dlrhub.providers.base import CallbackRequest
from dlrhub.providers.plivo import v3_signature
from tests.conformance.kit import ProviderKit, Sample, Vector

FORM = "application/x-www-form-urlencoded"
NONCE = "05429567804466091622"
CREDENTIALS = {"auth_token": "kit-plivo-auth-token"}


def sign(s: Sample, url: str, credentials: Mapping[str, str], now: datetime) -> Sample:
    """Sign as Plivo does (V3): the URL called, the sorted params, a nonce."""
    called = f"{url}?{s.query}" if s.query else url
    params = {} if s.method == "GET" else dict(parse_qsl(s.body.decode(),
                                                         keep_blank_values=True))
    signature = v3_signature(credentials["auth_token"], s.method, called, params, NONCE)
    return s.with_(headers={**s.headers, "X-Plivo-Signature-V3": signature,
                            "X-Plivo-Signature-V3-Nonce": NONCE})


def _body(s: Sample, url: str, credentials: Mapping[str, str], now: datetime) -> Sample:
    signed = sign(s, url, credentials, now)
    if s.method == "GET":
        return signed.with_(query=signed.query.replace("Status=", "Status=x", 1))
    return signed.with_(body=signed.body.replace(b"From=", b"From=1", 1))


def _nonce(s: Sample, url: str, credentials: Mapping[str, str], now: datetime) -> Sample:
    signed = sign(s, url, credentials, now)
    return signed.with_(headers={**signed.headers, "X-Plivo-Signature-V3-Nonce": "1"})


def _missing_header(s: Sample, url: str, credentials: Mapping[str, str],
                    now: datetime) -> Sample:
    signed = sign(s, url, credentials, now)
    return signed.with_(headers={k: v for k, v in signed.headers.items()
                                 if k != "X-Plivo-Signature-V3"})


_UNDELIVERED = {
    "MessageUUID": "0936ec98-7c4c-11e4-9bd8-22000afa12b9", "From": "14155550000",
    "To": "447700900123", "Type": "sms", "Status": "undelivered", "ErrorCode": "80",
    "Units": "1", "TotalRate": "0.0050", "TotalAmount": "0.0050", "MCC": "234", "MNC": "10",
    "Sequence": "2", "ParentMessageUUID": "0936ec98-7c4c-11e4-9bd8-22000afa12b9",
    "PartInfo": "", "QueuedTime": "2026-03-04 05:05:58.120000",
    "SentTime": "2026-03-04 05:06:00.350000",
    "DeliveryReportTime": "2026-03-04 05:06:05.000000"}
_DELIVERED = {**_UNDELIVERED, "Status": "delivered", "ErrorCode": "000", "Sequence": "3"}
_INCOMING = {"From": "447700900123", "To": "14155550000", "Text": "Yes", "Type": "sms",
             "MessageUUID": "5b40a428-bfc7-4daf-9d06-726c558bf3b8", "Units": "1",
             "TotalRate": "0", "TotalAmount": "0"}

KIT = ProviderKit(
    slug="plivo",
    credentials=CREDENTIALS,
    samples=[
        Sample("undelivered", urlencode(_UNDELIVERED).encode(), FORM, expected=[{
            "type": "sms.status", "status": "failed", "provider_status": "undelivered",
            "message_id": _UNDELIVERED["MessageUUID"], "phone": "+447700900123",
            "error_code": "80", "reason_class": "unreachable_powered_off", "segments": 1,
            "submitted_at": datetime(2026, 3, 4, 5, 6, 0, 350000, tzinfo=UTC),
            "reported_at": datetime(2026, 3, 4, 5, 6, 5, tzinfo=UTC)}]),
        Sample("delivered", urlencode(_DELIVERED).encode(), FORM, expected=[{
            "type": "sms.status", "status": "delivered", "error_code": None,
            "phone": "+447700900123"}]),
        Sample("delivered-by-get", method="GET", query=urlencode(_DELIVERED), expected=[{
            "type": "sms.status", "status": "delivered", "message_id":
            _DELIVERED["MessageUUID"]}]),
        Sample("incoming", urlencode(_INCOMING).encode(), FORM, expected=[{
            "type": "sms.inbound", "status": "received", "phone": "+447700900123",
            "text": "Yes", "message_id": _INCOMING["MessageUUID"]}]),
    ],
    signer=sign,
    tampers={"body": _body, "nonce": _nonce, "missing-header": _missing_header},
    vectors=[
        Vector("plivo-v2-official", CallbackRequest(
            body=urlencode(_DELIVERED).encode(), content_type=FORM, url="https://answer.url",
            headers={"x-plivo-signature-v2": "ehV3IKhLysWBxC1sy8INm0qGoQYdYsHwuoKjsX7FsXc=",
                     "x-plivo-signature-v2-nonce": "12345"}),
            {"auth_token": "my_auth_token"}, datetime(2026, 1, 1, tzinfo=UTC),
            options={"signature_v2": "accept"}),
        Vector("plivo-v2-official-port", CallbackRequest(
            body=urlencode(_DELIVERED).encode(), content_type=FORM,
            url="https://answer.url:8000",
            headers={"x-plivo-signature-v2": "LDphWoWimP4QM5AoWI1uwP6WmlWtt5ITPZjXIWYvCNU=",
                     "x-plivo-signature-v2-nonce": "24725744043720739450"}),
            {"auth_token": "my_auth_token"}, datetime(2026, 1, 1, tzinfo=UTC),
            options={"signature_v2": "accept"}),
        Vector("plivo-v3-ours", CallbackRequest(
            body=urlencode({"MessageUUID": "db3ce55a-7f1d-11e1-8ea7-1231380bc196",
                            "Status": "delivered", "To": "14155551234",
                            "From": "14155550000", "ErrorCode": ""}).encode(),
            content_type=FORM, url="https://example.com/dlr?tenant=t1", query="tenant=t1",
            headers={"x-plivo-signature-v3": "IVwxqnDMvXyY1ClSSCOOSGshshRxbyB9058F4poZKkA=",
                     "x-plivo-signature-v3-nonce": NONCE}),
            {"auth_token": "my_auth_token"}, datetime(2026, 1, 1, tzinfo=UTC)),
    ],
    success_body=None,
)
