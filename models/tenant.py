"""A tenant's and an API key's fields, declared once: their SQLModel families.

``TenantBase`` and ``ApiKeyBase`` hold what the admin sets; the ``Create``/``Update``
bodies and the ``Public`` answers derive from them, and so do the tables
``models.tables.Tenant`` and ``models.tables.ApiKey``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import pydantic
from sqlmodel import Field, SQLModel

from dlrhub.core.vocabulary import TenantStatus
from dlrhub.models.family import INPUT_CONFIG, PUBLIC_CONFIG


class TenantBase(SQLModel):
    """What the admin names a tenant."""

    name: str = Field(min_length=1, max_length=200)


# A retention period set by the admin: whole days (a JSON integer, not 30.5 nor "30"),
# from one day to ten years.
MIN_RETENTION_DAYS = 1
MAX_RETENTION_DAYS = 3650
RetentionDays = Annotated[int, pydantic.Strict(),
                          pydantic.Field(ge=MIN_RETENTION_DAYS, le=MAX_RETENTION_DAYS)]
_OWN_PERIOD = "days; null: the system default"


class TenantRetention(SQLModel):
    """A tenant's own retention periods (services/retention.py); None: the system default."""

    retain_inbox_days: int | None = Field(
        default=None, description=f"raw callbacks (the inbox), in {_OWN_PERIOD}")
    retain_receipts_days: int | None = Field(
        default=None, description=f"receipts and message timelines, in {_OWN_PERIOD}")
    retain_deliveries_days: int | None = Field(
        default=None, description=f"finished deliveries and their attempts, in {_OWN_PERIOD}")
    retain_expectations_days: int | None = Field(
        default=None, description=f"met or missing expectations, in {_OWN_PERIOD}")


class TenantCreate(TenantBase):
    """A new tenant."""

    model_config = INPUT_CONFIG


class TenantUpdate(SQLModel):
    """Changes to a tenant; absent fields stay as they are."""

    model_config = INPUT_CONFIG

    name: str | None = Field(default=None, min_length=1, max_length=200)
    status: TenantStatus | None = None
    api_rate_limit: float | None = Field(
        default=None, gt=0, le=100_000,
        description="requests a second each of the tenant's API keys may make (a burst "
                    "of DLRHUB_API_RATE_BURST_SECONDS of them at once); null: the "
                    "system's DLRHUB_API_RATE_LIMIT")
    # null sets the period back to the system default; absent leaves it as it is.
    retain_inbox_days: RetentionDays | None = None
    retain_receipts_days: RetentionDays | None = None
    retain_deliveries_days: RetentionDays | None = None
    retain_expectations_days: RetentionDays | None = None


class TenantPublic(TenantBase, TenantRetention):
    """A tenant, with the retention periods the admin set for it (null: the default)."""

    model_config = PUBLIC_CONFIG

    id: str
    status: TenantStatus
    api_rate_limit: float | None = Field(
        default=None, description="its own per-key limit, requests a second (null: the "
                                  "system's)")
    created_at: datetime
    updated_at: datetime


class ApiKeyBase(SQLModel):
    """What the admin calls an API key."""

    name: str = Field(default="", max_length=200)


class KeyCreate(ApiKeyBase):
    """A new API key."""

    model_config = INPUT_CONFIG


class KeyPublic(ApiKeyBase):
    """An API key as listed: never the secret, only its last characters."""

    model_config = PUBLIC_CONFIG

    id: str
    tenant_id: str
    hint: str = Field(description="the key's last 4 characters")
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
