"""Turn inbox rows into normalized, deduplicated receipts (DESIGN §1, §3)."""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy import Engine, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from dlrhub.core.collector import collector_paused
from dlrhub.models import (
    INBOX_TABLE,
    RECEIPT_TABLE,
    EventType,
    InboundCallback,
    InboxState,
    ProviderAccount,
    dialect,
    new_id,
)
from dlrhub.providers.base import Account, CallbackError, CallbackRequest, Event
from dlrhub.providers.registry import PROVIDERS
from dlrhub.services.accounts import adapter_account
from dlrhub.services.analytics import record_messages
from dlrhub.services.crypto import SecretBox
from dlrhub.services.expectations.matching import match_receipts
from dlrhub.services.insight.enrich import enrich
from dlrhub.services.messages import track
from dlrhub.services.relay import outbox
from dlrhub.services.storable import clean_text, storable

log = logging.getLogger(__name__)

RECEIPTS = RECEIPT_TABLE
INBOX = INBOX_TABLE
_INBOUND = EventType.inbound.value
# Ingest tasks waiting in the broker from which the sweep treats the inbox as a backlog.
QUEUE_BACKLOG = 20
# The database is away (or cancelled us): nothing a callback did; the task tries again.
DB_AWAY = (OperationalError, psycopg.OperationalError)


@dataclass
class IngestReport:
    """What one ingest run did, for the task's log and the metrics."""

    processed: int = 0
    failed: int = 0
    retried: int = 0
    stored: int = 0
    duplicates: int = 0
    # (provider, status, reason class or "") of the receipts stored.
    by_status: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    lags: list[float] = field(default_factory=list)
    # Receipts that came after their message's final status, by provider, and the
    # sms.status_corrected events a disagreeing final one made (services/messages.py).
    out_of_order: Counter[str] = field(default_factory=Counter)
    corrections: int = 0
    # Messages that became final: (provider, handset latency s, receipt lag s).
    finals: list[tuple[str, float | None, float | None]] = field(default_factory=list)
    # Deliveries planned in the same transaction, to enqueue once it is committed:
    # (endpoint id, delivery id).
    deliveries: list[tuple[str, str]] = field(default_factory=list)
    # Final receipts, by provider, of accounts that register what they send, for which
    # no expectation was registered.
    unmatched: Counter[str] = field(default_factory=Counter)

    def add(self, other: IngestReport) -> None:
        """Count ``other``'s run into this one."""
        self.processed += other.processed
        self.failed += other.failed
        self.retried += other.retried
        self.stored += other.stored
        self.duplicates += other.duplicates
        self.by_status.update(other.by_status)
        self.lags.extend(other.lags)
        self.out_of_order.update(other.out_of_order)
        self.corrections += other.corrections
        self.finals.extend(other.finals)
        self.deliveries.extend(other.deliveries)
        self.unmatched.update(other.unmatched)


def dedupe_key(event: Event) -> str:
    """Return the key under which the same record is stored once per account.

    DESIGN §3: message id, phone, provider status and reported time; several providers
    give every recipient of a batch the same message id, hence the phone. Inbound
    messages without an id add their text; a part number tells parts of one SMS apart.
    A provider that names each report (``Event.report_id``, the same on its retries) is
    taken at its word instead: two reports alike in every field but their id are two.
    """
    if event.report_id:
        named = (event.type, "\x1e", event.report_id, event.message_id or "", event.phone or "",
                 event.part or "")
        return hashlib.sha256("\x1f".join(named).encode()).hexdigest()
    fields = (
        event.type,
        event.message_id or "",
        event.phone or "",
        event.provider_status or event.status,
        event.reported_at.isoformat() if event.reported_at else "",
        event.part or "",
        (event.text or "") if event.type == _INBOUND and not event.message_id else "",
    )
    return hashlib.sha256("\x1f".join(fields).encode()).hexdigest()


