"""Read receipts back as events (DESIGN §3): lists, one event, timelines and stats."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Row, Select, Table, func, select, tuple_
from sqlmodel import Session

from dlrhub.core.times import iso_z
from dlrhub.models import (
    MESSAGE_TABLE,
    RECEIPT_TABLE,
    EventType,
    Message,
    Receipt,
    dialect,
    utcnow,
)
from dlrhub.services.errors import InvalidInput, NotFound
from dlrhub.services.message_state import (
    WHOLE,
    Part,
    Report,
    State,
    apply,
    stored_parts,
    summarize,
)
from dlrhub.services.pagination import check_limit, decode_cursor, encode_cursor

RECEIPTS: Table = RECEIPT_TABLE
_STATUS = EventType.status.value
DEFAULT_STATS_RANGE = timedelta(hours=24)
MAX_STATS_RANGE = timedelta(days=31)


# The event shape's fields, in the order customers see them, each a receipt column
# (``event_document``; the relay builds its documents from rows of these columns).
EVENT_FIELDS = ("id", "type", "tenant_id", "account_id", "provider", "message_id",
                "reference", "phone", "status", "provider_status", "error_code",
                "error_message", "segments", "part", "price", "submitted_at", "reported_at",
                "received_at", "text", "raw", "reason_class", "retryable", "country",
                "carrier", "synthetic", "details")
EVENT_TIMES = ("submitted_at", "reported_at", "received_at")


def event_document(receipt: Receipt | Row[Any]) -> dict[str, Any]:
    """Return a receipt in the event shape customers receive and query.

    A row of the receipt table's columns reads like a ``Receipt``: the relay passes
    rows it selected without loading the objects.
    """
    def iso(value: Any) -> str | None:
        return iso_z(value) if value is not None else None

    return {
        "id": receipt.id,
        "type": receipt.type,
        "tenant_id": receipt.tenant_id,
        "account_id": receipt.account_id,
        "provider": receipt.provider,
        "message_id": receipt.message_id,
        "reference": receipt.reference,
        "phone": receipt.phone,
        "status": receipt.status,
        "provider_status": receipt.provider_status,
        "error_code": receipt.error_code,
        "error_message": receipt.error_message,
        "segments": receipt.segments,
        "part": receipt.part,
        "price": receipt.price,
        "submitted_at": iso(receipt.submitted_at),
        "reported_at": iso(receipt.reported_at),
        "received_at": iso(receipt.received_at),
        "text": receipt.text,
        "raw": receipt.raw,
        "reason_class": receipt.reason_class,
        "retryable": receipt.retryable,
        "country": receipt.country,
        "carrier": receipt.carrier,
        "synthetic": receipt.synthetic,
        "details": receipt.details,
    }


@dataclass(frozen=True)
class Page:
    """One page of events and the cursor of the next, if any."""

    data: list[dict[str, Any]]
    next: str | None


# --- keyset pages on (received_at, id), shared with the inbox ------------------------


def newest_first(session: Session, query: Select[Any], table: Table, *, limit: int,
                 after: str | None, scalars: bool = True) -> tuple[list[Any], str | None]:
    """Run ``query`` newest first, one page after the cursor ``after``.

    The cursor is the (received_at, id) of the last row: rows inserted while a client
    pages arrive with a later received_at, so they never shift the pages not yet read.
    ``table`` must have ``received_at`` and ``id`` columns; a query of columns rather
    than of one entity passes ``scalars=False`` and must select those two.
    """
    check_limit(limit)
    if after:
        stamp, last_id = _decode(after)
        # A row value, not "received_at < stamp OR (= AND id <)": PostgreSQL starts the
        # index scan at the cursor with it, where the OR read every newer row first
        # (half a million rows, 0.7 s, half-way down a tenant's million receipts).
        query = query.where(tuple_(table.c.received_at, table.c.id) < tuple_(stamp, last_id))
    result = session.execute(
        query.order_by(table.c.received_at.desc(), table.c.id.desc()).limit(limit + 1))
    rows = list(result.scalars() if scalars else result.all())
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = encode_cursor(rows[-1].received_at.isoformat(), rows[-1].id) if more else None
    return rows, cursor


def _decode(cursor: str) -> tuple[datetime, str]:
    stamp, last_id = decode_cursor(cursor, 2)
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError as ex:
        raise InvalidInput("after", "is not a cursor this API returned") from ex
    if moment.tzinfo is None:  # every cursor this API issues carries its zone
        raise InvalidInput("after", "is not a cursor this API returned")
    return to_utc("after", moment), last_id


def check_range(since: datetime | None,
                until: datetime | None) -> tuple[datetime | None, datetime | None]:
    """Return the bounds in UTC, or raise naming the field unless they are in order."""
    since = None if since is None else to_utc("since", since)
    until = None if until is None else to_utc("until", until)
    if since is not None and until is not None and until <= since:
        raise InvalidInput("until", "must be after since")
    return since, until


def to_utc(name: str, value: datetime) -> datetime:
    """Return ``value`` in UTC, or raise naming ``name`` if it has no zone or no UTC time."""
    if value.tzinfo is None:
        raise InvalidInput(name, "must carry a time zone (e.g. 2024-01-01T00:00:00Z)")
    try:
        return value.astimezone(UTC)
    except OverflowError as ex:  # 0001-01-01T00:00+05:00 has no UTC time
        raise InvalidInput(name, "is out of range") from ex


# --- lists and single events --------------------------------------------------------


def list_receipts(
    session: Session,
    *,
    tenant_id: str,
    limit: int = 50,
    after: str | None = None,
    message_id: str | None = None,
    reference: str | None = None,
    phone: str | None = None,
    status: str | None = None,
    provider: str | None = None,
    account_id: str | None = None,
    type: str | None = None,
    reason_class: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Page:
    """Return a tenant's receipts, newest first, ``limit`` at a time.

    Every filter given must match (``since`` inclusive, ``until`` exclusive, both on
    ``received_at``). A cursor holds only a position: the next page is of the same list
    when the same filters are sent with it.
    """
    since, until = check_range(since, until)
    query = select(Receipt).where(RECEIPTS.c.tenant_id == tenant_id)
    equal = {"message_id": message_id, "reference": reference, "phone": phone,
             "status": status, "provider": provider, "account_id": account_id, "type": type,
             "reason_class": reason_class}
    for column, value in equal.items():
        if value is not None:
            query = query.where(RECEIPTS.c[column] == value)
    if since is not None:
        query = query.where(RECEIPTS.c.received_at >= since)
    if until is not None:
        query = query.where(RECEIPTS.c.received_at < until)
    rows, cursor = newest_first(session, query, RECEIPTS, limit=limit, after=after)
    return Page([event_document(r) for r in rows], cursor)


def get_receipt(session: Session, *, tenant_id: str, receipt_id: str) -> dict[str, Any]:
    """Return one of the tenant's receipts as an event, or raise ``NotFound``."""
    row = session.execute(
        select(Receipt).where(RECEIPTS.c.tenant_id == tenant_id, RECEIPTS.c.id == receipt_id)
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"no receipt {receipt_id}")
    return event_document(row)


