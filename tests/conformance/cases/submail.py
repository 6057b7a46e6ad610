"""Submail SUBHOOK: one event per push (form, JSON or GET), signature = md5(token + key).

The samples are the pushes of Submail's SMS SUBHOOK events page (submail-developers/
submail.documents), with its masked numbers and placeholders filled in; the signer
gives each a fresh token, its signature and a current timestamp.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime, timedelta
from urllib.parse import urlencode

import orjson

from dlrhub.providers.submail import signature
from tests.conformance.catalog import INBOUND, STATUS
from tests.conformance.kit import ProviderKit, Sample

CREDENTIALS = {"key": "submail-kit-subhook-key"}
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
SEND_ID = "093c0a7df143c087d6cba9cdf0cf3738"


def _encode(sample: Sample, fields: dict[str, object]) -> Sample:
    if sample.method == "GET":
        return sample.with_(query=urlencode(fields))
    if sample.content_type == JSON:
        return sample.with_(body=orjson.dumps(fields))
    return sample.with_(body=urlencode(fields).encode())


def _decode(sample: Sample) -> dict[str, object]:
    from urllib.parse import parse_qsl
    if sample.method == "GET":
        return dict(parse_qsl(sample.query))
    if sample.content_type == JSON:
        doc: dict[str, object] = orjson.loads(sample.body)
        return doc
    return dict(parse_qsl(sample.body.decode()))


def _sign(sample: Sample, url: str, credentials: Mapping[str, str], now: datetime) -> Sample:
    """Fill token, signature = md5(token + key) and timestamp, as Submail does."""
    fields = _decode(sample)
    token = hashlib.md5(url.encode() + sample.body, usedforsecurity=False).hexdigest()
    fields.update(timestamp=int(now.timestamp()), token=token,
                  signature=signature(token, credentials["key"]))
    return _encode(sample, fields)


def _stale(sample: Sample, url: str, credentials: Mapping[str, str], now: datetime) -> Sample:
    return _sign(sample, url, credentials, now - timedelta(hours=1))


def _other_key(sample: Sample, url: str, credentials: Mapping[str, str],
               now: datetime) -> Sample:
    return _sign(sample, url, {"key": "not-the-key"}, now)


def _no_signature(sample: Sample, url: str, credentials: Mapping[str, str],
                  now: datetime) -> Sample:
    fields = _decode(_sign(sample, url, credentials, now))
    del fields["signature"]
    return _encode(sample, fields)


def _other_token(sample: Sample, url: str, credentials: Mapping[str, str],
                 now: datetime) -> Sample:
    fields = _decode(_sign(sample, url, credentials, now))
    fields["token"] = "067ef7e2f286a9a56eabb07dc9657852"
    return _encode(sample, fields)


def _push(name: str, fields: dict[str, object], *expected: dict[str, object],
          content_type: str = FORM, method: str = "POST") -> Sample:
    sample = Sample(name=name, content_type="" if method == "GET" else content_type,
                    method=method, expected=expected)
    return _encode(sample, {**fields, "timestamp": 1415014855, "token": "", "signature": ""})


_DELIVERED = {"events": "delivered", "address": "13800138000", "send_id": SEND_ID,
              "operator": "中国移动", "location": "上海 上海", "tag": "order-5", "app": 12345}
_DELIVERED_EVENT = {"type": STATUS, "status": "delivered", "message_id": SEND_ID,
                    "reference": "order-5", "phone": "+8613800138000",
                    "provider_status": "delivered", "error_code": None,
                    "reason_class": None}

KIT = ProviderKit(
    slug="submail",
    credentials=CREDENTIALS,
    samples=[
        _push("delivered-form", _DELIVERED, _DELIVERED_EVENT),
        _push("delivered-json", _DELIVERED, _DELIVERED_EVENT, content_type=JSON),
        _push("delivered-get", _DELIVERED, _DELIVERED_EVENT, method="GET"),
        # The documented example's report has a leading space: " UNDELIV".
        _push("dropped", {"events": "dropped", "address": "13800138000", "send_id": SEND_ID,
                          "report": " UNDELIV", "app": 12345, "tag": "xxx"},
              {"type": STATUS, "status": "failed", "message_id": SEND_ID,
               "provider_status": "UNDELIV", "error_code": "UNDELIV",
               "reason_class": "suspended_or_no_credit"}),
        _push("sending", {"events": "sending", "address": "13800138000", "send_id": SEND_ID,
                          "app": 12345}, {"type": STATUS, "status": "pending",
                                          "message_id": SEND_ID, "error_code": None}),
        _push("unkown", {"events": "unkown", "address": "13800138000", "send_id": SEND_ID,
                         "app": 12345}, {"type": STATUS, "status": "unknown",
                                         "message_id": SEND_ID, "provider_status": "unkown"}),
        _push("mo", {"events": "mo", "address": "13800138000", "app": 12345,
                     "content": "TD"},
              {"type": INBOUND, "status": "received", "phone": "+8613800138000",
               "text": "TD"}),
    ],
    signer=_sign,
    tampers={"stale timestamp": _stale, "another key": _other_key,
             "no signature": _no_signature, "another token": _other_token},
)
