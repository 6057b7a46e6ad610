"""Retention: how long each tenant's rows are kept, and the purge of the older ones.

Four periods, in whole days, each the system default (``DLRHUB_RETAIN_*_DAYS``) unless
the admin set the tenant's own (``tenant.retain_*_days``):

* ``inbox``: raw callbacks that are done with (processed, rejected or failed, their
  reason with them), by when they arrived. A pending one is never purged, however old:
  its receipts are not stored yet.
* ``receipts``: receipts by when they arrived; then the message rows (the timeline's
  summary) of which no receipt is left.
* ``deliveries``: finished deliveries (succeeded, failed, dead) with their attempts, by
  when they were made. A pending one is never purged.
* ``expectations``: met ones, and missing ones whose synthetic final status was sent,
  once both their deadline and their horizon are older than the period. A pending one,
  or a missing one still waiting for its horizon, is never purged.

Nothing a pending delivery still has to send is purged either: its receipts and, for
a native endpoint, its raw callback stay until it is done.

The delivery aggregate (``delivery_stats``, services/analytics) is not purged: it
holds counts, no personal data, so analytics over periods whose receipts are gone
stay right.

Each statement deletes at most ``batch`` rows, oldest first along an index (see
migration 0021), in a short transaction of its own: ingest never waits long for it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    delete,
    exists,
    func,
    or_,
    select,
    true,
)
from sqlalchemy.engine import CursorResult, Result
from sqlmodel import Session

from dlrhub.config import Settings
from dlrhub.core.vocabulary import DeliveryStatus, ExpectationState, InboxState
from dlrhub.models import (
    ATTEMPT_TABLE,
    DELIVERY_TABLE,
    EXPECTATION_TABLE,
    INBOX_TABLE,
    MESSAGE_TABLE,
    RECEIPT_TABLE,
    TENANT_TABLE,
)
from dlrhub.models.dialect import begin_immediate, lock_skipping_locked
from dlrhub.models.tenant import TenantRetention
from dlrhub.services.tenancy import get_tenant

Sessions = Callable[[], Session]

KINDS = ("inbox", "receipts", "deliveries", "expectations")
# What the purge reports, table by table (the message rows go with their receipts, the
# attempts with their deliveries).
TABLES = ("inbound_callback", "receipt", "message", "delivery", "attempt", "expectation")
DEFAULT_BATCH = 5000

_DONE_INBOX = (InboxState.processed, InboxState.rejected, InboxState.failed)
_DONE_DELIVERIES = (DeliveryStatus.succeeded, DeliveryStatus.failed, DeliveryStatus.dead)


@dataclass(frozen=True)
class Periods:
    """A period in days for each kind of row."""

    inbox: int
    receipts: int
    deliveries: int
    expectations: int

    @classmethod
    def of_settings(cls, settings: Settings) -> Periods:
        """Return the system defaults: ``DLRHUB_RETAIN_*_DAYS``."""
        return cls(inbox=settings.retain_inbox_days, receipts=settings.retain_receipts_days,
                   deliveries=settings.retain_deliveries_days,
                   expectations=settings.retain_expectations_days)

    def days(self, kind: str) -> int:
        """Return the period of ``kind`` (one of ``KINDS``)."""
        value: int = getattr(self, kind)
        return value


@dataclass(frozen=True)
class Period:
    """A tenant's period of one kind, and whether it is the system default."""

    days: int
    default: bool


def effective_periods(tenant: TenantRetention | Any, defaults: Periods) -> dict[str, Period]:
    """Return the period of each kind for ``tenant``: its own where set, else the default."""
    out = {}
    for kind in KINDS:
        own = getattr(tenant, f"retain_{kind}_days")
        out[kind] = Period(days=defaults.days(kind), default=True) if own is None \
            else Period(days=int(own), default=False)
    return out


