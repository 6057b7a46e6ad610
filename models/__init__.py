"""SQLModel tables, engine and session handling; Alembic migrations in ``migrations/``."""

from dlrhub.models.endpoint import EndpointBase, EndpointCreate, EndpointPublic, EndpointUpdate
from dlrhub.models.engine import make_engine, make_session_factory
from dlrhub.models.ids import new_id, utcnow
from dlrhub.models.tables import (
    ACCOUNT_TABLE,
    API_KEY_TABLE,
    ATTEMPT_TABLE,
    DELIVERY_TABLE,
    ENDPOINT_TABLE,
    INBOX_TABLE,
    RECEIPT_TABLE,
    TENANT_TABLE,
    ApiKey,
    Attempt,
    Delivery,
    Endpoint,
    InboundCallback,
    ProviderAccount,
    Receipt,
    Tenant,
)
from dlrhub.models.vocabulary import (
    DeliveryStatus,
    EndpointFormat,
    EventType,
    InboxState,
    ReceiptStatus,
    TenantStatus,
)

__all__ = [
    "ACCOUNT_TABLE",
    "API_KEY_TABLE",
    "ATTEMPT_TABLE",
    "DELIVERY_TABLE",
    "ENDPOINT_TABLE",
    "INBOX_TABLE",
    "RECEIPT_TABLE",
    "TENANT_TABLE",
    "ApiKey",
    "Attempt",
    "Delivery",
    "DeliveryStatus",
    "Endpoint",
    "EndpointBase",
    "EndpointCreate",
    "EndpointFormat",
    "EndpointPublic",
    "EndpointUpdate",
    "EventType",
    "InboundCallback",
    "InboxState",
    "ProviderAccount",
    "Receipt",
    "ReceiptStatus",
    "Tenant",
    "TenantStatus",
    "make_engine",
    "make_session_factory",
    "new_id",
    "utcnow",
]
