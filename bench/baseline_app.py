"""The floor of the ingest benchmark: the least a Falcon app on this stack can do per callback.

One POST route reads the raw body, INSERTs it as one row of a table of its own with
SQLAlchemy Core on a pooled engine, commits, and answers a constant body. No parsing,
no validation, no broker. ``bench/ingest`` serves it with ``dlrhub api``'s own server
command (workers, threads, the body-reading bridge: ``baseline_asgi.py``), against the
same database as the product: PostgreSQL through psycopg for ``--stack postgres``, the
SQLite file with the product's pragmas for ``--stack embedded``.

    BASELINE_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/dlrhub_bench \\
        .venv/bin/python -m api.server --app-dir bench --app baseline_asgi:app

``GET /healthz`` (no database) exists only so that the benchmark knows it is up.
"""

from __future__ import annotations

import os
from typing import Any

import falcon
from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    create_engine,
    event,
    insert,
)

TABLE = Table(
    "bench_baseline",
    MetaData(),
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True,
           autoincrement=True),
    Column("body", LargeBinary, nullable=False),
)
ANSWER = b'{"result":0,"errmsg":"OK"}'
POOL_SIZE = 10  # dlrhub's DLRHUB_DB_POOL_SIZE default, with as much overflow


def make_engine(url: str) -> Engine:
    """Build a pooled engine; SQLite gets the same pragmas as dlrhub's engine."""
    if url.startswith("sqlite"):
        engine = create_engine(url, pool_size=POOL_SIZE, max_overflow=POOL_SIZE,
                               connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_size=POOL_SIZE, max_overflow=POOL_SIZE)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def create_table(url: str) -> None:
    """Create the baseline's table (empty) before the server starts."""
    engine = make_engine(url)
    try:
        TABLE.drop(engine, checkfirst=True)
        TABLE.create(engine)
    finally:
        engine.dispose()


class Ingest:
    """``POST /ingest``: one INSERT of the raw body, commit, constant answer."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._insert = insert(TABLE)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Store the body as it came and say OK."""
        body = req.bounded_stream.read()
        with self._engine.begin() as conn:
            conn.execute(self._insert, {"body": body})
        resp.content_type = falcon.MEDIA_JSON
        resp.data = ANSWER


class Health:
    """``GET /healthz``: the process is up (no database)."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Say OK."""
        resp.content_type = falcon.MEDIA_JSON
        resp.data = b'{"status":"ok"}'


def create_app(url: str | None = None) -> falcon.App[Any, Any]:
    """Build the baseline app on ``url`` or ``BASELINE_DATABASE_URL``."""
    engine = make_engine(url or os.environ["BASELINE_DATABASE_URL"])
    app = falcon.App()
    app.add_route("/ingest", Ingest(engine))
    app.add_route("/healthz", Health())
    return app