def oldest_kept(session: Session, tenant_id: str, kind: str, defaults: Periods,
                now: datetime) -> datetime:
    """Return the oldest time whose rows of ``kind`` the tenant still keeps."""
    tenant = get_tenant(session, tenant_id)
    return now - timedelta(days=effective_periods(tenant, defaults)[kind].days)


@dataclass
class PurgeReport:
    """Rows deleted (or, for a dry run, that would be), by table; ``finished``: all of them.

    ``finished`` is False when the run stopped at its time budget with rows left.
    """

    deleted: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLES, 0))
    finished: bool = True

    @property
    def total(self) -> int:
        """Return the rows of every table."""
        return sum(self.deleted.values())

    def add(self, table: str, rows: int) -> None:
        """Count ``rows`` more of ``table``."""
        self.deleted[table] += rows


def never() -> bool:
    """A time budget that never runs out."""
    return False


@dataclass(frozen=True)
class _Tenant:
    id: str
    cutoffs: dict[str, datetime]


def _tenants(sessions: Sessions, now: datetime, defaults: Periods,
             only: str | None) -> list[_Tenant]:
    t = TENANT_TABLE
    query = select(t.c.id, *(t.c[f"retain_{k}_days"] for k in KINDS)).order_by(t.c.id)
    if only is not None:
        query = query.where(t.c.id == only)
    with sessions() as session:
        rows = session.execute(query).all()
    return [_Tenant(r.id, {kind: now - timedelta(days=p.days)
                           for kind, p in effective_periods(r, defaults).items()})
            for r in rows]


def purge(sessions: Sessions, *, now: datetime, defaults: Periods,
          batch: int = DEFAULT_BATCH, out_of_time: Callable[[], bool] = never,
          tenant_id: str | None = None, pause: float = 0.0,
          sleep: Callable[[float], None] = time.sleep) -> PurgeReport:
    """Delete every tenant's rows older than its periods, ``batch`` rows per transaction.

    Asks ``out_of_time()`` before each tenant and after each full batch, and stops once
    it says so (``finished`` False); the next run goes on from the oldest rows left.
    After each full batch it sleeps ``pause`` times as long as the batch took, so that
    it holds the database at most 1 / (1 + pause) of the time and ingest keeps the rest
    (bench/purge measured it). ``tenant_id``: only that tenant's.
    """
    report = PurgeReport()
    for tenant in _tenants(sessions, now, defaults, tenant_id):
        if out_of_time():
            report.finished = False
            return report
        keep = _still_needed(sessions, tenant.id)
        steps: list[Callable[[Session], dict[str, int]]] = [
            *(_deliveries_step(tenant, status, batch) for status in _DONE_DELIVERIES),
            _expectations_step(tenant, batch),
            _receipts_step(tenant, batch, keep.receipts),
            *(_inbox_step(tenant, state, batch, keep.inbox) for state in _DONE_INBOX),
        ]
        for step in steps:
            while True:
                started = time.monotonic()
                with sessions() as session:
                    begin_immediate(session)
                    counts = step(session)
                    session.commit()
                took = time.monotonic() - started
                for name, rows in counts.items():
                    if name != "selected":
                        report.add(name, rows)
                # A short batch was the last. A batch of rows all kept for pending
                # deliveries deletes nothing but moves the step's cursor past them.
                if counts["selected"] < batch:
                    break
                if pause:
                    sleep(took * pause)
                if out_of_time():
                    report.finished = False
                    return report
    return report


@dataclass
class _Needed:
    receipts: set[str]
    inbox: set[str]


def _still_needed(sessions: Sessions, tenant_id: str) -> _Needed:
    """Return the receipts and raw callbacks the tenant's pending deliveries will send."""
    d = DELIVERY_TABLE
    with sessions() as session:
        rows = session.execute(select(d.c.event_ids, d.c.inbox_id).where(
            d.c.tenant_id == tenant_id, d.c.status == DeliveryStatus.pending.value)).all()
    return _Needed(receipts={i for r in rows for i in (r.event_ids or ())},
                   inbox={r.inbox_id for r in rows if r.inbox_id})