# --- the timeline of one message ----------------------------------------------------


@dataclass
class Recipient:
    """One recipient of a message: where it stands (its message row) and its events.

    The fields besides ``events`` are those of the message row ingest keeps
    (``services/messages.py``); receipts stored before that table existed, and not yet
    rebuilt, get them computed here by the same rules.
    """

    phone: str | None
    account_id: str | None = None
    status: str | None = None
    final: bool = False
    reason_class: str | None = None
    retryable: bool | None = None
    provider_status: str | None = None
    parts: list[dict[str, Any]] = field(default_factory=list)
    segments: int | None = None
    submitted_at: datetime | None = None
    reported_at: datetime | None = None
    received_at: datetime | None = None
    handset_latency_ms: int | None = None
    receipt_lag_ms: int | None = None
    out_of_order: int = 0
    corrected: bool = False
    events: list[dict[str, Any]] = field(default_factory=list)

    def keep(self, row: Message) -> None:
        """Take where the recipient stands from its message row."""
        self.status, self.final = row.status, row.final
        self.reason_class, self.retryable = row.reason_class, row.retryable
        self.provider_status = row.provider_status
        self.parts = part_list(stored_parts(row))
        self.segments, self.submitted_at = row.segments, row.submitted_at
        self.reported_at, self.received_at = row.reported_at, row.received_at
        self.handset_latency_ms, self.receipt_lag_ms = row.handset_latency_ms, row.receipt_lag_ms
        self.out_of_order, self.corrected = row.out_of_order, row.corrected

    def compute(self, receipts: list[Receipt]) -> None:
        """Work out where the recipient stands from its receipts, in arrival order."""
        state = State()
        for r in sorted(receipts, key=lambda r: (r.received_at, r.id)):
            if r.type == _STATUS:
                state = apply(state, [report_of(r)]).state
        summary = summarize(state)
        self.status, self.final = summary.status, summary.final
        self.reason_class, self.retryable = summary.reason_class, summary.retryable
        self.provider_status = summary.provider_status
        self.parts = part_list(state.parts)
        self.segments, self.submitted_at = state.segments, state.submitted_at
        self.reported_at, self.received_at = summary.reported_at, summary.received_at
        self.handset_latency_ms = summary.handset_latency_ms
        self.receipt_lag_ms = summary.receipt_lag_ms
        self.out_of_order, self.corrected = state.out_of_order, state.corrected


