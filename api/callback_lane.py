"""Accept the common provider callback in the event loop, without a thread or Falcon.

A callback that is authentic, well formed and from a known account ends the same way
every time: one row INSERTed into the inbox (committed before the answer), a wake-up
for the worker, the provider's own "OK". The bridge would hand it to a thread and run
the WSGI app, which costs more than the callback's own work (measured with a one-INSERT
handler: 0.81 ms of CPU a request in a thread through Falcon and SQLAlchemy, 0.20-0.29
ms in the event loop with psycopg; README, "The callback lane"). The lane does that
common case in the event loop: the same checks
(``services.callbacks.screen``, pure), the same row (``pending_row``), INSERTed with
psycopg's async pool, grouped with the rows of the callbacks that arrive meanwhile
(``api/inbox_writer.py``), the same answer, metrics and ``X-Request-ID``.

Anything else is left to the WSGI app (``answer`` returns None), which does it the one
way it always did: an unknown provider, a token not in the directory's cache (the app
looks it up and caches it), a callback to refuse (the app keeps it as a rejected row and
answers in the provider's form), a provider that confirms subscriptions, a body past
the limit, a path that is not plain. The lane only runs on PostgreSQL with tracing off;
SQLite and traced deployments use the app for every callback.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import make_url

from dlrhub.api.inbox_writer import WRITERS, InboxWriter, NotWritten
from dlrhub.api.middleware import request_id_of
from dlrhub.api.resources.callbacks import CallbackResource, public_callback_url
from dlrhub.config import Settings, tracing
from dlrhub.config.logging import log_ids, request_id
from dlrhub.models import INBOX_TABLE, new_id
from dlrhub.models.engine import json_text
from dlrhub.providers.base import Adapter, CallbackRequest, Provider
from dlrhub.providers.registry import get_provider
from dlrhub.services import metrics
from dlrhub.services.accounts import TokenDirectory
from dlrhub.services.callbacks import CallbackLimits, pending_row, screen
from dlrhub.services.wakeups import Wakeups

log = logging.getLogger(__name__)

ROUTE = "/v1/callbacks/{provider}/{token}"
_PREFIX = "/v1/callbacks/"
# Provider names and tokens are plain; anything else (escapes, a trailing slash, dots)
# goes to the app, whose router has the final word on such paths.
_PLAIN = re.compile(r"/v1/callbacks/([a-z0-9_]{1,40})/([A-Za-z0-9_-]{1,200})")
Scope = dict[str, Any]
Answer = tuple[int, list[tuple[bytes, bytes]], bytes]
# The longest a lane statement may run, in seconds (the lane connections' own setting).
STATEMENT_TIMEOUT = 5.0


def lane_of(settings: Settings, callbacks: CallbackResource) -> CallbackLane | None:
    """Return the lane of ``settings``' API, or None where every callback takes the app.

    Only on PostgreSQL (SQLite has no async driver here), only with tracing off (the
    app's spans describe every callback), and only with ``DLRHUB_CALLBACK_LANE`` on.
    """
    url = make_url(settings.effective_database_url)
    if not settings.callback_lane or url.get_backend_name() != "postgresql" \
            or tracing.hooks().enabled:
        return None
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return callbacks.lane(conninfo, settings.db_pool_size)


def lane_eligible(adapter: Provider) -> bool:
    """Whether ``adapter``'s accepted callbacks need nothing but the inbox row.

    A provider that confirms subscriptions (AWS SNS) fetches a URL and records the
    change: the app does that.
    """
    kind = type(adapter)
    return getattr(kind, "handshake_url", None) is Adapter.handshake_url and \
        getattr(kind, "subscription_change", None) is Adapter.subscription_change


def callback_request(scope: Scope, body: bytes, public_url: str) -> CallbackRequest:
    """Return the ``CallbackRequest`` the app's resource builds for the same request.

    Headers as a WSGI server and Falcon give them: names lower-cased with ``_`` read as
    ``-``, repeated ones joined with ``,``, ``Content-Length`` the body's own length.
    """
    headers: dict[str, str] = {"content-length": str(len(body))}
    for raw_name, raw_value in scope["headers"]:
        name = raw_name.decode("latin-1").lower().replace("_", "-")
        if name in ("content-length", "transfer-encoding"):
            continue
        value = raw_value.decode("latin-1")
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    path = scope["path"]
    query = scope.get("query_string", b"").decode("latin-1")
    client = scope.get("client")
    return CallbackRequest(
        body=body,
        headers=headers,
        content_type=headers.get("content-type", "").split(";")[0].strip().lower(),
        method=scope["method"],
        path=path,
        query=query,
        remote_addr=client[0] if client else "",
        url=public_callback_url(public_url, path, query),
    )


class CallbackLane:
    """Answer accepted callbacks from the event loop; leave the rest to the app."""

    def __init__(self, conninfo: str, *, directory: TokenDirectory, wakeups: Wakeups,
                 limits: CallbackLimits, clock: Callable[[], datetime], public_url: str,
                 pool_size: int, timeout: float = 2.0) -> None:
        self._directory = directory
        self._wakeups = wakeups
        self._limits = limits
        self._clock = clock
        self._public_url = public_url.rstrip("/")
        # Opened in the server's event loop (``open``), after it forked. The writer keeps
        # at most this many statements in flight, each on a connection of its own.
        # A statement that does not return (a lock, a stalled disk) holds its group's
        # callbacks: after STATEMENT_TIMEOUT they go to the app, which answers 503 if
        # the database really is stuck; rows queued behind it go after ``timeout``.
        writers = min(pool_size, WRITERS)
        self._pool = AsyncConnectionPool(
            conninfo, min_size=1, max_size=writers, open=False, timeout=timeout,
            kwargs={"autocommit": True,
                    "options": f"-c statement_timeout={int(STATEMENT_TIMEOUT * 1000)}"})
        self._writer = InboxWriter(self._pool, INBOX_TABLE, writers=writers, wait=timeout)

    async def open(self) -> None:
        """Open the connection pool (at the server's start-up)."""
        await self._pool.open()

    async def close(self) -> None:
        """Close the writer and the connection pool (at shutdown)."""
        self._writer.close()
        await self._pool.close()

    async def answer(self, scope: Scope, body: bytes) -> Answer | None:
        """Store and answer an accepted callback; None leaves the request to the app."""
        path: str = scope["path"]
        if not path.startswith(_PREFIX) or scope["method"] not in ("POST", "GET"):
            return None
        started = time.perf_counter()
        match = _PLAIN.fullmatch(path)
        if match is None or len(body) > self._limits.max_body_bytes:
            return None
        adapter = get_provider(match[1])
        if adapter is None or not lane_eligible(adapter):
            return None
        cached, target = self._directory.cached(match[2])
        if not cached or target is None or target.provider != adapter.name:
            return None
        request = callback_request(scope, body, self._public_url)
        now = self._clock()
        try:
            records = screen(adapter, target, request, len(body), self._limits, now)
        except Exception:
            # A callback to refuse: the app keeps it as a rejected row and answers why;
            # a bug: the app logs it and answers 503 in the provider's form.
            return None
        inbox_id = new_id("inb")
        rid = request_id_of(request.headers.get("x-request-id", ""))
        request_id.set(rid)  # this request's task has a context of its own
        row = pending_row(inbox_id, target, request, now)
        row["headers"] = Jsonb(row["headers"], dumps=json_text)
        try:
            await self._writer.insert(row)
        except Exception as ex:  # whatever it was, the app takes the callback
            # The app tries once more on its own engine and, if the database is really
            # away, logs it and answers 503 in the provider's form (which it retries).
            with log_ids(tenant_id=target.tenant_id, account_id=target.account_id):
                # The type only for the database's errors (its message may quote a
                # value); anything else is a bug worth its traceback.
                log.warning("the callback lane could not store a %s callback (%s); "
                            "the app takes it", adapter.name, type(ex).__name__,
                            exc_info=not isinstance(ex, psycopg.Error | NotWritten))
            return None
        try:
            self._wakeups.inbox_ready((inbox_id,), len(records))
        except Exception:  # stored already: the sweep sends the wake-up later
            log.exception("could not queue the wake-up of a stored %s callback", adapter.name)
        reply = adapter.answer(request, target.adapter_account, ok=True)
        metrics.record_callback(adapter.name, "accepted")
        metrics.record_request(ROUTE, scope["method"], reply.status,
                               time.perf_counter() - started)
        return reply.status, [(b"content-type", reply.content_type.encode("latin-1")),
                              (b"x-request-id", rid.encode("latin-1"))], reply.body
