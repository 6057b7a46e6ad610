"""What receipts mean: the reason classes, and the event types dlrhub relays."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from dlrhub.api.schemas.common import Output
from dlrhub.models import ReasonClass


class ReasonClassInfo(Output):
    """One reason class: what it means and what to do, in English and Chinese."""

    reason_class: ReasonClass
    retryable: bool | None = Field(
        description="whether sending again may succeed: true when it may (now, later or "
                    "through another route), false when it cannot, null when it depends")
    retry: str = Field(description="how a retry fares, in a word: yes, later, "
                                   "yes-other-route, sometimes, maybe, no or unknown")
    meaning: str
    action: str = Field(description="what a sender should do")
    meaning_zh: str = Field(description="the meaning in Chinese")
    action_zh: str = Field(description="what to do, in Chinese")


class ReasonClassList(Output):
    """The 12 reason classes a failed, expired, rejected or unknown receipt carries."""

    data: list[ReasonClassInfo]


class EventTypeInfo(Output):
    """One event type dlrhub relays to endpoints."""

    type: str = Field(description="what an endpoint's `event_types` filter names")
    description: str
    operational: bool = Field(
        description="about dlrhub's own work (endpoints, deliveries, accounts): sent only "
                    "to endpoints whose `event_types` name it, as `{id, type, timestamp, "
                    "tenant_id, account_id, data}`")
    example: dict[str, Any] = Field(
        description="the event as a normalized endpoint receives it (a JSON array of such "
                    "events when the endpoint's batch_size is above 1)")


class EventTypeList(Output):
    """Every event type dlrhub relays, each with an example."""

    data: list[EventTypeInfo]
