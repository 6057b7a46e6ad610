"""Worker heartbeats: each worker process says it is alive, the system page lists them.

A process writes its own row (``<host>:<pid>``) every few seconds, so a worker that is
up but idle is seen as well as one at work; a row not written for a while is a process
that stopped, was killed or cannot reach the database. Rows of processes gone for a day
are deleted by the heartbeats of the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlmodel import Session

from dlrhub.models import WORKER_SEEN_TABLE

SEEN = WORKER_SEEN_TABLE
# A process not seen for this long is gone; its row goes at the next heartbeat of any.
FORGET_AFTER = timedelta(days=1)
# The most rows the system page lists.
MAX_LISTED = 100


@dataclass(frozen=True)
class Worker:
    """A worker process as its heartbeats tell it."""

    name: str
    started_at: datetime
    seen_at: datetime


def beat(session: Session, *, name: str, started_at: datetime, now: datetime) -> None:
    """Record that the process ``name`` is alive at ``now``, in the caller's transaction.

    Only the process itself writes its row, so an update that finds none is its first
    heartbeat and the insert cannot collide.
    """
    done = session.execute(update(SEEN).where(SEEN.c.name == name).values(seen_at=now))
    if not getattr(done, "rowcount", 0):
        session.execute(insert(SEEN).values(name=name, started_at=started_at, seen_at=now))
    session.execute(delete(SEEN).where(SEEN.c.seen_at < now - FORGET_AFTER))


def seen_since(conn: Connection, since: datetime) -> list[Worker]:
    """Return the worker processes seen at or after ``since``, the latest seen first."""
    rows = conn.execute(select(SEEN.c.name, SEEN.c.started_at, SEEN.c.seen_at)
                        .where(SEEN.c.seen_at >= since)
                        .order_by(SEEN.c.seen_at.desc(), SEEN.c.name).limit(MAX_LISTED))
    return [Worker(r.name, r.started_at, r.seen_at) for r in rows]


def last_seen(conn: Connection) -> datetime | None:
    """Return the newest heartbeat of any worker process (None: none ever recorded)."""
    return conn.execute(select(func.max(SEEN.c.seen_at))).scalar()
