"""What an alert rule counts in its window, in SQL over indexed columns.

One query per rule: final receipts by ``received_at`` through ``ix_receipt_tenant_received``
(a message with two final receipts counts twice here), expectations by deadline through
``ix_expectation_tenant_deadline``, an account's pending expectations through
``ix_expectation_tenant_state``. A window is read whole at every evaluation, so its cost
grows with the receipts in it: a week of a busy tenant is millions of index rows.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, select
from sqlmodel import Session

from dlrhub.models import (
    EXPECTATION_TABLE,
    RECEIPT_TABLE,
    AlertKind,
    EventType,
    ExpectationState,
    ReceiptStatus,
)
from dlrhub.services.alerts.evaluate import Counts, Rule

RECEIPTS = RECEIPT_TABLE
EXPECTATIONS = EXPECTATION_TABLE
_NOT_FINAL = (ReceiptStatus.pending.value, ReceiptStatus.received.value)
_FROM_PROVIDERS = (EventType.status.value, EventType.inbound.value)


def count(session: Session, rule: Rule, now: datetime) -> Counts:
    """Count what ``rule`` measures in the window that ends at ``now``."""
    since = now - timedelta(seconds=rule.window_seconds)
    if rule.kind is AlertKind.missing_share_above:
        return _expectations_due(session, rule, since, now)
    if rule.kind is AlertKind.no_receipts_for:
        return _silence(session, rule, since, now)
    return _finals(session, rule, since, now)


def _finals(session: Session, rule: Rule, since: datetime, now: datetime) -> Counts:
    failed = RECEIPTS.c.status != ReceiptStatus.delivered.value
    if rule.kind is AlertKind.delivery_rate_below:
        part: ColumnElement[Any] = RECEIPTS.c.status == ReceiptStatus.delivered.value
        whole: ColumnElement[Any] = literal(True)
    else:
        part = and_(failed, RECEIPTS.c.reason_class == rule.reason_class)
        whole = failed
    query = (select(_sum(part), _sum(whole))
             .where(RECEIPTS.c.tenant_id == rule.tenant_id,
                    RECEIPTS.c.received_at > since, RECEIPTS.c.received_at <= now,
                    RECEIPTS.c.type == EventType.status.value,
                    RECEIPTS.c.status.not_in(_NOT_FINAL), *_scoped(rule)))
    row = session.execute(query).one()
    return Counts(int(row[0] or 0), int(row[1] or 0))


def _expectations_due(session: Session, rule: Rule, since: datetime, now: datetime
                      ) -> Counts:
    table = EXPECTATIONS
    query = (select(_sum(table.c.state == ExpectationState.missing.value), func.count())
             .where(table.c.tenant_id == rule.tenant_id, table.c.deadline_at > since,
                    table.c.deadline_at <= now, *_scoped(rule, table)))
    row = session.execute(query).one()
    return Counts(int(row[0] or 0), int(row[1] or 0))


def _silence(session: Session, rule: Rule, since: datetime, now: datetime) -> Counts:
    """Count the account's receipts in the window (one is enough) and its old waits.

    An expectation counts once it has waited the whole window: a send of a minute ago
    says nothing about a pipeline that has been quiet for an hour.
    """
    account = rule.scope["account_id"]
    heard = (select(literal(1)).where(
        RECEIPTS.c.tenant_id == rule.tenant_id, RECEIPTS.c.received_at > since,
        RECEIPTS.c.received_at <= now, RECEIPTS.c.account_id == account,
        RECEIPTS.c.type.in_(_FROM_PROVIDERS), RECEIPTS.c.synthetic.is_(False)).limit(1))
    table = EXPECTATIONS
    waiting = (select(literal(1)).where(
        table.c.tenant_id == rule.tenant_id,
        table.c.state == ExpectationState.pending.value, table.c.account_id == account,
        table.c.sent_at <= since).limit(rule.min_messages).subquery())
    receipts = len(session.execute(heard).all())
    pending = int(session.execute(select(func.count()).select_from(waiting)).scalar_one())
    return Counts(receipts, pending)


def _sum(condition: ColumnElement[Any]) -> ColumnElement[Any]:
    return func.sum(case((condition, 1), else_=0))


def _scoped(rule: Rule, table: Any = RECEIPTS) -> list[ColumnElement[Any]]:
    return [table.c[name] == value for name, value in rule.scope.items()
            if value is not None and name in table.c]