def report_of(receipt: Receipt) -> Report:
    """Return what the message rules read of a stored receipt."""
    return Report(id=receipt.id, status=receipt.status, received_at=receipt.received_at,
                  reported_at=receipt.reported_at, submitted_at=receipt.submitted_at,
                  provider_status=receipt.provider_status, part=receipt.part or WHOLE,
                  segments=receipt.segments, reason_class=receipt.reason_class,
                  retryable=receipt.retryable)


def part_list(parts: dict[str, Part]) -> list[dict[str, Any]]:
    """Return a message's parts as the API shows them, in part order (numbers as numbers)."""
    def order(key: str) -> tuple[int, int, str]:
        return (0, int(key), "") if key.isdigit() else (1, 0, key)

    return [{"part": key or None, **parts[key].document()} for key in sorted(parts, key=order)]


@dataclass(frozen=True)
class Timeline:
    """The status history of one message, per recipient phone."""

    message_id: str
    recipients: list[Recipient]


def message_timeline(session: Session, *, tenant_id: str, message_id: str) -> Timeline:
    """Return every receipt of a message, grouped by account and phone, oldest first.

    Two queries: the receipts and the message rows. Events are ordered by when the
    provider says they happened, then by arrival: a provider may send a later report
    first. An event without a reported time counts as happening when it was received, so
    it does not sort before everything else.
    """
    happened = func.coalesce(RECEIPTS.c.reported_at, RECEIPTS.c.received_at)
    rows = session.execute(
        select(Receipt)
        .where(RECEIPTS.c.tenant_id == tenant_id, RECEIPTS.c.message_id == message_id)
        .order_by(happened, RECEIPTS.c.received_at, RECEIPTS.c.id)
    ).scalars().all()
    if not rows:
        raise NotFound(f"no message {message_id}")
    kept = {(m.account_id, m.phone): m for m in session.execute(
        select(Message).where(MESSAGE_TABLE.c.tenant_id == tenant_id,
                              MESSAGE_TABLE.c.message_id == message_id)).scalars()}
    groups: dict[tuple[str, str], list[Receipt]] = {}
    for row in rows:
        groups.setdefault((row.account_id, row.phone or ""), []).append(row)
    recipients = []
    for key, receipts in groups.items():
        recipient = Recipient(receipts[0].phone, key[0],
                              events=[event_document(r) for r in receipts])
        message = kept.get(key)
        if message is not None:
            recipient.keep(message)
        else:
            recipient.compute(receipts)
        recipients.append(recipient)
    recipients.sort(key=lambda r: (r.phone is None, r.phone or "", r.account_id or ""))
    return Timeline(message_id, recipients)


