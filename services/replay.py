"""Replay: send an endpoint the stored events of a time range again."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select
from sqlmodel import Session

from dlrhub.models import Delivery, Receipt
from dlrhub.services.endpoints import get_endpoint
from dlrhub.services.errors import InvalidInput
from dlrhub.services.planning import deliveries_for

# One replay plans at most this many events; a longer range is replayed in steps.
MAX_EVENTS = 100_000


def replay(session: Session, *, tenant_id: str, endpoint_id: str, since: datetime,
           until: datetime, statuses: list[str] | None, now: datetime) -> list[str]:
    """Plan new deliveries of the tenant's events received in [since, until); return them.

    The endpoint's own filters apply (and ``statuses`` narrows them further); each
    replayed delivery is new, with its own id and a fresh run of the retry policy.
    """
    if until <= since:
        raise InvalidInput("until", "must be after since")
    endpoint = get_endpoint(session, tenant_id=tenant_id, endpoint_id=endpoint_id)
    table = Receipt.__table__  # type: ignore[attr-defined]
    query = (select(table.c.id, table.c.account_id, table.c.type, table.c.status,
                    table.c.inbox_id)
             .where(table.c.tenant_id == tenant_id, table.c.received_at >= since,
                    table.c.received_at < until)
             .order_by(table.c.received_at, table.c.id).limit(MAX_EVENTS + 1))
    if statuses:
        query = query.where(table.c.status.in_(statuses))
    receipts = [dict(r._mapping) for r in session.execute(query)]
    if len(receipts) > MAX_EVENTS:
        raise InvalidInput("since", f"the range holds more than {MAX_EVENTS} events; "
                           "replay it in shorter steps")
    rows = deliveries_for(endpoint, receipts, now)
    if rows:
        session.execute(insert(Delivery.__table__), rows)  # type: ignore[attr-defined]
    session.flush()
    return [r["id"] for r in rows]
