"""Vonage's facts for the conformance kit: its documented receipt, signed ``sig``, vectors.

Vonage signs inside the callback: ``timestamp``, ``nonce`` and ``sig`` are parameters
of the query (GET), the form or the JSON object, so the signer rewrites the body.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson

from dlrhub.providers.base import CallbackRequest
from dlrhub.providers.vonage import signature
from tests.conformance.kit import ProviderKit, Sample, Vector
from tests.fixtures import sample

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
CREDENTIALS = {"signature_secret": "kit-vonage-secret", "signature_method": "sha256"}


def _fields(s: Sample) -> dict[str, Any]:
    if s.method == "GET":
        return dict(parse_qsl(s.query, keep_blank_values=True))
    if s.content_type == JSON:
        found: dict[str, Any] = orjson.loads(s.body)
        return found
    return dict(parse_qsl(s.body.decode(), keep_blank_values=True))


def _with_fields(s: Sample, fields: Mapping[str, Any]) -> Sample:
    if s.method == "GET":
        return s.with_(query=urlencode(fields))
    if s.content_type == JSON:
        return s.with_(body=orjson.dumps(dict(fields)))
    return s.with_(body=urlencode(fields).encode())


def _sign(s: Sample, credentials: Mapping[str, str], now: datetime) -> dict[str, Any]:
    fields = {**_fields(s), "timestamp": str(int(now.timestamp())), "nonce": "kit-nonce"}
    fields["sig"] = signature(fields, credentials["signature_secret"],
                              credentials.get("signature_method", "md5hash"))
    return fields


def sign(s: Sample, url: str, credentials: Mapping[str, str], now: datetime) -> Sample:
    """Add ``timestamp``, ``nonce`` and ``sig`` to the callback's parameters."""
    return _with_fields(s, _sign(s, credentials, now))


def _body(s: Sample, url: str, credentials: Mapping[str, str], now: datetime) -> Sample:
    fields = _sign(s, credentials, now)
    fields["messageId"] = str(fields["messageId"]) + "0"
    return _with_fields(s, fields)


def _stale(s: Sample, url: str, credentials: Mapping[str, str], now: datetime) -> Sample:
    return sign(s, url, credentials, now - timedelta(minutes=10))


def _missing_sig(s: Sample, url: str, credentials: Mapping[str, str],
                 now: datetime) -> Sample:
    fields = _sign(s, credentials, now)
    fields.pop("sig")
    return _with_fields(s, fields)


_DLR = sample("vonage_dlr.json").strip()
_FAILED = {"msisdn": "447700900123", "to": "Acme", "network-code": "23410",
           "messageId": "0B0000012AB3CD4E", "price": "0.03330000", "status": "failed",
           "scts": "2603040506", "err-code": "6", "client-ref": "order-7",
           "message-timestamp": "2026-03-04 05:06:07", "api-key": "abcd1234"}
_INBOUND = {"msisdn": "447700900001", "to": "447700900000", "messageId": "0A0000000123ABCD",
            "text": "Yes & thanks", "type": "text", "keyword": "YES",
            "message-timestamp": "2026-03-04 05:06:07"}

KIT = ProviderKit(
    slug="vonage",
    credentials=CREDENTIALS,
    samples=[
        Sample("documented-dlr-json", _DLR, JSON, expected=[{
            "type": "sms.status", "status": "delivered", "provider_status": "delivered",
            "message_id": "0B00000127FDBC63", "phone": "+447547232824", "error_code": None,
            "reported_at": datetime(2018, 10, 25, 13, 10, tzinfo=UTC)}]),
        Sample("failed-form", urlencode(_FAILED).encode(), FORM, expected=[{
            "type": "sms.status", "status": "failed", "error_code": "6",
            "reason_class": "content_blocked", "phone": "+447700900123",
            "reference": "order-7",
            "reported_at": datetime(2026, 3, 4, 5, 6, tzinfo=UTC)}]),
        Sample("failed-get", method="GET", query=urlencode(_FAILED), expected=[{
            "type": "sms.status", "status": "failed", "error_code": "6",
            "message_id": "0B0000012AB3CD4E"}]),
        Sample("inbound-json", orjson.dumps(_INBOUND), JSON, expected=[{
            "type": "sms.inbound", "status": "received", "phone": "+447700900001",
            "text": "Yes & thanks", "message_id": "0A0000000123ABCD"}]),
    ],
    signer=sign,
    tampers={"body": _body, "stale": _stale, "missing-header": _missing_sig},
    vectors=[Vector(
        "vonage-sdk-md5hash",
        CallbackRequest(body=b"", headers={}, method="GET", query=urlencode(
            {"a": "1", "b": "2", "timestamp": "1461605396",
             "sig": "6af838ef94998832dbfc29020b564830"})),
        {"signature_secret": "secret", "signature_method": "md5hash"},
        datetime.fromtimestamp(1461605396, UTC))],
    success_body=None,
)
