"""Tenants and their API keys (admin routes); their own fields are in models.tenant."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from dlrhub.api.schemas.common import Output, PageQuery
from dlrhub.models import (
    KeyCreate,
    KeyPublic,
    TenantCreate,
    TenantPublic,
    TenantStatus,
    TenantUpdate,
)


class TenantQuery(PageQuery):
    """Filters of the tenant list."""

    status: TenantStatus | None = None


class TenantPage(Output):
    """A page of tenants."""

    data: list[TenantPublic]
    next: str | None


class RetentionPeriod(Output):
    """How long one kind of the tenant's rows is kept."""

    days: int = Field(description="rows older than this many days are purged")
    default: bool = Field(description="true: the system default; false: set for this tenant")


class RetentionPeriods(Output):
    """The tenant's retention periods, by kind of row."""

    inbox: RetentionPeriod = Field(description="raw callbacks once processed or refused "
                                               "(never one still waiting)")
    receipts: RetentionPeriod = Field(description="receipts and message timelines")
    deliveries: RetentionPeriod = Field(description="finished webhook deliveries and their "
                                                    "attempts")
    expectations: RetentionPeriod = Field(description="met or missing expected messages, "
                                                      "counted from their deadline")


class TenantSelf(Output):
    """The tenant of the API key, as it sees itself."""

    id: str
    name: str
    status: TenantStatus
    created_at: datetime
    retention: RetentionPeriods


class KeyCreated(KeyPublic):
    """A key as issued: the only time the secret is shown."""

    key: str = Field(description="the secret; store it now, it is not shown again")


class KeyPage(Output):
    """A page of API keys."""

    data: list[KeyPublic]
    next: str | None


__all__ = [
    "KeyCreate",
    "KeyCreated",
    "KeyPage",
    "KeyPublic",
    "RetentionPeriod",
    "RetentionPeriods",
    "TenantCreate",
    "TenantPage",
    "TenantPublic",
    "TenantQuery",
    "TenantSelf",
    "TenantUpdate",
]
