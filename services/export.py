"""Every receipt a tenant's filters match, as CSV or NDJSON, streamed in constant memory.

The API (``GET /v1/receipts/export``), the console and ``dlrhub receipt export`` share
it. Receipts are read a page at a time through the receipt list's cursor, each page in
a short session of its own, so that an export of millions holds one page in memory and
no transaction open for its whole length.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from typing import Any

import orjson
from sqlmodel import Session

from dlrhub.services import receipts

FORMATS = ("csv", "ndjson")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "ndjson": "application/x-ndjson"}
PAGE = 500  # the receipt list's largest page
COLUMNS = ("received_at", "id", "type", "message_id", "reference", "phone", "status",
           "provider", "account_id", "provider_status", "error_code", "error_message",
           "reason_class", "retryable", "country", "carrier", "part", "segments",
           "submitted_at", "reported_at", "text")
# Bytes gathered before a chunk is handed on: fewer, larger writes to the socket.
_CHUNK = 64 * 1024


def check(session: Session, *, tenant_id: str, **filters: Any) -> None:
    """Raise the receipt list's own error for a bad filter, before a stream starts."""
    receipts.list_receipts(session, tenant_id=tenant_id, limit=1, **filters)


def documents(sessions: Callable[[], Session], tenant_id: str,
              filters: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Yield every receipt the filters match, newest first, as the API shows them."""
    after = None
    while True:
        with sessions() as session:
            page = receipts.list_receipts(session, tenant_id=tenant_id, limit=PAGE,
                                          after=after, **filters)
        yield from page.data
        if page.next is None:
            return
        after = page.next


def lines(fmt: str, docs: Iterator[dict[str, Any]]) -> Iterator[bytes]:
    """Return the stream of ``fmt`` (``csv`` or ``ndjson``) for ``docs``."""
    return csv_lines(docs) if fmt == "csv" else ndjson_lines(docs)


def csv_lines(docs: Iterator[dict[str, Any]]) -> Iterator[bytes]:
    """Return CSV, a header then a line per receipt; no cell starts a spreadsheet formula."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for doc in docs:
        writer.writerow([_cell(doc.get(c)) for c in COLUMNS])
        if out.tell() > _CHUNK:
            yield out.getvalue().encode()
            out.seek(0)
            out.truncate()
    yield out.getvalue().encode()


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def ndjson_lines(docs: Iterator[dict[str, Any]]) -> Iterator[bytes]:
    """Return one JSON document per line, as the API's receipts, in chunks."""
    chunk = bytearray()
    for doc in docs:
        chunk += orjson.dumps(doc)
        chunk += b"\n"
        if len(chunk) > _CHUNK:
            yield bytes(chunk)
            chunk.clear()
    if chunk:
        yield bytes(chunk)
