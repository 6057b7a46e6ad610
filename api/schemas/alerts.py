"""Alert rules (tenant routes); the rule's own fields are in models.alert."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from dlrhub.api.schemas.common import Input, Output
from dlrhub.models import (
    AlertRuleCreate,
    AlertRulePublic,
    AlertRuleUpdate,
    AlertScope,
    AlertState,
)


class AlertRulePage(Output):
    """A page of alert rules."""

    data: list[AlertRulePublic]
    next: str | None


class AlertEventQuery(Input):
    """How many of a rule's latest events to return."""

    limit: int = Field(default=50, ge=1, le=500)


class AlertEventPublic(Output):
    """One time a rule started firing or cleared: its ``sms.alert`` event."""

    id: str = Field(description="the sms.alert event's id, as in /v1/receipts")
    at: datetime = Field(description="when the evaluation found it")
    state: AlertState
    value: float | None = Field(description="what the evaluation measured")
    threshold: float | None
    firing_since: datetime | None = Field(description="when the episode started firing")


class AlertEventList(Output):
    """A rule's latest events, newest first."""

    data: list[AlertEventPublic]


__all__ = ["AlertEventList", "AlertEventPublic", "AlertEventQuery", "AlertRuleCreate",
           "AlertRulePage", "AlertRulePublic", "AlertRuleUpdate",
           "AlertScope"]
