"""Tenant route: ``/v1/events``, the operational events."""

from __future__ import annotations

from collections.abc import Callable

import falcon
from sqlmodel import Session

from dlrhub.api.io import read_query, write
from dlrhub.api.openapi import operation
from dlrhub.api.schemas.events import EventQuery, OperationalEventPage
from dlrhub.services import events

Sessions = Callable[[], Session]


class Events:
    """``/v1/events``."""

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    @operation("List operational events", auth="tenant", query=EventQuery,
               response=OperationalEventPage, tag="events",
               description="What dlrhub told about the tenant's endpoints, deliveries and "
                           "accounts (`endpoint.disabled`, `endpoint.circuit_opened`, "
                           "`endpoint.recovered`, `delivery.dead`, "
                           "`account.callbacks_rejected`), newest first, in the envelope "
                           "an endpoint that subscribes to them receives. Send the same "
                           "filters with `after` as with the first page.")
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """List the tenant's operational events, newest first."""
        q = read_query(req, EventQuery)
        with self._sessions() as session:
            page = events.list_events(session, tenant_id=req.context.tenant_id,
                                      type=q.type, since=q.since, until=q.until,
                                      limit=q.limit, after=q.after)
            write(resp, OperationalEventPage.model_validate({"data": page.data,
                                                             "next": page.next}))
