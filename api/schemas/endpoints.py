"""Webhook endpoints (tenant routes); the endpoint's own fields are in models.endpoint."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from dlrhub.api.schemas.common import Input, Instant, Output
from dlrhub.models import EndpointCreate, EndpointPublic, EndpointUpdate, ReceiptStatus


class EndpointCreated(EndpointPublic):
    """An endpoint as created, with its signing secret."""

    secret: str = Field(description="whsec_…: verifies the webhook-signature header")


class EndpointPage(Output):
    """A page of endpoints."""

    data: list[EndpointPublic]
    next: str | None


class EndpointSecret(Output):
    """An endpoint's current signing secret, and whether an old one still signs."""

    secret: str
    previous_secret_expires_at: datetime | None


class ReplayRequest(Input):
    """What to send again: events received in [since, until), optionally by status."""

    since: Instant
    until: Instant | None = Field(default=None, description="default: now")
    statuses: list[ReceiptStatus] = Field(default_factory=list)


class ReplayResult(Output):
    """The deliveries a replay planned."""

    deliveries: int
    delivery_ids: list[str]


class TestResult(Output):
    """What the endpoint answered to a test event."""

    delivery_id: str
    succeeded: bool
    status_code: int | None
    latency_ms: float
    error: str | None
    response_excerpt: str | None


__all__ = [
    "EndpointCreate",
    "EndpointCreated",
    "EndpointPage",
    "EndpointPublic",
    "EndpointSecret",
    "EndpointUpdate",
    "ReplayRequest",
    "ReplayResult",
    "TestResult",
]
