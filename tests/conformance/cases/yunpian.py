"""Yunpian: a form field ``sms_status`` holding URL-encoded JSON reports; unsigned.

The first sample is Yunpian's documented example (domestic push page); the others use
its documented fields with a 64-bit ``sid``, a failure, a twice-encoded field, a reply.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

import orjson

from tests.conformance.catalog import INBOUND, STATUS
from tests.conformance.kit import ProviderKit, Sample

FORM = "application/x-www-form-urlencoded"
DOCUMENTED = (
    b"sms_status=%5B%7B%22sid%22%3A9527%2C%22uid%22%3Anull%2C%22user_receive_time%22%3A"
    b"%222014-03-17+22%3A55%3A21%22%2C%22error_msg%22%3A%22DELIVRD%22%2C%22mobile%22%3A"
    b"%2215205201314%22%2C%22report_status%22%3A%22SUCCESS%22%7D%5D")
_FAILED = [
    {"sid": 9223372036854775807, "uid": "order-7", "user_receive_time": "2024-01-02 10:00:05",
     "error_msg": "MK:0001", "mobile": "13800138000", "report_status": "FAIL",
     "error_detail": "空号"},
    {"sid": 9223372036854775806, "uid": None, "user_receive_time": "2024-01-02 10:00:06",
     "error_msg": "DELIVRD", "mobile": "+85291234567", "report_status": "SUCCESS",
     "error_detail": ""},
]
_REPLY = {"id": "7d3e1a", "mobile": "15205201314", "text": "好的，谢谢",
          "reply_time": "2024-01-02 10:01:00", "extend": "01", "base_extend": "8888",
          "_sign": "0e3f"}


def _form(name: str, doc: Any, *expected: dict[str, object], twice: bool = False) -> Sample:
    value = orjson.dumps(doc).decode()
    body = urlencode({name: quote(value) if twice else value}).encode()
    return Sample(name=f"{name}{'-twice' if twice else ''}", body=body, content_type=FORM,
                  expected=expected)


_FAILED_EVENTS = (
    {"type": STATUS, "status": "failed", "message_id": "9223372036854775807",
     "reference": "order-7", "phone": "+8613800138000", "provider_status": "MK:0001",
     "error_code": "MK:0001", "reported_at": "2024-01-02T02:00:05+00:00"},
    {"type": STATUS, "status": "delivered", "message_id": "9223372036854775806",
     "reference": None, "phone": "+85291234567", "error_code": None},
)

KIT = ProviderKit(
    slug="yunpian",
    credentials={},
    samples=[
        Sample(name="documented-example", body=DOCUMENTED, content_type=FORM, expected=[
            {"type": STATUS, "status": "delivered", "message_id": "9527",
             "phone": "+8615205201314", "provider_status": "DELIVRD", "error_code": None,
             "reason_class": None, "reported_at": "2014-03-17T14:55:21+00:00"}]),
        _form("sms_status", _FAILED, *_FAILED_EVENTS),
        _form("sms_status", _FAILED, *_FAILED_EVENTS, twice=True),
        _form("sms_reply", _REPLY, {"type": INBOUND, "status": "received",
                                    "message_id": "7d3e1a", "phone": "+8615205201314",
                                    "text": "好的，谢谢", "reference": "01",
                                    "reported_at": "2024-01-02T02:01:00+00:00"}),
    ],
    success_body=b"SUCCESS",
)
