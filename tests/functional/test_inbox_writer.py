"""The callback lane's grouped inbox writes, on PostgreSQL for real.

Rows that arrive together go in one statement; each caller returns once its own row is
committed, or learns why it was not: a row the database refuses fails alone, a database
that is away fails every row promptly, and a caller that goes away leaves the others
(and its own row) alone.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import orjson
import psycopg
import pytest
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import make_url, select

from dlrhub.api.inbox_writer import InboxWriter, NotWritten
from dlrhub.config import Settings
from dlrhub.models import INBOX_TABLE, new_id, utcnow
from dlrhub.services.runtime import Runtime
from tests.factories import AccountFactory

pytestmark = [pytest.mark.commits,
              pytest.mark.parametrize("db_url", ["postgres"], indirect=True)]

T = TypeVar("T")


def _conninfo(settings: Settings, **changes: Any) -> str:
    url = make_url(settings.effective_database_url).set(drivername="postgresql", **changes)
    return url.render_as_string(hide_password=False)


def _row(account: Any, body: bytes, *, query: str = "", provider: str = "tencent",
         row_id: str | None = None) -> dict[str, object]:
    now = utcnow()
    return {"id": row_id or new_id("inb"), "tenant_id": account.tenant_id,
            "account_id": account.id, "provider": provider, "received_at": now,
            "remote_addr": "203.0.113.9",
            "method": "POST", "path": "/v1/callbacks/tencent/***", "query": query,
            "content_type": "application/json",
            "headers": Jsonb({"content-type": "application/json"}), "body": body,
            "state": "pending", "reason": None, "attempts": 0, "receipts": 0,
            "enqueued_at": now}


def _run(settings: Settings, test: Callable[[InboxWriter, AsyncConnectionPool],
                                            Awaitable[T]],
         *, writers: int = 1, conninfo: str | None = None, timeout: float = 5.0,
         options: str = "", **bounds: Any) -> T:
    async def go() -> T:
        kwargs: dict[str, Any] = {"autocommit": True}
        if options:
            kwargs["options"] = options
        pool = AsyncConnectionPool(conninfo or _conninfo(settings), min_size=1,
                                   max_size=writers, kwargs=kwargs,
                                   open=False, timeout=timeout)
        await pool.open()
        try:
            return await asyncio.wait_for(
                test(InboxWriter(pool, INBOX_TABLE, writers=writers, **bounds), pool), 30)
        finally:
            await pool.close()
    return asyncio.run(go())


def _bodies(runtime: Runtime) -> set[bytes]:
    with runtime.engine.connect() as conn:
        return set(conn.execute(select(INBOX_TABLE.c.body)).scalars())


def _together(*calls: Coroutine[Any, Any, None]) -> Awaitable[list[Any]]:
    return asyncio.gather(*calls, return_exceptions=True)


def test_rows_that_arrive_together_are_one_statement_and_committed_on_return(
        settings: Settings, runtime: Runtime) -> None:
    account = AccountFactory(provider="tencent").account
    seen_by_others: list[bool] = []

    async def test(writer: InboxWriter, pool: AsyncConnectionPool) -> int:
        async with await psycopg.AsyncConnection.connect(_conninfo(settings),
                                                         autocommit=True) as other:
            async def one(i: int) -> None:
                row = _row(account, f"[{i}]".encode())
                await writer.insert(row)
                # Returned: committed, so another connection sees it.
                found = await other.execute("SELECT 1 FROM inbound_callback WHERE id = %s",
                                            [row["id"]])
                seen_by_others.append(await found.fetchone() is not None)
            results = await _together(*(one(i) for i in range(30)))
        assert results == [None] * 30
        return int(pool.get_stats().get("requests_num", 0))

    requests = _run(settings, test)
    assert _bodies(runtime) == {f"[{i}]".encode() for i in range(30)}
    assert seen_by_others == [True] * 30
    assert requests <= 2  # one statement for the rows that queued behind the first


def test_a_row_the_database_refuses_fails_alone(settings: Settings, runtime: Runtime) -> None:
    account = AccountFactory(provider="tencent").account

    async def test(writer: InboxWriter, _: AsyncConnectionPool) -> list[Any]:
        return await _together(*(
            writer.insert(_row(account, f"[{i}]".encode(),
                               query="a=\x00" if i == 4 else ""))  # text cannot hold NUL
            for i in range(10)))

    results = _run(settings, test)
    assert isinstance(results[4], psycopg.DataError)
    assert [r for i, r in enumerate(results) if i != 4] == [None] * 9
    assert _bodies(runtime) == {f"[{i}]".encode() for i in range(10) if i != 4}


def test_a_value_too_long_for_its_column_is_refused_not_cut(
        settings: Settings, runtime: Runtime) -> None:
    account = AccountFactory(provider="tencent").account

    async def test(writer: InboxWriter, _: AsyncConnectionPool) -> list[Any]:
        return await _together(*(
            writer.insert(_row(account, f"[{i}]".encode(),
                               provider="x" * 45 if i == 1 else "tencent"))  # varchar(40)
            for i in range(3)))

    results = _run(settings, test)
    assert isinstance(results[1], psycopg.errors.StringDataRightTruncation)
    assert (results[0], results[2]) == (None, None)
    assert _bodies(runtime) == {b"[0]", b"[2]"}


def test_a_database_that_refuses_every_row_is_not_asked_row_by_row(
        settings: Settings, runtime: Runtime) -> None:
    account = AccountFactory(provider="tencent").account

    async def test(writer: InboxWriter, pool: AsyncConnectionPool) -> tuple[list[Any], int]:
        results = await _together(*(writer.insert(_row(account, b"[]")) for _ in range(20)))
        return results, int(pool.get_stats().get("requests_num", 0))

    (results, requests) = _run(settings, test,
                               options="-c default_transaction_read_only=on")
    assert all(isinstance(r, psycopg.errors.ReadOnlySqlTransaction) for r in results)
    assert requests <= 2  # one statement for the group, not one more per row
    assert _bodies(runtime) == set()


def test_behind_a_statement_that_does_not_return_callbacks_wait_no_longer_than_the_pool(
        settings: Settings, runtime: Runtime) -> None:
    account = AccountFactory(provider="tencent").account
    stuck = new_id("inb")

    async def test(writer: InboxWriter, _: AsyncConnectionPool) -> list[Any]:
        # Another transaction holds a row of the same id: the INSERT waits on its lock.
        async with await psycopg.AsyncConnection.connect(_conninfo(settings)) as blocker:
            await blocker.execute(
                "INSERT INTO inbound_callback SELECT * FROM json_populate_record("
                "NULL::inbound_callback, %s::json)",
                [orjson.dumps({**_row(account, b"held", row_id=stuck), "headers": {},
                               "body": "\\x00"}).decode()])
            first = asyncio.ensure_future(writer.insert(_row(account, b"[0]", row_id=stuck)))
            await asyncio.sleep(0.2)  # under way, and stuck
            behind = [asyncio.ensure_future(writer.insert(_row(account, f"[{i}]".encode())))
                      for i in range(1, 4)]
            late = await _together(*behind)  # the queue holds 3, a 4th is refused at once
            full = [asyncio.ensure_future(writer.insert(_row(account, f"[{i}]".encode())))
                    for i in range(4, 8)]
            refused = await _together(*full)
            assert not first.done()
            await blocker.rollback()
        return [await _together(first), late, refused]

    ((first,), late, refused) = _run(settings, test, wait=0.5, max_pending=3)
    assert first is None  # written once the lock was gone
    assert all(isinstance(r, NotWritten) for r in late)
    assert all(isinstance(r, NotWritten) for r in refused)
    assert _bodies(runtime) == {b"[0]"}


def test_a_database_that_is_away_fails_every_row_promptly(
        settings: Settings, runtime: Runtime) -> None:
    account = AccountFactory(provider="tencent").account

    async def test(writer: InboxWriter, _: AsyncConnectionPool) -> list[Any]:
        return await _together(*(writer.insert(_row(account, b"[]")) for _ in range(5)))

    results = _run(settings, test, conninfo=_conninfo(settings, host="127.0.0.1", port=1),
                   timeout=0.5)
    assert all(isinstance(r, psycopg.OperationalError) for r in results), results
    assert _bodies(runtime) == set()


def test_a_caller_that_goes_away_leaves_the_others_and_its_row(
        settings: Settings, runtime: Runtime) -> None:
    account = AccountFactory(provider="tencent").account

    async def test(writer: InboxWriter, _: AsyncConnectionPool) -> list[Any]:
        calls = [asyncio.ensure_future(writer.insert(_row(account, f"[{i}]".encode())))
                 for i in range(6)]
        await asyncio.sleep(0)  # every row queued, the first statement under way
        calls[3].cancel()
        return await _together(*calls)

    results = _run(settings, test)
    assert isinstance(results[3], asyncio.CancelledError)
    assert [r for i, r in enumerate(results) if i != 3] == [None] * 5
    assert _bodies(runtime) == {f"[{i}]".encode() for i in range(6)}


def test_a_group_is_bounded_by_its_bodies_bytes(settings: Settings, runtime: Runtime) -> None:
    account = AccountFactory(provider="tencent").account

    async def test(writer: InboxWriter, pool: AsyncConnectionPool) -> int:
        results = await _together(*(writer.insert(_row(account, bytes([48 + i]) * 600))
                                    for i in range(5)))
        assert results == [None] * 5
        return int(pool.get_stats().get("requests_num", 0))

    # 600-byte bodies, 1,000 bytes a group: each row goes alone.
    assert _run(settings, test, max_bytes=1000) == 5
    assert len(_bodies(runtime)) == 5


def test_a_row_that_comes_as_the_last_statement_ends_is_written_too(
        settings: Settings, runtime: Runtime) -> None:
    account = AccountFactory(provider="tencent").account

    async def test(writer: InboxWriter, _: AsyncConnectionPool) -> None:
        async def one_then_another() -> None:
            await writer.insert(_row(account, b"[1]"))
            # Asked at once, before the writer that wrote the first row is done with:
            # no room for a new one yet, so the row must be picked up when it is.
            await writer.insert(_row(account, b"[2]"))
        await asyncio.wait_for(one_then_another(), 10)

    _run(settings, test)
    assert _bodies(runtime) == {b"[1]", b"[2]"}


def test_rows_committed_before_the_connection_was_lost_are_reported_stored(
        settings: Settings, runtime: Runtime) -> None:
    """Told "failed", the lane would hand each callback to the app, which stores it again."""
    account = AccountFactory(provider="tencent").account
    url = make_url(settings.effective_database_url)
    armed = [True]

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                   other: asyncio.StreamWriter, watch: bool) -> None:
        try:
            while data := await reader.read(65536):
                if watch and armed[0] and re.search(rb"INSERT 0 ([2-9]|\d\d+)\x00", data):
                    armed[0] = False  # committed; the answer never reaches the client
                    writer.transport.abort()
                    other.transport.abort()
                    return
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:  # either side gone: close the other, or its transport outlives the loop
            writer.close()

    async def proxy(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection(url.host, url.port or 5432)
        await asyncio.gather(pipe(client_r, server_w, client_w, False),
                             pipe(server_r, client_w, server_w, True))

    async def test(writer: InboxWriter, _: AsyncConnectionPool) -> list[Any]:
        return await _together(*(writer.insert(_row(account, f"[{i}]".encode()))
                                 for i in range(10)))

    async def go() -> list[Any]:
        server = await asyncio.start_server(proxy, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        conninfo = _conninfo(settings, host="127.0.0.1", port=port,
                             query={"sslmode": "disable"})
        try:
            return await asyncio.to_thread(_run, settings, test, conninfo=conninfo)
        finally:
            server.close()
            await server.wait_closed()
            await asyncio.sleep(0.1)  # the pipes see their sockets close

    results = asyncio.run(go())
    assert not armed[0]  # the connection was cut after the commit
    assert results == [None] * 10
    assert _bodies(runtime) == {f"[{i}]".encode() for i in range(10)}
