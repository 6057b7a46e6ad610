"""Admin routes: ``/v1/tenants[/{id}[/keys[/{key_id}]]]``; the tenant's own ``/v1/tenant``."""

from __future__ import annotations

from collections.abc import Callable

import falcon
from sqlmodel import Session

from dlrhub.api.io import read_json, read_query, write
from dlrhub.api.openapi import operation
from dlrhub.api.schemas.common import PageQuery
from dlrhub.api.schemas.tenants import (
    KeyCreate,
    KeyCreated,
    KeyPage,
    KeyPublic,
    RetentionPeriod,
    RetentionPeriods,
    TenantCreate,
    TenantPage,
    TenantPublic,
    TenantQuery,
    TenantSelf,
    TenantUpdate,
)
from dlrhub.services import keys, retention, tenancy

Sessions = Callable[[], Session]


class _Base:
    def __init__(self, sessions: Sessions, max_body: int) -> None:
        self._sessions = sessions
        self._max_body = max_body


class Tenants(_Base):
    """``/v1/tenants``."""

    @operation("Create a tenant", audit="tenant.create",
               auth="admin", body=TenantCreate, response=TenantPublic,
               status=201, tag="tenants")
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Create a tenant."""
        body = read_json(req, TenantCreate, self._max_body)
        with self._sessions() as session:
            tenant = tenancy.create_tenant(session, name=body.name)
            session.commit()
            write(resp, TenantPublic.model_validate(tenant), 201)

    @operation("List tenants", auth="admin", query=TenantQuery, response=TenantPage,
               tag="tenants")
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """List tenants, newest first."""
        query = read_query(req, TenantQuery)
        with self._sessions() as session:
            rows, cursor = tenancy.list_tenants(session, limit=query.limit, after=query.after,
                                                status=query.status)
            write(resp, TenantPage(data=[TenantPublic.model_validate(r) for r in rows],
                                   next=cursor))


class Tenant(_Base):
    """``/v1/tenants/{tenant_id}``."""

    @operation("Read a tenant", auth="admin", response=TenantPublic, tag="tenants")
    def on_get(self, req: falcon.Request, resp: falcon.Response, tenant_id: str) -> None:
        """Return one tenant."""
        with self._sessions() as session:
            write(resp, TenantPublic.model_validate(tenancy.get_tenant(session, tenant_id)))

    @operation("Update a tenant", audit="tenant.update",
               auth="admin", body=TenantUpdate, response=TenantPublic,
               tag="tenants", description="Rename, or set `status` to `suspended` or "
               "`active`. A suspended tenant's callbacks are still stored; its keys are "
               "refused and its events are not relayed. `retain_*_days` set the tenant's "
               "own retention periods in whole days (1 to 3650); `null` sets one back "
               "to the system default, and a field left out stays as it is.")
    def on_patch(self, req: falcon.Request, resp: falcon.Response, tenant_id: str) -> None:
        """Rename, suspend or reactivate a tenant, or set its retention periods."""
        body = read_json(req, TenantUpdate, self._max_body)
        retention = {f: getattr(body, f) for f in tenancy.RETENTION_FIELDS
                     if f in body.model_fields_set}
        with self._sessions() as session:
            rate = body.api_rate_limit if "api_rate_limit" in body.model_fields_set \
                else tenancy.UNSET
            tenant = tenancy.update_tenant(session, tenant_id, name=body.name,
                                           status=body.status, api_rate_limit=rate,
                                           retention=retention)
            session.commit()
            write(resp, TenantPublic.model_validate(tenant))

    @operation("Delete a tenant", audit="tenant.delete",
               auth="admin", status=204, errors=(409,), tag="tenants",
               description="Refused (409) while the tenant has provider accounts; "
               "otherwise deletes the tenant with its keys, receipts and inbox.")
    def on_delete(self, req: falcon.Request, resp: falcon.Response, tenant_id: str) -> None:
        """Delete a tenant that has no provider accounts left."""
        with self._sessions() as session:
            tenancy.delete_tenant(session, tenant_id)
            session.commit()
        resp.status = 204


class OwnTenant:
    """``/v1/tenant``: the tenant of the API key, as it may see itself."""

    def __init__(self, sessions: Sessions, defaults: retention.Periods) -> None:
        self._sessions = sessions
        self._defaults = defaults

    @operation("Read your tenant", auth="tenant", response=TenantSelf, tag="tenants",
               description="The tenant of the API key, with how long its data is kept: "
                           "each retention period in days, and whether it is the system "
                           "default (`default: true`) or one the admin set for it. Rows "
                           "older than their period are purged; the delivery analytics "
                           "(`GET /v1/analytics/delivery`) keep their counts.")
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Return the key's tenant and its retention periods."""
        with self._sessions() as session:
            tenant = tenancy.get_tenant(session, req.context.tenant_id)
            periods = retention.effective_periods(tenant, self._defaults)
            write(resp, TenantSelf(
                id=tenant.id, name=tenant.name, status=tenant.status,
                created_at=tenant.created_at,
                retention=RetentionPeriods(**{k: RetentionPeriod(days=p.days, default=p.default)
                                              for k, p in periods.items()})))


class TenantKeys(_Base):
    """``/v1/tenants/{tenant_id}/keys``."""

    @operation("Issue an API key", audit="key.create",
               auth="admin", body=KeyCreate, response=KeyCreated,
               status=201, tag="keys", description="The secret is in this answer only.")
    def on_post(self, req: falcon.Request, resp: falcon.Response, tenant_id: str) -> None:
        """Issue a key for the tenant."""
        body = read_json(req, KeyCreate, self._max_body)
        with self._sessions() as session:
            new = keys.create_key(session, tenant_id=tenant_id, name=body.name)
            session.commit()
            doc = KeyPublic.model_validate(new.record).model_dump()
            write(resp, KeyCreated(**doc, key=new.key), 201)

    @operation("List API keys", auth="admin", query=PageQuery,
               response=KeyPage, tag="keys")
    def on_get(self, req: falcon.Request, resp: falcon.Response, tenant_id: str) -> None:
        """List the tenant's keys, revoked ones included, newest first."""
        query = read_query(req, PageQuery)
        with self._sessions() as session:
            rows, cursor = keys.list_keys(session, tenant_id=tenant_id, limit=query.limit,
                                          after=query.after)
            write(resp, KeyPage(data=[KeyPublic.model_validate(r) for r in rows],
                                next=cursor))


class TenantKey(_Base):
    """``/v1/tenants/{tenant_id}/keys/{key_id}``."""

    @operation("Revoke an API key", audit="key.revoke",
               auth="admin", response=KeyPublic, tag="keys")
    def on_delete(self, req: falcon.Request, resp: falcon.Response, tenant_id: str,
                  key_id: str) -> None:
        """Revoke a key; it stops working at once."""
        with self._sessions() as session:
            record = keys.revoke_key(session, tenant_id=tenant_id, key_id=key_id)
            session.commit()
            write(resp, KeyPublic.model_validate(record))
