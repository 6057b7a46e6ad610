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
    """What a receipt is: a delivery status report or an inbound message."""

    status = "sms.status"
    inbound = "sms.inbound"


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
