"""Volcengine SMS: a JSON array of status reports; unsigned (token + allow-list).

The samples use the fields of Volcengine's status-report callback page (volcengine.com/
docs/6361/171584); the values are ours, the failure code from its error-code table.
"""

from __future__ import annotations

import orjson

from tests.conformance.catalog import STATUS
from tests.conformance.kit import ProviderKit, Sample

JSON = "application/json;charset=utf-8"
_DELIVERED = {"account": "AC0001", "sub_account": "7a3f21", "status_code": "0",
              "description": "成功", "signature": "火山引擎", "template_id": "ST_7a3f",
              "mobile": "13800138000", "channel_type": "CN_OTP",
              "message_id": "21102900234567890123", "msg_count": 1, "service_id": "",
              "ext": "order-8", "send_time": 1690786800000, "recv_time": 1690786803000,
              "mccmnc": "46000", "iso_code": "CN"}
_FAILED = {**_DELIVERED, "status_code": "CR:0201", "description": "黑名单拦截",
           "message_id": "21102900234567890124", "msg_count": 2, "ext": ""}
_ABROAD = {**_DELIVERED, "mobile": "+85291234567", "iso_code": "HK",
           "channel_type": "I18N_OTP", "message_id": "21102900234567890125",
           "status_code": "NE:0100", "description": "非法手机号"}

KIT = ProviderKit(
    slug="volcengine",
    credentials={},
    samples=[
        Sample(name="reports", body=orjson.dumps([_DELIVERED, _FAILED]), content_type=JSON,
               expected=[
                   {"type": STATUS, "status": "delivered",
                    "message_id": "21102900234567890123", "reference": "order-8",
                    "phone": "+8613800138000", "provider_status": "0", "error_code": None,
                    "reason_class": None, "segments": 1,
                    "submitted_at": "2023-07-31T07:00:00+00:00",
                    "reported_at": "2023-07-31T07:00:03+00:00"},
                   {"type": STATUS, "status": "failed",
                    "message_id": "21102900234567890124", "reference": None,
                    "error_code": "CR:0201", "reason_class": "blacklisted",
                    "segments": 2}]),
        Sample(name="international", body=orjson.dumps([_ABROAD]), content_type=JSON,
               expected=[{"type": STATUS, "status": "failed", "phone": "+85291234567",
                          "error_code": "NE:0100", "reason_class": "invalid_number"}]),
    ],
)
