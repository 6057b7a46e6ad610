"""Expected messages (tenant routes): what was sent, and whether its receipt came."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field, RootModel

from dlrhub.api.schemas.common import Input, Instant, Output, PageQuery
from dlrhub.models import ExpectationState
from dlrhub.models.account import MAX_DEADLINE_SECONDS, MIN_DEADLINE_SECONDS
from dlrhub.services.expectations.intake import MAX_ERRORS
from dlrhub.services.expectations.rules import MAX_ITEMS


class ExpectationCreate(Input):
    """A message the tenant sent, whose final receipt dlrhub should watch for."""

    account_id: str = Field(min_length=1, max_length=40,
                            description="the provider account it was sent through")
    message_id: str = Field(min_length=1, max_length=200,
                            description="the provider's message id, as its receipts carry it")
    phone: str | None = Field(
        default=None, min_length=1, max_length=64,
        description="the recipient, when several share the message id; read as the "
                    "account's receipts are (E.164, or national in its default region)")
    sent_at: Instant | None = Field(
        default=None, description="when it was sent (default: now); at most an hour ahead "
                                  "and 30 days back")
    deadline_seconds: int | None = Field(
        default=None, ge=MIN_DEADLINE_SECONDS, le=MAX_DEADLINE_SECONDS,
        description="how long after `sent_at` a final receipt may take before it is "
                    "reported missing (default: the account's "
                    "`expectation_deadline_seconds`)")
    template: str | None = Field(default=None, max_length=200,
                                 description="the sender's template id, for grouping")
    reference: str | None = Field(default=None, max_length=200,
                                  description="the sender's own id, carried by the events")


class ExpectationList(Input):
    """Up to 1,000 expectations in one request, stored all or none."""

    data: list[ExpectationCreate] = Field(min_length=1, max_length=MAX_ITEMS)


class ExpectationBody(RootModel[ExpectationCreate | ExpectationList]):
    """One expectation, or `{"data": [...]}` of up to 1,000."""


class ExpectationPublic(Output):
    """An expected message and where it stands."""

    id: str
    account_id: str
    provider: str
    message_id: str
    phone: str | None
    sent_at: datetime
    deadline_at: datetime = Field(description="`sms.receipt_missing` is emitted after this")
    horizon_at: datetime = Field(description="a synthetic final `unknown` status is emitted "
                                             "after this")
    template: str | None
    reference: str | None
    state: ExpectationState = Field(description="`pending` until the deadline, `met` once a "
                                                "final receipt came, `missing` past it")
    late: bool = Field(description="met by a receipt that came after it was reported missing")
    missing_at: datetime | None
    synthetic_at: datetime | None = Field(description="when the synthetic status was emitted")
    met_at: datetime | None
    receipt_id: str | None = Field(description="the final receipt that met it")
    created_at: datetime


class ExpectationBatchResult(Output):
    """The expectations of a list, in its order; duplicates as they were already stored."""

    accepted: int = Field(description="expectations stored by this request")
    duplicates: int = Field(description="sends already registered, left as they were")
    data: list[ExpectationPublic]


class ExpectationQuery(PageQuery):
    """Filters of the expectation list; every one given must match."""

    state: ExpectationState | None = None
    account_id: str | None = Field(default=None, max_length=40)
    message_id: str | None = Field(default=None, max_length=200)


class ExpectationPage(Output):
    """A page of expectations, newest first."""

    data: list[ExpectationPublic]
    next: str | None


class LineError(Output):
    """A line of a stream that was not stored."""

    line: int = Field(description="its number, from 1")
    field: str | None = Field(description="the field at fault, when one is")
    detail: str


class BulkResult(Output):
    """What a stream of expectations did."""

    accepted: int = Field(description="lines stored")
    duplicates: int = Field(description="lines of sends already registered")
    rejected: int = Field(description="lines refused")
    errors: list[LineError] = Field(
        description=f"the first {MAX_ERRORS} refused lines and why; the rest are counted")


class ExpectationAnswer(RootModel[ExpectationPublic | ExpectationBatchResult]):
    """One expectation (for one sent), or the result of a list."""
