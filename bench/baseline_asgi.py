"""The baseline app behind dlrhub's own bridge, for ``python -m dlrhub.api.server --app``.

``bench/ingest`` serves it with the product's server command, so that the product and
the baseline differ only by the app: same event loop, body reading and thread pool. On
PostgreSQL the one INSERT is made in the event loop, as dlrhub's callback lane makes
its own (``api/callback_lane.py``): the baseline is the least this stack can do.
"""

from __future__ import annotations

import os
from typing import Any

from baseline_app import ANSWER, POOL_SIZE, TABLE, create_app
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import make_url

from dlrhub.api.bridge import WsgiBridge
from dlrhub.config import get_settings


class BaselineLane:
    """``POST /ingest`` in the event loop: one INSERT of the raw body (autocommit)."""

    def __init__(self, url: str) -> None:
        conninfo = make_url(url).set(drivername="postgresql")
        self._pool = AsyncConnectionPool(conninfo.render_as_string(hide_password=False),
                                         min_size=1, max_size=POOL_SIZE,
                                         kwargs={"autocommit": True}, open=False)
        self._insert = f"INSERT INTO {TABLE.name} (body) VALUES (%s)"  # noqa: S608

    async def open(self) -> None:
        """Open the pool in the server's loop."""
        await self._pool.open()

    async def close(self) -> None:
        """Close the pool."""
        await self._pool.close()

    async def answer(self, scope: dict[str, Any], body: bytes
                     ) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
        """Store the body and say OK; anything but the POST goes to the app."""
        if scope["path"] != "/ingest" or scope["method"] != "POST":
            return None
        async with self._pool.connection() as conn:
            await conn.execute(self._insert, (body,))
        return 200, [(b"content-type", b"application/json")], ANSWER


_settings = get_settings()
_url = os.environ["BASELINE_DATABASE_URL"]
app = WsgiBridge(create_app(), max_body=_settings.max_body_bytes,
                 body_timeout=_settings.body_timeout, threads=_settings.api_threads,
                 lane=BaselineLane(_url) if _url.startswith("postgresql") else None)
