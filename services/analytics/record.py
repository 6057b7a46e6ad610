"""Keep the delivery aggregate up to date: each batch's message and expectation changes.

The aggregate holds, for every message, its contribution at its current facts: one
message and one of its status, in the row of its dimensions and anchor time, and, once
it is final, its handset latency and receipt lag in the histograms. A change (before,
after) therefore adds after's contribution and takes away before's: a message moves
between rows when its status or reason class changes and counts in one row at a time,
and its latencies are added once, when it becomes final (a final message whose facts do
not change adds nothing more). Expectations likewise: one expected, and one missing
while it is missing, so a late receipt that meets it takes the missing back.

The changes of a batch are summed per aggregate row in Python and written in one
statement (``dialect.add_to_stats``): the cost is one statement per batch, whatever its
size, and rows shared by many messages (the same hour, account and status) are written
once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, NamedTuple

from sqlmodel import Session

from dlrhub.core.vocabulary import ReasonClass, ReceiptStatus
from dlrhub.models import dialect
from dlrhub.models.tables import (
    DELIVERY_STATS_ADDED,
    DELIVERY_STATS_KEY,
    HANDSET_COLUMNS,
    LAG_COLUMNS,
    REASON_COLUMNS,
)
from dlrhub.services.analytics.buckets import bucket_of
from dlrhub.services.analytics.grains import DIMENSION_SETS, DIMENSIONS, grain_name, project

# The statuses a message may have, each a counter of the aggregate.
MESSAGE_STATUSES = frozenset({ReceiptStatus.delivered, ReceiptStatus.failed,
                              ReceiptStatus.expired, ReceiptStatus.rejected,
                              ReceiptStatus.unknown, ReceiptStatus.pending})
UNKNOWN = ""
# A reason class to its counter column.
_REASON_COLUMN = {r.value: c for r, c in zip(ReasonClass, REASON_COLUMNS, strict=True)}


class MessageFacts(NamedTuple):
    """What the aggregate counts of one message (account, message id, recipient) now.

    ``anchor_at`` is the message's time: when it was submitted, else when its first
    receipt was received. Latencies are in seconds, None where the provider does not
    give what they are measured from. A named tuple: ingest makes one or two per
    message, and it is made several times faster than a frozen dataclass.
    """

    tenant_id: str
    account_id: str
    provider: str
    country: str | None
    carrier: str | None
    template: str | None
    reason_class: ReasonClass | None
    status: ReceiptStatus
    final: bool
    anchor_at: datetime
    handset_latency_s: float | None = None
    receipt_lag_s: float | None = None


@dataclass(frozen=True)
class ExpectationFacts:
    """What the aggregate counts of one expected message: where it went, and if missing.

    ``anchor_at`` is when it was sent (``sent_at``, else when it was registered).
    """

    tenant_id: str
    account_id: str
    provider: str
    country: str | None
    carrier: str | None
    template: str | None
    anchor_at: datetime
    missing: bool = False


Key = tuple[Any, ...]
Counts = dict[str, int]


Cell = tuple[str, str, str, str, str, str, str, datetime]


def _cell(facts: MessageFacts | ExpectationFacts) -> Cell:
    """Return the finest row ``facts`` counts in: its dimensions and UTC hour."""
    if facts.anchor_at.tzinfo is None:
        raise ValueError("anchor_at must carry a time zone")
    hour = facts.anchor_at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    reason = facts.reason_class if isinstance(facts, MessageFacts) else None
    return (facts.tenant_id, facts.account_id, facts.provider, facts.country or UNKNOWN,
            facts.carrier or UNKNOWN, facts.template or UNKNOWN, reason or UNKNOWN, hour)


def _keys(cell: Cell) -> list[Key]:
    """Return the key of every row a cell counts in: one per grain."""
    tenant_id, *dimensions, hour = cell
    values = dict(zip(DIMENSIONS, dimensions, strict=True))
    spans = {"hour": hour, "day": hour.replace(hour=0)}
    return [(tenant_id, grain_name(span, dims), start, *project(values, dims))
            for span, start in spans.items() for dims in DIMENSION_SETS]


def stat_rows(changes: Iterable[tuple[MessageFacts | ExpectationFacts | None,
                                      MessageFacts | ExpectationFacts]]) -> list[dict[str, Any]]:
    """Return the aggregate rows to add for ``changes``, summed per row, sorted by key.

    Changes are tallied per cell (dimensions and hour) and kind of change (what it
    counts: ``_kind``) first, a counter's addition each; then each cell's kinds are
    turned into counts, and each cell is added to its row of every grain. Rows whose
    changes cancel out (a message that moved and came back, within one batch) are left
    out.
    """
    tally: dict[tuple[Cell, Kind], int] = {}
    for before, after in changes:
        if before is not None:
            at = (_cell(before), _kind(before))
            tally[at] = tally.get(at, 0) - 1
        at = (_cell(after), _kind(after))
        tally[at] = tally.get(at, 0) + 1
    cells: dict[Cell, Counts] = {}
    for (cell, kind), net in tally.items():
        if not net:
            continue
        into = cells.setdefault(cell, {})
        for name, n in _kind_counts(kind).items():
            into[name] = into.get(name, 0) + net * n
    summed: dict[Key, Counts] = {}
    for cell, counts in cells.items():
        if not any(counts.values()):
            continue
        for key in _keys(cell):
            row = summed.setdefault(key, {})
            for name, n in counts.items():
                row[name] = row.get(name, 0) + n
    rows = []
    for key in sorted(summed):
        added = summed[key]
        if not any(added.values()):
            continue
        out: dict[str, Any] = dict(zip(DELIVERY_STATS_KEY, key, strict=True))
        out.update({name: added.get(name, 0) for name in DELIVERY_STATS_ADDED})
        rows.append(out)
    return rows


# What a change counts, apart from where: a message's status, reason class and latency
# buckets (None before it is final), or an expectation's being missing. A batch of
# 10,000 messages has a few dozen kinds: each kind's counts are made once.
Kind = tuple[Any, ...]


def _kind(facts: MessageFacts | ExpectationFacts) -> Kind:
    if isinstance(facts, ExpectationFacts):
        return (False, facts.missing)
    handset = lag = None
    if facts.final:
        if facts.handset_latency_s is not None:
            handset = bucket_of(facts.handset_latency_s)
        if facts.receipt_lag_s is not None:
            lag = bucket_of(facts.receipt_lag_s)
    return (True, facts.status, facts.reason_class, handset, lag)


@lru_cache(maxsize=4096)
def _kind_counts(kind: Kind) -> Counts:
    """Return what a change of ``kind`` adds to its row (a dict not to be changed).

    A message: itself, its status, its reason class, its latencies once final. An
    expectation: itself, and one missing if it is.
    """
    if not kind[0]:
        return {"expected": 1, "missing": 1} if kind[1] else {"expected": 1}
    _, status, reason_class, handset, lag = kind
    if status not in MESSAGE_STATUSES:
        raise ValueError(f"a message cannot have the status {status!r}")
    counts = {"messages": 1, str(status): 1}
    if reason_class:
        column = _REASON_COLUMN.get(reason_class)
        if column is None:
            raise ValueError(f"a message cannot have the reason class {reason_class!r}")
        counts[column] = 1
    if handset is not None:
        counts[HANDSET_COLUMNS[handset]] = 1
    if lag is not None:
        counts[LAG_COLUMNS[lag]] = 1
    return counts


def record_messages(session: Session,
                    changes: Sequence[tuple[MessageFacts | None, MessageFacts]]) -> None:
    """Add a batch's message changes to the aggregate, in one statement.

    ``changes`` holds (before, after) for each message whose facts changed, before
    None for a message seen for the first time. Runs in the caller's transaction, so
    the aggregate changes with the messages it counts, or not at all.
    """
    dialect.add_to_stats(session, stat_rows(changes))


def record_expectations(session: Session,
                        changes: Sequence[tuple[ExpectationFacts | None,
                                                ExpectationFacts]]) -> None:
    """Add a batch's expectation changes (registered, gone missing, met late) in one statement."""
    dialect.add_to_stats(session, stat_rows(changes))

