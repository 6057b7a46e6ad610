"""The SQL that differs between SQLite and PostgreSQL, so that services never ask.

Every function takes the session (or connection) it runs on and does the right thing
for its database: row locks that PostgreSQL has and SQLite does not need (one writer at
a time), the bulk receipt insert (binary COPY on PostgreSQL), the sweep's index hint
(SQLite without statistics picks the wrong index), and date arithmetic.
"""

from __future__ import annotations

from typing import Any, TypeVar

import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy import ColumnElement, Connection, Select, String, TextualSelect, bindparam, func
from sqlalchemy import text as sql_text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from dlrhub.models.tables import MESSAGE_TABLE, RECEIPT_TABLE
from dlrhub.models.types import UTCDateTime

SelectT = TypeVar("SelectT", bound=Select[Any])


def is_postgresql(bind: Session | Connection) -> bool:
    """Return whether ``bind`` runs on PostgreSQL (else SQLite)."""
    dialect = bind.dialect if isinstance(bind, Connection) else bind.get_bind().dialect
    return dialect.name == "postgresql"


def lock_skipping_locked(session: Session, query: SelectT) -> SelectT:
    """Lock the rows ``query`` reads, skipping rows another transaction holds.

    PostgreSQL only: two workers handed the same rows do not both work them. SQLite
    runs one writer at a time, so there the query is left as it is.
    """
    return query.with_for_update(skip_locked=True) if is_postgresql(session) else query


def lock_for_key_share(session: Session, query: SelectT) -> SelectT:
    """Lock the rows ``query`` reads FOR NO KEY UPDATE (PostgreSQL; SQLite: unchanged).

    Inserts of rows whose foreign keys point at them need not wait for the lock.
    """
    return query.with_for_update(key_share=True) if is_postgresql(session) else query


def begin_write(session: Session) -> None:
    """Open the session's transaction now, so that a SAVEPOINT stays inside it.

    pysqlite opens its transaction at the first write, and a SAVEPOINT issued before
    that would open (and its RELEASE commit) a transaction of its own. PostgreSQL's
    transaction is open already.
    """
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        raw = conn.connection.driver_connection
        if raw is not None and not raw.in_transaction:
            raw.execute("BEGIN")


def hour_bucket(session: Session, column: ColumnElement[Any]) -> ColumnElement[Any]:
    """Return the SQL of ``column``'s UTC hour (a timestamp, or ISO text on SQLite)."""
    if is_postgresql(session):
        # date_trunc on a timestamptz cuts in the session's TimeZone, which may sit off
        # the hour (+05:30); cutting the UTC wall time keeps buckets on UTC hours.
        return func.date_trunc("hour", func.timezone("UTC", column))
    # SQLite keeps naive UTC text ("2024-01-01 10:20:30.000000").
    return func.strftime("%Y-%m-%dT%H:00:00Z", column)


# --- the bulk receipt insert ---------------------------------------------------------

# Column order of the PostgreSQL bulk insert, and each column's array type.
_PG_COLUMNS = (
    ("id", "text"), ("tenant_id", "text"), ("account_id", "text"), ("inbox_id", "text"),
    ("type", "text"), ("provider", "text"), ("message_id", "text"), ("reference", "text"),
    ("phone", "text"), ("status", "text"), ("provider_status", "text"),
    ("error_code", "text"), ("error_message", "text"), ("segments", "int4"),
    ("part", "text"), ("price", "text"), ("submitted_at", "timestamptz"),
    ("reported_at", "timestamptz"), ("received_at", "timestamptz"), ("text", "text"),
    ("raw", "jsonb"), ("dedupe_key", "text"), ("reason_class", "text"),
    ("retryable", "bool"), ("country", "text"), ("carrier", "text"), ("synthetic", "bool"),
    ("details", "jsonb"),
)
_PG_NAMES = [c for c, _ in _PG_COLUMNS]
_PG_TYPES = [t for _, t in _PG_COLUMNS]
_PG_RAW_AT = _PG_NAMES.index("raw")
_PG_DETAILS_AT = _PG_NAMES.index("details")
_COLUMN_LIST = ", ".join(_PG_NAMES)
# Binary COPY into a per-connection staging table, then one INSERT ... SELECT: psycopg's
# COPY is written in C, while a multi-row VALUES (SQLAlchemy's insertmanyvalues) or
# text-format arrays spend more time rendering and escaping than PostgreSQL spends
# inserting. ON COMMIT DELETE ROWS empties the stage at every commit.
_PG_STAGE = ("CREATE TEMP TABLE IF NOT EXISTS receipt_stage "
             "(LIKE receipt INCLUDING DEFAULTS) ON COMMIT DELETE ROWS")