def ingest(
    session: Session,
    box: SecretBox,
    inbox_ids: Sequence[str],
    *,
    now: datetime,
    max_attempts: int = 5,
) -> IngestReport:
    """Normalize and store the receipts of pending inbox rows, in the caller's transaction.

    Rows that are no longer pending are skipped, and a receipt already stored is not
    stored again, so running this twice for the same rows changes nothing. A row whose
    records cannot be normalized is marked ``failed`` with the reason; the others go on.
    """
    # A batch of 2,000 receipts allocates enough dicts and tuples to set the cyclic
    # collector off ~20 times (two of them over the young generations, full of the
    # batch): 8-10 ms a batch, 4-5 us a receipt. What ingest allocates is freed by
    # reference counting; the collector catches up once it is back on.
    with collector_paused():
        return _ingest(session, box, inbox_ids, now=now, max_attempts=max_attempts)


def _ingest(session: Session, box: SecretBox, inbox_ids: Sequence[str], *, now: datetime,
            max_attempts: int) -> IngestReport:
    report = IngestReport()
    if not inbox_ids:
        return report
    query = select(InboundCallback).where(
        INBOX.c.id.in_(list(inbox_ids)),
        INBOX.c.state == InboxState.pending,
    ).order_by(INBOX.c.received_at)
    # Two workers given the same row (a sweep and a late message) do not both work it.
    query = dialect.lock_skipping_locked(session, query)
    rows = session.execute(query).scalars().all()
    accounts = _AccountCache(session, box)
    receipts: list[dict[str, Any]] = []
    done: list[tuple[InboundCallback, int]] = []
    for row in rows:
        try:
            events = _events(row, accounts.get(row.account_id))
        except CallbackError as ex:
            _finish(session, row, InboxState.failed, now, reason=ex.reason)
            report.failed += 1
            continue
        except Exception as ex:  # a bug in an adapter must not block the other rows
            log.exception("ingest of %s failed", row.id)
            _retry_or_fail(session, row, now, f"{type(ex).__name__}: {ex}", max_attempts,
                           report)
            continue
        seen: set[str] = set()
        count = 0
        base = _row_base(row)
        for event in events:
            key = dedupe_key(event)
            if key in seen:
                continue
            seen.add(key)
            receipts.append(_receipt_row(base, event, key))
            count += 1
        done.append((row, count))
    enrich(receipts, accounts.overrides)
    inserted, refused = _store(session, receipts)
    if refused:
        receipts = [r for r in receipts if r["inbox_id"] not in refused]
    inserted_by_inbox = Counter(r["inbox_id"] for r in receipts if r["id"] in inserted)
    processed: list[InboundCallback] = []
    for row, _count in done:
        if row.id in refused:
            _retry_or_fail(session, row, now, refused[row.id], max_attempts, report)
            continue
        processed.append(row)
        report.processed += 1
        report.lags.append((now - row.received_at).total_seconds())
    _finish_processed(session, processed, inserted_by_inbox, now)
    for r in receipts:
        if r["id"] in inserted:
            report.by_status[(r["provider"], r["status"], r["reason_class"] or "")] += 1
    report.stored = len(inserted)
    report.duplicates = len(receipts) - len(inserted)
    stored = [r for r in receipts if r["id"] in inserted]
    messages = track(session, stored, now)
    report.out_of_order = messages.out_of_order
    report.corrections = len(messages.events)
    report.finals = messages.finals
    report.deliveries = outbox.plan(session, stored + messages.events, now)
    report.unmatched = match_receipts(session, stored, now)
    # Last: every worker adds to the same aggregate rows (this hour's totals), whose row
    # locks are held from here until the commit.
    record_messages(session, messages.changes)
    session.flush()
    return report


def ingest_each(
    sessions: sessionmaker[Session],
    box: SecretBox,
    inbox_ids: Sequence[str],
    *,
    now: datetime,
    max_attempts: int = 5,
) -> IngestReport:
    """Ingest each inbox row in a transaction of its own: the fallback of a failed batch.

    A row that still cannot be ingested alone has the attempt counted and its reason
    kept (``failed`` at ``max_attempts``, else ``pending`` for the sweep), in a third
    transaction, so that it neither blocks its neighbours nor returns for ever.
    """
    report = IngestReport()
    for inbox_id in inbox_ids:
        try:
            with sessions() as session:
                report.add(ingest(session, box, [inbox_id], now=now,
                                  max_attempts=max_attempts))
                session.commit()
        except DB_AWAY:
            raise
        except Exception as ex:
            log.warning("ingest of %s failed alone (%s)", inbox_id, type(ex).__name__)
            with sessions() as session:
                row = session.get(InboundCallback, inbox_id)
                if row is not None and row.state == InboxState.pending:
                    _retry_or_fail(session, row, now, _reason(ex), max_attempts, report)
                    session.commit()
    return report


