"""A tenant's inbox: the raw callbacks its providers sent, as kept, and what became of them.

This is where a customer debugs a provider's misconfiguration: a rejected callback keeps
its body, its headers and the reason it was refused.
"""

from __future__ import annotations

import base64
from typing import Any

from sqlalchemy import Table, select
from sqlmodel import Session

from models import InboundCallback, InboxState
from services.errors import NotFound
from services.receipts import newest_first

INBOX: Table = InboundCallback.__table__  # type: ignore[attr-defined]


def inbox_document(row: InboundCallback) -> dict[str, Any]:
    """Return an inbox row in its public shape.

    The body comes twice: as text where it is UTF-8 (what a person reads) and always as
    base64 (what reproduces it byte for byte, e.g. a GBK form a provider sent). The
    request path is left out: it holds the account's secret callback token.
    """
    return {
        "id": row.id,
        "account_id": row.account_id,
        "provider": row.provider,
        "received_at": row.received_at,
        "remote_addr": row.remote_addr,
        "content_type": row.content_type,
        "state": row.state,
        "reason": row.reason,
        "attempts": row.attempts,
        "receipts": row.receipts,
        "processed_at": row.processed_at,
        "headers": row.headers,
        "body": _text(row.body),
        "body_base64": base64.b64encode(row.body).decode(),
        "body_size": len(row.body),
    }


def _text(body: bytes) -> str | None:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


def list_inbox(session: Session, *, tenant_id: str, state: InboxState | None = None,
               account_id: str | None = None, limit: int = 50,
               after: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
    """Return a tenant's raw callbacks, newest first, and the cursor of the next page."""
    query = select(InboundCallback).where(INBOX.c.tenant_id == tenant_id)
    if state is not None:
        query = query.where(INBOX.c.state == state.value)
    if account_id is not None:
        query = query.where(INBOX.c.account_id == account_id)
    rows, cursor = newest_first(session, query, INBOX, limit=limit, after=after)
    return [inbox_document(r) for r in rows], cursor


def get_inbox_item(session: Session, *, tenant_id: str, inbox_id: str) -> dict[str, Any]:
    """Return one of the tenant's raw callbacks, or raise ``NotFound``."""
    row = session.execute(
        select(InboundCallback).where(INBOX.c.tenant_id == tenant_id, INBOX.c.id == inbox_id)
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"no inbox item {inbox_id}")
    return inbox_document(row)