def _oldest(session: Session, table: Table, where: ColumnElement[bool],
            order: ColumnElement[Any], batch: int, *columns: Any) -> list[Any]:
    """Return the oldest ``batch`` rows matching ``where``, locked (PostgreSQL)."""
    query = select(table.c.id, *columns).where(where).order_by(order).limit(batch)
    return list(session.execute(lock_skipping_locked(session, query)).all())


@dataclass
class _Cursor:
    """Where a step that keeps some rows goes on from: past the last row it selected.

    Without it, a batch of rows all kept (the events of a disabled endpoint's pending
    deliveries) would be selected again and again and everything after them never
    purged. Ordered by (received_at, id), which the tables' indexes serve.
    """

    after: tuple[datetime, str] | None = None

    def where(self, table: Table) -> ColumnElement[bool]:
        if self.after is None:
            return true()
        at, last = self.after
        # Written out rather than as a row value: the inbox's index ends at received_at,
        # so only "received_at >= at" can bound its range scan; the rest filters it.
        return and_(table.c.received_at >= at,
                    or_(table.c.received_at > at, table.c.id > last))

    def oldest(self, session: Session, table: Table, where: ColumnElement[bool],
               batch: int, *columns: Any) -> list[Any]:
        query = (select(table.c.id, table.c.received_at, *columns)
                 .where(where, self.where(table))
                 .order_by(table.c.received_at, table.c.id).limit(batch))
        rows = list(session.execute(lock_skipping_locked(session, query)).all())
        if rows:
            self.after = (rows[-1].received_at, rows[-1].id)
        return rows


def _deleted(session: Session, table: Table, ids: Iterable[str],
             where: ColumnElement[bool]) -> int:
    """Delete the rows of ``ids`` still matching ``where``; return how many."""
    ids = list(ids)
    if not ids:
        return 0
    return _count(session.execute(delete(table).where(table.c.id.in_(ids), where)))


def _count(result: Result[Any]) -> int:
    """Return the rows a DELETE removed (a DML statement's result is a CursorResult)."""
    assert isinstance(result, CursorResult)
    return int(result.rowcount or 0)


def _inbox_where(tenant: _Tenant, state: InboxState) -> ColumnElement[bool]:
    i = INBOX_TABLE
    return and_(i.c.tenant_id == tenant.id, i.c.state == state.value,
                i.c.received_at < tenant.cutoffs["inbox"])


def _inbox_step(tenant: _Tenant, state: InboxState, batch: int,
                keep: set[str]) -> Callable[[Session], dict[str, int]]:
    cursor = _Cursor()

    def step(session: Session) -> dict[str, int]:
        where = _inbox_where(tenant, state)
        rows = cursor.oldest(session, INBOX_TABLE, where, batch)
        gone = _deleted(session, INBOX_TABLE, (r.id for r in rows if r.id not in keep), where)
        return {"selected": len(rows), "inbound_callback": gone}
    return step


def _receipts_where(tenant: _Tenant) -> ColumnElement[bool]:
    r = RECEIPT_TABLE
    return and_(r.c.tenant_id == tenant.id, r.c.received_at < tenant.cutoffs["receipts"])


def _receipts_step(tenant: _Tenant, batch: int,
                   keep: set[str]) -> Callable[[Session], dict[str, int]]:
    r, m = RECEIPT_TABLE, MESSAGE_TABLE
    cursor = _Cursor()

    def step(session: Session) -> dict[str, int]:
        where = _receipts_where(tenant)
        rows = cursor.oldest(session, r, where, batch, r.c.message_id)
        gone = _deleted(session, r, (row.id for row in rows if row.id not in keep), where)
        message_ids = {row.message_id for row in rows if row.message_id is not None}
        orphans = 0
        if message_ids:
            # The message rows of which no receipt is left: their timeline is empty.
            orphans = _count(session.execute(delete(m).where(
                m.c.tenant_id == tenant.id, m.c.message_id.in_(message_ids),
                ~_has_receipt(tenant.id))))
        return {"selected": len(rows), "receipt": gone, "message": orphans}
    return step


