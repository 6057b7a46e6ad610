"""The outbox: the deliveries to send, written with the receipts they carry.

Deliveries are planned in the transaction that stores their receipts (or replays
them), and the workers are woken once it commits; the relay finds due work here, and
the sweep finds work whose wake-up was lost.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, or_, select
from sqlmodel import Session

from dlrhub.core.times import iso_z
from dlrhub.core.vocabulary import OPERATIONAL_EVENTS
from dlrhub.models import (
    DELIVERY_TABLE,
    ENDPOINT_TABLE,
    RECEIPT_TABLE,
    TENANT_TABLE,
    DeliveryStatus,
    Endpoint,
    EndpointFormat,
    EventType,
    TenantStatus,
    new_id,
)
from dlrhub.services.endpoints import get_endpoint
from dlrhub.services.errors import InvalidInput
from dlrhub.services.retention import Periods, oldest_kept
from dlrhub.services.wakeups import after_commit

DELIVERIES = DELIVERY_TABLE
ENDPOINTS = ENDPOINT_TABLE
RECEIPTS = RECEIPT_TABLE
_FROM_PROVIDERS = frozenset({EventType.status.value, EventType.inbound.value})
# One replay plans at most this many events; a longer range is replayed in steps.
MAX_REPLAY_EVENTS = 100_000
_PROVIDER_EVENTS = frozenset({EventType.status.value, EventType.inbound.value})
# Opt-in: an endpoint receives these only if its event_types name them.
_OPERATIONAL = frozenset(t.value for t in OPERATIONAL_EVENTS)


def plan(session: Session, receipts: Sequence[dict[str, Any]], now: datetime
         ) -> list[tuple[str, str]]:
    """Write the deliveries of new receipts for every matching endpoint; wake the relay.

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
    planned = [(r["endpoint_id"], r["id"]) for r in rows]
    after_commit(session).deliveries_ready(planned)
    return planned


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
    table = TENANT_TABLE
    return set(session.execute(select(table.c.id).where(
        table.c.id.in_(ids), table.c.status == TenantStatus.active.value)).scalars())


def _endpoints(session: Session, tenant_ids: list[str]) -> list[Endpoint]:
    if not tenant_ids:
        return []
    table = ENDPOINT_TABLE
    return list(session.execute(select(Endpoint).where(
        table.c.tenant_id.in_(tenant_ids), table.c.enabled.is_(True))).scalars())


def _matches(endpoint: Endpoint, receipt: Any) -> bool:
    if receipt["type"] in _OPERATIONAL:
        return _subscribed(endpoint, receipt)
    if endpoint.account_ids and receipt["account_id"] not in endpoint.account_ids:
        return False
    if endpoint.format == EndpointFormat.native:
        # The provider's callback goes as it came, filtered by account only; the events
        # dlrhub emits itself (a missing receipt, a synthetic status) came in none.
        return receipt["type"] in _FROM_PROVIDERS and not receipt.get("synthetic")
    if endpoint.event_types and receipt["type"] not in endpoint.event_types:
        return False
    return not endpoint.statuses or receipt["status"] in endpoint.statuses


def _subscribed(endpoint: Endpoint, event: Any) -> bool:
    """Tell whether ``endpoint`` takes an operational event: only if it names the type.

    Never about itself (``inbox_id`` names the endpoint or account an event is about):
    an endpoint failing to take its ``endpoint.circuit_opened`` would feed itself more.
    The status filter is of message statuses and does not apply; the account filter
    applies to an account's events, not to an endpoint's (they have no account).
    """
    if endpoint.format == EndpointFormat.native or event["type"] not in endpoint.event_types:
        return False
    if event["inbox_id"] == endpoint.id:
        return False
    return not (endpoint.account_ids and event["account_id"] is not None
                and event["account_id"] not in endpoint.account_ids)


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


def replay(session: Session, *, tenant_id: str, endpoint_id: str, since: datetime,
           until: datetime, statuses: list[str] | None, now: datetime,
           periods: Periods) -> list[str]:
    """Plan new deliveries of the tenant's events received in [since, until); return them.

    The endpoint's own filters apply (and ``statuses`` narrows them further); each
    replayed delivery is new, with its own id and a fresh run of the retry policy.
    ``since`` goes back at most the tenant's receipt retention period (``periods`` the
    system's): a range before it is refused, not read as "everything".
    """
    if until <= since:
        raise InvalidInput("until", "must be after since")
    endpoint = get_endpoint(session, tenant_id=tenant_id, endpoint_id=endpoint_id)
    oldest = oldest_kept(session, tenant_id, "receipts", periods, now)
    if since < oldest:
        raise InvalidInput("since", f"may go back at most to {iso_z(oldest)}, the tenant's "
                           "receipt retention period: older events are not kept")
    query = (select(RECEIPTS.c.id, RECEIPTS.c.account_id, RECEIPTS.c.type,
                    RECEIPTS.c.status, RECEIPTS.c.inbox_id, RECEIPTS.c.synthetic)
             .where(RECEIPTS.c.tenant_id == tenant_id, RECEIPTS.c.received_at >= since,
                    RECEIPTS.c.received_at < until)
             .order_by(RECEIPTS.c.received_at, RECEIPTS.c.id).limit(MAX_REPLAY_EVENTS + 1))
    if statuses:
        query = query.where(RECEIPTS.c.status.in_(statuses))
    receipts = [dict(r._mapping) for r in session.execute(query)]
    if len(receipts) > MAX_REPLAY_EVENTS:
        raise InvalidInput("since", f"the range holds more than {MAX_REPLAY_EVENTS} events; "
                           "replay it in shorter steps")
    rows = deliveries_for(endpoint, receipts, now)
    if rows:
        session.execute(insert(DELIVERIES), rows)
    session.flush()
    after_commit(session).deliveries_ready([(endpoint_id, r["id"]) for r in rows])
    return [r["id"] for r in rows]


def due(engine: Engine, endpoint_id: str, now: datetime, *, limit: int
        ) -> list[tuple[str, str]]:
    """Return (endpoint, delivery) of an endpoint's pending deliveries that are due."""
    with engine.connect() as conn:
        return [(endpoint_id, i) for i in conn.execute(
            select(DELIVERIES.c.id).where(
                DELIVERIES.c.endpoint_id == endpoint_id,
                DELIVERIES.c.status == DeliveryStatus.pending.value,
                DELIVERIES.c.next_attempt_at <= now)
            .order_by(DELIVERIES.c.next_attempt_at).limit(limit)).scalars()]


def overdue(engine: Engine, *, older_than: timedelta, now: datetime,
            limit: int = 10_000) -> list[tuple[str, str]]:
    """Return (endpoint, delivery) of pending deliveries due for longer than ``older_than``.

    Deliveries of disabled endpoints, and of endpoints whose circuit is open, are
    parked on purpose and left alone.
    """
    with engine.connect() as conn:
        return [(r.endpoint_id, r.id) for r in conn.execute(
            select(DELIVERIES.c.endpoint_id, DELIVERIES.c.id)
            .join(ENDPOINTS, ENDPOINTS.c.id == DELIVERIES.c.endpoint_id)
            .where(DELIVERIES.c.status == DeliveryStatus.pending.value,
                   DELIVERIES.c.next_attempt_at < now - older_than,
                   ENDPOINTS.c.enabled.is_(True),
                   or_(ENDPOINTS.c.circuit_open_until.is_(None),
                       ENDPOINTS.c.circuit_open_until <= now))
            .order_by(DELIVERIES.c.next_attempt_at).limit(limit))]