def _retry_or_fail(session: Session, row: InboundCallback, now: datetime, reason: str,
                   max_attempts: int, report: IngestReport) -> None:
    """Count a failed attempt: ``failed`` at ``max_attempts``, else left for the sweep."""
    attempts = row.attempts + 1
    state = InboxState.failed if attempts >= max_attempts else InboxState.pending
    _finish(session, row, state, now, reason=reason, attempts=attempts,
            enqueued_at=now if state is InboxState.pending else None)
    report.failed += state is InboxState.failed
    report.retried += state is InboxState.pending


def _store(session: Session, receipts: list[dict[str, Any]]) -> tuple[set[str], dict[str, str]]:
    """Insert the receipts in bulk; if the batch fails, callback by callback.

    Return the ids inserted and, by inbox id, why a callback's receipts were refused.
    A savepoint around the batch keeps the normal path at one statement while a value
    the database still refuses costs only its own callback.
    """
    if not receipts:
        return set(), {}
    dialect.begin_write(session)
    try:
        with session.begin_nested():
            return dialect.insert_receipts(session, receipts), {}
    except DB_AWAY:
        raise
    except Exception as ex:
        log.warning("a batch of %d receipts failed (%s): storing callback by callback",
                    len(receipts), type(ex).__name__)
    by_inbox: dict[str, list[dict[str, Any]]] = {}
    for r in receipts:
        by_inbox.setdefault(r["inbox_id"], []).append(r)
    inserted: set[str] = set()
    refused: dict[str, str] = {}
    for inbox_id, rows in by_inbox.items():
        try:
            with session.begin_nested():
                inserted |= dialect.insert_receipts(session, rows)
        except DB_AWAY:
            raise
        except Exception as ex:
            # The type only: a database's message may quote the phone or the text.
            log.warning("receipts of %s could not be stored (%s)", inbox_id,
                        type(ex).__name__)
            refused[inbox_id] = _reason(ex)
    return inserted, refused


def _reason(ex: Exception) -> str:
    """Say why a callback's receipts were refused, without SQLAlchemy's statement dump."""
    orig = getattr(ex, "orig", None) or ex
    lines = str(orig).strip().splitlines()
    detail = f"{type(orig).__name__}: {lines[0]}" if lines else type(orig).__name__
    return clean_text(f"its receipts could not be stored: {detail}")[:500]


def _events(row: InboundCallback, account: Account) -> list[Event]:
    adapter = PROVIDERS[row.provider]
    request = CallbackRequest(
        body=row.body, headers=row.headers, content_type=row.content_type,
        method=row.method, path=row.path, query=row.query, remote_addr=row.remote_addr,
    )
    # Bounded here, once for every adapter: a value a database refuses never reaches it.
    return [storable(adapter.normalize(record, account))
            for record in adapter.extract(request, account)]


def _receipt_row(base: dict[str, Any], event: Event, key: str) -> dict[str, Any]:
    """Build a receipt row from its inbox row's ``base`` (see ``_row_base``) and an event."""
    raw = event.raw
    return {
        **base,
        "id": new_id("evt"),
        "type": event.type,
        "message_id": _cut(event.message_id, 200),
        "reference": _cut(event.reference, 200),
        "phone": _cut(event.phone, 64),
        "status": event.status,
        "provider_status": _cut(event.provider_status, 100),
        "error_code": _cut(event.error_code, 100),
        "error_message": event.error_message,
        "segments": event.segments,
        "part": _cut(event.part, 20),
        "sequence": event.sequence,
        "price": _cut(event.price, 40),
        "submitted_at": event.submitted_at,
        "reported_at": event.reported_at,
        "text": event.text,
        "raw": raw if raw.__class__ is dict else dict(raw),
        "dedupe_key": key,
        "reason_class": None,
        "retryable": None,
        "country": None,
        "carrier": None,
        "synthetic": False,
        "details": None,
    }


