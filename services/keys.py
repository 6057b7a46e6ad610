"""Tenant API keys: issue (shown once), authenticate by hash, list, revoke."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine, select, update
from sqlmodel import Session

from dlrhub.models import API_KEY_TABLE, TENANT_TABLE, ApiKey, Tenant, TenantStatus, utcnow
from dlrhub.services.crypto import new_token, token_hash
from dlrhub.services.errors import NotFound
from dlrhub.services.pagination import newest_by_id

# Secret scanners (GitHub's, gitleaks…) find keys by a fixed prefix.
KEY_PREFIX = "dlrhub_sk_"
# last_used_at is written at most this often per key, not on every request.
_TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class NewKey:
    """A key as issued: the record and the only copy of the secret."""

    record: ApiKey
    key: str


def create_key(session: Session, *, tenant_id: str, name: str = "") -> NewKey:
    """Issue a key for a tenant; the secret is returned here and never again."""
    if session.get(Tenant, tenant_id) is None:
        raise NotFound(f"no tenant {tenant_id}")
    key = new_token(KEY_PREFIX, 32)
    record = ApiKey(tenant_id=tenant_id, name=name.strip(), key_hash=token_hash(key),
                    hint=key[-4:])
    session.add(record)
    session.flush()
    return NewKey(record, key)


def list_keys(session: Session, *, tenant_id: str, limit: int = 50,
              after: str | None = None) -> tuple[list[ApiKey], str | None]:
    """Return a tenant's keys, newest first, and the next cursor."""
    if session.get(Tenant, tenant_id) is None:
        raise NotFound(f"no tenant {tenant_id}")
    table = API_KEY_TABLE
    query = select(ApiKey).where(table.c.tenant_id == tenant_id)
    return newest_by_id(session, query, table.c.id, limit=limit, after=after)


def revoke_key(session: Session, *, tenant_id: str, key_id: str) -> ApiKey:
    """Revoke a key; it stops working at once. Revoking twice is harmless."""
    record = session.get(ApiKey, key_id)
    if record is None or record.tenant_id != tenant_id:
        raise NotFound(f"no key {key_id} for tenant {tenant_id}")
    if record.revoked_at is None:
        record.revoked_at = utcnow()
        session.add(record)
        session.flush()
    return record


@dataclass(frozen=True)
class Principal:
    """Who a valid key belongs to."""

    tenant_id: str
    key_id: str
    suspended: bool
    tenant_name: str = ""
    # The tenant's own requests-a-second limit per key (None: the system's).
    rate_limit: float | None = None


class KeyDirectory:
    """Authenticate API keys against their stored hashes."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def authenticate(self, key: str) -> Principal | None:
        """Return the principal of a current key, or ``None``; notes when it was used."""
        if not key.startswith(KEY_PREFIX):
            return None
        keys = API_KEY_TABLE
        tenants = TENANT_TABLE
        now = utcnow()
        with self._engine.connect() as conn:
            row = conn.execute(
                select(keys.c.id, keys.c.tenant_id, keys.c.last_used_at, tenants.c.status,
                       tenants.c.api_rate_limit)
                .join(tenants, tenants.c.id == keys.c.tenant_id)
                .where(keys.c.key_hash == token_hash(key), keys.c.revoked_at.is_(None))
            ).first()
            if row is None:
                return None
            if row.last_used_at is None or now - row.last_used_at > _TOUCH_EVERY:
                conn.execute(update(keys).where(keys.c.id == row.id)
                             .values(last_used_at=now))
                conn.commit()
        return Principal(row.tenant_id, row.id, row.status == TenantStatus.suspended.value,
                         rate_limit=row.api_rate_limit)

    def principal_of(self, key_id: str) -> Principal | None:
        """Return the principal of a key by its id while it is not revoked, or ``None``.

        The console's sessions name the key they were opened with and ask here on each
        request, so a revoked key or a suspended tenant ends them as it ends the key.
        """
        keys = API_KEY_TABLE
        tenants = TENANT_TABLE
        with self._engine.connect() as conn:
            row = conn.execute(
                select(keys.c.id, keys.c.tenant_id, tenants.c.status, tenants.c.name)
                .join(tenants, tenants.c.id == keys.c.tenant_id)
                .where(keys.c.id == key_id, keys.c.revoked_at.is_(None))
            ).first()
        if row is None:
            return None
        return Principal(row.tenant_id, row.id, row.status == TenantStatus.suspended.value,
                         row.name)
