"""Every event type dlrhub relays: what it means, and an example of its body.

``GET /v1/event-types`` lists them, and ``/openapi.json`` describes each in its
``webhooks`` section, so that a customer can generate the types of its receiver. The
examples are the event document a normalized endpoint receives (a JSON array of them
when its ``batch_size`` is above 1); tests/unit/services/test_event_types.py holds each
to the API's Event schema and to the fields the code that emits it writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dlrhub.core.vocabulary import EventType


@dataclass(frozen=True, slots=True)
class EventTypeInfo:
    """One event type: its name, what it means, and an example body."""

    type: str
    description: str
    example: dict[str, Any]


_TENANT = "ten_01JD8X3W6Q4M2N7P5R9T1V3B6C"
_ACCOUNT = "acc_01JD8X4A2B3C4D5E6F7G8H9J0K"


def _event(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "evt_01JD8Y0Q9W8E7R6T5Y4U3I2O1P", "type": "sms.status", "tenant_id": _TENANT,
        "account_id": _ACCOUNT, "provider": "tencent", "message_id": "2019:7154431836",
        "reference": "order-1042", "phone": "+8613800138000", "status": "delivered",
        "provider_status": "SUCCESS", "error_code": None, "error_message": None,
        "segments": 1, "part": None, "price": None,
        "submitted_at": "2026-12-02T08:00:00Z", "reported_at": "2026-12-02T08:00:04Z",
        "received_at": "2026-12-02T08:00:05.120000Z", "text": None,
        "raw": {"sid": "2019:7154431836", "mobile": "13800138000", "nationcode": "86",
                "report_status": "SUCCESS", "errmsg": "DELIVRD",
                "user_receive_time": "2026-12-02 16:00:04", "ext": "order-1042"},
        "reason_class": None, "retryable": None, "country": "CN", "carrier": "china_mobile",
        "synthetic": False, "details": None,
    }
    return {**base, **fields}


CATALOGUE: tuple[EventTypeInfo, ...] = (
    EventTypeInfo(
        EventType.status.value,
        "A delivery status report from a provider, normalized: `status` is delivered, "
        "failed, expired, rejected, unknown or pending; a failure carries its "
        "`reason_class` and `retryable`. With `synthetic: true` it is dlrhub's own final "
        "`unknown` for an expected message whose receipt never came by its horizon.",
        _event(),
    ),
    EventTypeInfo(
        EventType.inbound.value,
        "An SMS a phone sent to one of the tenant's numbers (a reply, an opt-out), with "
        "its `text`.",
        _event(type="sms.inbound", message_id=None, reference=None, status="delivered",
               provider_status=None, segments=None, submitted_at=None,
               reported_at="2026-12-02T08:03:10Z", text="TD",
               raw={"mobile": "13800138000", "nationcode": "86", "text": "TD",
                    "sign": "", "time": 1764662590, "extend": ""},
               country="CN", carrier="china_mobile"),
    ),
    EventTypeInfo(
        EventType.status_corrected.value,
        "A second final report of a message disagreed with the first; the message keeps "
        "the first (`status`), and `details` carries both (`kept`, `reported`).",
        _event(type="sms.status_corrected", raw={}, error_code=None,
               details={"part": None,
                        "kept": {"status": "delivered", "receipt_id": "evt_01JD8Y0Q9W8E7R6T5Y",
                                 "provider_status": "SUCCESS",
                                 "reported_at": "2026-12-02T08:00:04Z",
                                 "received_at": "2026-12-02T08:00:05.120000Z",
                                 "reason_class": None, "retryable": None},
                        "reported": {"status": "failed", "receipt_id": "evt_01JD8Y7K2L",
                                     "provider_status": "FAIL",
                                     "reported_at": "2026-12-02T08:01:30Z",
                                     "received_at": "2026-12-02T08:01:31Z",
                                     "reason_class": "invalid_number",
                                     "retryable": False}}),
    ),
    EventTypeInfo(
        EventType.receipt_missing.value,
        "An expected message (`POST /v1/expectations`) had no final receipt by its "
        "deadline. `status` is pending: a receipt that comes later still counts.",
        _event(type="sms.receipt_missing", status="pending", provider_status=None,
               reported_at=None, received_at="2026-12-02T08:10:00.004000Z", raw={},
               segments=None,
               details={"expected_by": "2026-12-02T08:10:00Z", "template": "otp",
                        "sent_at": "2026-12-02T08:00:00Z",
                        "expectation_id": "exp_01JD8Y2M3N4B5V6C7X8Z9A0S1D"}),
    ),
    EventTypeInfo(
        EventType.alert.value,
        "An alert rule started (`state: firing`) or stopped (`state: resolved`) firing; "
        "`details` has the rule, its measure and the threshold. `provider` is the rule's "
        "scope, or `dlrhub` for a rule over every provider.",
        _event(type="sms.alert", provider="dlrhub", message_id=None, reference=None,
               phone=None,
               status="pending", provider_status=None, segments=None, submitted_at=None,
               reported_at=None, received_at="2026-12-02T09:00:00.015000Z", raw={},
               country=None, carrier="china_telecom",
               details={"rule_id": "alr_01JD8Y5F6G7H8J9K0L1Z2X3C4V",
                        "kind": "delivery_rate_below", "state": "firing", "value": 0.62,
                        "threshold": 0.9, "window_seconds": 3600, "min_messages": 100,
                        "reason_class": None,
                        "scope": {"account_id": _ACCOUNT, "carrier": "china_telecom"},
                        "firing_since": "2026-12-02T09:00:00Z"}),
    ),
)


def event_types() -> tuple[EventTypeInfo, ...]:
    """Return every event type dlrhub relays, in the vocabulary's order."""
    return CATALOGUE
