"""The hub's own state: can it reach its database and broker, what is waiting, what ran.

``/readyz`` asks ``readiness``, ``/metrics`` asks ``inbox_backlog``, and the admin's
console page asks ``system_status``, which is all of them: one reading of each figure.

Each worker process records a heartbeat (services/heartbeats.py): the workers seen in
the last ``SEEN_WITHIN`` are the ones up. The database also records the work they did:
the last callback a worker stored, the last delivery attempt it made and the last alert
evaluation of the beat (``WorkSeen``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from dlrhub.models import (
    ALERT_RULE_TABLE,
    ATTEMPT_TABLE,
    DELIVERY_TABLE,
    ENDPOINT_TABLE,
    INBOX_TABLE,
    DeliveryStatus,
    InboxState,
)
from dlrhub.services import heartbeats
from dlrhub.services.heartbeats import Worker, seen_since

OK = "ok"
# A worker whose heartbeat is older than this is not listed as up: a few missed beats
# at the default DLRHUB_HEARTBEAT_SECONDS (30).
SEEN_WITHIN = timedelta(minutes=2)


def database_check(engine: Engine) -> str:
    """Return ``"ok"`` when the database answers, else ``"error: <kind>"``."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as ex:
        return f"error: {type(ex).__name__}"
    return OK


def broker_check(check: Callable[[], None]) -> str:
    """Return ``"ok"`` when ``check`` connects to the broker, else ``"error: <kind>"``."""
    try:
        check()
    except Exception as ex:  # any failure to connect means not ready
        return f"error: {type(ex).__name__}"
    return OK


def readiness(engine: Engine, check_broker: Callable[[], None]) -> dict[str, str]:
    """Return the database's and the broker's check, by name."""
    return {"database": database_check(engine), "broker": broker_check(check_broker)}


@dataclass(frozen=True)
class InboxBacklog:
    """Callbacks kept but not yet stored as receipts."""

    pending: int
    oldest_age: timedelta | None  # None: nothing pending


def inbox_backlog(conn: Connection, now: datetime) -> InboxBacklog:
    """Return how many callbacks wait for ingest and how long the oldest has waited."""
    inbox = INBOX_TABLE
    count, first = conn.execute(
        select(func.count(), func.min(inbox.c.received_at))
        .where(inbox.c.state == InboxState.pending.value)).one()
    return InboxBacklog(int(count), now - first if first is not None else None)


@dataclass(frozen=True)
class DeliveryBacklog:
    """Deliveries waiting to be sent (or retried), and those the relay gave up on."""

    pending: int
    dead: int


def delivery_backlog(conn: Connection) -> DeliveryBacklog:
    """Return how many deliveries are pending and how many are dead, every tenant's."""
    table = DELIVERY_TABLE
    wanted = (DeliveryStatus.pending.value, DeliveryStatus.dead.value)
    rows = conn.execute(select(table.c.status, func.count())
                        .where(table.c.status.in_(wanted)).group_by(table.c.status))
    counts: dict[str, int] = {str(status): int(count) for status, count in rows}
    return DeliveryBacklog(counts.get(DeliveryStatus.pending.value, 0),
                           counts.get(DeliveryStatus.dead.value, 0))


def oldest_pending_delivery(conn: Connection, now: datetime) -> timedelta | None:
    """Return how long the oldest pending delivery has existed (None: none pending).

    Read from the partial index of the pending deliveries by creation time, whatever
    the number of deliveries done before.
    """
    table = DELIVERY_TABLE
    first = conn.execute(select(func.min(table.c.created_at))
                         .where(table.c.status == DeliveryStatus.pending.value)).scalar()
    return now - first if first is not None else None


@dataclass(frozen=True)
class EndpointStates:
    """Endpoints whose deliveries are held: circuit open, or disabled."""

    circuit_open: int
    disabled: int


def endpoint_states(conn: Connection, now: datetime) -> EndpointStates:
    """Return how many endpoints have their circuit open now, and how many are disabled."""
    table = ENDPOINT_TABLE
    is_open = table.c.circuit_open_until > now
    opened, disabled = conn.execute(select(
        func.count().filter(is_open), func.count().filter(table.c.enabled.is_(False)))).one()
    return EndpointStates(int(opened), int(disabled))


@dataclass(frozen=True)
class WorkSeen:
    """When the workers were last seen at work, from what they wrote (None: never)."""

    ingest: datetime | None  # the newest callback a worker stored as receipts
    relay: datetime | None  # the newest delivery attempt
    alerts: datetime | None  # the newest evaluation of an alert rule


def work_seen(conn: Connection) -> WorkSeen:
    """Return when the workers last stored a callback, attempted a delivery, ran alerts.

    Ids sort by creation time: each newest row is read from the end of an index, never
    by scanning a table.
    """
    inbox, attempt, rules = INBOX_TABLE, ATTEMPT_TABLE, ALERT_RULE_TABLE
    ingest = conn.execute(
        select(inbox.c.processed_at).where(inbox.c.processed_at.is_not(None))
        .order_by(inbox.c.id.desc()).limit(1)).scalar()
    relay = conn.execute(
        select(attempt.c.at).order_by(attempt.c.id.desc()).limit(1)).scalar()
    alerts = conn.execute(select(func.max(rules.c.last_evaluated_at))).scalar()
    return WorkSeen(ingest, relay, alerts)


def workers_check(engine: Engine, now: datetime) -> dict[str, object]:
    """Return what ``/readyz`` says of the workers: seen recently or not, and when last.

    Reported beside the checks, never failing readiness: the API stores every callback
    durably whether or not a worker is up, so taking it out of a load balancer for a
    stopped worker would refuse the callbacks it can keep, and a provider may not send
    them again. ``status`` is ``ok``, ``not seen`` (no heartbeat within ``SEEN_WITHIN``)
    or ``unknown`` (the database cannot be read).
    """
    try:
        with engine.connect() as conn:
            newest = heartbeats.last_seen(conn)
    except SQLAlchemyError:
        return {"status": "unknown", "last_seen_seconds": None}
    if newest is None:
        return {"status": "not seen", "last_seen_seconds": None}
    age = max((now - newest).total_seconds(), 0.0)
    return {"status": OK if age <= SEEN_WITHIN.total_seconds() else "not seen",
            "last_seen_seconds": round(age, 1)}


@dataclass(frozen=True)
class SystemStatus:
    """Everything the admin's system page shows, read at ``at``."""

    at: datetime
    checks: dict[str, str]
    inbox: InboxBacklog | None  # None: the database could not be read
    deliveries: DeliveryBacklog | None
    work: WorkSeen | None
    workers: list[Worker] | None  # the worker processes seen within SEEN_WITHIN

    @property
    def ready(self) -> bool:
        """Tell whether the database and the broker both answered."""
        return all(v == OK for v in self.checks.values())


def system_status(engine: Engine, check_broker: Callable[[], None], now: datetime
                  ) -> SystemStatus:
    """Return the checks of ``/readyz``, the backlogs and the workers' last work."""
    checks = readiness(engine, check_broker)
    if checks["database"] != OK:
        return SystemStatus(now, checks, None, None, None, None)
    try:
        with engine.connect() as conn:
            return SystemStatus(now, checks, inbox_backlog(conn, now), delivery_backlog(conn),
                                work_seen(conn), seen_since(conn, now - SEEN_WITHIN))
    except SQLAlchemyError as ex:
        checks["database"] = f"error: {type(ex).__name__}"
        return SystemStatus(now, checks, None, None, None, None)
