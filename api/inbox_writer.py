"""Write the callback lane's inbox rows in groups: one statement for what arrived together.

Each accepted callback's row must be committed before its provider is answered. Written
one statement a row, that costs more than the rest of the callback: 16 rows at once,
each alone through psycopg's async pool, cost the process 285-300 us of CPU a row and
PostgreSQL's backends 198-210 us; grouped as below, 64-65 us and 49-50 us
(``bench/lane_writes.py``; bench/README.md, "The callback lane's grouped writes").
So the lane hands its rows
to an :class:`InboxWriter`, which keeps at most ``writers`` statements in flight per
process: a row that arrives while they are all busy waits for the next one and goes
with every other row that arrived meanwhile, in one ``INSERT … SELECT FROM unnest(…)``
(autocommit: committed when it returns). Nothing waits on purpose: at rest each row is
written alone, at once; the busier the process, the bigger the groups.

A row the database refuses fails alone: a group that fails for anything but the
connection is written again row by row, and each caller learns its own row's fate. A
database that is away (or a pool with no connection to give within its timeout) fails
every row of the group; the lane then leaves each callback to the app, which tries once
more and answers 503 in the provider's form.
"""

from __future__ import annotations

import asyncio
import functools
from collections import deque
from collections.abc import Mapping, Sequence

import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import Table
from sqlalchemy.dialects import postgresql

# Two statements in flight per API process: one commits while the next gathers rows.
# One, two and four measured alike in CPU per row (16 callbacks at once, groups of up to
# 100: ``bench/lane_writes.py --writers``); more would only make the groups smaller.
WRITERS = 2
# A group's bounds: rows, and bytes of the bodies (a body may be up to
# DLRHUB_MAX_BODY_BYTES); the first row of a group is taken whatever its size.
MAX_ROWS = 100
MAX_BYTES = 1 << 20

Row = Mapping[str, object]


class InboxWriter:
    """Insert rows into ``table`` through ``pool``, grouping those that arrive together."""

    def __init__(self, pool: AsyncConnectionPool, table: Table, *, writers: int = WRITERS,
                 max_rows: int = MAX_ROWS, max_bytes: int = MAX_BYTES) -> None:
        self._pool = pool
        self._table = table
        self._writers = max(1, writers)
        self._max_rows = max(1, max_rows)
        self._max_bytes = max_bytes
        self._pending: deque[tuple[Row, asyncio.Future[None]]] = deque()
        self._running: set[asyncio.Task[None]] = set()

    async def insert(self, row: Row) -> None:
        """Insert ``row`` (committed when this returns); raise why if it was not.

        Every row has the same columns, in the same order (``pending_row``'s).
        """
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((row, future))
        if len(self._running) < self._writers:
            self._start()
        await future

    def _start(self) -> None:
        task = asyncio.create_task(self._drain())
        self._running.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        # A drain that found nothing left is still counted until this runs, a moment
        # later: a row that arrived in between found no room and started nothing.
        self._running.discard(task)
        if self._pending and len(self._running) < self._writers:
            self._start()

    async def _drain(self) -> None:
        group: list[tuple[Row, asyncio.Future[None]]] = []
        try:
            while self._pending:
                group = self._take()
                await self._write(group)
        finally:  # cancelled (the server stopping): nobody is left waiting
            for _, future in group:
                if not future.done():
                    future.cancel()

    def _take(self) -> list[tuple[Row, asyncio.Future[None]]]:
        group = [self._pending.popleft()]
        size = _body_size(group[0][0])
        while self._pending and len(group) < self._max_rows:
            size += _body_size(self._pending[0][0])
            if size > self._max_bytes:
                break
            group.append(self._pending.popleft())
        # A caller that went away (its request cancelled) still has its row written: it
        # was accepted, and the sweep wakes the worker for it.
        return group

    async def _write(self, group: list[tuple[Row, asyncio.Future[None]]]) -> None:
        rows = [row for row, _ in group]
        try:
            await self._execute(rows)
        except psycopg.OperationalError as ex:
            # The connection, not a row: the database is away or the pool had none.
            _fail(group, ex)
            return
        except Exception as ex:  # a value the driver cannot send, too
            if len(group) == 1:
                _fail(group, ex)
                return
            for one in group:  # a row the database refuses fails alone
                await self._write([one])
            return
        for _, future in group:
            if not future.done():
                future.set_result(None)

    async def _execute(self, rows: Sequence[Row]) -> None:
        columns = tuple(rows[0])
        statement = _insert_of(self._table, columns)
        arrays = [[row[c] for row in rows] for c in columns]
        async with self._pool.connection() as conn:
            await conn.execute(statement, arrays)


def _fail(group: list[tuple[Row, asyncio.Future[None]]], ex: BaseException) -> None:
    for _, future in group:
        if not future.done():
            future.set_exception(ex)


def _body_size(row: Row) -> int:
    body = row.get("body")
    return len(body) if isinstance(body, bytes | bytearray | memoryview) else 0


@functools.cache
def _insert_of(table: Table, columns: tuple[str, ...]) -> str:
    """The grouped INSERT of ``columns``: one binary array a column, cast to its type.

    Built from the table's own names and types; nothing of a request reaches it.
    """
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    casts = [sql.SQL("%b::{}[]").format(sql.SQL(table.c[c].type.compile(dialect=dialect)))
             for c in columns]
    return sql.SQL("INSERT INTO {} ({}) SELECT * FROM unnest({})").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.SQL(", ").join(casts)).as_string()
