"""Baidu AI Cloud SMS: one JSON report per POST, signature = md5(token + timestamp + body).

The samples use the fields of Baidu's status-callback page (cloud.baidu.com/doc/SMS/s/
Fkijy9cdv); the values are ours. The vector is OURS, computed from the documented
algorithm with a token of our own, and must pass as sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import orjson

from dlrhub.providers.baidu import signature
from dlrhub.providers.base import CallbackRequest
from tests.conformance.catalog import STATUS
from tests.conformance.kit import ProviderKit, Sample, Signer, Vector

CREDENTIALS = {"token": "baidu-kit-token"}
JSON = "application/json;charset=utf-8"


def _sign(sample: Sample, url: str, credentials: Mapping[str, str], now: datetime) -> Sample:
    """Add requestId, timestamp (ms) and signature headers, as Baidu sends them."""
    timestamp = str(int(now.timestamp() * 1000))
    return sample.with_(headers={
        **sample.headers, "requestId": "71bdbef0ac8847378da21ecb142a14e7",
        "timestamp": timestamp,
        "signature": signature(credentials["token"], timestamp, sample.body)})


def _without(name: str) -> Signer:
    def tamper(sample: Sample, url: str, credentials: Mapping[str, str],
               now: datetime) -> Sample:
        done = _sign(sample, url, credentials, now)
        return done.with_(headers={k: v for k, v in done.headers.items() if k != name})
    return tamper


def _stale(sample: Sample, url: str, credentials: Mapping[str, str], now: datetime) -> Sample:
    return _sign(sample, url, credentials, now - timedelta(hours=1))


def _body_changed(sample: Sample, url: str, credentials: Mapping[str, str],
                  now: datetime) -> Sample:
    return _sign(sample, url, credentials, now).with_(
        body=sample.body.replace(b'"code":"0"', b'"code":"2"'))


def _other_token(sample: Sample, url: str, credentials: Mapping[str, str],
                 now: datetime) -> Sample:
    return _sign(sample, url, {"token": "not-the-token"}, now)


_DELIVERED = {"code": "0", "requestId": "54eb30d9-fead-4048-bb8b-200cf12ab8e9",
              "messageId": "e6a2b1c0-7d5f-4e1e-9f1a-0c2b3d4e5f60", "mobile": "13800138000",
              "carrierCode": "DELIVRD", "custom": "order-42", "attemptCount": 1,
              "segmentCount": 2, "deliverTime": "2020-08-13T12:13:32Z",
              "requestTime": "2020-08-13T12:13:30Z"}
_FAILED = {**_DELIVERED, "code": "2", "carrierCode": "MK:0001", "custom": None,
           "segmentCount": 1, "deliverTime": "2020-08-13 12:13:35"}

VECTOR_BODY = b'{"code":0,"messageId":"m-1","mobile":"13800000000"}'

KIT = ProviderKit(
    slug="baidu",
    credentials=CREDENTIALS,
    samples=[
        Sample(name="delivered", body=orjson.dumps(_DELIVERED), content_type=JSON,
               expected=[{"type": STATUS, "status": "delivered",
                          "message_id": "e6a2b1c0-7d5f-4e1e-9f1a-0c2b3d4e5f60",
                          "reference": "order-42", "phone": "+8613800138000",
                          "provider_status": "DELIVRD", "error_code": None,
                          "reason_class": None, "segments": 2,
                          "submitted_at": "2020-08-13T12:13:30+00:00",
                          "reported_at": "2020-08-13T12:13:32+00:00"}]),
        # MK:0001 is China Mobile's code for an unassigned number, passed through.
        Sample(name="failed-carrier-code", body=orjson.dumps(_FAILED), content_type=JSON,
               expected=[{"type": STATUS, "status": "failed", "phone": "+8613800138000",
                          "provider_status": "MK:0001", "error_code": "MK:0001",
                          "reference": None, "segments": 1,
                          "reason_class": "invalid_number",
                          "reported_at": "2020-08-13T12:13:35+00:00"}]),
        # B:00012 is Baidu's own code (黑名单管控), classified from its receipt-code table.
        Sample(name="failed-baidu-code", content_type=JSON, body=orjson.dumps(
            {**_FAILED, "carrierCode": "B:00012"}),
            expected=[{"type": STATUS, "status": "failed", "error_code": "B:00012",
                       "reason_class": "blacklisted"}]),
    ],
    signer=_sign,
    tampers={"no signature": _without("signature"), "no timestamp": _without("timestamp"),
             "stale timestamp": _stale, "body changed": _body_changed,
             "another token": _other_token},
    vectors=[Vector(
        name="ours: md5(token + timestamp + body)",
        request=CallbackRequest(
            body=VECTOR_BODY, content_type="application/json",
            headers={"timestamp": "1700000000000",
                     "signature": "cf52c8c6a6ba3db7e6d19b664ccd75be",
                     "requestid": "r-1"},
            url="https://dlrhub.example/v1/callbacks/baidu/tok"),
        credentials={"token": "mytoken"},
        now=datetime.fromtimestamp(1700000000, UTC) + timedelta(seconds=5))],
)
