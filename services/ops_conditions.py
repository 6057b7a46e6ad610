"""Conditions dlrhub watches over its own operation, each told once when it starts and ends.

A condition is a row of ``ops_condition``; it moves only through an UPDATE that names
the state it leaves, so two evaluations at once (a beat taking over from another) tell
a start or an end once. Evaluated by the worker's beat (tasks/ops.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from dlrhub.core.times import iso_z
from dlrhub.models import (
    ACCOUNT_TABLE,
    INBOX_TABLE,
    OPS_CONDITION_TABLE,
    EventType,
    InboxState,
    dialect,
)
from dlrhub.services import ops_events

log = logging.getLogger(__name__)

CONDITIONS = OPS_CONDITION_TABLE
INBOX = INBOX_TABLE
ACCOUNTS = ACCOUNT_TABLE
REJECTED_PREFIX = "callbacks_rejected:"


@dataclass(frozen=True)
class Change:
    """A condition that started (``firing``) or stopped holding, and since when it held."""

    key: str
    firing: bool
    since: datetime


def move(session: Session, key: str, *, firing: bool, now: datetime) -> Change | None:
    """Set condition ``key`` to ``firing``; return the change, or None if it already was.

    In the caller's transaction: the change is the caller's to tell, and to roll back
    (the condition then moves again next time).
    """
    session.execute(dialect.insert_ignore(session, CONDITIONS).values(
        key=key, firing=False, since=None, updated_at=now))
    since = session.execute(select(CONDITIONS.c.since).where(CONDITIONS.c.key == key)
                            ).scalar_one_or_none()
    moved = session.execute(
        update(CONDITIONS).where(CONDITIONS.c.key == key,
                                 CONDITIONS.c.firing.is_(not firing))
        .values(firing=firing, since=now if firing else None, updated_at=now))
    if not (isinstance(moved, CursorResult) and moved.rowcount == 1):
        return None
    return Change(key, firing, now if firing else (since or now))


def firing_keys(session: Session, prefix: str) -> set[str]:
    """Return the keys starting with ``prefix`` of the conditions that hold now."""
    return set(session.execute(select(CONDITIONS.c.key).where(
        CONDITIONS.c.key.startswith(prefix), CONDITIONS.c.firing.is_(True))).scalars())


# --- a burst of rejected callbacks on an account --------------------------------------


@dataclass
class BurstReport:
    """What one evaluation of the rejected callbacks told."""

    firing: int = 0
    resolved: int = 0
    deliveries: list[tuple[str, str]] = field(default_factory=list)


def rejected_counts(session: Session, since: datetime) -> dict[str, int]:
    """Return the callbacks rejected per account from ``since`` on (the state index)."""
    return {row[0]: int(row[1]) for row in session.execute(
        select(INBOX.c.account_id, func.count()).where(
            INBOX.c.state == InboxState.rejected.value, INBOX.c.received_at >= since)
        .group_by(INBOX.c.account_id))}


def evaluate_rejected(sessions: sessionmaker[Session], *, now: datetime, threshold: int,
                      window: float) -> BurstReport:
    """Tell each account's burst of rejected callbacks once, and its end once.

    A burst starts when ``threshold`` callbacks or more were rejected in the last
    ``window`` seconds, and ends when none was: a provider console still half-fixed
    does not start a new burst each minute.
    """
    report = BurstReport()
    with sessions() as session:
        counts = rejected_counts(session, now - timedelta(seconds=window))
        holding = firing_keys(session, REJECTED_PREFIX)
        over = {a for a, n in counts.items() if n >= threshold}
        starting = [a for a in over if REJECTED_PREFIX + a not in holding]
        ending = [k.removeprefix(REJECTED_PREFIX) for k in holding
                  if counts.get(k.removeprefix(REJECTED_PREFIX), 0) == 0]
        accounts = _accounts(session, starting + ending)
        events = []
        for account_id in sorted(starting + ending):
            account = accounts.get(account_id)
            change = move(session, REJECTED_PREFIX + account_id,
                          firing=account_id in over, now=now)
            if change is None or account is None:
                continue
            events.append(_rejected_event(account, change, counts.get(account_id, 0),
                                          threshold, window, now))
            if change.firing:
                report.firing += 1
            else:
                report.resolved += 1
        report.deliveries = ops_events.emit(session, events, now)
        session.commit()
    if report.firing or report.resolved:
        log.info("rejected callbacks: %d bursts started, %d ended", report.firing,
                 report.resolved)
    return report


def _accounts(session: Session, ids: list[str]) -> dict[str, Any]:
    if not ids:
        return {}
    return {r.id: r for r in session.execute(
        select(ACCOUNTS.c.id, ACCOUNTS.c.tenant_id, ACCOUNTS.c.provider, ACCOUNTS.c.name)
        .where(ACCOUNTS.c.id.in_(ids)))}


def _rejected_event(account: Any, change: Change, count: int, threshold: int,
                    window: float, now: datetime) -> dict[str, Any]:
    state = "firing" if change.firing else "resolved"
    return ops_events.event_row(
        EventType.callbacks_rejected, tenant_id=account.tenant_id, subject_id=account.id,
        account_id=account.id, key=f"{iso_z(change.since)}\x1f{state}", now=now,
        provider=account.provider,
        data={"account_id": account.id, "account_name": account.name,
              "provider": account.provider, "state": state, "rejected": count,
              "threshold": threshold, "window_seconds": int(window),
              "since": iso_z(change.since),
              "hint": "the provider is calling with a wrong signature, token or body: "
                      "check the callback URL and secret in the provider's console; "
                      "GET /v1/inbox?state=rejected shows why each was refused"})
