"""Africa's Talking: form delivery reports (delivered, failed with a reason, buffered)
and an incoming message.

Field names and example values follow Africa's Talking's SMS notifications
documentation (delivery reports, incoming messages).
"""

from __future__ import annotations

from urllib.parse import urlencode

from tests.conformance.catalog import INBOUND, STATUS
from tests.conformance.kit import ProviderKit, Sample

FORM = "application/x-www-form-urlencoded"
ID = "ATXid_f3a8c2d1e0b94c5a8d7e6f5a4b3c2d1e"


def _post(name: str, fields: dict[str, str], *expected: dict[str, object]) -> Sample:
    return Sample(name=name, body=urlencode(fields).encode(), content_type=FORM,
                  expected=expected)


_DLR = {"id": ID, "phoneNumber": "+254711082000", "networkCode": "63902", "retryCount": "0"}
_EVENT = {"type": STATUS, "message_id": ID, "phone": "+254711082000"}

KIT = ProviderKit(
    slug="africastalking",
    credentials={},
    samples=[
        _post("success", {**_DLR, "status": "Success"},
              {**_EVENT, "status": "delivered", "provider_status": "Success",
               "error_code": None, "reason_class": None}),
        _post("failed-absent", {**_DLR, "status": "Failed",
                                "failureReason": "AbsentSubscriber", "retryCount": "2"},
              {**_EVENT, "status": "failed", "provider_status": "Failed",
               "error_code": "AbsentSubscriber", "reason_class": "unreachable_powered_off"}),
        _post("rejected-blacklist", {**_DLR, "status": "Rejected",
                                     "failureReason": "UserInBlackList"},
              {**_EVENT, "status": "rejected", "error_code": "UserInBlackList",
               "reason_class": "blacklisted"}),
        _post("buffered", {**_DLR, "status": "Buffered"},
              {**_EVENT, "status": "pending", "provider_status": "Buffered",
               "error_code": None}),
        _post("incoming", {"date": "2026-03-04T05:06:07.000Z", "from": "+254711082001",
                           "id": "0b6c6f8e-6a1c-4f5e-9d3b-1c2d3e4f5a6b", "linkId": "",
                           "text": "STOP", "to": "40404", "networkCode": "63902"},
              {"type": INBOUND, "status": "received",
               "message_id": "0b6c6f8e-6a1c-4f5e-9d3b-1c2d3e4f5a6b",
               "phone": "+254711082001", "text": "STOP"}),
    ],
)
