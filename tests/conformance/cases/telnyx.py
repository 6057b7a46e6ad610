"""Telnyx's facts for the conformance kit: Ed25519 signed events, our RFC 8032 vector.

The account holds the public key of RFC 8032's first test seed; the signer signs with
that seed, as the simulator does (only Telnyx holds a real account's private key).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import orjson

from dlrhub.providers.base import CallbackRequest
from dlrhub.providers.telnyx import SIMULATOR_PUBLIC_KEY, SIMULATOR_SEED, sign
from tests.conformance.kit import ProviderKit, Sample, Vector
from tests.fixtures import sample

JSON = "application/json"
OTHER_SEED = bytes(range(32))


def _sign(s: Sample, now: datetime, seed: bytes = SIMULATOR_SEED) -> Sample:
    ts = str(int(now.timestamp()))
    return s.with_(headers={**s.headers, "telnyx-timestamp": ts,
                            "telnyx-signature-ed25519": sign(seed, ts, s.body)})


def signer(s: Sample, url: str, credentials: Mapping[str, str], now: datetime) -> Sample:
    """Sign ``timestamp|body`` with the simulator's seed (the account has its public key)."""
    return _sign(s, now)


def _body(s: Sample, url: str, credentials: Mapping[str, str], now: datetime) -> Sample:
    signed = _sign(s, now)
    return signed.with_(body=signed.body.replace(b'"data"', b'"data" ', 1))


def _stale(s: Sample, url: str, credentials: Mapping[str, str], now: datetime) -> Sample:
    return _sign(s, now - timedelta(minutes=10))


def _missing_header(s: Sample, url: str, credentials: Mapping[str, str],
                    now: datetime) -> Sample:
    signed = _sign(s, now)
    return signed.with_(headers={k: v for k, v in signed.headers.items()
                                 if k != "telnyx-signature-ed25519"})


def _other_key(s: Sample, url: str, credentials: Mapping[str, str], now: datetime) -> Sample:
    return _sign(s, now, OTHER_SEED)


_RECEIVED = orjson.dumps({"data": {
    "event_type": "message.received", "id": "b301ed3f-1490-491f-995f-6e64e69674d4",
    "occurred_at": "2026-03-04T05:06:07.000000+00:00", "record_type": "event",
    "payload": {"id": "7ee4241c-f127-47e5-9c34-3aac291f8058", "direction": "inbound",
                "type": "SMS", "parts": 1, "text": "Yes please",
                "from": {"phone_number": "+13125550123", "carrier": "T-Mobile USA",
                         "line_type": "Wireless"},
                "to": [{"phone_number": "+13125550100", "status": "webhook_delivered"}],
                "received_at": "2026-03-04T05:06:07.000+00:00"}},
    "meta": {"attempt": 1, "delivered_to": "https://hub.example.com/webhooks"}})

KIT = ProviderKit(
    slug="telnyx",
    credentials={"public_key": SIMULATOR_PUBLIC_KEY},
    samples=[
        Sample("message-finalized-failed", sample("telnyx_message_finalized.json").strip(),
               JSON, expected=[{
                   "type": "sms.status", "status": "failed",
                   "provider_status": "delivery_failed",
                   "message_id": "40385f64-5717-4562-b3fc-2c963f66afa6",
                   "phone": "+13125550123", "error_code": "40002",
                   "reason_class": "content_blocked", "segments": 1,
                   "submitted_at": datetime(2026, 3, 4, 5, 6, 2, tzinfo=UTC),
                   "reported_at": datetime(2026, 3, 4, 5, 6, 9, tzinfo=UTC)}]),
        Sample("message-received", _RECEIVED, JSON, expected=[{
            "type": "sms.inbound", "status": "received",
            "message_id": "7ee4241c-f127-47e5-9c34-3aac291f8058", "phone": "+13125550123",
            "text": "Yes please", "reported_at": datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)}]),
    ],
    signer=signer,
    tampers={"body": _body, "stale": _stale, "missing-header": _missing_header,
             "other-key": _other_key},
    vectors=[Vector(
        "rfc8032-test-1-key",
        CallbackRequest(
            body=b'{"data":{"event_type":"message.finalized",'
                 b'"id":"0ccc7b54-4df3-4bca-a65a-3da1ecc777f0"}}',
            headers={"telnyx-timestamp": "1700000000",
                     "telnyx-signature-ed25519":
                         "STNOPf93DazYw4XnVt/oBxb4mh9JPIz2pERmOBdIfi7ITS40JDuZSoZYf8D5l8oSwBl5"
                         "tEPry1KLaR/mh5N8BA=="},
            content_type=JSON),
        {"public_key": SIMULATOR_PUBLIC_KEY}, datetime.fromtimestamp(1700000000, UTC))],
    success_body=None,
)
