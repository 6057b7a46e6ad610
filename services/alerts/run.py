"""Evaluate every tenant's alert rules: measure, decide, emit each change of state once.

Run by the worker's beat (tasks/alerts.py) at least every minute. Rules are read a batch
at a time, each batch one transaction: every rule's window counted (one query per rule:
a few thousand rules cost a few thousand index range scans a minute), its state written,
its events inserted as receipt rows and planned for the relay in the same transaction;
the relay is woken after the commit. A state changes only through an UPDATE that names
the state it leaves, so two evaluations at once emit a firing (or a resolution) once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, Row, bindparam, or_, select, update
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from dlrhub.models import ALERT_RULE_TABLE, AlertKind, AlertState, dialect
from dlrhub.services.alerts import measure
from dlrhub.services.alerts.evaluate import Outcome, Rule, State, alert_event, decide
from dlrhub.services.relay import outbox

log = logging.getLogger(__name__)

RULES = ALERT_RULE_TABLE
BATCH = 500


@dataclass
class EvaluationReport:
    """What one evaluation of every rule did."""

    evaluated: int = 0
    firing: int = 0
    resolved: int = 0
    deliveries: list[tuple[str, str]] = field(default_factory=list)


def evaluate_all(sessions: sessionmaker[Session], *, now: datetime,
                 batch: int = BATCH) -> EvaluationReport:
    """Evaluate every enabled rule (and resolve every disabled one still firing)."""
    report = EvaluationReport()
    after = ""
    while True:
        with sessions() as session:
            rows = session.execute(
                select(RULES).where(RULES.c.id > after,
                                    or_(RULES.c.enabled.is_(True), RULES.c.firing.is_(True)))
                .order_by(RULES.c.id).limit(batch)).all()
            if not rows:
                break
            evaluate_batch(session, rows, now, report)
            session.commit()
        after = rows[-1].id
        if len(rows) < batch:
            break
    if report.firing or report.resolved:
        log.info("alerts: %d rules evaluated, %d started firing, %d resolved",
                 report.evaluated, report.firing, report.resolved)
    return report


def evaluate_batch(session: Session, rows: Sequence[Row[Any]], now: datetime,
                   report: EvaluationReport) -> None:
    """Evaluate the rules ``rows`` as read (alert_rule rows) in the caller's transaction.

    A rule whose state another evaluation changed since ``rows`` were read moves no
    further and emits nothing.
    """
    quiet: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for row in rows:
        rule = _rule(row)
        previous = State(row.firing, row.firing_since, row.last_value)
        counts = measure.count(session, rule, now) if rule.enabled else None
        outcome = decide(rule, counts, previous, now)
        report.evaluated += 1
        if outcome.event is None:
            quiet.append({"rule_id": rule.id, "value": outcome.state.last_value})
        elif _move(session, rule.id, previous, outcome, now):
            events.append(alert_event(rule, outcome, previous, now))
            if outcome.event is AlertState.firing:
                report.firing += 1
            else:
                report.resolved += 1
    if quiet:
        session.execute(
            update(RULES).where(RULES.c.id == bindparam("rule_id"))
            .values(last_value=bindparam("value"), last_evaluated_at=now), quiet)
    if events:
        inserted = dialect.insert_receipts(session, events)
        report.deliveries += outbox.plan(
            session, [e for e in events if e["id"] in inserted], now)


def _move(session: Session, rule_id: str, previous: State, outcome: Outcome,
          now: datetime) -> bool:
    """Write the rule's new state if it still is ``previous``; tell whether it was."""
    new = outcome.state
    moved = session.execute(
        update(RULES).where(RULES.c.id == rule_id, RULES.c.firing.is_(previous.firing))
        .values(firing=new.firing, firing_since=new.firing_since, last_value=new.last_value,
                last_evaluated_at=now))
    return isinstance(moved, CursorResult) and moved.rowcount == 1


def _rule(row: Row[Any]) -> Rule:
    return Rule(id=row.id, tenant_id=row.tenant_id, kind=AlertKind(row.kind),
                threshold=row.threshold, window_seconds=row.window_seconds,
                min_messages=row.min_messages, reason_class=row.reason_class,
                scope=dict(row.scope or {}), enabled=bool(row.enabled))
