"""Operational events: what dlrhub tells a tenant about its endpoints, deliveries, accounts.

``endpoint.disabled``, ``endpoint.circuit_opened``, ``endpoint.recovered``,
``delivery.dead`` and ``account.callbacks_rejected`` are receipt rows of those types,
made in the transaction of the change they report and relayed like every other event
(``outbox.plan``), but only to the endpoints whose ``event_types`` name them: an
endpoint that lists none (every event) keeps receiving what it received before.

``inbox_id`` names what the event is about (the endpoint, or the account), so that an
event about an endpoint is never planned for that endpoint itself: a failing endpoint
would otherwise feed itself events about its failures. A ``delivery.dead`` is emitted
only for a delivery of message events, never for one of operational events, so a dead
endpoint that subscribes to ``delivery.dead`` cannot start a cascade either.

The builders here are pure (rows in, rows out); ``emit`` stores and plans.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row
from sqlmodel import Session

from dlrhub.core.times import iso_z
from dlrhub.core.vocabulary import OPERATIONAL_EVENTS
from dlrhub.models import Endpoint, EventType, ReceiptStatus, dialect, new_id
from dlrhub.services.relay import outbox

# The ``provider`` of an event dlrhub emits about itself.
OWN_PROVIDER = "dlrhub"
_OPERATIONAL = frozenset(t.value for t in OPERATIONAL_EVENTS)


def is_operational(event_type: str) -> bool:
    """Tell whether ``event_type`` is an operational event (opt-in, never implied)."""
    return event_type in _OPERATIONAL


def event_row(event_type: EventType, *, tenant_id: str, subject_id: str,
              account_id: str | None, key: str, data: dict[str, Any], now: datetime,
              provider: str = OWN_PROVIDER) -> dict[str, Any]:
    """Return the receipt row of one operational event.

    ``subject_id`` (stored as ``inbox_id``) is the endpoint or account the event is
    about; ``key`` names the incident, so that the same incident makes the same dedupe
    key (the receipt's unique key refuses a second one where there is an account).
    """
    dedupe = hashlib.sha256(f"{event_type.value}\x1f{subject_id}\x1f{key}".encode()).hexdigest()
    return {
        "id": new_id("evt"), "tenant_id": tenant_id, "account_id": account_id,
        "inbox_id": subject_id, "type": event_type.value, "provider": provider,
        "message_id": None, "reference": None, "phone": None,
        "status": ReceiptStatus.pending.value, "provider_status": None, "error_code": None,
        "error_message": None, "segments": None, "sequence": None, "part": None, "price": None,
        "submitted_at": None, "reported_at": None, "received_at": now, "text": None,
        "raw": {}, "dedupe_key": dedupe, "reason_class": None, "retryable": None,
        "country": None, "carrier": None, "synthetic": False, "details": data,
    }


def _endpoint_data(endpoint: Endpoint) -> dict[str, Any]:
    return {"endpoint_id": endpoint.id, "url": endpoint.url,
            "description": endpoint.description}


def _iso(value: datetime | None) -> str | None:
    return iso_z(value) if value is not None else None


def circuit_opened(endpoint: Endpoint, until: datetime, error: str | None,
                   now: datetime) -> dict[str, Any]:
    """Return the ``endpoint.circuit_opened`` event of an endpoint whose circuit opened."""
    return event_row(
        EventType.endpoint_circuit_opened, tenant_id=endpoint.tenant_id,
        subject_id=endpoint.id, account_id=None, key=iso_z(now), now=now,
        data={**_endpoint_data(endpoint), "opened_at": iso_z(now),
              "parked_until": iso_z(until),
              "consecutive_failures": endpoint.consecutive_failures,
              "failing_since": _iso(endpoint.failing_since), "last_error": error})


def recovered(endpoint: Endpoint, now: datetime) -> dict[str, Any]:
    """Return the ``endpoint.recovered`` event of an endpoint whose circuit closed again."""
    return event_row(
        EventType.endpoint_recovered, tenant_id=endpoint.tenant_id,
        subject_id=endpoint.id, account_id=None, key=iso_z(now), now=now,
        data={**_endpoint_data(endpoint), "recovered_at": iso_z(now)})


def disabled(endpoint: Endpoint, failing_since: datetime | None,
             now: datetime) -> dict[str, Any]:
    """Return the ``endpoint.disabled`` event of an endpoint the relay just disabled."""
    return event_row(
        EventType.endpoint_disabled, tenant_id=endpoint.tenant_id,
        subject_id=endpoint.id, account_id=None, key=iso_z(now), now=now,
        data={**_endpoint_data(endpoint), "reason": endpoint.disabled_reason,
              "trigger": "automatic", "failing_since": _iso(failing_since),
              "disabled_at": iso_z(now)})


def delivery_dead(endpoint: Endpoint, delivery_id: str, event_ids: Sequence[str],
                  attempts: int, status_code: int | None, error: str | None,
                  now: datetime) -> dict[str, Any]:
    """Return the ``delivery.dead`` event of a delivery that ran out of tries."""
    return event_row(
        EventType.delivery_dead, tenant_id=endpoint.tenant_id, subject_id=endpoint.id,
        account_id=None, key=delivery_id, now=now,
        data={**_endpoint_data(endpoint), "delivery_id": delivery_id,
              "event_ids": list(event_ids), "attempts": attempts,
              "last_status_code": status_code, "last_error": error, "dead_at": iso_z(now)})


def document(row: Any) -> dict[str, Any]:
    """Return an operational event as endpoints receive it and ``/v1/events`` lists it.

    The envelope of operational webhooks (``type``, ``timestamp``, ``data``), with the
    event's id and tenant; ``row`` is a receipt row or object.
    """
    return {"id": row.id, "type": row.type, "timestamp": iso_z(row.received_at),
            "tenant_id": row.tenant_id, "account_id": row.account_id,
            "data": dict(row.details or {})}


def emit(session: Session, events: list[dict[str, Any]], now: datetime
         ) -> list[tuple[str, str]]:
    """Store ``events`` in the caller's transaction and plan their deliveries."""
    if not events:
        return []
    inserted = dialect.insert_receipts(session, events)
    return outbox.plan(session, [e for e in events if e["id"] in inserted], now)


def dead_worth_telling(rows: Sequence[Row[Any]]) -> set[str]:
    """Return the ids of receipts among ``rows`` (id, type) that are not operational."""
    return {r.id for r in rows if not is_operational(r.type)}
