"""Write the callback lane's inbox rows in groups: one statement for what arrived together.

Each accepted callback's row must be committed before its provider is answered. Written
one statement a row, that costs more than the rest of the callback: 16 rows at once,
each alone through psycopg's async pool, cost the process 285-300 us of CPU a row and
PostgreSQL's backends 198-210 us; grouped as below, 64-65 us and 49-50 us
(``bench/lane_writes.py``; bench/README.md, "The callback lane's grouped writes").
So the lane hands its rows to an :class:`InboxWriter`, which keeps at most ``writers``
statements in flight per process: a row that arrives while they are all busy waits for
the next one and goes with every other row that arrived meanwhile, in one
``INSERT … SELECT FROM unnest(…)`` (autocommit: committed when it returns). Nothing
waits on purpose: at rest each row is written alone, at once; the busier the process,
the bigger the groups.

What each caller learns is its own row's fate, and an error always means the row is
not stored, so that the app, which then takes the callback, stores it once:

- a row the database refuses fails alone: a group refused for a value (a data or
  integrity error, or a value the driver cannot send) is written again row by row;
- a group that fails for anything else (the database away or read-only, a statement
  timeout) fails every row of it; if the statement was sent, the rows are looked up
  first, and those found (committed before the connection was lost) are reported
  stored;
- a row waits in the queue at most ``wait`` seconds (the pool's timeout, as a row
  alone waited for a connection) and the queue holds at most ``max_pending`` rows:
  behind a statement that does not return, callbacks go to the app instead of piling
  up. A row already sent waits for its statement, which the connections' statement
  timeout bounds.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import JSON, DateTime, Integer, LargeBinary, String, Table
from sqlalchemy.types import TypeDecorator, TypeEngine

log = logging.getLogger(__name__)

# Two statements in flight per API process: one commits while the next gathers rows.
# One, two and four measured alike in CPU per row (16 callbacks at once, groups of up to
# 100: ``bench/lane_writes.py --writers``); more would only make the groups smaller.
WRITERS = 2
# A group's bounds: rows, and bytes of the bodies (a body may be up to
# DLRHUB_MAX_BODY_BYTES); the first row of a group is taken whatever its size.
MAX_ROWS = 100
MAX_BYTES = 1 << 20
# Rows waiting for a statement, at most: past it a callback goes to the app at once.
MAX_PENDING = 1000
# SQLSTATE classes of an error about a value: 22 data exception, 23 integrity.
_ROW_CLASSES = ("22", "23")

Row = Mapping[str, object]


class NotWritten(Exception):
    """The row was not stored (it waited too long, the queue was full, the writer stopped)."""


@dataclass(eq=False)
class _Entry:
    row: Row
    future: asyncio.Future[None]
    timer: asyncio.TimerHandle | None = field(default=None, repr=False)


class InboxWriter:
    """Insert rows into ``table`` through ``pool``, grouping those that arrive together."""

    def __init__(self, pool: AsyncConnectionPool, table: Table, *, writers: int = WRITERS,
                 wait: float = 2.0, max_rows: int = MAX_ROWS, max_bytes: int = MAX_BYTES,
                 max_pending: int = MAX_PENDING) -> None:
        self._pool = pool
        self._table = table
        self._writers = max(1, writers)
        self._wait = wait
        self._max_rows = max(1, max_rows)
        self._max_bytes = max_bytes
        self._max_pending = max_pending
        self._pending: deque[_Entry] = deque()
        self._running: set[asyncio.Task[None]] = set()
        self._closed = False

    async def insert(self, row: Row) -> None:
        """Insert ``row`` (committed when this returns); raise why if it was not stored.

        Every row has the same columns, in the same order (``pending_row``'s).
        """
        if self._closed:
            raise NotWritten("the inbox writer is closed")
        if len(self._pending) >= self._max_pending:
            raise NotWritten(f"{len(self._pending)} rows are already waiting")
        loop = asyncio.get_running_loop()
        entry = _Entry(row, loop.create_future())
        entry.timer = loop.call_later(self._wait, self._expire, entry)
        self._pending.append(entry)
        if len(self._running) < self._writers:
            self._start()
        await entry.future

    def close(self) -> None:
        """Refuse new rows and fail those still waiting (the server is stopping)."""
        self._closed = True
        while self._pending:
            _fail([self._pending.popleft()], NotWritten("the inbox writer closed"))

    def _start(self) -> None:
        # A context of its own: the request that happened to start it is not the
        # writer's (its id would tag the pool's log lines).
        task = asyncio.create_task(self._drain(), context=contextvars.Context())
        self._running.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        # A drain that found nothing left is still counted until this runs, a moment
        # later: a row that arrived in between found no room and started nothing.
        self._running.discard(task)
        if self._pending and len(self._running) < self._writers and not self._closed:
            self._start()

    def _expire(self, entry: _Entry) -> None:
        # Still queued (a taken row's timer is cancelled): never sent, so safe to drop.
        try:
            self._pending.remove(entry)
        except ValueError:
            return
        _fail([entry], NotWritten(f"waited {self._wait:g}s for a statement"))

    async def _drain(self) -> None:
        group: list[_Entry] = []
        try:
            while self._pending:
                group = self._take()
                await self._write(group)
        finally:  # cancelled (the loop torn down): nobody is left waiting
            _fail(group, NotWritten("the inbox writer stopped"))

    def _take(self) -> list[_Entry]:
        group = [self._pending.popleft()]
        size = _body_size(group[0].row)
        while self._pending and len(group) < self._max_rows:
            size += _body_size(self._pending[0].row)
            if size > self._max_bytes:
                break
            group.append(self._pending.popleft())
        for entry in group:
            if entry.timer is not None:
                entry.timer.cancel()
        # A caller that went away (its request cancelled) still has its row written: it
        # was accepted, and the sweep wakes the worker for it.
        return group

    async def _write(self, group: list[_Entry]) -> None:
        rows = [entry.row for entry in group]
        sent = False
        try:
            async with self._pool.connection() as conn:
                sent = True
                await conn.execute(_insert_of(self._table, tuple(rows[0])),
                                   [[row[c] for row in rows] for c in rows[0]])
        except Exception as ex:
            if _about_a_value(ex) and len(group) > 1:
                for entry in group:  # a row the database refuses fails alone
                    await self._write([entry])
                return
            stored = await self._stored(rows) if sent and isinstance(
                ex, psycopg.OperationalError) else set()
            for entry in group:
                if entry.row["id"] in stored:
                    _succeed(entry)
                else:
                    _fail([entry], ex)
            return
        for entry in group:
            _succeed(entry)

    async def _stored(self, rows: Sequence[Row]) -> set[object]:
        """The ids of ``rows`` found committed after their statement's connection failed.

        The commit may have happened before the connection was lost: such a row,
        reported failed, would be stored again by the app under a new id.
        """
        try:
            async with self._pool.connection() as conn:
                found = await conn.execute(
                    sql.SQL("SELECT id FROM {} WHERE id = ANY(%s)").format(
                        sql.Identifier(self._table.name)), [[row["id"] for row in rows]])
                return {row_id for (row_id,) in await found.fetchall()}
        except Exception as ex:  # still away: they stay failed, as they most likely are
            log.warning("could not check which of %d inbox rows were stored (%s)",
                        len(rows), type(ex).__name__)
            return set()


def _about_a_value(ex: Exception) -> bool:
    """Whether ``ex`` is about a row's values (so another row may well pass)."""
    if not isinstance(ex, psycopg.Error):
        return True  # raised by the driver's dumpers, before anything was sent
    state = ex.sqlstate
    return (state is None and not isinstance(ex, psycopg.OperationalError)) or \
        (state is not None and state[:2] in _ROW_CLASSES)


def _succeed(entry: _Entry) -> None:
    if not entry.future.done():
        entry.future.set_result(None)


def _fail(group: Sequence[_Entry], ex: BaseException) -> None:
    for entry in group:
        if entry.timer is not None:
            entry.timer.cancel()
        if not entry.future.done():
            entry.future.set_exception(ex)


def _body_size(row: Row) -> int:
    body = row.get("body")
    return len(body) if isinstance(body, bytes | bytearray | memoryview) else 0


# PostgreSQL's array element type for each kind of column. Strings are ``text``, not
# their ``varchar(n)``: an explicit cast cuts a value that is too long, where the INSERT
# refuses it.
_PG_TYPES: tuple[tuple[type[TypeEngine[Any]], str], ...] = (
    (String, "text"), (Integer, "int8"), (LargeBinary, "bytea"), (JSON, "jsonb"),
    (DateTime, "timestamptz"))


def _pg_type(column: str, kind: TypeEngine[Any]) -> str:
    impl = kind.impl_instance if isinstance(kind, TypeDecorator) else kind
    for base, name in _PG_TYPES:
        if isinstance(impl, base):
            return name
    raise TypeError(f"no array type for column {column} ({type(kind).__name__})")


@functools.cache
def _insert_of(table: Table, columns: tuple[str, ...]) -> str:
    """The grouped INSERT of ``columns``: one binary array a column, cast to its type.

    Built from the table's own names and types; nothing of a request reaches it.
    """
    casts = [sql.SQL("%b::{}[]").format(sql.SQL(_pg_type(c, table.c[c].type)))
             for c in columns]
    return sql.SQL("INSERT INTO {} ({}) SELECT * FROM unnest({})").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.SQL(", ").join(casts)).as_string()
