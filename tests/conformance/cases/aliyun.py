"""Alibaba Cloud SMS (MNS HTTP push): JSON arrays of SmsReport / SmsUp; unsigned."""

from __future__ import annotations

from tests.conformance.catalog import INBOUND, STATUS, catalog_sample
from tests.conformance.kit import ProviderKit

_REPORT = {"type": STATUS, "status": "delivered", "phone": "1381111****",
           "provider_status": "DELIVERED", "error_code": None, "segments": 1,
           "submitted_at": "2016-12-31T16:00:00+00:00",
           "reported_at": "2016-12-31T16:00:00+00:00", "reason_class": None}

KIT = ProviderKit(
    slug="aliyun",
    credentials={},
    samples=[
        catalog_sample("aliyun-report", {**_REPORT, "message_id": "12345********",
                                         "reference": "67890**"}),
        catalog_sample("aliyun-seed-003", {**_REPORT, "message_id": "12345",
                                           "reference": "67890"}),
        catalog_sample("aliyun-intl", {
            "type": STATUS, "status": "delivered", "message_id": "123450000****",
            "phone": "8521111****", "provider_status": "1", "segments": 2,
            "submitted_at": "2021-11-25T02:25:00+00:00",
            "reported_at": "2021-11-25T02:25:33+00:00"}),
        catalog_sample("aliyun-up", {
            "type": INBOUND, "status": "received", "message_id": "1234567890",
            "phone": "1381111****", "text": "内容",
            "reported_at": "2017-08-31T16:00:00+00:00"}),
    ],
)
