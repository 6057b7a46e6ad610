"""Tenants and their API keys (admin routes); their own fields are in models.tenant."""

from __future__ import annotations

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
    "TenantCreate",
    "TenantPage",
    "TenantPublic",
    "TenantQuery",
    "TenantUpdate",
]
