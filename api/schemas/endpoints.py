"""Webhook endpoints (tenant routes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, Field

from dlrhub.api.schemas.common import Input, Output
from dlrhub.models import EndpointFormat, EventType, ReceiptStatus


class EndpointCreate(Input):
    """A new endpoint. Empty filters mean "everything"."""

    url: str = Field(max_length=2048, description="http(s) URL; private addresses are refused "
                     "unless DLRHUB_ALLOW_PRIVATE_ENDPOINTS is set")
    description: str = Field(default="", max_length=500)
    event_types: list[EventType] = Field(default_factory=list)
    statuses: list[ReceiptStatus] = Field(default_factory=list)
    account_ids: list[str] = Field(default_factory=list, max_length=100)
    format: EndpointFormat = EndpointFormat.normalized
    batch_size: int = Field(default=1, ge=1, le=100, description="events per POST (a JSON array "
                            "when above 1)")
    retry_policy: Any = Field(default="standard", description='"standard", "ucloud", '
                              '"aliyun", "tencent", {"waits": [s, …]} or {"exponential": {…}}')
    timeout: float = Field(default=10.0, gt=0, le=30, description="seconds per attempt")
    rate_limit: float | None = Field(default=None, gt=0, le=10_000,
                                     description="requests per second, at most")
    headers: dict[str, str] = Field(default_factory=dict, max_length=20)
    enabled: bool = True


class EndpointUpdate(Input):
    """Changes to an endpoint; absent fields stay as they are."""

    url: str | None = Field(default=None, max_length=2048)
    description: str | None = Field(default=None, max_length=500)
    event_types: list[EventType] | None = None
    statuses: list[ReceiptStatus] | None = None
    account_ids: list[str] | None = Field(default=None, max_length=100)
    format: EndpointFormat | None = None
    batch_size: int | None = Field(default=None, ge=1, le=100)
    retry_policy: Any = None
    timeout: float | None = Field(default=None, gt=0, le=30)
    rate_limit: float | None = Field(default=None, ge=0, le=10_000,
                                     description="0 removes the limit")
    headers: dict[str, str] | None = Field(default=None, max_length=20)
    enabled: bool | None = None


class EndpointPublic(Output):
    """An endpoint; its secret only comes back from /secret."""

    id: str
    url: str
    description: str
    event_types: list[EventType]
    statuses: list[ReceiptStatus]
    account_ids: list[str]
    format: EndpointFormat
    batch_size: int
    retry_policy: Any
    timeout: float
    rate_limit: float | None
    headers: dict[str, str]
    enabled: bool
    disabled_reason: str | None
    failing_since: datetime | None = Field(
        description="since when every attempt has failed; the endpoint is disabled "
        "after 5 days of it")
    consecutive_failures: int = Field(description="failed attempts in a row")
    circuit_open_until: datetime | None = Field(
        description="while set and in the future, deliveries are parked (not sent, no "
        "attempt spent) until a probe gets through")
    previous_secret_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime


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

    since: AwareDatetime
    until: AwareDatetime | None = Field(default=None, description="default: now")
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
