"""Keep one status per message beside its receipts, in the transaction that stores them.

``track`` is called by ingest with the receipts a batch inserted. Per batch: each
message's receipts are folded with the pure rules of ``message_state`` as if the
message were new, and one upsert inserts the new rows so and locks the existing ones
(in key order, so that two workers never deadlock), returning what they hold; those are
folded again from their state and written back in one more statement. An
``sms.status_corrected`` event is stored per final report that disagrees with the
first. Two workers storing receipts of one message serialize on its row lock, so
neither's receipts are lost. Each message whose standing changed moves in the delivery
aggregate (``services/analytics``) in the same transaction: the row it counted in
before, and the one it counts in now.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, or_, select
from sqlmodel import Session

from dlrhub.models import (
    MESSAGE_TABLE,
    RECEIPT_TABLE,
    TENANT_TABLE,
    EventType,
    dialect,
    new_id,
)
from dlrhub.services.analytics import MessageFacts
from dlrhub.services.message_state import (
    PENDING,
    WHOLE,
    Correction,
    Outcome,
    Part,
    Report,
    State,
    Summary,
    apply,
    parts_document,
    stored_parts,
    summarize,
)

MESSAGES = MESSAGE_TABLE
RECEIPTS = RECEIPT_TABLE
_STATUS = EventType.status.value
_CORRECTED = EventType.status_corrected.value
Key = tuple[str, str, str]


@dataclass
class Tracked:
    """What one batch did to its messages, for ingest's report and the metrics."""

    # The sms.status_corrected events stored, as receipt rows, to plan for relay.
    events: list[dict[str, Any]] = field(default_factory=list)
    # Receipts that came after a final status (or a newer pending one), by provider.
    out_of_order: Counter[str] = field(default_factory=Counter)
    # Messages that became final: (provider, handset latency s, receipt lag s), for the
    # latency histograms; a latency is None where the provider gives no time for it.
    finals: list[tuple[str, float | None, float | None]] = field(default_factory=list)
    # (before, after) of each message whose standing changed: what the delivery
    # aggregate must add (services/analytics.record_messages), left to the caller.
    changes: list[tuple[MessageFacts | None, MessageFacts]] = field(default_factory=list)


def track(session: Session, receipts: Sequence[dict[str, Any]], now: datetime, *,
          emit: bool = True) -> Tracked:
    """Fold newly stored receipt rows into their messages' rows; store the corrections.

    Only status reports that name a message id have a message. ``receipts`` must each be
    new (a duplicate would count twice). What the delivery aggregate must add is
    returned (``Tracked.changes``) for the caller to record last in its transaction:
    every ingest adds to the same hot aggregate rows and holds their locks until it
    commits. ``emit=False`` stores no correction event and returns no changes (a
    rebuild, whose corrections were emitted and whose messages were counted when the
    receipts first came).
    """
    tracked = Tracked()
    groups: dict[Key, list[dict[str, Any]]] = {}
    for r in receipts:
        if r["type"] == _STATUS and r["message_id"]:
            groups.setdefault((r["account_id"], r["message_id"], r["phone"] or ""),
                              []).append(r)
    if not groups:
        return tracked
    keys = sorted(groups)  # the order the rows are locked in (dialect.lock_messages)
    # Each message as if it were new (most are: that is what gets inserted), and what
    # the aggregate counts of it then.
    fresh = {k: _fresh(k, groups[k], now) for k in keys}
    existed = {(row["account_id"], row["message_id"], row["phone"]): row for row in
               dialect.lock_messages(session, [fresh[k][0] for k in keys])}
    updates: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    changes: list[tuple[MessageFacts | None, MessageFacts]] = []
    for key in keys:
        _, after, outcome = fresh[key]
        row = existed.get(key)
        before: MessageFacts | None = None
        if row is not None:  # it existed: fold the receipts into what it holds
            state = _state(row)
            before = _facts(row, _row(row["id"], state, summarize(state)), groups[key][0],
                            now)
            folded, outcome = _fold(row["id"], state, groups[key])
            updates.append({**folded, "tenant_id": row["tenant_id"],
                            "message_id": row["message_id"],
                            "account_id": row["account_id"], "phone": row["phone"]})
            after = _facts(row, folded, groups[key][0], now)
        if after != before:
            changes.append((before, after))
            if after.final and not (before is not None and before.final):
                tracked.finals.append((after.provider, after.handset_latency_s,
                                       after.receipt_lag_s))
        if outcome.out_of_order:
            tracked.out_of_order[after.provider] += outcome.out_of_order
        if emit and outcome.corrections:
            by_id = {r["id"]: r for r in groups[key]}
            events += [_correction_event(by_id[c.reported.id], c, now)
                       for c in outcome.corrections]
    dialect.write_messages(session, updates, now)
    if emit:
        tracked.changes = changes
    if events:
        inserted = dialect.insert_receipts(session, events)
        tracked.events = [e for e in events if e["id"] in inserted]
    return tracked


