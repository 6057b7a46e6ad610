"""UCloud USMS: a JSON list of status reports (or replies); unsigned."""

from __future__ import annotations

from tests.conformance.catalog import INBOUND, STATUS, catalog_sample
from tests.conformance.kit import ProviderKit

_REF = "you man c define the content by yrself"
_DELIVERED = {"type": STATUS, "status": "delivered",
              "message_id": "d0****f7-0fc3-****-****-9f73****6c6e", "reference": _REF,
              "phone": "185****9057", "provider_status": "Delivrd", "error_code": None,
              "segments": 2, "reported_at": "2019-07-23T07:30:00+00:00",
              "reason_class": None}
_BLACKLISTED = {**_DELIVERED, "status": "failed",
                "message_id": "d1****f7-0fc3-****-****-9f73****6c6e",
                "provider_status": "MSBLACK", "error_code": "MSBLACK",
                "reason_class": "blacklisted"}
_REPLY = {"type": INBOUND, "status": "received", "phone": "185****9057", "reference": _REF,
          "reported_at": "2019-11-12T09:59:38+00:00"}

KIT = ProviderKit(
    slug="ucloud",
    credentials={},
    samples=[
        catalog_sample("ucloud-dlr", _DELIVERED, _BLACKLISTED),
        catalog_sample("ucloud-seed-002", _DELIVERED, _BLACKLISTED),
        catalog_sample("ucloud-mo", {**_REPLY, "text": "好的，可以了"},
                       {**_REPLY, "text": "收到，谢谢"}),
    ],
)
