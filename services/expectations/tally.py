"""What expectations add to the delivery aggregate: expected, and missing until met.

Each change an expectation goes through is one (before, after) pair for
``analytics.record_expectations``, added in the transaction that makes the change:
registered (expected +1), past its deadline (missing +1), met after it (missing -1).
A late receipt meets an expectation once, guarded on its state, so the aggregate
moves once however many workers race for it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, update
from sqlmodel import Session

from dlrhub.models import EXPECTATION_TABLE, ExpectationState
from dlrhub.services.analytics import ExpectationFacts, record_expectations
from dlrhub.services.insight.numbers import locate

EXPECTATIONS = EXPECTATION_TABLE
# What a change needs to say where the expectation counts.
_FACT_COLUMNS = (EXPECTATIONS.c.id, EXPECTATIONS.c.tenant_id, EXPECTATIONS.c.account_id,
                 EXPECTATIONS.c.provider, EXPECTATIONS.c.phone, EXPECTATIONS.c.template,
                 EXPECTATIONS.c.sent_at)


def facts(row: Mapping[Any, Any], *, missing: bool) -> ExpectationFacts:
    """Return where an expectation row counts in the aggregate."""
    country, carrier = locate(row["phone"])
    return ExpectationFacts(
        tenant_id=row["tenant_id"], account_id=row["account_id"], provider=row["provider"],
        country=country, carrier=carrier, template=row["template"],
        anchor_at=row["sent_at"], missing=missing)


def registered(session: Session, rows: Sequence[Mapping[Any, Any]]) -> None:
    """Count newly stored expectations as expected.

    A chunk of registrations is mostly a few accounts and templates, and often one
    ``sent_at`` (left out, it is the time of the chunk): rows that count in the same
    place share one ``ExpectationFacts``.
    """
    if not rows:
        return
    made: dict[tuple[Any, ...], ExpectationFacts] = {}
    changes: list[tuple[ExpectationFacts | None, ExpectationFacts]] = []
    for row in rows:
        country, carrier = locate(row["phone"])
        key = (row["account_id"], country, carrier, row["template"], row["sent_at"])
        found = made.get(key)
        if found is None:
            found = made[key] = ExpectationFacts(
                tenant_id=row["tenant_id"], account_id=row["account_id"],
                provider=row["provider"], country=country, carrier=carrier,
                template=row["template"], anchor_at=row["sent_at"])
        changes.append((None, found))
    record_expectations(session, changes)


def gone_missing(session: Session, rows: Sequence[Mapping[Any, Any]]) -> None:
    """Count expectations the sweep just found past their deadline as missing."""
    if rows:
        record_expectations(session, [(facts(r, missing=False), facts(r, missing=True))
                                      for r in rows])


def meet_late(session: Session, met: Mapping[str, str], now: datetime) -> set[str]:
    """Meet the missing expectations among ``met`` (id -> receipt id); return their ids.

    One UPDATE guarded on ``missing`` and returning what the aggregate needs: only the
    rows this transaction moved stop counting as missing.
    """
    if not met:
        return set()
    ids = sorted(met)
    moved = session.execute(
        update(EXPECTATIONS)
        .where(EXPECTATIONS.c.id.in_(ids),
               EXPECTATIONS.c.state == ExpectationState.missing.value)
        .values(state=ExpectationState.met.value, met_at=now,
                receipt_id=case({i: met[i] for i in ids}, value=EXPECTATIONS.c.id))
        .returning(*_FACT_COLUMNS)).mappings().all()
    if moved:
        record_expectations(session, [(facts(r, missing=True), facts(r, missing=False))
                                      for r in moved])
    return {r["id"] for r in moved}