_NOTHING_YET = Outcome(State(), [], 0)


def _message_row_id(receipt: dict[str, Any]) -> str:
    """Return the id of a message row made from ``receipt``: ``msg_`` and the receipt's.

    A receipt makes at most one message row, so the id is as unique as the receipt's,
    and as time-sortable, without making another.
    """
    receipt_id: str = receipt["id"]
    return "msg_" + receipt_id.partition("_")[2]


def _fresh(key: Key, receipts: list[dict[str, Any]], now: datetime
           ) -> tuple[list[Any], MessageFacts, Outcome]:
    """Return a new message's row made ``now`` from its receipts, as ``_fold`` would.

    The row is its values in ``dialect.MESSAGE_NEW_COLUMNS`` order (what identifies the
    message too); with it, what the aggregate counts of the message, and the rules'
    outcome. Most messages come with one receipt reported whole: that row is written
    out directly, without the rules' objects or a dict (about 3 us a message here,
    against 10 through the dict it was); the others take the rules.
    tests/unit/services/test_messages_fresh.py holds them equal.
    """
    first = receipts[0]
    message_id = _message_row_id(first)
    if len(receipts) != 1 or first.get("part"):
        row, outcome = _fold(message_id, State(), receipts)
        row = {**_key(first, key), **row}
        return dialect.message_new_values(row, now), _facts(row, row, first, now), outcome
    r = first
    status, reported, received = r["status"], r["reported_at"], r["received_at"]
    submitted = r["submitted_at"]
    final = status != PENDING
    handset = _ms(reported, submitted) if final and reported is not None else None
    lag = _ms(received, reported)
    receipt_id = r["id"]
    # Reported whole: the status columns are its one part (``stored_parts``), no parts.
    values = [r["tenant_id"], key[0], r["provider"], key[1], key[2],
              message_id, status, final, r["provider_status"], r["reason_class"],
              r["retryable"], None, r["segments"], r["sequence"],
              submitted, reported, received, handset, lag, 0, False,
              receipt_id, receipt_id, receipt_id, now, now]
    facts = MessageFacts(
        r["tenant_id"], key[0], r["provider"], r["country"], r["carrier"], None,
        r["reason_class"], status, final, submitted or now,
        None if handset is None else handset / 1000, None if lag is None else lag / 1000)
    return values, facts, _NOTHING_YET


def _ms(later: datetime | None, earlier: datetime | None) -> int | None:
    if later is None or earlier is None:
        return None
    return round((later - earlier).total_seconds() * 1000)


def _fold(message_id: str, state: State, receipts: list[dict[str, Any]]
          ) -> tuple[dict[str, Any], Outcome]:
    """Apply the rules to a message's new receipts: its row's new columns, and the outcome."""
    outcome = apply(state, [_report(r) for r in receipts])
    return _row(message_id, outcome.state, summarize(outcome.state)), outcome


def _facts(row: dict[str, Any], standing: dict[str, Any],
           receipt: dict[str, Any], now: datetime) -> MessageFacts:
    """Return where a message counts in the delivery aggregate, standing as ``standing``.

    ``row`` is its locked row (who and when; a row made ``now`` has no ``created_at``),
    ``standing`` the columns the rules made (``_row``), ``receipt`` one of its receipts
    (the phone's country and carrier). The message is counted at its submission, else at
    its row's creation (its first receipt's ingest); the template is not known from
    receipts.
    """
    handset, lag = standing["handset_latency_ms"], standing["receipt_lag_ms"]
    return MessageFacts(
        tenant_id=row["tenant_id"], account_id=row["account_id"], provider=row["provider"],
        country=receipt["country"], carrier=receipt["carrier"], template=None,
        reason_class=standing["reason_class"], status=standing["status"],
        final=standing["final"],
        anchor_at=standing["submitted_at"] or row.get("created_at") or now,
        handset_latency_s=None if handset is None else handset / 1000,
        receipt_lag_s=None if lag is None else lag / 1000)


def _key(receipt: dict[str, Any], key: Key) -> dict[str, Any]:
    account_id, message_id, phone = key
    return {"tenant_id": receipt["tenant_id"], "account_id": account_id,
            "provider": receipt["provider"], "message_id": message_id, "phone": phone}


def _state(row: dict[str, Any]) -> State:
    return State(
        parts=stored_parts(row),
        segments=row["segments"], submitted_at=row["submitted_at"],
        out_of_order=row["out_of_order"], corrected=row["corrected"],
        first_receipt_id=row["first_receipt_id"], last_receipt_id=row["last_receipt_id"])


