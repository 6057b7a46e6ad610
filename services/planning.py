"""Plan deliveries for newly stored receipts, in the same transaction (DESIGN §5)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlmodel import Session

from dlrhub.models import (
    Delivery,
    DeliveryStatus,
    Endpoint,
    EndpointFormat,
    Tenant,
    TenantStatus,
    new_id,
)

DELIVERIES = Delivery.__table__  # type: ignore[attr-defined]


def plan(session: Session, receipts: Sequence[dict[str, Any]], now: datetime
         ) -> list[tuple[str, str]]:
    """Write the deliveries of new receipts for every matching endpoint.

    Return (endpoint id, delivery id) pairs: the relay sends each endpoint's deliveries
    in tasks of their own, so a slow endpoint never shares a task with a fast one.

    ``receipts`` are the rows just inserted (duplicates excluded, so a resent record plans
    nothing), in arrival order. A suspended tenant's receipts are stored but not planned.
    """
    if not receipts:
        return []
    by_tenant: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in receipts:
        by_tenant[row["tenant_id"]].append(row)
    active = _active_tenants(session, list(by_tenant))
    rows: list[dict[str, Any]] = []
    for endpoint in _endpoints(session, [t for t in by_tenant if t in active]):
        rows += deliveries_for(endpoint, by_tenant[endpoint.tenant_id], now)
    if rows:
        session.execute(insert(DELIVERIES), rows)
    return [(r["endpoint_id"], r["id"]) for r in rows]


def deliveries_for(endpoint: Endpoint, receipts: Sequence[Any], now: datetime
                   ) -> list[dict[str, Any]]:
    """Return the delivery rows that carry the matching ``receipts`` to ``endpoint``."""
    events = [r for r in receipts if _matches(endpoint, r)]
    if endpoint.format == EndpointFormat.native:
        return _native(endpoint, events, now)
    size = max(1, endpoint.batch_size)
    return [_row(endpoint, [e["id"] for e in events[start:start + size]], None, now)
            for start in range(0, len(events), size)]


def _active_tenants(session: Session, ids: list[str]) -> set[str]:
    table = Tenant.__table__  # type: ignore[attr-defined]
    return set(session.execute(select(table.c.id).where(
        table.c.id.in_(ids), table.c.status == TenantStatus.active.value)).scalars())


def _endpoints(session: Session, tenant_ids: list[str]) -> list[Endpoint]:
    if not tenant_ids:
        return []
    table = Endpoint.__table__  # type: ignore[attr-defined]
    return list(session.execute(select(Endpoint).where(
        table.c.tenant_id.in_(tenant_ids), table.c.enabled.is_(True))).scalars())


def _matches(endpoint: Endpoint, receipt: Any) -> bool:
    if endpoint.account_ids and receipt["account_id"] not in endpoint.account_ids:
        return False
    if endpoint.format == EndpointFormat.native:
        return True  # the provider's callback goes as it came: filtered by account only
    if endpoint.event_types and receipt["type"] not in endpoint.event_types:
        return False
    return not endpoint.statuses or receipt["status"] in endpoint.statuses


def _native(endpoint: Endpoint, events: list[dict[str, Any]], now: datetime
            ) -> list[dict[str, Any]]:
    # One delivery per inbound callback that brought at least one new receipt.
    by_inbox: dict[str, list[str]] = defaultdict(list)
    for event in events:
        by_inbox[event["inbox_id"]].append(event["id"])
    return [_row(endpoint, ids, inbox_id, now) for inbox_id, ids in by_inbox.items()]


def _row(endpoint: Endpoint, event_ids: list[str], inbox_id: str | None,
         now: datetime) -> dict[str, Any]:
    return {"id": new_id("dlv"), "tenant_id": endpoint.tenant_id, "endpoint_id": endpoint.id,
            "event_ids": event_ids, "inbox_id": inbox_id,
            "status": DeliveryStatus.pending.value, "attempts": 0, "next_attempt_at": now,
            "last_error": None, "last_status_code": None, "created_at": now,
            "updated_at": now}
