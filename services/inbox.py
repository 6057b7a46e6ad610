"""A tenant's inbox: the raw callbacks its providers sent, as kept, and what became of them.

This is where a customer debugs a provider's misconfiguration: a rejected callback keeps
its body, its headers and the reason it was refused. Lists carry an excerpt of each body
(the database cuts it: whole bodies of up to ``DLRHUB_MAX_BODY_BYTES`` each never leave
it for a list); one item carries its whole body, and the raw download streams it.
"""

from __future__ import annotations

import base64
import codecs
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import LargeBinary, Table, Text, func, select
from sqlmodel import Session

from dlrhub.models import INBOX_TABLE, InboundCallback, InboxState
from dlrhub.services.errors import NotFound
from dlrhub.services.receipts import newest_first

INBOX: Table = INBOX_TABLE
# What a list shows of each body: enough to recognise it, small enough that a page of
# 500 stays around a megabyte whatever the bodies weigh.
EXCERPT_BYTES = 2048
# A reason quotes the value it refuses, which may be as large as the body.
REASON_CHARS = 1000
# The raw download reads the body from the database in pieces of this size.
CHUNK_BYTES = 256 * 1024

_METADATA = (INBOX.c.id, INBOX.c.account_id, INBOX.c.provider, INBOX.c.received_at,
             INBOX.c.remote_addr, INBOX.c.content_type, INBOX.c.state, INBOX.c.attempts,
             INBOX.c.receipts, INBOX.c.processed_at, INBOX.c.headers)


def inbox_document(row: InboundCallback) -> dict[str, Any]:
    """Return an inbox row in its public shape, with its whole body.

    The body comes twice: as text where it is UTF-8 (what a person reads) and always as
    base64 (what reproduces it byte for byte, e.g. a GBK form a provider sent). The
    request path is left out: it held the account's secret callback token.
    """
    return {
        **{column.name: getattr(row, column.name) for column in _METADATA},
        "reason": row.reason,
        "body": _text(row.body),
        "body_base64": base64.b64encode(row.body).decode(),
        "body_size": len(row.body),
    }


def _text(body: bytes) -> str | None:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _excerpt(head: bytes, size: int) -> str:
    """Return the first bytes of a body as text, for reading: undecodable bytes as U+FFFD.

    A character cut by the end of the excerpt is left out rather than garbled.
    """
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    return decoder.decode(head, final=len(head) >= size)


def list_inbox(session: Session, *, tenant_id: str, state: InboxState | None = None,
               account_id: str | None = None, limit: int = 50,
               after: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
    """Return a tenant's raw callbacks, newest first, and the cursor of the next page.

    Each carries ``body_excerpt`` (its first ``EXCERPT_BYTES`` as text),
    ``body_truncated`` and ``body_size``; the whole body is on the item.
    """
    query = select(
        *_METADATA,
        func.substr(INBOX.c.reason, 1, REASON_CHARS, type_=Text).label("reason"),
        func.substr(INBOX.c.body, 1, EXCERPT_BYTES, type_=LargeBinary).label("head"),
        func.length(INBOX.c.body).label("body_size"),
    ).where(INBOX.c.tenant_id == tenant_id)
    if state is not None:
        query = query.where(INBOX.c.state == state.value)
    if account_id is not None:
        query = query.where(INBOX.c.account_id == account_id)
    rows, cursor = newest_first(session, query, INBOX, limit=limit, after=after,
                                scalars=False)
    return [_summary(row._mapping) for row in rows], cursor


def _summary(row: Any) -> dict[str, Any]:
    head: bytes = bytes(row["head"] or b"")
    size: int = row["body_size"] or 0
    return {
        **{column.name: row[column.name] for column in _METADATA},
        "reason": row["reason"],
        "body_excerpt": _excerpt(head, size),
        "body_truncated": size > len(head),
        "body_size": size,
    }


def get_inbox_item(session: Session, *, tenant_id: str, inbox_id: str) -> dict[str, Any]:
    """Return one of the tenant's raw callbacks, or raise ``NotFound``."""
    row = session.execute(
        select(InboundCallback).where(INBOX.c.tenant_id == tenant_id, INBOX.c.id == inbox_id)
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"no inbox item {inbox_id}")
    return inbox_document(row)


@dataclass(frozen=True)
class RawBody:
    """What the raw download needs before it sends a byte: the size and media type."""

    inbox_id: str
    size: int
    content_type: str


def raw_body(session: Session, *, tenant_id: str, inbox_id: str) -> RawBody:
    """Return the size and original ``Content-Type`` of a kept body, or raise ``NotFound``."""
    row = session.execute(
        select(INBOX.c.headers, INBOX.c.content_type,
               func.length(INBOX.c.body).label("size"))
        .where(INBOX.c.tenant_id == tenant_id, INBOX.c.id == inbox_id)
    ).one_or_none()
    if row is None:
        raise NotFound(f"no inbox item {inbox_id}")
    # The header as sent (with its charset); the column holds only the media type.
    sent = (row.headers or {}).get("content-type") or row.content_type
    return RawBody(inbox_id, row.size or 0, sent or "application/octet-stream")


def body_chunks(sessions: Callable[[], Session], *, tenant_id: str, body: RawBody,
                chunk: int = CHUNK_BYTES) -> Iterator[bytes]:
    """Yield a kept body in pieces, each read by its own query and session.

    No connection is held while a slow client reads, and at most one piece is in
    memory. A row deleted meanwhile ends the stream early (short of Content-Length).
    """
    for start in range(1, body.size + 1, chunk):
        with sessions() as session:
            piece = session.execute(
                select(func.substr(INBOX.c.body, start, chunk, type_=LargeBinary))
                .where(INBOX.c.tenant_id == tenant_id, INBOX.c.id == body.inbox_id)
            ).scalar_one_or_none()
        if not piece:
            return
        yield bytes(piece)
