"""Deliveries and their attempts (tenant routes)."""

from __future__ import annotations

from datetime import datetime

from dlrhub.api.schemas.common import Output, PageQuery
from dlrhub.models import DeliveryStatus


class DeliveryQuery(PageQuery):
    """Filters of the delivery list."""

    endpoint_id: str | None = None
    status: DeliveryStatus | None = None


class AttemptPublic(Output):
    """One try: when, what the endpoint answered, how long it took."""

    id: str
    at: datetime
    status_code: int | None
    latency_ms: float
    error: str | None
    response_excerpt: str | None


class DeliveryPublic(Output):
    """A delivery of one event (or a batch, or a native callback) to one endpoint."""

    id: str
    endpoint_id: str
    event_ids: list[str]
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime


class DeliveryDetail(DeliveryPublic):
    """A delivery with its attempt log."""

    attempt_log: list[AttemptPublic]


class DeliveryPage(Output):
    """A page of deliveries."""

    data: list[DeliveryPublic]
    next: str | None
