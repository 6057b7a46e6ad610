"""A rule's firing history: the ``sms.alert`` events it emitted, newest first.

They are receipt rows of type ``sms.alert`` whose ``inbox_id`` names the rule
(``evaluate.alert_event``). They are read through the receipts' index of the types other
than ``sms.status`` (``ix_receipt_tenant_type``, migration 0018): the tenant's alert
events newest first, of which the rule's are kept; never a scan of its status reports.
Receipts keep no index on ``inbox_id`` (migration 0016): ingest would pay for it on
every receipt, for a page that reads a few events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from dlrhub.models import RECEIPT_TABLE, EventType
from dlrhub.services.alerts.rules import get_rule
from dlrhub.services.pagination import check_limit

RECEIPTS = RECEIPT_TABLE


@dataclass(frozen=True)
class AlertEvent:
    """One firing or resolution of a rule, as its ``sms.alert`` event told it."""

    id: str
    at: datetime
    state: str
    value: float | None
    threshold: float | None
    firing_since: str | None


def rule_history(session: Session, *, tenant_id: str, rule_id: str,
                 limit: int = 50) -> list[AlertEvent]:
    """Return the rule's latest ``limit`` events, newest first; ``NotFound`` if not theirs.

    A deleted rule's events stay with the receipts (``rules.delete_rule``), but they have
    no history page: the rule must still be the tenant's.
    """
    check_limit(limit)
    get_rule(session, tenant_id=tenant_id, rule_id=rule_id)
    rows = session.execute(
        select(RECEIPTS.c.id, RECEIPTS.c.received_at, RECEIPTS.c.details)
        .where(RECEIPTS.c.inbox_id == rule_id, RECEIPTS.c.tenant_id == tenant_id,
               RECEIPTS.c.type == EventType.alert.value)
        .order_by(RECEIPTS.c.received_at.desc(), RECEIPTS.c.id.desc()).limit(limit)).all()
    return [_event(row.id, row.received_at, row.details or {}) for row in rows]


def _event(event_id: str, at: datetime, details: dict[str, Any]) -> AlertEvent:
    value = details.get("value")
    threshold = details.get("threshold")
    return AlertEvent(id=event_id, at=at, state=str(details.get("state", "")),
                      value=float(value) if value is not None else None,
                      threshold=float(threshold) if threshold is not None else None,
                      firing_since=details.get("firing_since"))
