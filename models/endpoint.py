"""A webhook endpoint's fields, declared once: the SQLModel family of the endpoint table.

``EndpointBase`` holds what a tenant sets; ``EndpointCreate`` and ``EndpointUpdate``
are the request bodies, ``EndpointPublic`` the answer (no secret, no tenant), and
``models.tables.Endpoint`` the table, which adds the secrets and the relay's state.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, String, Text
from sqlmodel import Field, SQLModel

from dlrhub.core.vocabulary import EndpointFormat, EventType, ReceiptStatus
from dlrhub.models.family import INPUT_CONFIG, PUBLIC_CONFIG
from dlrhub.models.types import JSONType


def _json_column() -> Any:
    return Column(JSONType, nullable=False)


class EndpointBase(SQLModel):
    """What a tenant sets on an endpoint. Empty filters mean "everything"."""

    url: str = Field(max_length=2048, sa_column=Column(Text, nullable=False),
                     description="http(s) URL; private addresses are refused unless "
                     "DLRHUB_ALLOW_PRIVATE_ENDPOINTS is set")
    description: str = Field(default="", max_length=500)
    event_types: list[EventType] = Field(default_factory=list, sa_column=_json_column())
    statuses: list[ReceiptStatus] = Field(default_factory=list, sa_column=_json_column())
    account_ids: list[str] = Field(default_factory=list, max_length=100,
                                   sa_column=_json_column())
    format: EndpointFormat = Field(default=EndpointFormat.normalized,
                                   sa_column=Column(String(20), nullable=False))
    batch_size: int = Field(default=1, ge=1, le=100,
                            description="events per POST (a JSON array when above 1)")
    retry_policy: Any = Field(default="standard", sa_column=_json_column(),
                              description='"standard", "ucloud", "aliyun", "tencent", '
                              '{"waits": [s, …]} or {"exponential": {…}}')
    timeout: float = Field(default=10.0, gt=0, le=30, description="seconds per attempt")
    rate_limit: float | None = Field(default=None, gt=0, le=10_000,
                                     description="requests per second, at most")
    headers: dict[str, str] = Field(default_factory=dict, max_length=20,
                                    sa_column=_json_column())
    enabled: bool = True


class EndpointCreate(EndpointBase):
    """A new endpoint. Empty filters mean "everything"."""

    model_config = INPUT_CONFIG


class EndpointUpdate(SQLModel):
    """Changes to an endpoint; absent fields stay as they are."""

    model_config = INPUT_CONFIG

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


class EndpointPublic(EndpointBase):
    """An endpoint; its secret only comes back from /secret."""

    model_config = PUBLIC_CONFIG

    id: str
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
