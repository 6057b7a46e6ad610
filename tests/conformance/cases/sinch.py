"""Sinch: a per-recipient delivery report, a full batch report and an MO text.

Field names and example values follow Sinch's SMS REST API reference (Webhooks and
Delivery reports); the ids are of the form Sinch documents.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from tests.conformance.catalog import INBOUND, STATUS
from tests.conformance.kit import ProviderKit, Sample

JSON = "application/json"
BATCH_ID = "01FC66621XXXXX119Z8PMV1QPQ"


def _post(name: str, doc: dict[str, Any], *expected: dict[str, object]) -> Sample:
    return Sample(name=name, body=orjson.dumps(doc), content_type=JSON, expected=expected)


_RECIPIENT = {"type": "recipient_delivery_report_sms", "batch_id": BATCH_ID,
              "recipient": "+44231235674", "code": 401, "status": "Dispatched",
              "at": "2022-08-30T08:16:08.930Z", "operator_status_at": "2022-08-30T08:16:08.000Z",
              "client_reference": "ref-1", "applied_originator": "12345",
              "encoding": "GSM", "number_of_message_parts": 1, "operator": "23410"}

KIT = ProviderKit(
    slug="sinch",
    credentials={},
    samples=[
        _post("recipient-dispatched", _RECIPIENT,
              {"type": STATUS, "status": "pending", "message_id": BATCH_ID,
               "phone": "+44231235674", "provider_status": "Dispatched", "error_code": None,
               "segments": 1, "reported_at": datetime(2022, 8, 30, 8, 16, 8, 930000, tzinfo=UTC)}),
        _post("recipient-delivered", {**_RECIPIENT, "code": 0, "status": "Delivered"},
              {"type": STATUS, "status": "delivered", "message_id": BATCH_ID,
               "error_code": None, "reason_class": None}),
        _post("recipient-failed", {**_RECIPIENT, "code": 402, "status": "Failed"},
              {"type": STATUS, "status": "failed", "error_code": "402",
               "reason_class": "other_unknown"}),
        _post("batch-full", {"type": "delivery_report_sms", "batch_id": BATCH_ID,
                             "total_message_count": 3, "statuses": [
                                 {"code": 0, "status": "Delivered", "count": 2,
                                  "recipients": ["44231235674", "44231235675"]},
                                 {"code": 406, "status": "Expired", "count": 1,
                                  "recipients": ["44231235676"]}]},
              {"type": STATUS, "status": "delivered", "phone": "+44231235674"},
              {"type": STATUS, "status": "delivered", "phone": "+44231235675"},
              {"type": STATUS, "status": "expired", "phone": "+44231235676",
               "error_code": "406", "reason_class": "expired"}),
        _post("mo-text", {"type": "mo_text", "id": "01FC66621VHDBN119Z8PMV1AHY",
                          "from": "+46701234567", "to": "12345", "body": "Hello there",
                          "received_at": "2022-08-30T08:16:08.930Z", "operator_id": "24001"},
              {"type": INBOUND, "status": "received", "message_id": "01FC66621VHDBN119Z8PMV1AHY",
               "phone": "+46701234567", "text": "Hello there"}),
    ],
)
