"""The tenant's operational events, newest first (``GET /v1/events``).

They are receipt rows of the operational types (services/ops_events.py), read through
the receipts' index of the types other than ``sms.status`` and shown in the envelope
endpoints receive them in. ``GET /v1/receipts?type=endpoint.disabled`` lists the same
rows in the receipt shape (their ``details`` are the event's ``data``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from dlrhub.core.vocabulary import OPERATIONAL_EVENTS
from dlrhub.models import RECEIPT_TABLE, Receipt
from dlrhub.services.errors import InvalidInput
from dlrhub.services.ops_events import document
from dlrhub.services.receipts import Page, check_range, newest_first

RECEIPTS = RECEIPT_TABLE
TYPES = tuple(sorted(t.value for t in OPERATIONAL_EVENTS))


def list_events(session: Session, *, tenant_id: str, type: str | None = None,
                since: datetime | None = None, until: datetime | None = None,
                limit: int = 50, after: str | None = None) -> Page:
    """Return the tenant's operational events (of ``type``, if given), newest first.

    ``since`` inclusive, ``until`` exclusive, both on when the event happened.
    """
    if type is not None and type not in TYPES:
        raise InvalidInput("type", f"must be one of {', '.join(TYPES)}")
    since, until = check_range(since, until)
    query = select(Receipt).where(RECEIPTS.c.tenant_id == tenant_id)
    query = query.where(RECEIPTS.c.type == type) if type is not None \
        else query.where(RECEIPTS.c.type.in_(TYPES))
    if since is not None:
        query = query.where(RECEIPTS.c.received_at >= since)
    if until is not None:
        query = query.where(RECEIPTS.c.received_at < until)
    rows, cursor = newest_first(session, query, RECEIPTS, limit=limit, after=after)
    return Page([document(r) for r in rows], cursor)
