"""One transaction per test, rolled back at its end, around everything the test runs.

This is SQLAlchemy's "Joining a Session into an External Transaction" (a session with
``join_transaction_mode="create_savepoint"`` on a connection whose outer transaction the
test rolls back), taken one level down: the API and the services do not only use
sessions, they also call ``engine.begin()`` and ``engine.connect()`` (the callback
endpoint's AUTOCOMMIT insert, the token and key directories, the sweep's scans). So the
test's runtime gets an engine whose every connection is the test's one database
connection, and whose BEGIN, COMMIT and ROLLBACK are a SAVEPOINT, its RELEASE and a
ROLLBACK TO it. The code under test commits as it always does, each commit is seen by
the next statement of the test, and nothing reaches the database for good.

SQLite needs the outer transaction opened by hand: pysqlite begins one only before a
write, and a SAVEPOINT outside a transaction would begin (and its RELEASE commit) one of
its own (see ``dlrhub.models.dialect.begin_write``).

What this cannot cover: another connection (a subprocess, a worker, an engine built
from the URL, a thread working at the same time) sees none of the test's rows, and on
SQLite it waits for the test's write lock. Such tests are marked ``commits``.
"""

from __future__ import annotations

import itertools
import time
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, make_url, text
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine.default import DefaultDialect
from sqlalchemy.engine.interfaces import DBAPIConnection, IsolationLevel
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import PoolProxiedConnection
from sqlmodel import SQLModel

from dlrhub.models import make_engine
from dlrhub.models.engine import json_text

# Every table, children first: a table added to the models is emptied without a word here.
TABLES = tuple(t.name for t in reversed(SQLModel.metadata.sorted_tables))
_DRIVER = "dlrhub_rollback"
_names = itertools.count(1)
# The savepoint each checked-out connection (the pool's proxy) stands in for.
_open: dict[int, str] = {}
# The checked-out connections set to AUTOCOMMIT: what they wrote stays when they close.
_autocommit: weakref.WeakSet[PoolProxiedConnection] = weakref.WeakSet()


def _run(dbapi_connection: Any, sql: str) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(sql)
    finally:
        cursor.close()


class _Savepoints(DefaultDialect):
    """Dialect mixin: a connection's transaction is a savepoint of the test's transaction."""

    def do_begin(self, dbapi_connection: PoolProxiedConnection) -> None:
        name = f"test_tx_{next(_names)}"
        _run(dbapi_connection, f"SAVEPOINT {name}")
        _open[id(dbapi_connection)] = name

    def do_commit(self, dbapi_connection: PoolProxiedConnection) -> None:
        name = _open.pop(id(dbapi_connection), None)
        if name is not None:
            _run(dbapi_connection, f"RELEASE SAVEPOINT {name}")

    def do_rollback(self, dbapi_connection: PoolProxiedConnection) -> None:
        name = _open.pop(id(dbapi_connection), None)
        if name is not None:
            if dbapi_connection not in _autocommit:
                _run(dbapi_connection, f"ROLLBACK TO SAVEPOINT {name}")
            _run(dbapi_connection, f"RELEASE SAVEPOINT {name}")

    def set_connection_execution_options(self, connection: Connection,
                                         opts: Mapping[str, Any]) -> None:
        """Note AUTOCOMMIT: the connection's closing rollback must keep what it wrote."""
        if opts.get("isolation_level") == "AUTOCOMMIT":
            _autocommit.add(connection.connection)
        super().set_connection_execution_options(connection, opts)

    def set_isolation_level(self, dbapi_connection: DBAPIConnection,
                            level: IsolationLevel) -> None:
        """Keep the test's transaction: AUTOCOMMIT would end it (psycopg refuses anyway)."""

    def do_close(self, dbapi_connection: DBAPIConnection) -> None:
        """Leave the connection open: it is the test's, not the pool's."""

    def do_terminate(self, dbapi_connection: DBAPIConnection) -> None:
        """Leave the connection open: it is the test's, not the pool's."""


class RollbackPostgreSQL(_Savepoints, PGDialect_psycopg):
    """psycopg, with transactions that are savepoints of the test's."""

    supports_statement_cache = True


class RollbackSQLite(_Savepoints, SQLiteDialect_pysqlite):
    """pysqlite, with transactions that are savepoints of the test's."""

    supports_statement_cache = True


registry.register(f"postgresql.{_DRIVER}", __name__, "RollbackPostgreSQL")
registry.register(f"sqlite.{_DRIVER}", __name__, "RollbackSQLite")


def truncate(engine: Engine) -> None:
    """Empty every table, children first.

    The end-to-end stack's worker may still be settling a test's last deliveries;
    if its locks and TRUNCATE's meet in a deadlock, PostgreSQL aborts one of them,
    and truncating again is all it takes.
    """
    for attempt in range(5):
        try:
            with engine.begin() as conn:
                if engine.dialect.name == "postgresql":
                    conn.execute(text(f"TRUNCATE {', '.join(TABLES)} CASCADE"))
                else:
                    for table in TABLES:
                        conn.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - fixed names
            return
        except DBAPIError:
            if attempt == 4:
                raise
            time.sleep(0.2)


# Any row in any table: one round trip, where a TRUNCATE costs PostgreSQL a new file per table.
_ANY_ROW = "SELECT 1 WHERE " + " OR ".join(  # noqa: S608 - fixed names
    f"EXISTS (SELECT 1 FROM {table})" for table in TABLES)  # noqa: S608


class RolledBackDatabase:
    """A migrated database, one connection to it, and an engine that never commits on it."""

    def __init__(self, url: str) -> None:
        self._base = make_engine(url, pool_size=1)
        self._held = self._base.raw_connection()
        raw = self._held.driver_connection
        self._raw = raw
        self.sqlite = self._base.dialect.name == "sqlite"
        self.engine = create_engine(
            make_url(url).set(drivername=f"{self._base.dialect.name}+{_DRIVER}"),
            creator=lambda: raw, pool_reset_on_return=None, pool_size=2, max_overflow=-1,
            json_serializer=json_text, hide_parameters=True)

    @contextmanager
    def transaction(self) -> Iterator[Engine]:
        """Yield the engine inside a new outer transaction on empty tables; roll it back.

        Rows that a ``commits`` test, an end-to-end stack or a schemathesis run left
        behind are truncated first, so that every test starts on empty tables.
        """
        if self._raw.execute(_ANY_ROW).fetchone() is not None:
            self._raw.rollback()
            truncate(self._base)
        if self.sqlite and not self._raw.in_transaction:
            self._raw.execute("BEGIN")
        try:
            yield self.engine
        finally:
            _open.clear()
            self._raw.rollback()

    def close(self) -> None:
        """Release the connection and both engines."""
        self.engine.dispose()
        self._held.close()
        self._base.dispose()
