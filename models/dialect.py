"""The SQL that differs between SQLite and PostgreSQL, so that services never ask.

Every function takes the session (or connection) it runs on and does the right thing
for its database: row locks that PostgreSQL has and SQLite does not need (one writer at
a time), the bulk receipt insert (binary COPY on PostgreSQL), the sweep's index hint
(SQLite without statistics picks the wrong index), and date arithmetic.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

import orjson
import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    String,
    TextualSelect,
    bindparam,
    func,
    update,
)
from sqlalchemy import text as sql_text
from sqlalchemy.dialects import sqlite
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
# What the rules write, with each column's array type on PostgreSQL.
_MESSAGE_WRITE = (
    ("id", "text"), ("status", "text"), ("final", "bool"), ("provider_status", "text"),
    ("reason_class", "text"), ("retryable", "bool"), ("parts", "text"), ("segments", "int4"),
    ("submitted_at", "timestamptz"), ("reported_at", "timestamptz"),
    ("received_at", "timestamptz"), ("handset_latency_ms", "int8"),
    ("receipt_lag_ms", "int8"), ("out_of_order", "int4"), ("corrected", "bool"),
    ("status_receipt_id", "text"), ("first_receipt_id", "text"), ("last_receipt_id", "text"),
)
# A new row: what identifies it, and what the rules made of its first receipts.
_MESSAGE_NEW = (("tenant_id", "text"), ("account_id", "text"), ("provider", "text"),
                ("message_id", "text"), ("phone", "text"), *_MESSAGE_WRITE)
_MESSAGE_NEW_NAMES = [c for c, _ in _MESSAGE_NEW]
# What the lock returns: what identifies the row, and what the rules read.
_MESSAGE_LOCKED = ("id", "tenant_id", "account_id", "provider", "message_id", "phone", "parts",
                   "segments", "submitted_at", "out_of_order", "corrected",
                   "first_receipt_id", "last_receipt_id")
# Arrays unnested into one INSERT and one UPDATE, sent in binary: a multi-row VALUES of
# 10,000 messages costs more to render and parse than PostgreSQL spends writing them.
# Built from the constant column lists above; the values are bound parameters.
_PG_LOCK = (
    f"INSERT INTO message ({', '.join(_MESSAGE_NEW_NAMES)}, created_at, updated_at) "  # noqa: S608
    "SELECT "
    + ", ".join(f"k.{c}" + ("::jsonb" if c == "parts" else "") for c in _MESSAGE_NEW_NAMES)
    + ", %(now)s, %(now)s FROM unnest("
    + ", ".join(f"%({c})b::{t}[]" for c, t in _MESSAGE_NEW)
    + f") WITH ORDINALITY AS k({', '.join(_MESSAGE_NEW_NAMES)}, n) ORDER BY k.n "
    "ON CONFLICT (account_id, message_id, phone) DO UPDATE SET updated_at = message.updated_at "
    f"RETURNING {', '.join(_MESSAGE_LOCKED)}")
_PG_WRITE = (
    "UPDATE message AS m SET "  # noqa: S608
    + ", ".join(f"{c} = v.{c}" + ("::jsonb" if c == "parts" else "")
                for c, _ in _MESSAGE_WRITE[1:])
    + ", updated_at = %(now)s FROM unnest("
    + ", ".join(f"%({c})b::{t}[]" for c, t in _MESSAGE_WRITE)
    + f") AS v({', '.join(c for c, _ in _MESSAGE_WRITE)}) WHERE m.id = v.id")


def lock_messages(session: Session, rows: list[dict[str, Any]], now: datetime
                  ) -> list[dict[str, Any]]:
    """Insert the message rows that are missing, lock every one of ``rows`` and return them.

    One statement for the batch: an upsert whose update is a no-op, so that a row another
    transaction holds is waited for and returned as that one committed it. ``rows`` are
    new rows (every column of ``_MESSAGE_NEW``, ``parts`` a dict), one per key, sorted by
    key: two workers lock in the same order. Each row returned has the columns of
    ``_MESSAGE_LOCKED``; one whose id is the id given was inserted as given.
    """
    if not rows:
        return []
    if is_postgresql(session):
        params: dict[str, Any] = {c: [r[c] for r in rows] for c in _MESSAGE_NEW_NAMES}
        params["parts"] = [orjson.dumps(p).decode() for p in params["parts"]]
        params["now"] = now
        with _raw(session).cursor() as cur:
            cur.execute(_PG_LOCK, params, binary=True)
            return [dict(zip(_MESSAGE_LOCKED, row, strict=True)) for row in cur.fetchall()]
    stmt = sqlite.insert(MESSAGE_TABLE).on_conflict_do_update(
        index_elements=_MESSAGE_KEY, set_={"updated_at": MESSAGE_TABLE.c.updated_at})
    locked = stmt.returning(*(MESSAGE_TABLE.c[c] for c in _MESSAGE_LOCKED))
    values = [{**r, "created_at": now, "updated_at": now} for r in rows]
    return [dict(r._mapping) for r in session.execute(locked, values)]


def write_messages(session: Session, rows: list[dict[str, Any]], now: datetime) -> None:
    """Write what the rules made of locked message rows, in one statement.

    Each row has the columns of ``_MESSAGE_WRITE`` (``parts`` a dict).
    """
    if not rows:
        return
    if is_postgresql(session):
        params: dict[str, Any] = {c: [r[c] for r in rows] for c, _ in _MESSAGE_WRITE}
        params["parts"] = [orjson.dumps(p).decode() for p in params["parts"]]
        params["now"] = now
        with _raw(session).cursor() as cur:
            cur.execute(_PG_WRITE, params, binary=True)
        return
    table = MESSAGE_TABLE
    # executemany: sqlite3 runs the one prepared statement for every row, in C.
    stmt = (update(table).where(table.c.id == bindparam("b_id"))
            .values({**{c: bindparam(f"b_{c}") for c, _ in _MESSAGE_WRITE[1:]},
                     "updated_at": now}))
    session.execute(stmt, [{f"b_{c}": r[c] for c, _ in _MESSAGE_WRITE} for r in rows])


def _raw(session: Session) -> psycopg.Connection[Any]:
    conn = session.connection().connection.driver_connection
    assert isinstance(conn, psycopg.Connection)
    return conn


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
