"""Infobip: a batch of delivery reports (one delivered, one intermediate, one failed)
and an incoming message, with Basic credentials on the subscription.

The report's fields follow Infobip's "Receive outbound SMS message report" example; the
delivered status object is Infobip's own (``infobip_status_object.json``); the failure
uses an error object of its error code reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from dlrhub.providers.infobip import basic_authorization
from tests.conformance.catalog import INBOUND, STATUS
from tests.conformance.kit import ProviderKit, Sample
from tests.fixtures import sample

JSON = "application/json"
CREDENTIALS = {"username": "kit-infobip-user", "password": "kit-infobip-password"}
NO_ERROR = {"groupId": 0, "groupName": "OK", "id": 0, "name": "NO_ERROR",
            "description": "No Error", "permanent": False}


def _report(message_id: str, status: Mapping[str, Any], error: Mapping[str, Any]) -> dict[str, Any]:
    return {"bulkId": "BULK-ID-123-xyz", "price": {"pricePerMessage": 0.01, "currency": "EUR"},
            "status": status, "error": error, "messageId": message_id,
            "doneAt": "2019-11-09T16:00:00.000+0000", "smsCount": 1,
            "sentAt": "2019-11-09T15:59:58.000+0000", "to": "41793026727",
            "mccMnc": "22801", "callbackData": "DLR callback data"}


_BATCH = {"results": [
    _report("MESSAGE-ID-123-xyz", orjson.loads(sample("infobip_status_object.json")), NO_ERROR),
    _report("MESSAGE-ID-456-xyz", {"groupId": 3, "groupName": "DELIVERED", "id": 2,
                                   "name": "DELIVERED_TO_OPERATOR",
                                   "description": "Message delivered to operator"}, NO_ERROR),
    _report("MESSAGE-ID-789-xyz", {"groupId": 2, "groupName": "UNDELIVERABLE", "id": 9,
                                   "name": "UNDELIVERABLE_NOT_DELIVERED",
                                   "description": "Message sent not delivered"},
            {"groupId": 1, "groupName": "HANDSET_ERRORS", "id": 27,
             "name": "EC_ABSENT_SUBSCRIBER", "description": "Absent Subscriber",
             "permanent": False}),
]}
# Infobip's own flag decides ``retryable`` where the class alone cannot say (both of
# these classes answer "sometimes"): a permanent block, a temporary handset fault.
_UNDELIVERABLE = {"groupId": 2, "groupName": "UNDELIVERABLE", "id": 9,
                  "name": "UNDELIVERABLE_NOT_DELIVERED",
                  "description": "Message sent not delivered"}
_FLAGGED = {"results": [
    _report("MESSAGE-ID-901-xyz", _UNDELIVERABLE,
            {"groupId": 1, "groupName": "HANDSET_ERRORS", "id": 8,
             "name": "EC_ROAMING_NOT_ALLOWED", "description": "Roaming not allowed",
             "permanent": True}),
    _report("MESSAGE-ID-902-xyz", _UNDELIVERABLE,
            {"groupId": 1, "groupName": "HANDSET_ERRORS", "id": 7,
             "name": "EC_UNKNOWN_EQUIPMENT", "description": "Unknown equipment",
             "permanent": False}),
]}
_EVENT = {"type": STATUS, "phone": "+41793026727", "segments": 1,
          "submitted_at": datetime(2019, 11, 9, 15, 59, 58, tzinfo=UTC),
          "reported_at": datetime(2019, 11, 9, 16, 0, tzinfo=UTC)}
_MO = {"results": [{"messageId": "817790313235066447", "from": "385916242493",
                    "to": "385921004026", "text": "QUIZ Correct answer is Paris",
                    "cleanText": "Correct answer is Paris", "keyword": "QUIZ",
                    "receivedAt": "2019-11-09T16:00:00.000+0000", "smsCount": 1,
                    "price": {"pricePerMessage": 0, "currency": "EUR"},
                    "callbackData": "callbackData"}],
       "messageCount": 1, "pendingMessageCount": 0}


def sign(s: Sample, url: str, credentials: Mapping[str, str], now: datetime) -> Sample:
    """Add the subscription's Basic credentials, as Infobip sends them (a GUESS)."""
    return s.with_(headers={**s.headers, "Authorization": basic_authorization(
        credentials["username"], credentials["password"])})


def _other_password(s: Sample, url: str, credentials: Mapping[str, str],
                    now: datetime) -> Sample:
    return sign(s, url, {**credentials, "password": "another"}, now)


def _missing_header(s: Sample, url: str, credentials: Mapping[str, str],
                    now: datetime) -> Sample:
    return s


KIT = ProviderKit(
    slug="infobip",
    credentials=CREDENTIALS,
    samples=[
        Sample("reports", orjson.dumps(_BATCH), JSON, expected=[
            {**_EVENT, "status": "delivered", "message_id": "MESSAGE-ID-123-xyz",
             "provider_status": "DELIVERED_TO_HANDSET", "error_code": None,
             "reason_class": None},
            {**_EVENT, "status": "pending", "message_id": "MESSAGE-ID-456-xyz",
             "provider_status": "DELIVERED_TO_OPERATOR", "error_code": None},
            {**_EVENT, "status": "failed", "message_id": "MESSAGE-ID-789-xyz",
             "error_code": "EC_ABSENT_SUBSCRIBER",
             "reason_class": "unreachable_powered_off", "retryable": True},
        ]),
        Sample("permanent-flag", orjson.dumps(_FLAGGED), JSON, expected=[
            {**_EVENT, "status": "failed", "message_id": "MESSAGE-ID-901-xyz",
             "error_code": "EC_ROAMING_NOT_ALLOWED",
             "reason_class": "carrier_unspecified_block", "retryable": False},
            {**_EVENT, "status": "failed", "message_id": "MESSAGE-ID-902-xyz",
             "error_code": "EC_UNKNOWN_EQUIPMENT", "reason_class": "handset_error",
             "retryable": True},
        ]),
        Sample("incoming", orjson.dumps(_MO), JSON, expected=[
            {"type": INBOUND, "status": "received", "message_id": "817790313235066447",
             "phone": "+385916242493", "text": "QUIZ Correct answer is Paris"}]),
    ],
    signer=sign,
    tampers={"other-password": _other_password, "missing-header": _missing_header},
)
