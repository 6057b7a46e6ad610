"""Delivery analytics: the query of ``GET /v1/analytics/delivery`` and its answer."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from dlrhub.api.schemas.common import Input, Instant, Output, ProviderSlug
from dlrhub.models import ReasonClass


class DeliveryQuery(Input):
    """The range, the grouping, the zone of day buckets, and filters (each must match)."""

    since: Instant | None = Field(
        default=None, description="messages anchored (submitted, else first received) at or "
                                  "after this time, taken down to its UTC hour; default: "
                                  "until - 24 h")
    until: Instant | None = Field(
        default=None, description="… and before this time, taken up to the next UTC hour; "
                                  "default: now. At most 93 days after since")
    group_by: str | None = Field(
        default=None, max_length=200,
        description="comma-separated keys: `provider`, `account_id`, `country`, `carrier`, "
                    "`template`, `reason_class`, `hour` (UTC), `day` (in `tz`); none: one "
                    "group of everything")
    tz: str | None = Field(default=None, max_length=64,
                           description="IANA zone of `day` buckets (default UTC), e.g. "
                                       "Asia/Shanghai")
    provider: ProviderSlug | None = None
    account_id: str | None = Field(default=None, max_length=40)
    country: str | None = Field(default=None, max_length=2,
                                description="ISO 3166 region, e.g. CN")
    carrier: str | None = Field(default=None, max_length=40,
                                description="carrier slug, e.g. china_mobile")
    template: str | None = Field(default=None, max_length=200)
    reason_class: ReasonClass | None = None


class Percentiles3(Output):
    """Handset latency percentiles, in seconds (null: no final message gave one)."""

    p50: float | None
    p90: float | None
    p99: float | None


class Percentiles2(Output):
    """Receipt lag percentiles, in seconds (null: no final message gave one)."""

    p50: float | None
    p99: float | None


class DeliveryGroup(Output):
    """The figures of one group, and its keys: those of `group_by` (null: unknown).

    A dimension the group is not grouped by is absent from it.
    """

    provider: str | None = Field(default=None, description="when grouped by provider")
    account_id: str | None = Field(default=None, description="when grouped by account_id")
    country: str | None = Field(default=None, description="when grouped by country")
    carrier: str | None = Field(default=None, description="when grouped by carrier")
    template: str | None = Field(default=None, description="when grouped by template")
    reason_class: ReasonClass | None = Field(default=None,
                                             description="when grouped by reason_class")
    hour: datetime | None = Field(default=None, description="when grouped by hour: its "
                                                            "start, UTC")
    day: str | None = Field(default=None, description="when grouped by day: YYYY-MM-DD in tz")
    messages: int = Field(description="messages, each counted once at its current status")
    delivered: int
    failed: int
    expired: int
    rejected: int
    unknown: int
    pending: int
    final: int = Field(description="messages with a final status (all but pending)")
    delivery_rate: float | None = Field(description="delivered ÷ final; null when no "
                                                    "message is final")
    expected: int = Field(description="messages registered as expected (POST "
                                      "/v1/expectations)")
    missing: int = Field(description="expected messages whose final receipt did not "
                                     "come by their deadline")
    reasons: dict[str, int] | None = Field(
        default=None, description="messages by reason class (classes with none left out); "
                                  "absent when grouped by reason_class")
    handset_latency: Percentiles3 = Field(description="reported_at - submitted_at of final "
                                                      "messages")
    receipt_lag: Percentiles2 = Field(description="received_at - reported_at of final "
                                                  "messages")


class DeliveryReport(Output):
    """Delivery figures per group over a range of whole UTC hours."""

    since: datetime = Field(description="the range's start, as read (a UTC hour)")
    until: datetime = Field(description="the range's end, as read (a UTC hour)")
    tz: str
    group_by: list[str]
    data: list[DeliveryGroup] = Field(description="one per group with any message or "
                                                  "expectation, ordered by the group keys")
