"""Tencent Cloud SMS: JSON arrays of status reports, one JSON object per reply; unsigned."""

from __future__ import annotations

from tests.conformance.catalog import INBOUND, STATUS, catalog_sample
from tests.conformance.kit import ProviderKit

_DELIVERED = {"type": STATUS, "status": "delivered", "message_id": "xxxxxxx",
              "phone": "13xxxxxxxxx", "provider_status": "DELIVRD", "error_code": None,
              "reason_class": None, "reported_at": "2015-10-17T00:03:04+00:00"}
_REPLY = {"type": INBOUND, "status": "received", "phone": "13xxxxxxxxx",
          "text": "用户回复的内容", "reference": "扩展码",
          "reported_at": "2016-03-07T07:47:49+00:00"}

KIT = ProviderKit(
    slug="tencent",
    credentials={},
    samples=[
        catalog_sample("tencent-dlr-v2", _DELIVERED),
        catalog_sample("tencent-seed-000", _DELIVERED),
        catalog_sample("tencent-dlr-ext", {**_DELIVERED, "reference": (
            "<SessionContext echoed back - only if enabled by Tencent support; this line is "
            "OUR illustration, the doc sample omits ext>")}),
        catalog_sample("tencent-mo", _REPLY),
        catalog_sample("tencent-mo-legacy", _REPLY),
    ],
)
