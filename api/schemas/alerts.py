"""Alert rules (tenant routes); the rule's own fields are in models.alert."""

from __future__ import annotations

from dlrhub.api.schemas.common import Output
from dlrhub.models import AlertRuleCreate, AlertRulePublic, AlertRuleUpdate, AlertScope


class AlertRulePage(Output):
    """A page of alert rules."""

    data: list[AlertRulePublic]
    next: str | None


__all__ = ["AlertRuleCreate", "AlertRulePage", "AlertRulePublic", "AlertRuleUpdate",
           "AlertScope"]
