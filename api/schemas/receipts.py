"""Receipts, message timelines, stats and the inbox (tenant routes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field, field_validator

from dlrhub.api.schemas.common import EventSource, Input, Instant, Output, PageQuery
from dlrhub.models import EventType, InboxState, ReasonClass, ReceiptStatus

_SINCE = "received at or after this time (ISO 8601 with a zone, e.g. 2024-01-01T00:00:00Z)"
_UNTIL = "received before this time (ISO 8601 with a zone)"


class ReceiptFilters(Input):
    """Filters of the receipt list; every one given must match."""

    message_id: str | None = Field(default=None, max_length=200,
                                   description="the provider's message id")
    reference: str | None = Field(default=None, max_length=200,
                                  description="the sender's own id passed through")
    phone: str | None = Field(default=None, max_length=64,
                              description="E.164 (`+8613800000000`), or as the provider "
                                          "gave it where it could not be parsed")
    status: ReceiptStatus | None = None
    # An sms.alert of a rule over every provider is dlrhub's own event.
    provider: EventSource | None = None
    account_id: str | None = Field(default=None, max_length=40)
    type: EventType | None = None
    reason_class: ReasonClass | None = Field(
        default=None, description="failures of this class (`GET /v1/reason-classes`)")
    since: Instant | None = Field(default=None, description=_SINCE)
    until: Instant | None = Field(default=None, description=_UNTIL)

    @field_validator("phone", mode="before")
    @classmethod
    def _restore_plus(cls, value: Any) -> Any:
        # An unescaped "+" in a query string arrives as a space: "?phone=+86…" means
        # "+86…", and no stored phone starts with a space.
        if isinstance(value, str) and value.startswith(" ") and value.strip().isdigit():
            return "+" + value.strip()
        return value


class ReceiptQuery(ReceiptFilters, PageQuery):
    """A page of the receipt list: its filters, ``limit`` and ``after``."""


class ExportQuery(ReceiptFilters):
    """Every receipt the filters match, in one stream."""

    format: Literal["ndjson", "csv"] = Field(
        default="ndjson", description="`ndjson`: one event per line, as the receipt list "
        "shows it; `csv`: a header, then one line per receipt (a cell that would start a "
        "spreadsheet formula is prefixed with `'`)")


class Event(Output):
    """A normalized receipt: a delivery status or an inbound message (DESIGN §3)."""

    id: str
    type: EventType
    tenant_id: str
    account_id: str | None = Field(description="null only on an sms.alert of a rule "
                                   "scoped wider than one account, and on the operational "
                                   "events about endpoints and deliveries")
    provider: str
    message_id: str | None = Field(description="the provider's id of the message")
    reference: str | None = Field(description="the sender's own id passed through")
    phone: str | None
    status: ReceiptStatus
    provider_status: str | None
    error_code: str | None
    error_message: str | None
    segments: int | None
    part: str | None = Field(description="which part of a long SMS this report is about, "
                                         "where the provider reports each part")
    price: str | None
    submitted_at: datetime | None
    reported_at: datetime | None = Field(description="when the provider says it happened")
    received_at: datetime = Field(description="when dlrhub received the callback")
    text: str | None = Field(description="the text of an inbound message")
    raw: dict[str, Any] = Field(description="the provider's record, as sent")
    reason_class: ReasonClass | None = Field(
        description="why a failed, expired, rejected or unknown status happened (null on "
                    "delivered, pending and inbound events); `GET /v1/reason-classes` "
                    "says what each class means and what to do")
    retryable: bool | None = Field(
        description="whether sending again may succeed: null where that is not known")
    country: str | None = Field(description="the phone's ISO 3166 region, from its number")
    carrier: str | None = Field(
        description="the phone's carrier (`china_mobile`, …) from its number's prefix, "
                    "which does not follow number portability; null where unknown")
    synthetic: bool = Field(description="dlrhub's own final status for a message whose "
                                        "receipt never came, not a provider's report")
    details: dict[str, Any] | None = Field(
        description="what an event dlrhub emits adds (`sms.status_corrected`: both "
                    "statuses; `sms.receipt_missing`: the deadline; `sms.alert`: the "
                    "rule and its measure); null on receipts")


class EventPage(Output):
    """A page of events."""

    data: list[Event]
    next: str | None


class MessagePart(Output):
    """One part of a long SMS (or the whole message, `part` null) and the report that set it."""

    part: str | None = Field(description="the part number as the provider gives it; null "
                                         "for a message reported whole")
    status: ReceiptStatus
    receipt_id: str = Field(description="the receipt that set this status")
    provider_status: str | None
    reported_at: datetime | None
    received_at: datetime
    reason_class: ReasonClass | None
    retryable: bool | None


class TimelineRecipient(Output):
    """One recipient of a message: where it stands, and its events oldest first."""

    phone: str | None
    account_id: str | None = Field(description="the provider account the receipts came to")
    status: ReceiptStatus = Field(
        description="the message's status: the first final status reported (a later "
                    "`pending`, or a later final that disagrees, never replaces it; a later "
                    "definite status replaces `unknown`), or `pending` while there is none; "
                    "with parts, `delivered` once every part is, else the worst part's")
    final: bool = Field(description="whether the status is final (every status but "
                                    "`pending`)")
    reason_class: ReasonClass | None = Field(description="of the report that decided the "
                                                         "status")
    retryable: bool | None
    provider_status: str | None = Field(description="of the report that decided the status")
    parts: list[MessagePart] = Field(description="one per part reported, in part order")
    segments: int | None = Field(description="how many parts the provider says the message "
                                             "has, where it says")
    submitted_at: datetime | None = Field(description="when the provider sent the message, "
                                                      "where it says")
    reported_at: datetime | None = Field(description="of the report that decided the status")
    received_at: datetime | None = Field(description="when dlrhub received that report")
    handset_latency_ms: int | None = Field(
        description="reported_at - submitted_at in milliseconds, once final: how long the "
                    "message took to reach the handset (null where a time is missing)")
    receipt_lag_ms: int | None = Field(
        description="received_at - reported_at in milliseconds: how long the report took "
                    "to reach dlrhub")
    out_of_order: int = Field(description="reports that came after a final status (or after "
                                          "a newer pending one); kept as events, not applied")
    corrected: bool = Field(description="whether a later final report disagreed (each emits "
                                        "an `sms.status_corrected` event)")
    events: list[Event]


class Timeline(Output):
    """The status history of one message, per recipient."""

    message_id: str
    recipients: list[TimelineRecipient]


class StatsQuery(Input):
    """The range of received times to count; the last 24 hours by default."""

    since: Instant | None = Field(default=None,
                                  description=_SINCE + "; default: until - 24 h. The "
                                  "range spans at most 31 days")
    until: Instant | None = Field(default=None, description=_UNTIL + "; default: now")
    account_id: str | None = Field(default=None, max_length=40)


class HourCount(Output):
    """The receipts received in one UTC hour."""

    hour: datetime = Field(description="the start of the hour, UTC")
    count: int


class Stats(Output):
    """Receipt counts over a range of received times (at most 31 days)."""

    since: datetime
    until: datetime
    by_status: dict[str, int]
    by_provider: dict[str, int]
    by_reason_class: dict[str, int] = Field(
        description="failed, expired, rejected and unknown receipts by reason class")
    by_hour: list[HourCount] = Field(description="hours without receipts are left out")
    total: int


class InboxQuery(PageQuery):
    """Filters of the inbox."""

    state: InboxState | None = Field(default=None,
                                     description="`rejected` shows what was refused, and why")
    account_id: str | None = Field(default=None, max_length=40)


class _InboxMeta(Output):
    """What an inbox list and an inbox item share."""

    id: str
    account_id: str
    provider: str
    received_at: datetime
    remote_addr: str
    content_type: str
    state: InboxState
    reason: str | None = Field(description="why it was rejected or failed")
    attempts: int
    receipts: int = Field(description="receipts stored from it")
    processed_at: datetime | None
    headers: dict[str, str]
    body_size: int = Field(description="the body's size in bytes")


class InboxSummary(_InboxMeta):
    """A raw provider callback in a list: its body as an excerpt."""

    reason: str | None = Field(description="why it was rejected or failed (its first "
                                           "1000 characters)")
    body_excerpt: str = Field(description="the body's first 2 KiB as text, for reading "
                                          "(bytes that are not UTF-8 show as U+FFFD); the "
                                          "whole body is on `GET /v1/inbox/{id}`")
    body_truncated: bool = Field(description="whether the body is longer than the excerpt")


class InboxItem(_InboxMeta):
    """A raw provider callback as kept, and what became of it."""

    body: str | None = Field(description="the body as text, or null where it is not UTF-8")
    body_base64: str = Field(description="the body, byte for byte")


class InboxPage(Output):
    """A page of inbox items."""

    data: list[InboxSummary]
    next: str | None
