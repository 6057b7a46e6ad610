"""SQLModel tables, engine and session handling; Alembic migrations in ``migrations/``."""

from dlrhub.models.engine import make_engine, make_session_factory
from dlrhub.models.ids import new_id, utcnow
from dlrhub.models.tables import (
    ApiKey,
    Attempt,
    Delivery,
    DeliveryStatus,
    Endpoint,
    EndpointFormat,
    InboundCallback,
    InboxState,
    ProviderAccount,
    Receipt,
    Tenant,
    TenantStatus,
)

__all__ = [
    "ApiKey",
    "Attempt",
    "Delivery",
    "DeliveryStatus",
    "Endpoint",
    "EndpointFormat",
    "InboundCallback",
    "InboxState",
    "ProviderAccount",
    "Receipt",
    "Tenant",
    "TenantStatus",
    "make_engine",
    "make_session_factory",
    "new_id",
    "utcnow",
]