_PG_COPY = f"COPY receipt_stage ({_COLUMN_LIST}) FROM STDIN (FORMAT BINARY)"
# Built from the constant column list above; nothing of a request reaches it.
_PG_MOVE = (
    f"INSERT INTO receipt ({_COLUMN_LIST}) SELECT {_COLUMN_LIST} FROM receipt_stage "  # noqa: S608
    "ON CONFLICT (account_id, dedupe_key) DO NOTHING RETURNING id")


def insert_receipts(session: Session, rows: list[dict[str, Any]]) -> set[str]:
    """Insert receipt rows in bulk, skipping those already stored; return the ids inserted.

    A receipt is already stored when its (account_id, dedupe_key) is; every row must
    have every receipt column.
    """
    if not rows:
        return set()
    if is_postgresql(session):
        return _copy_receipts(session, rows)
    stmt = sqlite.insert(RECEIPT_TABLE).on_conflict_do_nothing(
        index_elements=["account_id", "dedupe_key"]).returning(RECEIPT_TABLE.c.id)
    return set(session.execute(stmt, rows).scalars().all())


def _copy_receipts(session: Session, rows: list[dict[str, Any]]) -> set[str]:
    conn = session.connection().connection.driver_connection
    assert isinstance(conn, psycopg.Connection)
    with conn.cursor() as cur:
        cur.execute(_PG_STAGE)
        cur.execute("TRUNCATE receipt_stage")  # nothing left from an aborted run
        with cur.copy(_PG_COPY) as copy:
            copy.set_types(_PG_TYPES)
            for row in rows:
                values = [row[n] for n in _PG_NAMES]
                values[_PG_RAW_AT] = Jsonb(values[_PG_RAW_AT])
                if values[_PG_DETAILS_AT] is not None:
                    values[_PG_DETAILS_AT] = Jsonb(values[_PG_DETAILS_AT])
                copy.write_row(values)
        cur.execute(_PG_MOVE)
        return {r[0] for r in cur.fetchall()}


# --- message rows, kept beside their receipts --------------------------------------

_MESSAGE_KEY = ["account_id", "message_id", "phone"]


def lock_messages(session: Session, rows: list[dict[str, Any]]) -> list[Any]:
    """Insert the message rows that are missing, lock all of ``rows``' and return them.

    One statement for the batch: an upsert whose update is a no-op, so that a row another
    transaction holds is waited for and returned as that one committed it. ``rows`` must be
    full message rows, one per key, sorted by key: two workers lock in the same order.
    """
    if not rows:
        return []
    insert = postgresql.insert if is_postgresql(session) else sqlite.insert
    stmt = insert(MESSAGE_TABLE).on_conflict_do_update(
        index_elements=_MESSAGE_KEY, set_={"updated_at": MESSAGE_TABLE.c.updated_at})
    return list(session.execute(stmt.returning(*MESSAGE_TABLE.c), rows).all())


def write_messages(session: Session, rows: list[dict[str, Any]]) -> None:
    """Write back message rows (every column) that ``lock_messages`` returned, in bulk."""
    if not rows:
        return
    insert = postgresql.insert if is_postgresql(session) else sqlite.insert
    stmt = insert(MESSAGE_TABLE)
    kept = {"id", "created_at", *_MESSAGE_KEY}
    stmt = stmt.on_conflict_do_update(
        index_elements=["id"],
        set_={c.name: stmt.excluded[c.name] for c in MESSAGE_TABLE.c if c.name not in kept})
    session.execute(stmt, rows)


# --- the sweep's scan of lost inbox rows ---------------------------------------------

def lost_inbox_scans(conn: Connection) -> list[TextualSelect]:
    """Return the sweep's two scans of the partial index of pending inbox rows.

    Each selects ``id`` and its order column for ``:cutoff`` and ``:limit``. Written
    out because each database must be steered to that index: its WHERE is a literal a
    parameter would not match, SQLite (without statistics) prefers the (state,
    received_at) index and a sort over the whole backlog unless told, and on PostgreSQL
    the rows a worker is ingesting are locked and skipped.
    """
    postgres = is_postgresql(conn)
    hint = "" if postgres else " INDEXED BY ix_inbox_pending_enqueued"
    lock = " FOR UPDATE SKIP LOCKED" if postgres else ""
    scans = (
        ("enqueued_at", "enqueued_at < :cutoff"),
        # Rows stored before enqueued_at existed count from their arrival.
        ("received_at", "enqueued_at IS NULL AND received_at < :cutoff"),
    )
    # Built from the constants above only; the values are bound parameters.
    return [
        sql_text(f"SELECT id, {column} FROM inbound_callback{hint} "  # noqa: S608
                 f"WHERE state = 'pending' AND {where} ORDER BY {column} LIMIT :limit{lock}")
        .bindparams(bindparam("cutoff", type_=UTCDateTime()))
        .columns(id=String(), **{column: UTCDateTime()})
        for column, where in scans
    ]
