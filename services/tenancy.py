"""Tenants: create, list, read, update (name, status), delete."""

from __future__ import annotations

import enum
from collections.abc import Mapping

from sqlalchemy import delete, func, select
from sqlmodel import Session

from dlrhub.models import (
    ACCOUNT_TABLE,
    TENANT_TABLE,
    Tenant,
    TenantStatus,
    tenant_data_tables,
    utcnow,
)
from dlrhub.models.tenant import MAX_RETENTION_DAYS, MIN_RETENTION_DAYS, TenantRetention
from dlrhub.services.errors import Conflict, InvalidInput, NotFound, non_blank
from dlrhub.services.pagination import newest_by_id

# The tenant's own retention periods, by column (``retain_<kind>_days``).
RETENTION_FIELDS = tuple(TenantRetention.model_fields)


class Unset(enum.Enum):
    """A field a PATCH did not send: it stays as it is (where None would clear it)."""

    token = 0


UNSET = Unset.token


def create_tenant(session: Session, *, name: str) -> Tenant:
    """Create an active tenant."""
    tenant = Tenant(name=non_blank(name, "name"))
    session.add(tenant)
    session.flush()
    return tenant


def get_tenant(session: Session, tenant_id: str) -> Tenant:
    """Return a tenant, or raise ``NotFound``."""
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound(f"no tenant {tenant_id}")
    return tenant


def list_tenants(session: Session, *, limit: int = 50, after: str | None = None,
                 status: TenantStatus | None = None) -> tuple[list[Tenant], str | None]:
    """Return tenants, newest first, and the cursor of the next page."""
    table = TENANT_TABLE
    query = select(Tenant)
    if status is not None:
        query = query.where(table.c.status == status.value)
    return newest_by_id(session, query, table.c.id, limit=limit, after=after)


def update_tenant(session: Session, tenant_id: str, *, name: str | None = None,
                  status: TenantStatus | None = None,
                  api_rate_limit: float | Unset | None = UNSET,
                  retention: Mapping[str, int | None] | None = None) -> Tenant:
    """Rename a tenant, suspend or reactivate it, set its API rate limit or retention.

    ``api_rate_limit`` None gives the tenant the system's limit back; absent, it stays.

    A suspended tenant's callbacks are still accepted and stored (no receipt is lost),
    but its API keys are refused and its events are not relayed. ``retention`` maps
    ``retain_<kind>_days`` to whole days, or None for the system default
    (services/retention.py); a field it leaves out stays as it is.
    """
    tenant = get_tenant(session, tenant_id)
    if name is not None:
        tenant.name = non_blank(name, "name")
    if status is not None:
        tenant.status = status
    if not isinstance(api_rate_limit, Unset):
        tenant.api_rate_limit = api_rate_limit
    for field, days in (retention or {}).items():
        if field not in RETENTION_FIELDS:
            raise InvalidInput(field, "is not a retention period")
        if days is not None and not MIN_RETENTION_DAYS <= days <= MAX_RETENTION_DAYS:
            raise InvalidInput(field, f"must be whole days from {MIN_RETENTION_DAYS} to "
                                      f"{MAX_RETENTION_DAYS}, or null for the default")
        setattr(tenant, field, days)
    tenant.updated_at = utcnow()
    session.add(tenant)
    session.flush()
    return tenant


def delete_tenant(session: Session, tenant_id: str) -> None:
    """Delete a tenant and all its data; refused while it has provider accounts.

    Refusing is the safeguard: an account is where receipts come from, so deleting a
    tenant takes two deliberate steps, first its accounts, then the tenant.
    """
    tenant = get_tenant(session, tenant_id)
    accounts = ACCOUNT_TABLE
    live = session.execute(
        select(func.count()).select_from(accounts)
        .where(accounts.c.tenant_id == tenant_id, accounts.c.deleted_at.is_(None))
    ).scalar_one()
    if live:
        raise Conflict(f"the tenant still has {live} provider account(s); delete them first")
    for table in tenant_data_tables():
        session.execute(delete(table).where(table.c.tenant_id == tenant_id))
    session.delete(tenant)
    session.flush()