def _has_receipt(tenant_id: str, since: datetime | None = None) -> Any:
    """Whether a message row has a receipt left (received at or after ``since``)."""
    r, m = RECEIPT_TABLE, MESSAGE_TABLE
    conditions = [r.c.tenant_id == tenant_id, r.c.message_id == m.c.message_id,
                  r.c.account_id == m.c.account_id]
    if since is not None:
        conditions.append(r.c.received_at >= since)
    return exists().where(*conditions)


def _deliveries_where(tenant: _Tenant, status: DeliveryStatus) -> ColumnElement[bool]:
    d = DELIVERY_TABLE
    return and_(d.c.tenant_id == tenant.id, d.c.status == status.value,
                d.c.created_at < tenant.cutoffs["deliveries"])


def _deliveries_step(tenant: _Tenant, status: DeliveryStatus,
                     batch: int) -> Callable[[Session], dict[str, int]]:
    d, a = DELIVERY_TABLE, ATTEMPT_TABLE

    def step(session: Session) -> dict[str, int]:
        where = _deliveries_where(tenant, status)
        ids = [row.id for row in _oldest(session, d, where, d.c.created_at, batch)]
        attempts = _count(session.execute(delete(a).where(a.c.delivery_id.in_(ids)))
                          ) if ids else 0
        gone = _deleted(session, d, ids, where)
        return {"selected": len(ids), "delivery": gone, "attempt": attempts}
    return step


def _expectations_where(tenant: _Tenant) -> ColumnElement[bool]:
    e = EXPECTATION_TABLE
    cutoff = tenant.cutoffs["expectations"]
    return and_(
        e.c.tenant_id == tenant.id, e.c.deadline_at < cutoff, e.c.horizon_at < cutoff,
        or_(e.c.state == ExpectationState.met.value,
            and_(e.c.state == ExpectationState.missing.value, e.c.synthetic_at.is_not(None))))


def _expectations_step(tenant: _Tenant, batch: int) -> Callable[[Session], dict[str, int]]:
    e = EXPECTATION_TABLE

    def step(session: Session) -> dict[str, int]:
        where = _expectations_where(tenant)
        rows = _oldest(session, e, where, e.c.deadline_at, batch)
        return {"selected": len(rows),
                "expectation": _deleted(session, e, (r.id for r in rows), where)}
    return step


def would_purge(sessions: Sessions, *, now: datetime, defaults: Periods,
                tenant_id: str | None = None) -> PurgeReport:
    """Count what ``purge`` would delete now, deleting nothing (``dlrhub purge --dry-run``).

    An upper bound where pending deliveries still need some of the rows counted.
    """
    report = PurgeReport()
    for tenant in _tenants(sessions, now, defaults, tenant_id):
        with sessions() as session:
            def count(table: Table, where: ColumnElement[bool]) -> int:
                return int(session.execute(
                    select(func.count()).select_from(table).where(where)).scalar_one())

            for state in _DONE_INBOX:
                report.add("inbound_callback", count(INBOX_TABLE, _inbox_where(tenant, state)))
            report.add("receipt", count(RECEIPT_TABLE, _receipts_where(tenant)))
            m = MESSAGE_TABLE
            report.add("message", count(m, and_(
                m.c.tenant_id == tenant.id,
                ~_has_receipt(tenant.id, since=tenant.cutoffs["receipts"]))))
            for status in _DONE_DELIVERIES:
                where = _deliveries_where(tenant, status)
                report.add("delivery", count(DELIVERY_TABLE, where))
                report.add("attempt", count(ATTEMPT_TABLE, ATTEMPT_TABLE.c.delivery_id.in_(
                    select(DELIVERY_TABLE.c.id).where(where))))
            report.add("expectation", count(EXPECTATION_TABLE, _expectations_where(tenant)))
    return report
