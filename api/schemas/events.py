"""Operational events (tenant routes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from dlrhub.api.schemas.common import Instant, Output, PageQuery
from dlrhub.models import EventType


class EventQuery(PageQuery):
    """A page of the operational events: their filters, ``limit`` and ``after``."""

    type: EventType | None = Field(
        default=None, description="one of the operational types: endpoint.disabled, "
        "endpoint.circuit_opened, endpoint.recovered, delivery.dead, "
        "account.callbacks_rejected")
    since: Instant | None = Field(default=None, description="at or after this time "
                                        "(ISO 8601 with a zone)")
    until: Instant | None = Field(default=None,
                                        description="before this time (ISO 8601 with a zone)")


class OperationalEvent(Output):
    """What dlrhub tells a tenant about its endpoints, deliveries and accounts."""

    id: str
    type: EventType
    timestamp: datetime = Field(description="when it happened")
    tenant_id: str
    account_id: str | None = Field(description="the account of an account's event")
    data: dict[str, Any] = Field(description="what happened; the README's table lists "
                                 "the fields of each type")


class OperationalEventPage(Output):
    """One page of operational events, newest first."""

    data: list[OperationalEvent]
    next: str | None = Field(description="the cursor of the next page (`after`), if any")
