"""Tenants and their API keys (admin routes)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from dlrhub.api.schemas.common import Input, Output, PageQuery
from dlrhub.models import TenantStatus


class TenantCreate(Input):
    """A new tenant."""

    name: str = Field(min_length=1, max_length=200)


class TenantUpdate(Input):
    """Changes to a tenant; absent fields stay as they are."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    status: TenantStatus | None = None


class TenantPublic(Output):
    """A tenant."""

    id: str
    name: str
    status: TenantStatus
    created_at: datetime
    updated_at: datetime


class TenantQuery(PageQuery):
    """Filters of the tenant list."""

    status: TenantStatus | None = None


class TenantPage(Output):
    """A page of tenants."""

    data: list[TenantPublic]
    next: str | None


class KeyCreate(Input):
    """A new API key."""

    name: str = Field(default="", max_length=200)


class KeyPublic(Output):
    """An API key as listed: never the secret, only its last characters."""

    id: str
    tenant_id: str
    name: str
    hint: str = Field(description="the key's last 4 characters")
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class KeyCreated(KeyPublic):
    """A key as issued: the only time the secret is shown."""

    key: str = Field(description="the secret; store it now, it is not shown again")


class KeyPage(Output):
    """A page of API keys."""

    data: list[KeyPublic]
    next: str | None
