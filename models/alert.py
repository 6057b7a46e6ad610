"""An alert rule's fields, declared once: the SQLModel family of the alert_rule table.

``AlertRuleBase`` holds what a tenant sets; ``AlertRuleCreate`` and ``AlertRuleUpdate``
are the request bodies, ``AlertRulePublic`` the answer, and ``models.tables.AlertRule``
the table, which adds the rule's state (firing or not, since when, the last measure).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Column, String
from sqlmodel import Field, SQLModel

from dlrhub.core.vocabulary import AlertKind, ReasonClass
from dlrhub.models.family import INPUT_CONFIG, PUBLIC_CONFIG
from dlrhub.models.types import JSONType

# A window shorter than a minute would be shorter than the time between evaluations;
# longer than a week, and a rule says nothing about how delivery is going now.
MIN_WINDOW_SECONDS = 60
MAX_WINDOW_SECONDS = 7 * 24 * 3600
MAX_MIN_MESSAGES = 1_000_000


class AlertScope(BaseModel):
    """Which messages a rule measures; an absent field means "all of the tenant's"."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    account_id: str | None = Field(default=None, max_length=40)
    provider: str | None = Field(default=None, max_length=40)
    carrier: str | None = Field(default=None, max_length=40,
                                description="a carrier slug, e.g. china_telecom")
    country: str | None = Field(default=None, min_length=2, max_length=2,
                                description="ISO 3166 region, e.g. CN")


class AlertRuleBase(SQLModel):
    """What a tenant sets on an alert rule."""

    kind: AlertKind = Field(sa_column=Column(String(40), nullable=False))
    threshold: float = Field(
        ge=0, description="a share from 0 to 1 (delivery_rate_below, reason_share_above, "
        "missing_share_above); unused by no_receipts_for")
    window_seconds: int = Field(ge=MIN_WINDOW_SECONDS, le=MAX_WINDOW_SECONDS,
                                description="how far back each evaluation looks")
    min_messages: int = Field(default=1, ge=1, le=MAX_MIN_MESSAGES,
                              description="the rule says nothing until this many "
                              "messages (failures, expectations) are in its window")
    reason_class: ReasonClass | None = Field(
        default=None, sa_column=Column(String(40), nullable=True),
        description="the class whose share reason_share_above measures")
    scope: dict[str, Any] = Field(default_factory=dict,
                                  sa_column=Column(JSONType, nullable=False))
    description: str = Field(default="", max_length=500)
    enabled: bool = True


class AlertRuleCreate(SQLModel):
    """A new alert rule."""

    model_config = INPUT_CONFIG

    kind: AlertKind
    threshold: float | None = Field(default=None, ge=0,
                                    description="required but by no_receipts_for")
    window_seconds: int = Field(ge=MIN_WINDOW_SECONDS, le=MAX_WINDOW_SECONDS)
    min_messages: int = Field(default=1, ge=1, le=MAX_MIN_MESSAGES)
    reason_class: ReasonClass | None = None
    scope: AlertScope = Field(default_factory=AlertScope)
    description: str = Field(default="", max_length=500)
    enabled: bool = True


class AlertRuleUpdate(SQLModel):
    """Changes to an alert rule; absent fields stay as they are.

    Changing what a rule measures (kind, threshold, window, scope) starts it afresh: a
    firing rule is not resolved by an edit, it is evaluated anew at the next run.
    """

    model_config = INPUT_CONFIG

    threshold: float | None = Field(default=None, ge=0)
    window_seconds: int | None = Field(default=None, ge=MIN_WINDOW_SECONDS,
                                       le=MAX_WINDOW_SECONDS)
    min_messages: int | None = Field(default=None, ge=1, le=MAX_MIN_MESSAGES)
    reason_class: ReasonClass | None = None
    scope: AlertScope | None = None
    description: str | None = Field(default=None, max_length=500)
    enabled: bool | None = None


class AlertRulePublic(AlertRuleBase):
    """An alert rule and where it stands."""

    model_config = PUBLIC_CONFIG

    id: str
    firing: bool = Field(description="whether the rule fired and has not resolved since")
    firing_since: datetime | None
    last_value: float | None = Field(description="what the last evaluation measured "
                                     "(null: too few messages to say)")
    last_evaluated_at: datetime | None
    created_at: datetime
    updated_at: datetime
