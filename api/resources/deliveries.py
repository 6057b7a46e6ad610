"""Tenant routes: ``/v1/deliveries[/{id}[/retry]]``."""

from __future__ import annotations

from collections.abc import Callable

import falcon
from sqlmodel import Session

from dlrhub.api.io import read_query, write
from dlrhub.api.openapi import operation
from dlrhub.api.schemas.deliveries import (
    AttemptPublic,
    DeliveryDetail,
    DeliveryPage,
    DeliveryPublic,
    DeliveryQuery,
)
from dlrhub.services import deliveries

Sessions = Callable[[], Session]


class _Base:
    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions


class Deliveries(_Base):
    """``/v1/deliveries``."""

    @operation("List deliveries", auth="tenant", query=DeliveryQuery, response=DeliveryPage,
               tag="deliveries")
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """List the tenant's deliveries, newest first."""
        query = read_query(req, DeliveryQuery)
        with self._sessions() as session:
            rows, cursor = deliveries.list_deliveries(
                session, tenant_id=req.context.tenant_id, endpoint_id=query.endpoint_id,
                status=query.status, limit=query.limit, after=query.after)
            write(resp, DeliveryPage(data=[DeliveryPublic.model_validate(r) for r in rows],
                                     next=cursor))


def _detail(session: Session, delivery: object) -> DeliveryDetail:
    doc = DeliveryPublic.model_validate(delivery).model_dump()
    log = [AttemptPublic.model_validate(a)
           for a in deliveries.attempts_of(session, doc["id"])]
    return DeliveryDetail(**doc, attempt_log=log)


class DeliveryItem(_Base):
    """``/v1/deliveries/{delivery_id}``."""

    @operation("Read a delivery and its attempts", auth="tenant", response=DeliveryDetail,
               tag="deliveries")
    def on_get(self, req: falcon.Request, resp: falcon.Response, delivery_id: str) -> None:
        """Return one delivery with its attempt log."""
        with self._sessions() as session:
            delivery = deliveries.get_delivery(session, tenant_id=req.context.tenant_id,
                                               delivery_id=delivery_id)
            write(resp, _detail(session, delivery))


class DeliveryRetry(_Base):
    """``/v1/deliveries/{delivery_id}/retry``."""

    @operation("Retry a delivery", audit="delivery.retry",
               auth="tenant", response=DeliveryDetail, errors=(409,),
               tag="deliveries", description="Sends a failed or dead delivery again now, "
               "with a fresh run of the endpoint's retry policy.")
    def on_post(self, req: falcon.Request, resp: falcon.Response, delivery_id: str) -> None:
        """Make a failed or dead delivery due now; the relay is woken once committed."""
        with self._sessions() as session:
            delivery = deliveries.retry_delivery(session, tenant_id=req.context.tenant_id,
                                                 delivery_id=delivery_id)
            session.commit()
            detail = _detail(session, delivery)
        write(resp, detail)
