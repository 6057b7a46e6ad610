#!/usr/bin/env python3
"""Time the callback lane's inbox writes in-process: a row a statement, or grouped.

What the API's event loop and PostgreSQL spend to commit one accepted callback's inbox
row, without HTTP: ``--concurrency`` callers (as many callbacks in flight in one API
process) each write ``--rows`` ÷ concurrency rows, either each row in a statement of
its own through psycopg's async pool (``alone``: the lane before ``api/inbox_writer.py``)
or through :class:`dlrhub.api.inbox_writer.InboxWriter` (``grouped``: rows that arrive
while its statements are in flight go together in the next one). It prints, per row,
the process's CPU and that of the PostgreSQL backends it used, and the rows per second.
Recreates the database ``--database`` (default ``dlrhub_bench_lane``).

    .venv/bin/python bench/lane_writes.py [--rows 8000] [--concurrency 16] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable, Coroutine
from typing import Any

import procstat
from inproc import fresh_database, tencent_callbacks
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import make_url

from dlrhub.api.inbox_writer import WRITERS, InboxWriter
from dlrhub.models import (
    INBOX_TABLE,
    AccountCreate,
    make_engine,
    make_session_factory,
    new_id,
    utcnow,
)
from dlrhub.services.accounts import create_account
from dlrhub.services.crypto import SecretBox
from dlrhub.services.tenancy import create_tenant


def _cpu_of(pids: list[int]) -> float:
    return sum(procstat.cpu_seconds(pid) for pid in pids)


def _row(tenant_id: str, account_id: str, body: bytes) -> dict[str, object]:
    now = utcnow()
    return {"id": new_id("inb"), "tenant_id": tenant_id, "account_id": account_id,
            "provider": "tencent", "received_at": now, "remote_addr": "203.0.113.9",
            "method": "POST", "path": "/v1/callbacks/tencent/***", "query": "",
            "content_type": "application/json",
            "headers": Jsonb({"content-type": "application/json", "host": "hub:8000",
                              "user-agent": "bench", "content-length": str(len(body))}),
            "body": body, "state": "pending", "reason": None, "attempts": 0,
            "receipts": 0, "enqueued_at": now}


async def _run(conninfo: str, way: str, owner: tuple[str, str, bytes], rows: int,
               concurrency: int, writers: int, pool_size: int) -> tuple[float, float, float]:
    size = pool_size if way == "alone" else writers
    pool = AsyncConnectionPool(conninfo, min_size=size, max_size=size,
                               kwargs={"autocommit": True}, open=False)
    await pool.open()
    await pool.wait()
    held = [await pool.getconn() for _ in range(size)]  # every connection of the pool
    pids = {conn.info.backend_pid for conn in held}
    for conn in held:
        await pool.putconn(conn)
    writer = InboxWriter(pool, INBOX_TABLE, writers=writers)
    columns = tuple(_row(*owner))
    alone = (f"INSERT INTO {INBOX_TABLE.name} ({', '.join(columns)}) "  # noqa: S608
             f"VALUES ({', '.join(['%s'] * len(columns))})")

    async def one_alone(row: dict[str, object]) -> None:
        async with pool.connection() as conn:
            await conn.execute(alone, list(row.values()))

    store: Callable[[dict[str, object]], Coroutine[Any, Any, None]] = (
        one_alone if way == "alone" else writer.insert)

    async def caller() -> None:
        for _ in range(rows // concurrency):
            await store(_row(*owner))

    cpu, backends, started = time.process_time(), _cpu_of(sorted(pids)), time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(concurrency)))
    wall = time.perf_counter() - started
    done = rows // concurrency * concurrency
    result = ((time.process_time() - cpu) / done * 1e6,
              (_cpu_of(sorted(pids)) - backends) / done * 1e6, done / wall)
    await pool.close()
    return result


def main() -> None:
    """Make the database and an account, then run each way in turns; print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="dlrhub_bench_lane")
    parser.add_argument("--rows", type=int, default=8000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--records", type=int, default=1,
                        help="status reports in each row's body (a Tencent callback)")
    parser.add_argument("--writers", type=int, default=WRITERS,
                        help="the grouped writer's connections (default: the lane's)")
    parser.add_argument("--pool-size", type=int, default=10,
                        help="connections of the one-row way (default 10, "
                             "DLRHUB_DB_POOL_SIZE's default, as the lane had)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    url = fresh_database(args.postgres, args.database)
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        tenant = create_tenant(session, name="bench")
        account = create_account(session, SecretBox("bench-" * 6), tenant_id=tenant.id,
                                 spec=AccountCreate(provider="tencent", name="bench")).account
        session.commit()
        owner = (account.tenant_id, account.id,
                 tencent_callbacks(0, 1, args.records)[0].body)
    engine.dispose()
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(
        hide_password=False)
    figures: dict[str, list[tuple[float, float, float]]] = {"alone": [], "grouped": []}
    for _ in range(args.runs):
        for way in figures:  # in turns: the machine's drift falls on both
            figures[way].append(asyncio.run(_run(conninfo, way, owner, args.rows,
                                                 args.concurrency, args.writers,
                                                 args.pool_size)))
    print(f"{args.rows:,} inbox rows of {len(owner[2]):,} bytes, {args.concurrency} at once, "
          f"grouped on {args.writers} connection(s), alone on {args.pool_size}; "
          "per row, each run:")
    for way, runs in figures.items():
        cells = "; ".join(f"{p:.0f} / {b:.0f} us, {r:,.0f} rows/s" for p, b, r in runs)
        print(f"  {way:8s} process / PostgreSQL backends: {cells}; "
              f"median process {statistics.median(p for p, _, _ in runs):.0f} us")


if __name__ == "__main__":
    main()
