"""Take expectations in: a list of up to 1,000 whole, or a stream of any length in chunks.

A list is all or nothing (one bad item refuses the request, naming it); a stream is
line by line: good lines are stored a chunk at a time, each chunk in a transaction of
its own, and bad ones are counted with their line number and reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from dlrhub.services.errors import InvalidInput, NotFound
from dlrhub.services.expectations import register, rules
from dlrhub.services.expectations.register import NewExpectation, Sender

# Lines stored per transaction (one multi-row INSERT each).
CHUNK = 1000
# Rejected lines reported one by one; past this, only counted.
MAX_ERRORS = 100


@dataclass(frozen=True)
class Registered:
    """The expectations of a list, in its order, and how many were new."""

    data: list[dict[str, Any]]
    accepted: int
    duplicates: int


def register_items(session: Session, *, tenant_id: str, items: Sequence[NewExpectation],
                   now: datetime, prefix: str = "") -> Registered:
    """Store a list of expectations in the caller's transaction, all or none.

    Every account must be one of the tenant's live accounts (else ``NotFound``, as on
    every route); a bad value raises ``InvalidInput`` naming the item (``data.3.sent_at``
    with ``prefix="data."``). A send already registered is answered as it is stored.
    """
    if len(items) > rules.MAX_ITEMS:
        raise InvalidInput("data", f"holds more than {rules.MAX_ITEMS} expectations; "
                                   "send a stream to /v1/expectations/bulk")
    accounts = register.live_senders(session, tenant_id=tenant_id,
                                     ids=[i.account_id for i in items])
    rows = []
    for at, item in enumerate(items):
        account = accounts.get(item.account_id)
        if account is None:
            raise NotFound(f"no account {item.account_id}")
        try:
            rows.append(register.build_row(item, account, now))
        except InvalidInput as ex:
            raise InvalidInput(f"{prefix}{at}.{ex.field}" if prefix else ex.field,
                               ex.detail.split(": ", 1)[-1]) from ex
    stored = register.store(session, rows, now,
                            using=[i for i, a in accounts.items() if a.using])
    session.flush()
    mine = register.get_many(session, list(stored.created.values()))
    others = register.existing(session, tenant_id=tenant_id,
                               keys=[register.key_of(r) for at, r in enumerate(rows)
                                     if at not in stored.created])
    data = [register.document(mine[stored.created[at]] if at in stored.created
                              else others[register.key_of(row)])
            for at, row in enumerate(rows)]
    return Registered(data, len(stored.created), stored.duplicates)


@dataclass(frozen=True)
class LineError:
    """A line of a stream that was not stored, and why."""

    line: int
    field: str | None
    detail: str


@dataclass
class StreamReport:
    """What a stream did: lines stored, already registered, refused (the first refusals)."""

    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: list[LineError] = field(default_factory=list)

    def refuse(self, line: int, where: str | None, detail: str) -> None:
        """Count a refused line; keep its reason while fewer than ``MAX_ERRORS`` are kept."""
        self.rejected += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(LineError(line, where, detail))


Parse = Callable[[bytes], NewExpectation]


def register_stream(sessions: sessionmaker[Session], *, tenant_id: str,
                    lines: Iterable[tuple[int, bytes | None]], parse: Parse,
                    now: Callable[[], datetime]) -> StreamReport:
    """Store the expectations of numbered lines, ``CHUNK`` lines per transaction.

    ``lines`` yields (line number, bytes), with ``None`` for a line too long to read;
    ``parse`` turns a line into a ``NewExpectation`` or raises ``InvalidInput``. Blank
    lines are skipped. Chunks already committed stay when the stream breaks off: a
    client sends the same stream again, and what was stored counts as duplicates.
    """
    report = StreamReport()
    accounts: dict[str, Sender | None] = {}
    chunk: list[tuple[int, NewExpectation]] = []
    for number, raw in lines:
        if raw is None:
            report.refuse(number, None, "the line is too long")
            continue
        if not raw.strip():
            continue
        try:
            chunk.append((number, parse(raw)))
        except InvalidInput as ex:
            report.refuse(number, ex.field, ex.detail.split(": ", 1)[-1])
            continue
        if len(chunk) >= CHUNK:
            _store_chunk(sessions, tenant_id, chunk, accounts, now(), report)
            chunk = []
    if chunk:
        _store_chunk(sessions, tenant_id, chunk, accounts, now(), report)
    # A line's account is known only when its chunk is stored: refusals come out of order.
    report.errors.sort(key=lambda e: e.line)
    return report


def _store_chunk(sessions: sessionmaker[Session], tenant_id: str,
                 chunk: list[tuple[int, NewExpectation]],
                 accounts: dict[str, Sender | None], now: datetime,
                 report: StreamReport) -> None:
    with sessions() as session:
        unknown = {item.account_id for _, item in chunk} - accounts.keys()
        if unknown:
            found = register.live_senders(session, tenant_id=tenant_id, ids=unknown)
            accounts.update({i: found.get(i) for i in unknown})
        rows = []
        for number, item in chunk:
            account = accounts[item.account_id]
            if account is None:
                report.refuse(number, "account_id", f"no account {item.account_id}")
                continue
            try:
                rows.append(register.build_row(item, account, now))
            except InvalidInput as ex:
                report.refuse(number, ex.field, ex.detail.split(": ", 1)[-1])
        # An account that uses expectations already needs no UPDATE to say so again.
        stored = register.store(session, rows, now,
                                using=[i for i, a in accounts.items() if a and a.using])
        session.commit()
    for account_id in {row["account_id"] for row in rows}:
        sender = accounts[account_id]
        if sender is not None and not sender.using:
            accounts[account_id] = replace(sender, using=True)
    report.accepted += len(stored.created)
    report.duplicates += stored.duplicates
