"""Recompute what stored receipts mean after the dictionary or an override changed.

Ingest fills reason_class, retryable, country and carrier as it stores each receipt
(``services.insight.enrich``); a new release of the dictionary, a new version of
phonenumbers' data, or an account's changed ``reason_overrides`` leaves stored
receipts with the old answers. ``reclassify`` walks them in keyset batches of ids, so
memory stays bounded, and writes only the rows whose answer changed, one statement and
one transaction per batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from dlrhub.models import ACCOUNT_TABLE, RECEIPT_TABLE, dialect
from dlrhub.services.insight.enrich import COLUMNS, facts

RECEIPTS = RECEIPT_TABLE
DEFAULT_BATCH = 5000
_READ = (RECEIPTS.c.id, RECEIPTS.c.type, RECEIPTS.c.provider, RECEIPTS.c.account_id,
         RECEIPTS.c.status, RECEIPTS.c.error_code, RECEIPTS.c.provider_status,
         RECEIPTS.c.phone, RECEIPTS.c.synthetic, RECEIPTS.c.raw,
         *(RECEIPTS.c[n] for n in COLUMNS))


@dataclass
class Reclassified:
    """How many receipts were looked at and how many got a different answer."""

    examined: int = 0
    changed: int = 0


def reclassify(sessions: sessionmaker[Session], *, account_id: str | None = None,
               since: datetime | None = None, batch: int = DEFAULT_BATCH) -> Reclassified:
    """Recompute the four columns of stored receipts; return the counts.

    ``account_id`` limits it to one account's receipts, ``since`` to those received at
    or after it. Each batch is committed on its own: an interrupted run keeps what it
    did, and running again finishes the rest.
    """
    done = Reclassified()
    with sessions() as session:
        overrides = _overrides(session, account_id)
    last = ""
    while True:
        with sessions() as session:
            query = select(*_READ).where(RECEIPTS.c.id > last)
            if account_id is not None:
                query = query.where(RECEIPTS.c.account_id == account_id)
            if since is not None:
                query = query.where(RECEIPTS.c.received_at >= since)
            rows = session.execute(query.order_by(RECEIPTS.c.id).limit(batch)).mappings().all()
            if not rows:
                return done
            changed = [update for row in rows
                       if (update := _changed(row, overrides.get(row["account_id"])))]
            dialect.update_receipt_facts(session, changed)
            session.commit()
        done.examined += len(rows)
        done.changed += len(changed)
        last = rows[-1]["id"]


def _changed(row: Any, overrides: dict[str, str] | None) -> dict[str, Any] | None:
    now = facts(row, overrides)
    before = tuple(row[n] for n in COLUMNS)
    if now == before:
        return None
    return {"id": row["id"], **dict(zip(COLUMNS, now, strict=True))}


def _overrides(session: Session, account_id: str | None) -> dict[str, dict[str, str]]:
    query = select(ACCOUNT_TABLE.c.id, ACCOUNT_TABLE.c.reason_overrides)
    if account_id is not None:
        query = query.where(ACCOUNT_TABLE.c.id == account_id)
    return {r.id: r.reason_overrides or {} for r in session.execute(query)}
