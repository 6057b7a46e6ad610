"""Bird's facts for the conformance kit: MessageBird's legacy GET report and its example."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import orjson

from dlrhub.providers.base import CallbackRequest
from dlrhub.providers.bird import bird_signature, legacy_signature
from tests.conformance.kit import ProviderKit, Sample, Vector

JSON = "application/json"
CREDENTIALS = {"signing_key": "kit-bird-signing-key"}


def _sign(s: Sample, url: str, key: str, now: datetime) -> Sample:
    ts = str(int(now.timestamp()))
    signature = legacy_signature(key, ts, s.query, s.body) if s.method == "GET" \
        else bird_signature(key, ts, url, s.body)
    return s.with_(headers={**s.headers, "MessageBird-Request-Timestamp": ts,
                            "MessageBird-Signature": signature})


def sign(s: Sample, url: str, credentials: Mapping[str, str], now: datetime) -> Sample:
    """Sign a legacy GET over its sorted query, a Bird POST over the URL and body."""
    return _sign(s, url, credentials["signing_key"], now)


def _body(s: Sample, url: str, credentials: Mapping[str, str], now: datetime) -> Sample:
    signed = sign(s, url, credentials, now)
    if s.method == "GET":
        return signed.with_(query=signed.query.replace("id=", "id=x", 1))
    return signed.with_(body=signed.body.replace(b'"status"', b'"status" ', 1))


def _stale(s: Sample, url: str, credentials: Mapping[str, str], now: datetime) -> Sample:
    return sign(s, url, credentials, now - timedelta(minutes=10))


def _missing_header(s: Sample, url: str, credentials: Mapping[str, str],
                    now: datetime) -> Sample:
    signed = sign(s, url, credentials, now)
    return signed.with_(headers={k: v for k, v in signed.headers.items()
                                 if k != "MessageBird-Signature"})


_LEGACY = {"id": "eef0ab57a9e049be946f3821568c2b2e", "recipient": "31612345678",
           "reference": "FOO", "status": "delivery_failed",
           "statusDatetime": "2026-03-04T05:06:00+00:00", "statusReason": "unknown subscriber",
           "statusErrorCode": "MK:0005", "mccmnc": "20408", "ported": "0"}
_INCOMING = {"id": "0b8c1f4e5d6a7b8c9d0e", "recipient": "3197010260000",
             "originator": "31612345678", "body": "Yes",
             "createdDatetime": "2026-03-04T05:06:07+00:00"}
_BIRD = orjson.dumps({"service": "channels", "event": "sms.outbound", "payload": {
    "id": "7b0d4e1a-0000-4000-8000-000000000001", "status": "delivered",
    "receiver": {"contacts": [{"identifierValue": "+31612345678"}]},
    "updatedAt": "2026-03-04T05:06:00.000Z"}})

# Bird's "Receiving messages" example (an SMS channel's text message), as the sms.inbound
# webhook carries it.
_BIRD_INBOUND = orjson.dumps({"service": "channels", "event": "sms.inbound", "payload": {
    "id": "96a0b5fa-a986-453d-be5c-3117f989f025",
    "channelId": "614208aa-b153-4d5d-9989-2fddfc0ce4c3",
    "sender": {"contact": {"id": "32cf5eee-f940-422c-ab8c-5f753aad5efd",
                           "identifierKey": "phonenumber", "identifierValue": "+31612345678"}},
    "receiver": {"connector": {"id": "86cc4dc0-3dc0-41b7-ac43-8ec829ead56f"}},
    "body": {"type": "text", "text": {"text": "Sample incoming text message"}},
    "parts": [{"platformReference": "e8077d803532c0b5937c639b60216938"}],
    "status": "delivered", "direction": "incoming",
    "lastStatusAt": "2022-12-22T08:32:50.736Z", "createdAt": "2022-12-22T08:32:50.736Z",
    "updatedAt": "2022-12-22T08:32:50.736Z"}})

KIT = ProviderKit(
    slug="bird",
    credentials=CREDENTIALS,
    samples=[
        Sample("legacy-failed", method="GET", query=urlencode(_LEGACY), expected=[{
            "type": "sms.status", "status": "failed", "provider_status": "delivery_failed",
            "message_id": _LEGACY["id"], "phone": "+31612345678", "error_code": "MK:0005",
            "reference": "FOO",
            "reported_at": datetime(2026, 3, 4, 5, 6, tzinfo=UTC)}]),
        Sample("legacy-incoming", method="GET", query=urlencode(_INCOMING), expected=[{
            "type": "sms.inbound", "status": "received", "phone": "+31612345678",
            "text": "Yes"}]),
        Sample("bird-delivered", _BIRD, JSON, expected=[{
            "type": "sms.status", "status": "delivered", "phone": "+31612345678",
            "message_id": "7b0d4e1a-0000-4000-8000-000000000001"}]),
        # an incoming message: not a "delivered" status of a message sent
        Sample("bird-inbound", _BIRD_INBOUND, JSON, expected=[{
            "type": "sms.inbound", "status": "received", "phone": "+31612345678",
            "message_id": "96a0b5fa-a986-453d-be5c-3117f989f025",
            "text": "Sample incoming text message",
            "reported_at": datetime(2022, 12, 22, 8, 32, 50, 736000, tzinfo=UTC)}]),
    ],
    signer=sign,
    tampers={"body": _body, "stale": _stale, "missing-header": _missing_header},
    vectors=[Vector(
        "messagebird-ruby-example",
        CallbackRequest(
            body=b"", method="GET",
            query=urlencode({"recipient": "31612345678", "reference": "FOO",
                             "statusDatetime": "2019-01-11T09:17:11+00:00",
                             "id": "eef0ab57a9e049be946f3821568c2b2e",
                             "status": "delivered", "mccmnc": "20408", "ported": "1"}),
            headers={"messagebird-request-timestamp": "1547198231",
                     "messagebird-signature": "KVBdcVdz2lYMwcBLZCRITgxUfA/WkwSi+T3Wxl2HL6w="}),
        {"signing_key": "PlLrKaqvZNRR5zAjm42ZT6q1SQxgbbGd"},
        datetime.fromtimestamp(1547198231, UTC))],
    success_body=None,
)
