"""Report what never came: overdue expectations become events, relayed like receipts.

Run by the worker's beat every ``DLRHUB_SWEEP_INTERVAL``. Each batch is one
transaction: claim the overdue rows (one UPDATE ... RETURNING on a partial index),
insert their events as receipt rows, plan their deliveries; the relay is woken after
the commit. A row moves on only once, so a second sweep, or two sweepers at once,
never emit the same event twice (and the events' dedupe keys would refuse it anyway).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from dlrhub.models import dialect
from dlrhub.services.expectations import rules, tally
from dlrhub.services.relay import outbox

log = logging.getLogger(__name__)

BATCH = 1000
# Batches per step and sweep: a backlog of more than this is worked on by the next
# sweeps, so one sweep never holds its worker for long.
MAX_BATCHES = 50

_EVENTS: dict[str, Callable[[dict[str, Any], datetime], dict[str, Any]]] = {
    "missing": rules.missing_event,
    "horizon": rules.synthetic_status,
}


@dataclass
class SweepReport:
    """What one sweep emitted, and the deliveries it planned."""

    missing: int = 0
    synthetic: int = 0
    deliveries: list[tuple[str, str]] = field(default_factory=list)


def sweep(sessions: sessionmaker[Session], *, now: datetime, batch: int = BATCH,
          max_batches: int = MAX_BATCHES) -> SweepReport:
    """Emit ``sms.receipt_missing`` past each deadline, a synthetic status past each horizon.

    The missing step runs first, so an expectation whose deadline and horizon have both
    passed gets its missing event and its synthetic status in the same sweep, in order.
    """
    report = SweepReport()
    for step in ("missing", "horizon"):
        for _ in range(max_batches):
            with sessions() as session:
                emitted, planned = _batch(session, step, now, batch)
                session.commit()
            report.deliveries += planned
            if step == "missing":
                report.missing += emitted
            else:
                report.synthetic += emitted
            if emitted < batch:
                break
    if report.missing or report.synthetic:
        log.info("expectations: %d receipts missing, %d given up at the horizon",
                 report.missing, report.synthetic)
    return report


def _batch(session: Session, step: str, now: datetime,
           limit: int) -> tuple[int, list[tuple[str, str]]]:
    claimed = session.execute(dialect.claim_expectations(session, step),
                              {"now": now, "limit": limit}).mappings().all()
    if not claimed:
        return 0, []
    if step == "missing":
        tally.gone_missing(session, claimed)
    make = _EVENTS[step]
    order = "deadline_at" if step == "missing" else "horizon_at"
    events = [make(dict(row), now) for row in sorted(claimed, key=lambda r: (r[order], r["id"]))]
    inserted = dialect.insert_receipts(session, events)
    return len(claimed), outbox.plan(session, [e for e in events if e["id"] in inserted], now)
