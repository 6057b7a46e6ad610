"""Cloopen (Ronglian): status reports and replies as JSON or XML ``Request``; unsigned."""

from __future__ import annotations

from tests.conformance.catalog import INBOUND, STATUS, catalog_sample
from tests.conformance.kit import ProviderKit

_JSON_REPORT = {"type": STATUS, "status": "delivered",
                "message_id": "4121908f3d1b4edb9210f0eb4742f62c", "reference": "123",
                "phone": "+8613912345678", "provider_status": "DELIVRD", "segments": 2,
                "submitted_at": "2013-09-22T17:00:00+00:00",
                "reported_at": "2013-09-22T17:00:10+00:00", "reason_class": None}
_REPLY = {"type": INBOUND, "status": "received", "phone": "+8613912345678",
          "text": "好的 TD", "reference": "77", "reported_at": "2013-09-22T17:01:01+00:00"}

KIT = ProviderKit(
    slug="cloopen",
    credentials={},
    samples=[
        catalog_sample("cloopen-json", _JSON_REPORT),
        catalog_sample("cloopen-seed-003", _JSON_REPORT),
        catalog_sample("cloopen-xml", {
            "type": STATUS, "status": "delivered", "message_id": "smsMessageSid",
            "phone": "+8613912345678", "provider_status": "0",
            "submitted_at": "2013-09-22T17:00:00+00:00",
            "reported_at": "2013-09-22T17:01:01+00:00"}),
        catalog_sample("cloopen-mo-json", _REPLY),
        catalog_sample("cloopen-mo-xml", _REPLY),
    ],
)
