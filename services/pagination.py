"""Opaque cursors for keyset pagination."""

from __future__ import annotations

import base64
from typing import Any

from sqlalchemy import Select
from sqlmodel import Session

from dlrhub.services.errors import InvalidInput

MAX_LIMIT = 500


def encode_cursor(*parts: str) -> str:
    """Return an opaque cursor holding ``parts``."""
    return base64.urlsafe_b64encode("|".join(parts).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, count: int) -> list[str]:
    """Return the ``count`` parts of a cursor this API issued, or raise naming ``after``."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError) as ex:
        raise InvalidInput("after", "is not a cursor this API returned") from ex
    parts = raw.split("|")
    if len(parts) != count or not all(parts):
        raise InvalidInput("after", "is not a cursor this API returned")
    return parts


def check_limit(limit: int) -> None:
    """Raise unless ``limit`` is a page size the API serves."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput("limit", f"must be between 1 and {MAX_LIMIT}")


def newest_by_id(session: Session, query: Select[Any], id_column: Any, *, limit: int,
                 after: str | None) -> tuple[list[Any], str | None]:
    """Run ``query`` newest first by its time-sortable id, one page, and the next cursor."""
    check_limit(limit)
    if after:
        (last,) = decode_cursor(after, 1)
        query = query.where(id_column < last)
    rows = list(session.execute(query.order_by(id_column.desc()).limit(limit + 1)).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1].id) if more else None