def _row_base(row: InboundCallback) -> dict[str, Any]:
    """Return what every receipt of ``row`` shares (read once: ORM attributes cost)."""
    return {"tenant_id": row.tenant_id, "account_id": row.account_id, "inbox_id": row.id,
            "provider": row.provider, "received_at": row.received_at}


def _cut(value: str | None, size: int) -> str | None:
    return value[:size] if value is not None else None


def _finish(session: Session, row: InboundCallback, state: InboxState, now: datetime, *,
            reason: str | None = None, receipts: int = 0, attempts: int | None = None,
            enqueued_at: datetime | None = None) -> None:
    values: dict[str, Any] = {
        "state": state.value, "reason": None if reason is None else clean_text(reason),
        "receipts": receipts, "processed_at": now,
        "attempts": row.attempts + 1 if attempts is None else attempts,
    }
    if enqueued_at is not None:
        # A failed attempt is as good as an enqueue: the sweep waits a grace from it.
        values["enqueued_at"] = enqueued_at
    session.execute(update(INBOX).where(INBOX.c.id == row.id).values(**values))


def _finish_processed(session: Session, rows: Sequence[InboundCallback],
                      receipts: Counter[str], now: datetime) -> None:
    """Mark ``rows`` processed with their receipt counts: one statement for the batch."""
    dialect.mark_processed(session, [(row.id, receipts[row.id], row.attempts + 1)
                                     for row in rows], now)


class _AccountCache:
    def __init__(self, session: Session, box: SecretBox) -> None:
        self._session = session
        self._box = box
        self._cache: dict[str, Account] = {}
        # Each account's reason-class overrides, by account id, read with the account.
        self.overrides: dict[str, dict[str, str]] = {}

    def get(self, account_id: str) -> Account:
        if account_id not in self._cache:
            account = self._session.get(ProviderAccount, account_id)
            if account is None:
                raise CallbackError(f"account {account_id} no longer exists")
            self._cache[account_id] = adapter_account(account, self._box)
            self.overrides[account_id] = account.reason_overrides or {}
        return self._cache[account_id]


def stale_pending(engine: Engine, *, older_than: timedelta, now: datetime,
                  limit: int = 10_000) -> list[str]:
    """Claim the inbox rows whose work was lost, and return their ids, oldest first.

    A row is lost when it is still pending and was neither enqueued nor left by a failed
    attempt within ``older_than``: rows waiting in a backlog were enqueued recently and
    are spared. The rows claimed are marked enqueued ``now``, so each is sent again once
    per grace, not at every sweep; on PostgreSQL, rows a worker is ingesting are locked
    and skipped (its transaction is their lease).
    """
    cutoff = now - older_than
    pending = INBOX.c.state == InboxState.pending.value
    with engine.begin() as conn:
        found = [tuple(r) for sql in dialect.lost_inbox_scans(conn)
                 for r in conn.execute(sql, {"cutoff": cutoff, "limit": limit}).all()]
        found.sort(key=lambda r: r[1])
        ids = [str(r[0]) for r in found[:limit]]
        for chunk in chunks(ids, 1000):
            conn.execute(update(INBOX).where(INBOX.c.id.in_(chunk), pending)
                         .values(enqueued_at=now))
    return ids


def sweep_grace(grace: timedelta, queued_tasks: int) -> timedelta:
    """Return how long a pending row may go unenqueued before the sweep sends it again.

    While ``QUEUE_BACKLOG`` or more ingest tasks wait in the broker, the rows are most
    likely waiting in it: only those enqueued ten times the grace ago (at least 10 min)
    are taken then, so a backlog is not fed its own copies and a lost row is still found.
    """
    if queued_tasks >= QUEUE_BACKLOG:
        return max(grace * 10, timedelta(minutes=10))
    return grace


def chunks(items: Sequence[str], size: int) -> Iterable[list[str]]:
    """Yield ``items`` in lists of at most ``size``."""
    for start in range(0, len(items), size):
        yield list(items[start:start + size])
