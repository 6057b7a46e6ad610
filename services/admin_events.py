"""Events for the operator: posted to ``DLRHUB_ADMIN_WEBHOOK_URL``, signed as the relay signs.

``admin.inbox_backlog`` tells when the callbacks waiting to be ingested (``pending``
inbox rows) go over ``DLRHUB_ADMIN_BACKLOG_THRESHOLD`` (``data.state`` ``firing``), and
again when they are back under it (``resolved``): once per crossing, however many
evaluations see it. The condition moves in the transaction that posts the event and
commits only once the webhook took it (a 2xx), so a webhook that is down gets the event
at a later evaluation, not never (seen again then, with that evaluation's time).

``admin.tenant_rate_limited`` tells when a tenant's API keys start being refused for
their rate limit (429), from the ``api_refusal`` rows the API writes every few seconds
per process (services/ratelimit.RefusalLog), and ``resolved`` once a whole window has
passed without a refusal: once per episode and tenant, like the backlog.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import httpx
import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from dlrhub.core.times import iso_z
from dlrhub.models import API_REFUSAL_TABLE, INBOX_TABLE, TENANT_TABLE, InboxState
from dlrhub.services.ops_conditions import Change, firing_keys, move
from dlrhub.services.relay.jobs import USER_AGENT
from dlrhub.services.relay.transport import signing

log = logging.getLogger(__name__)

BACKLOG = "admin.inbox_backlog"
RATE_LIMITED = "admin.tenant_rate_limited"
TIMEOUT = 10.0


@dataclass(frozen=True)
class AdminHook:
    """Where admin events go and the secret that signs them."""

    url: str
    secret: str


def backlog(session: Session) -> int:
    """Return how many callbacks wait to be ingested."""
    return int(session.execute(select(func.count()).select_from(INBOX_TABLE).where(
        INBOX_TABLE.c.state == InboxState.pending.value)).scalar_one())


def backlog_event(change: Change, pending: int, threshold: int, now: datetime
                  ) -> dict[str, Any]:
    """Return the ``admin.inbox_backlog`` event of one crossing of the threshold."""
    state = "firing" if change.firing else "resolved"
    seed = f"{BACKLOG}\x1f{iso_z(change.since)}\x1f{state}"
    return {"id": "adm_" + hashlib.sha256(seed.encode()).hexdigest()[:26],
            "type": BACKLOG, "timestamp": iso_z(now),
            "data": {"state": state, "pending": pending, "threshold": threshold,
                     "since": iso_z(change.since)}}


def post(hook: AdminHook, event: dict[str, Any], now: datetime) -> bool:
    """Post ``event`` signed to the admin webhook; tell whether it took it (a 2xx)."""
    body = orjson.dumps(event)
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
               **signing.headers([hook.secret], event["id"], int(now.timestamp()), body)}
    try:
        answer = httpx.post(hook.url, content=body, headers=headers, timeout=TIMEOUT)
    except httpx.HTTPError as ex:
        log.warning("admin webhook: %s not sent: %s", event["type"], type(ex).__name__)
        return False
    if not 200 <= answer.status_code < 300:
        log.warning("admin webhook: %s refused with HTTP %d", event["type"],
                    answer.status_code)
        return False
    return True


def _tell(sessions: sessionmaker[Session], hook: AdminHook, key: str, *, firing: bool,
          now: datetime, make: Callable[[Change], dict[str, Any]]) -> dict[str, Any] | None:
    """Move condition ``key``; if it moved, post its event and keep the move once told.

    The webhook is posted outside any transaction (a slow receiver holding SQLite's one
    write lock would stall callbacks and ingest): the move is worked out and rolled
    back, the event posted, and the move made again and committed only after a 2xx.
    An event not taken is told at a later evaluation. One beat runs these at a time.
    """
    with sessions() as session:
        change = move(session, key, firing=firing, now=now)
        session.rollback()
    if change is None:
        return None
    event = make(change)
    if not post(hook, event, now):
        return None
    with sessions() as session:
        if move(session, key, firing=firing, now=now) is not None:
            session.commit()
    return event


def evaluate_backlog(sessions: sessionmaker[Session], hook: AdminHook, *, threshold: int,
                     now: datetime) -> dict[str, Any] | None:
    """Tell the admin webhook when the backlog crosses ``threshold``; return the event told."""
    with sessions() as session:
        pending = backlog(session)
    event = _tell(sessions, hook, BACKLOG, firing=pending > threshold, now=now,
                  make=lambda change: backlog_event(change, pending, threshold, now))
    if event is not None:
        log.info("admin webhook: inbox backlog %s (%d pending)", event["data"]["state"],
                 pending)
    return event


def evaluate_rate_limited(sessions: sessionmaker[Session], hook: AdminHook, *,
                          window: float, now: datetime) -> list[dict[str, Any]]:
    """Tell the admin webhook of each tenant that started or stopped being rate-limited.

    A tenant is rate-limited while a refusal was recorded within ``window`` seconds.
    Each change is told in its own transaction, committed once the webhook took it.
    """
    told: list[dict[str, Any]] = []
    since = now - timedelta(seconds=window)
    with sessions() as session:
        rows = {r.tenant_id: r for r in session.execute(
            select(API_REFUSAL_TABLE, TENANT_TABLE.c.name).join(
                TENANT_TABLE, TENANT_TABLE.c.id == API_REFUSAL_TABLE.c.tenant_id))}
        firing = {k.removeprefix(f"{RATE_LIMITED}:")
                  for k in firing_keys(session, f"{RATE_LIMITED}:")}
    for tenant_id in sorted(set(rows) | firing):
        row = rows.get(tenant_id)
        limited = row is not None and row.last_at >= since
        event = _tell(sessions, hook, f"{RATE_LIMITED}:{tenant_id}", firing=limited, now=now,
                      make=partial(_rate_limited_event, tenant_id=tenant_id, row=row, now=now))
        if event is not None:
            told.append(event)
    return told


def _rate_limited_event(change: Change, tenant_id: str, row: Any,
                        now: datetime) -> dict[str, Any]:
    state = "firing" if change.firing else "resolved"
    seed = f"{RATE_LIMITED}\x1f{tenant_id}\x1f{iso_z(change.since)}\x1f{state}"
    return {"id": "adm_" + hashlib.sha256(seed.encode()).hexdigest()[:26],
            "type": RATE_LIMITED, "timestamp": iso_z(now),
            "data": {"state": state, "tenant_id": tenant_id,
                     "tenant_name": row.name if row is not None else None,
                     "refusals": row.refusals if row is not None else None,
                     "last_refused_at": iso_z(row.last_at) if row is not None else None,
                     "since": iso_z(change.since)}}
