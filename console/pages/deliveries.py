"""``/console/deliveries``: deliveries by endpoint and status, each with its attempts and
a retry button."""

from __future__ import annotations

from urllib.parse import urlencode

import falcon

from dlrhub.console.web import PREFIX, Accepts, ConsoleError, Ctx, Shows
from dlrhub.core.vocabulary import DeliveryStatus
from dlrhub.services import deliveries, endpoints

PAGE = 50
RETRYABLE = (DeliveryStatus.failed, DeliveryStatus.dead)


class Deliveries(Shows):
    """``GET /console/deliveries[?endpoint_id=…&status=…]``."""

    def show(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
             **params: str) -> None:
        """List a page of the tenant's deliveries, newest first."""
        endpoint_id = req.get_param("endpoint_id") or None
        status_name = req.get_param("status") or None
        try:
            status = DeliveryStatus(status_name) if status_name else None
        except ValueError as ex:
            raise ConsoleError(400, "error.bad_input", detail="status: not a known value") from ex
        after = req.get_param("after") or None
        with self.console.sessions() as session:
            rows, cursor = deliveries.list_deliveries(
                session, tenant_id=ctx.tenant_id, endpoint_id=endpoint_id, status=status,
                limit=PAGE, after=after)
            listed, _ = endpoints.list_endpoints(session, tenant_id=ctx.tenant_id, limit=100)
        given = {k: v for k, v in (("endpoint_id", endpoint_id), ("status", status_name)) if v}
        self.console.render(
            resp, ctx, "deliveries.html", rows=rows, endpoints=listed,
            urls={e.id: e.url for e in listed}, given=given,
            statuses=[s.value for s in DeliveryStatus], retryable=RETRYABLE,
            next_query=urlencode({**given, "after": cursor}) if cursor else None)


class DeliveryPage(Shows):
    """``GET /console/deliveries/{delivery_id}``: a delivery and its attempts."""

    def show(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
             **params: str) -> None:
        """Show the delivery's attempts, oldest first."""
        with self.console.sessions() as session:
            delivery = deliveries.get_delivery(session, tenant_id=ctx.tenant_id,
                                               delivery_id=params["delivery_id"])
            endpoint = endpoints.get_endpoint(session, tenant_id=ctx.tenant_id,
                                              endpoint_id=delivery.endpoint_id)
            attempts = deliveries.attempts_of(session, delivery.id)
        self.console.render(resp, ctx, "delivery.html", delivery=delivery, endpoint=endpoint,
                            attempts=attempts, retryable=RETRYABLE,
                            retried=bool(req.get_param("retried")))


class DeliveryRetry(Accepts):
    """``POST /console/deliveries/{delivery_id}/retry``."""

    audit = "delivery.retry"

    def accept(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
               fields: dict[str, str], **params: str) -> None:
        """Make a failed or dead delivery due now; the relay is woken once committed."""
        delivery_id = params["delivery_id"]
        with self.console.sessions() as session:
            deliveries.retry_delivery(session, tenant_id=ctx.tenant_id,
                                      delivery_id=delivery_id)
            session.commit()
        raise falcon.HTTPSeeOther(f"{PREFIX}/deliveries/{delivery_id}?retried=1")
