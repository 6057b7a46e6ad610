"""``GET /v1/analytics/delivery``: delivery figures of the tenant's messages."""

from __future__ import annotations

from collections.abc import Callable

import falcon
from sqlmodel import Session

from dlrhub.api.io import read_query, write
from dlrhub.api.openapi import operation
from dlrhub.api.schemas import analytics as schemas
from dlrhub.services import analytics

Sessions = Callable[[], Session]


class Delivery:
    """``/v1/analytics/delivery``."""

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    @operation("Delivery analytics", auth="tenant", query=schemas.DeliveryQuery,
               response=schemas.DeliveryReport, tag="analytics",
               description="Messages by status, delivery rate, missing receipts, reasons "
                           "and latency percentiles, grouped by any of provider, account_id, "
                           "country, carrier, template, reason_class, hour and day, over at "
                           "most 93 days (the last 24 hours by default). Read from an "
                           "aggregate kept as receipts arrive: ranges are whole UTC hours, "
                           "latency percentiles come from log-spaced buckets (docs/insight.md "
                           "says how close they are).")
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Return the tenant's delivery figures."""
        q = read_query(req, schemas.DeliveryQuery)
        filters = {"provider": q.provider, "account_id": q.account_id, "country": q.country,
                   "carrier": q.carrier, "template": q.template,
                   "reason_class": q.reason_class.value if q.reason_class else None}
        with self._sessions() as session:
            report = analytics.delivery(session, tenant_id=req.context.tenant_id,
                                        since=q.since, until=q.until, group_by=q.group_by,
                                        tz=q.tz, filters=filters)
        # A group carries only its own keys: a dimension it is not grouped by is absent,
        # not null (null is an unknown value of a key it is grouped by).
        write(resp, report.document())
