"""The audit trail: who changed what, when, through the API or the console.

A row names its actor by kind and id (an API key's id, never the key; ``admin`` for
the admin token), the action (``account.create``), the tenant it concerns, the target
and, in ``detail``, the names of the fields the request set, never their values. The
API's middleware writes it (api/audit.py), so that no mutating route can be left out.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from dlrhub.models import AUDIT_TABLE, AuditEvent, utcnow
from dlrhub.services.pagination import newest_by_id

ADMIN = "admin"
KEY = "key"
CONSOLE = "console-session"


@dataclass(frozen=True)
class Actor:
    """Who made a change: ``kind`` (admin, key, console-session) and an id that is no secret."""

    kind: str
    id: str


@dataclass(frozen=True)
class Change:
    """What a change was: the action, its tenant and target, and a few non-secret names."""

    action: str
    tenant_id: str | None
    target_type: str
    target_id: str | None
    detail: dict[str, Any]


def record(session: Session, actor: Actor, change: Change, *,
           at: datetime | None = None) -> AuditEvent:
    """Add one audit row (the caller commits)."""
    row = AuditEvent(at=at or utcnow(), actor_kind=actor.kind, actor_id=actor.id[:40],
                     tenant_id=change.tenant_id, action=change.action[:60],
                     target_type=change.target_type[:40],
                     target_id=change.target_id[:200] if change.target_id else None,
                     detail=change.detail)
    session.add(row)
    session.flush()
    return row


def list_events(session: Session, *, tenant_id: str | None, limit: int = 50,
                after: str | None = None, action: str | None = None,
                target_type: str | None = None, target_id: str | None = None,
                since: datetime | None = None,
                until: datetime | None = None) -> tuple[list[AuditEvent], str | None]:
    """Return audit rows newest first (of one tenant, or all), and the next cursor.

    ``action`` ending in ``.`` matches every action of that prefix (``account.``).
    """
    t = AUDIT_TABLE
    query = select(AuditEvent)
    if tenant_id is not None:
        query = query.where(t.c.tenant_id == tenant_id)
    if action:
        query = query.where(t.c.action.startswith(action, autoescape=True)
                            if action.endswith(".") else t.c.action == action)
    if target_type:
        query = query.where(t.c.target_type == target_type)
    if target_id:
        query = query.where(t.c.target_id == target_id)
    if since is not None:
        query = query.where(t.c.at >= since)
    if until is not None:
        query = query.where(t.c.at < until)
    return newest_by_id(session, query, t.c.id, limit=limit, after=after)


def keyed_hash(secret_key: str, value: str) -> str:
    """Return the HMAC-SHA256 of ``value`` keyed by the server's secret, as hex.

    What the trail keeps of a personal datum (an erased number): the same number gives
    the same hash, so "was this number erased?" can be answered, but the hash cannot be
    turned back into the number without the key.
    """
    key = hashlib.sha256(b"dlrhub-audit:" + secret_key.encode()).digest()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
