"""Read deliveries and their attempts; retry one by hand."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from dlrhub.models import ATTEMPT_TABLE, DELIVERY_TABLE, Attempt, Delivery, DeliveryStatus, utcnow
from dlrhub.services.errors import Conflict, NotFound
from dlrhub.services.pagination import newest_by_id
from dlrhub.services.wakeups import after_commit


def list_deliveries(session: Session, *, tenant_id: str, endpoint_id: str | None = None,
                    status: DeliveryStatus | None = None, limit: int = 50,
                    after: str | None = None) -> tuple[list[Delivery], str | None]:
    """Return the tenant's deliveries, newest first, filtered by endpoint and status."""
    table = DELIVERY_TABLE
    query = select(Delivery).where(table.c.tenant_id == tenant_id)
    if endpoint_id is not None:
        query = query.where(table.c.endpoint_id == endpoint_id)
    if status is not None:
        query = query.where(table.c.status == status.value)
    return newest_by_id(session, query, table.c.id, limit=limit, after=after)


def get_delivery(session: Session, *, tenant_id: str, delivery_id: str) -> Delivery:
    """Return one of the tenant's deliveries, or raise ``NotFound`` (also if not theirs)."""
    table = DELIVERY_TABLE
    delivery: Delivery | None = session.execute(select(Delivery).where(
        table.c.tenant_id == tenant_id, table.c.id == delivery_id)).scalars().first()
    if delivery is None:
        raise NotFound(f"no delivery {delivery_id}")
    return delivery


def attempts_of(session: Session, delivery_id: str) -> list[Attempt]:
    """Return a delivery's attempts, oldest first."""
    table = ATTEMPT_TABLE
    return list(session.execute(select(Attempt).where(table.c.delivery_id == delivery_id)
                                .order_by(table.c.at, table.c.id)).scalars())


def retry_delivery(session: Session, *, tenant_id: str, delivery_id: str) -> Delivery:
    """Make a failed or dead delivery due again now and wake the relay (attempts are kept)."""
    delivery = get_delivery(session, tenant_id=tenant_id, delivery_id=delivery_id)
    if delivery.status in (DeliveryStatus.pending, DeliveryStatus.succeeded):
        raise Conflict(f"the delivery is {delivery.status}; only failed or dead "
                       "deliveries are retried by hand")
    delivery.status = DeliveryStatus.pending
    delivery.attempts = 0  # a fresh run of the endpoint's retry policy
    delivery.next_attempt_at = utcnow()
    delivery.updated_at = utcnow()
    session.add(delivery)
    session.flush()
    after_commit(session).deliveries_ready([(delivery.endpoint_id, delivery.id)])
    return delivery