# --- stats --------------------------------------------------------------------------


@dataclass(frozen=True)
class HourCount:
    """The receipts received in one UTC hour."""

    hour: datetime
    count: int


@dataclass(frozen=True)
class Stats:
    """Receipt counts over a range of received times."""

    since: datetime
    until: datetime
    by_status: dict[str, int]
    by_provider: dict[str, int]
    by_reason_class: dict[str, int]
    by_hour: list[HourCount]
    total: int


def stats(session: Session, *, tenant_id: str, since: datetime | None = None,
          until: datetime | None = None, account_id: str | None = None,
          now: datetime | None = None) -> Stats:
    """Count a tenant's receipts by status, by provider, by reason class and by UTC hour.

    The range is on ``received_at``, ``since`` inclusive and ``until`` exclusive; it
    defaults to the 24 hours before now (or before ``until``) and spans at most 31 days.
    The database groups by (hour, status, provider, reason class) in one scan of the
    tenant's time index, so the breakdowns by status, provider and hour always add up
    to the same total (only failures have a reason class); hours without receipts are
    left out.
    """
    since, until = _stats_range(since, until, now or utcnow())
    hour = dialect.hour_bucket(session, RECEIPTS.c.received_at)
    query = (
        select(hour.label("hour"), RECEIPTS.c.status, RECEIPTS.c.provider,
               RECEIPTS.c.reason_class, func.count().label("n"))
        .where(RECEIPTS.c.tenant_id == tenant_id, RECEIPTS.c.received_at >= since,
               RECEIPTS.c.received_at < until)
        .group_by(hour, RECEIPTS.c.status, RECEIPTS.c.provider, RECEIPTS.c.reason_class)
    )
    if account_id is not None:
        query = query.where(RECEIPTS.c.account_id == account_id)
    by_status: Counter[str] = Counter()
    by_provider: Counter[str] = Counter()
    by_reason: Counter[str] = Counter()
    by_hour: Counter[datetime] = Counter()
    for row in session.execute(query):
        by_status[row.status] += row.n
        by_provider[row.provider] += row.n
        if row.reason_class is not None:
            by_reason[row.reason_class] += row.n
        by_hour[_as_hour(row.hour)] += row.n
    return Stats(since, until, dict(by_status), dict(by_provider), dict(by_reason),
                 [HourCount(h, by_hour[h]) for h in sorted(by_hour)], sum(by_status.values()))


def _stats_range(since: datetime | None, until: datetime | None,
                 now: datetime) -> tuple[datetime, datetime]:
    since, until = check_range(since, until)
    end = until or now
    try:
        start = since or end - DEFAULT_STATS_RANGE
    except OverflowError as ex:  # until=0001-01-01T00:00:00Z
        raise InvalidInput("until", "is out of range") from ex
    if end <= start:
        raise InvalidInput("until", "must be after since")
    if end - start > MAX_STATS_RANGE:
        raise InvalidInput("since", f"the range may span at most {MAX_STATS_RANGE.days} days")
    return start, end


def _as_hour(value: Any) -> datetime:
    """Return a bucket as an aware UTC datetime, from either dialect's answer."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if not isinstance(moment, datetime):
        raise TypeError(f"an hour bucket of type {type(moment).__name__}")
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