def _report(r: dict[str, Any]) -> Report:
    return Report(
        id=r["id"], status=r["status"], received_at=r["received_at"],
        reported_at=r["reported_at"], submitted_at=r["submitted_at"],
        provider_status=r["provider_status"], part=r.get("part") or WHOLE,
        segments=r["segments"], reason_class=r["reason_class"], retryable=r["retryable"],
        sequence=r["sequence"])


def _row(message_id: str, state: State, summary: Summary) -> dict[str, Any]:
    return {
        "id": message_id, "status": summary.status, "final": summary.final,
        "provider_status": summary.provider_status, "reason_class": summary.reason_class,
        "retryable": summary.retryable,
        "parts": parts_document(state.parts),
        "segments": state.segments, "sequence": summary.sequence,
        "submitted_at": state.submitted_at,
        "reported_at": summary.reported_at, "received_at": summary.received_at,
        "handset_latency_ms": summary.handset_latency_ms,
        "receipt_lag_ms": summary.receipt_lag_ms, "out_of_order": state.out_of_order,
        "corrected": state.corrected, "status_receipt_id": summary.receipt_id,
        "first_receipt_id": state.first_receipt_id, "last_receipt_id": state.last_receipt_id,
    }


def _correction_event(receipt: dict[str, Any], correction: Correction,
                      now: datetime) -> dict[str, Any]:
    """Return the ``sms.status_corrected`` receipt row of a disagreeing final report.

    It carries the status the message keeps; ``details`` has both reports. Its dedupe
    key derives from the disagreeing receipt's id, so it is stored once whatever happens.
    """
    kept, reported = correction.kept, correction.reported
    details = {
        "part": correction.part or None,
        "kept": kept.document(),
        "reported": Part.of(reported).document(),
    }
    return {
        "id": new_id("evt"), "tenant_id": receipt["tenant_id"],
        "account_id": receipt["account_id"], "inbox_id": receipt["inbox_id"],
        "type": _CORRECTED, "provider": receipt["provider"],
        "message_id": receipt["message_id"], "reference": receipt["reference"],
        "phone": receipt["phone"], "status": kept.status,
        "provider_status": kept.provider_status, "error_code": None, "error_message": None,
        "segments": None, "sequence": None, "part": receipt.get("part"), "price": None,
        "submitted_at": receipt["submitted_at"], "reported_at": receipt["reported_at"],
        "received_at": now, "text": None, "raw": {},
        "dedupe_key": hashlib.sha256(f"{_CORRECTED}\x1f{receipt['id']}".encode()).hexdigest(),
        "reason_class": kept.reason_class, "retryable": kept.retryable,
        "country": receipt["country"], "carrier": receipt["carrier"], "synthetic": False,
        "details": details,
    }


# --- building the rows of receipts stored before the message table ------------------

REBUILD_BATCH = 2000


def rebuild(session: Session, *, tenant_id: str | None = None, now: datetime,
            batch: int = REBUILD_BATCH) -> int:
    """Build the message rows again from the stored receipts; return the receipts read.

    For receipts stored before the message table existed (or after a change of rules):
    the tenant's message rows (every tenant's, one after the other) are deleted, then the
    status reports are read in arrival order, in keyset batches of ``batch``, each
    committed; no correction event is stored again. Run it while no worker ingests for
    those tenants, or a receipt stored meanwhile may be counted twice.
    """
    if tenant_id is None:
        # Tenant by tenant: each walks the tenant's (received_at, id) index.
        tenants = session.execute(select(TENANT_TABLE.c.id).order_by(TENANT_TABLE.c.id))
        return sum(rebuild(session, tenant_id=t, now=now, batch=batch)
                   for t in list(tenants.scalars()))
    session.execute(delete(MESSAGES).where(MESSAGES.c.tenant_id == tenant_id))
    session.commit()
    columns = [c for c in RECEIPTS.c if c.name not in ("raw", "text")]
    where = [RECEIPTS.c.tenant_id == tenant_id, RECEIPTS.c.type == _STATUS,
             RECEIPTS.c.message_id.is_not(None)]
    last: tuple[datetime, str] | None = None
    read = 0
    while True:
        query = select(*columns).where(*where)
        if last is not None:
            query = query.where(or_(RECEIPTS.c.received_at > last[0],
                                    and_(RECEIPTS.c.received_at == last[0],
                                         RECEIPTS.c.id > last[1])))
        rows = [dict(r._mapping) for r in session.execute(
            query.order_by(RECEIPTS.c.received_at, RECEIPTS.c.id).limit(batch))]
        if not rows:
            return read
        dialect.begin_write(session)
        track(session, rows, now, emit=False)
        session.commit()
        read += len(rows)
        last = (rows[-1]["received_at"], rows[-1]["id"])
