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
    # An operational event (about dlrhub's own work: endpoints, deliveries, accounts):
    # sent only to endpoints whose event_types name it, in the envelope
    # {id, type, timestamp, tenant_id, account_id, data} (services/ops_events.document).
    operational: bool = False


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


_ENDPOINT = {"endpoint_id": "ep_01JD8Z1A2S3D4F5G6H7J8K9L0Q",
             "url": "https://hooks.example.com/dlr", "description": "billing"}


def _ops(type_: str, data: dict[str, Any], *, account_id: str | None = None
         ) -> dict[str, Any]:
    return {"id": "evt_01JD8Z9X8C7V6B5N4M3Q2W1E0R", "type": type_,
            "timestamp": "2026-12-02T10:15:00Z", "tenant_id": _TENANT,
            "account_id": account_id, "data": data}


OPERATIONAL: tuple[EventTypeInfo, ...] = (
    EventTypeInfo(
        EventType.endpoint_disabled.value,
        "An endpoint was disabled after its deliveries failed for too long; `data.reason` "
        "says why. `PATCH /v1/endpoints/{id} {\"enabled\": true}` turns it back on.",
        _ops("endpoint.disabled", {**_ENDPOINT, "reason": "every delivery failed for 5 days",
                                   "trigger": "automatic",
                                   "failing_since": "2026-11-27T10:15:00Z",
                                   "disabled_at": "2026-12-02T10:15:00Z"}),
        operational=True),
    EventTypeInfo(
        EventType.endpoint_circuit_opened.value,
        "An endpoint's circuit opened after failures in a row: its deliveries are parked "
        "until `data.parked_until`, then one probe is sent.",
        _ops("endpoint.circuit_opened", {**_ENDPOINT, "opened_at": "2026-12-02T10:15:00Z",
                                         "parked_until": "2026-12-02T10:15:05Z",
                                         "consecutive_failures": 5,
                                         "failing_since": "2026-12-02T10:14:40Z",
                                         "last_error": "HTTP 503"}),
        operational=True),
    EventTypeInfo(
        EventType.endpoint_recovered.value,
        "A delivery got through to an endpoint whose circuit had opened: it is taking "
        "deliveries again.",
        _ops("endpoint.recovered", {**_ENDPOINT, "recovered_at": "2026-12-02T10:20:00Z"}),
        operational=True),
    EventTypeInfo(
        EventType.delivery_dead.value,
        "A delivery ran out of tries; `POST /v1/deliveries/{id}/retry` sends it again.",
        _ops("delivery.dead", {**_ENDPOINT, "delivery_id": "dlv_01JD8Z2W3E4R5T6Y7U8I9O0P",
                               "event_ids": ["evt_01JD8Y0Q9W8E7R6T5Y4U3I2O1P"],
                               "attempts": 8, "last_status_code": 500,
                               "last_error": "HTTP 500", "dead_at": "2026-12-02T10:15:00Z"}),
        operational=True),
    EventTypeInfo(
        EventType.callbacks_rejected.value,
        "An account's callbacks are being refused in a burst (`state: firing`), or no "
        "longer (`resolved`): usually a wrong URL or secret in the provider's console.",
        _ops("account.callbacks_rejected",
             {"account_id": _ACCOUNT, "account_name": "tencent-prod", "provider": "tencent",
              "state": "firing", "rejected": 12, "threshold": 10, "window_seconds": 300,
              "since": "2026-12-02T10:10:00Z",
              "hint": "the provider is calling with a wrong signature, token or body: "
                      "check the callback URL and secret in the provider's console; "
                      "GET /v1/inbox?state=rejected shows why each was refused"},
             account_id=_ACCOUNT),
        operational=True),
)


def event_types() -> tuple[EventTypeInfo, ...]:
    """Return every event type dlrhub relays, in the vocabulary's order."""
    return CATALOGUE + OPERATIONAL
