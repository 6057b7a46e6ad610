"""``/v1/reason-classes`` and ``/v1/event-types``: what receipts and events mean."""

from __future__ import annotations

import falcon

from dlrhub.api.io import write
from dlrhub.api.openapi import operation
from dlrhub.api.schemas.insight import EventTypeList, ReasonClassList
from dlrhub.services.event_types import event_types
from dlrhub.services.insight.reasons import describe_classes


class ReasonClasses:
    """``/v1/reason-classes``."""

    @operation("List the reason classes", auth="tenant", response=ReasonClassList,
               tag="receipts",
               description="The 12 classes of `reason_class`, in English and Chinese, with "
                           "whether a retry may help and what to do. Filter receipts with "
                           "`GET /v1/receipts?reason_class=`.")
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """List the reason classes."""
        doc = ReasonClassList.model_validate(
            {"data": [{"reason_class": c.reason_class, "retryable": c.retryable,
                       "retry": c.retry, "meaning": c.meaning, "action": c.action,
                       "meaning_zh": c.meaning_zh, "action_zh": c.action_zh}
                      for c in describe_classes()]})
        write(resp, doc)


class EventTypes:
    """``/v1/event-types``."""

    @operation("List the event types", auth="tenant", response=EventTypeList,
               tag="endpoints",
               description="Every event type dlrhub relays to endpoints, what it means and "
                           "an example body; an endpoint's `event_types` filter names "
                           "them. `/openapi.json` describes each in its `webhooks`.")
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """List the event types."""
        write(resp, EventTypeList.model_validate(
            {"data": [{"type": e.type, "description": e.description, "example": e.example,
                       "operational": e.operational} for e in event_types()]}))
