"""The words dlrhub stores and answers with: one enum per vocabulary, defined here only.

Provider adapters produce them, tables hold them, and API schemas, the OpenAPI document,
services and the CLI's choices use them; the values are what the database holds and the
JSON carries, so ``ReceiptStatus.delivered == "delivered"``. Here, below ``models/`` and
``providers/``, so that both use the one definition (``dlrhub.models`` re-exports them).
"""

from __future__ import annotations

from enum import StrEnum


class ReceiptStatus(StrEnum):
    """A receipt's status (DESIGN §3): every one but ``pending`` is final."""

    delivered = "delivered"
    failed = "failed"
    expired = "expired"
    rejected = "rejected"
    pending = "pending"
    unknown = "unknown"
    # Inbound messages (``sms.inbound``) are ``received``.
    received = "received"


class EventType(StrEnum):
    """What an event is: a receipt, an inbound message, or what dlrhub says about them."""

    # A delivery status report (or, with ``synthetic``, dlrhub's final word on a message
    # whose receipt never came).
    status = "sms.status"
    inbound = "sms.inbound"
    # A second final status that disagrees with the first, which the message keeps.
    status_corrected = "sms.status_corrected"
    # An expected message whose final receipt did not come by its deadline.
    receipt_missing = "sms.receipt_missing"
    # An alert rule that started or stopped firing.
    alert = "sms.alert"
    # Operational events (opt-in: only an endpoint that lists one receives it).
    # An endpoint disabled after failing too long, or by the tenant.
    endpoint_disabled = "endpoint.disabled"
    # An endpoint's circuit opened: its deliveries are parked for a cool-down.
    endpoint_circuit_opened = "endpoint.circuit_opened"
    # A delivery got through after the endpoint's circuit had been open.
    endpoint_recovered = "endpoint.recovered"
    # A delivery ran out of tries.
    delivery_dead = "delivery.dead"
    # A burst of rejected callbacks on one account (a misconfigured provider console);
    # its ``data.state`` is ``firing`` when the burst starts and ``resolved`` when it ends.
    callbacks_rejected = "account.callbacks_rejected"


# The event types that tell about dlrhub's own operation, not about messages: an
# endpoint receives them only if its ``event_types`` names them.
OPERATIONAL_EVENTS = frozenset({
    EventType.endpoint_disabled, EventType.endpoint_circuit_opened,
    EventType.endpoint_recovered, EventType.delivery_dead, EventType.callbacks_rejected})


class ReasonClass(StrEnum):
    """Why a message was not delivered, in 12 classes a sender can act on.

    Every failed, expired, rejected or unknown status carries one; the dictionary that
    maps providers' and carriers' codes to them is data shipped with the package.
    """

    invalid_number = "invalid_number"
    suspended_or_no_credit = "suspended_or_no_credit"
    unreachable_powered_off = "unreachable_powered_off"
    handset_error = "handset_error"
    blacklisted = "blacklisted"
    content_blocked = "content_blocked"
    rate_limited = "rate_limited"
    expired = "expired"
    network_error = "network_error"
    gateway_or_protocol_error = "gateway_or_protocol_error"
    carrier_unspecified_block = "carrier_unspecified_block"
    other_unknown = "other_unknown"


class ExpectationState(StrEnum):
    """Where an expected message stands: its final receipt came, or not yet, or too late.

    ``missing`` stays ``missing`` after the horizon's synthetic final status; a final
    receipt that arrives after the deadline still turns it ``met`` (late).
    """

    pending = "pending"
    met = "met"
    missing = "missing"


class AlertKind(StrEnum):
    """What an alert rule measures over its window, and fires on."""

    # Delivered ÷ final messages, once at least ``min_messages`` are final.
    delivery_rate_below = "delivery_rate_below"
    # One reason class's share of the failures.
    reason_share_above = "reason_share_above"
    # Missing ÷ expectations whose deadline fell in the window.
    missing_share_above = "missing_share_above"
    # An account with pending expectations sent no receipt at all for the window: its
    # provider's receipt pipeline is down, not delivery.
    no_receipts_for = "no_receipts_for"


class AlertState(StrEnum):
    """What an ``sms.alert`` event says: the rule started firing, or it cleared."""

    firing = "firing"
    resolved = "resolved"


class InboxState(StrEnum):
    """Where a raw callback is in its processing."""

    pending = "pending"
    processed = "processed"
    rejected = "rejected"
    failed = "failed"


class DeliveryStatus(StrEnum):
    """Where a delivery is: waiting or retrying, done, refused for good, or given up."""

    pending = "pending"
    succeeded = "succeeded"
    failed = "failed"
    dead = "dead"


class TenantStatus(StrEnum):
    """Whether a tenant may use the API and have its events relayed."""

    active = "active"
    suspended = "suspended"


class EndpointFormat(StrEnum):
    """What an endpoint receives: our event shape, or the provider's own callback."""

    normalized = "normalized"
    native = "native"
