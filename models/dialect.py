"""The SQL that differs between SQLite and PostgreSQL, so that services never ask.

Every function takes the session (or connection) it runs on and does the right thing
for its database: row locks that PostgreSQL has and SQLite does not need (one writer at
a time), the bulk receipt insert (binary COPY on PostgreSQL), the sweep's index hint
(SQLite without statistics picks the wrong index), date arithmetic, and the
delivery aggregate's adding upsert.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any, TypeVar

import orjson
import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy import (
    Boolean,
    ColumnElement,
    Connection,
    Select,
    String,
    Table,
    TextualSelect,
    any_,
    bindparam,
    column,
    func,
    update,
    values,
)
from sqlalchemy import text as sql_text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeEngine

from dlrhub.models.tables import (
    ATTEMPT_TABLE,
    DELIVERY_STATS_ADDED,
    DELIVERY_STATS_KEY,
    DELIVERY_STATS_TABLE,
    DELIVERY_TABLE,
    EXPECTATION_TABLE,
    INBOX_TABLE,
    MESSAGE_TABLE,
    RECEIPT_TABLE,
)
from dlrhub.models.types import UTCDateTime

SelectT = TypeVar("SelectT", bound=Select[Any])


def is_postgresql(bind: Session | Connection) -> bool:
    """Return whether ``bind`` runs on PostgreSQL (else SQLite)."""
    dialect = bind.dialect if isinstance(bind, Connection) else bind.get_bind().dialect
    return dialect.name == "postgresql"


def one_of(session: Session, column: ColumnElement[str],
           values: Iterable[str]) -> ColumnElement[bool]:
    """Return ``column IN values``: on PostgreSQL as ``= ANY(array)``, one parameter.

    A thousand values rendered as a thousand bound parameters cost more to build and
    parse than the index look-ups they ask for; an array is sent as one binary value.
    """
    wanted = sorted(set(values))
    if is_postgresql(session):
        return column == any_(bindparam(None, wanted, type_=ARRAY(String())))
    return column.in_(wanted)


def lock_skipping_locked(session: Session, query: SelectT) -> SelectT:
    """Lock the rows ``query`` reads, skipping rows another transaction holds.

    PostgreSQL only: two workers handed the same rows do not both work them. SQLite
    runs one writer at a time, so there the query is left as it is.
    """
    return query.with_for_update(skip_locked=True) if is_postgresql(session) else query


def sort_in_memory(session: Session, megabytes: int) -> None:
    """Let this transaction's sorts and hash tables use ``megabytes`` before spilling.

    PostgreSQL's default (4 MB) sends the aggregate's grouping of a month by hour to
    disk; SET LOCAL ends with the transaction. SQLite has no such limit.
    """
    if is_postgresql(session):
        session.execute(sql_text(f"SET LOCAL work_mem = '{int(megabytes)}MB'"))


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


def begin_immediate(session: Session) -> None:
    """Open the session's transaction now, holding SQLite's write lock from its start.

    For a transaction that reads rows and then deletes them: under WAL, a deferred one
    whose snapshot another writer's commit made stale between its read and its write
    fails at once with "database is locked", whatever the busy timeout. ``BEGIN
    IMMEDIATE`` waits (up to the busy timeout) for the write lock instead. PostgreSQL's
    transaction is open already, and its row locks do the rest.
    """
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        raw = conn.connection.driver_connection
        if raw is not None and not raw.in_transaction:
            raw.execute("BEGIN IMMEDIATE")


def hour_bucket(session: Session, column: ColumnElement[Any]) -> ColumnElement[Any]:
    """Return the SQL of ``column``'s UTC hour (a timestamp, or ISO text on SQLite)."""
    if is_postgresql(session):
        # date_trunc on a timestamptz cuts in the session's TimeZone, which may sit off
        # the hour (+05:30); cutting the UTC wall time keeps buckets on UTC hours.
        return func.date_trunc("hour", func.timezone("UTC", column))
    # SQLite keeps naive UTC text ("2024-01-01 10:20:30.000000").
    return func.strftime("%Y-%m-%dT%H:00:00Z", column)


def local_day(session: Session, column: ColumnElement[Any],
              shift_seconds: ColumnElement[Any]) -> ColumnElement[Any]:
    """Return the SQL of the date (``YYYY-MM-DD`` text) of UTC ``column`` + ``shift_seconds``.

    The caller works out the shift (a zone's UTC offset, which may change within a
    range): SQLite knows no zones, so both databases are given the same arithmetic.
    """
    if is_postgresql(session):
        moved = func.timezone("UTC", column) + func.make_interval(
            0, 0, 0, 0, 0, 0, shift_seconds)
        return func.to_char(moved, "YYYY-MM-DD")
    return func.strftime("%Y-%m-%d", column, shift_seconds.concat(" seconds"))


# --- bulk writes through a stage (PostgreSQL) ----------------------------------------

def _jsonb(value: Any) -> Jsonb:
    """Wrap ``value`` for a jsonb column, serialized by orjson (psycopg's default is the
    standard library's ``json``, several times slower on the raw record of every receipt)."""
    return Jsonb(value, dumps=orjson.dumps)


@dataclass(frozen=True)
class _Stage:
    """A bulk write through a per-connection temporary table: binary COPY in, one move out.

    psycopg's COPY is written in C, while a multi-row VALUES (SQLAlchemy's
    insertmanyvalues) or text-format arrays spend more time rendering and escaping than
    PostgreSQL spends inserting. ON COMMIT DELETE ROWS empties the stage at each commit
    and a rollback takes back what was copied in; a DELETE before each write clears what
    an earlier write of the same transaction left (ingest writes the receipt stage twice
    when a batch corrects a status; a caller's savepoint "commit" is no commit). Never a
    TRUNCATE: on a temporary table made in an earlier transaction it gives the table a
    new file and rewrites its catalog row: about 0.4 ms of PostgreSQL's CPU per statement
    on this machine, and 4 to 11 ms, growing with each one, in another run; the DELETE
    of an empty stage costs about 0.02 ms (``bench/stage_clear.py``; bench/README.md,
    "Stages"). Every statement is built from the constant table and column names given
    here; nothing of a request reaches them.
    """

    table: str
    columns: Sequence[str]
    types: Sequence[str]
    # The INSERT ... SELECT (or UPDATE ... FROM) of the stage into the table.
    move: str
    # The stage's name, where a table has two (default ``<table>_stage``); a named stage
    # has only ``columns`` (for a write of some of them), the default is a copy of the
    # table's columns, defaults and NOT NULLs.
    name: str = ""

    def write(self, session: Session, rows: Iterable[Sequence[Any]]) -> list[Any]:
        """Copy ``rows`` (values in ``columns`` order) in, move them; return what it returns."""
        stage = self.name or f"{self.table}_stage"
        shape = (", ".join(f"{c} {t}" for c, t in zip(self.columns, self.types, strict=True))
                 if self.name else f"LIKE {self.table} INCLUDING DEFAULTS")
        with _raw(session).cursor() as cur:
            # One round trip for both (psycopg sends a query without parameters as is).
            cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} ({shape}) "  # noqa: S608
                        f"ON COMMIT DELETE ROWS; DELETE FROM {stage}")
            with cur.copy(f"COPY {stage} ({', '.join(self.columns)}) "
                          "FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(list(self.types))
                for values in rows:
                    copy.write_row(values)
            cur.execute(self.move)
            return cur.fetchall() if cur.description is not None else []


# --- the delivery aggregate's adding upsert -------------------------------------------

_STATS_COLUMNS = DELIVERY_STATS_KEY + DELIVERY_STATS_ADDED
_STATS_TYPES = ["timestamptz" if c == "bucket" else "text" for c in DELIVERY_STATS_KEY] + [
    "int4"] * len(DELIVERY_STATS_ADDED)
# Through a stage, as the receipts: a row carries 78 values, most of them 0; rendered as
# parameters (VALUES or arrays) they cost more to encode and parse than the upsert costs
# PostgreSQL. Built from the constant column lists only.
_PG_STATS_UPSERT = (
    f"INSERT INTO delivery_stats ({', '.join(_STATS_COLUMNS)}) "  # noqa: S608
    f"SELECT {', '.join(_STATS_COLUMNS)} FROM delivery_stats_stage "
    # In key order, whatever order the stage returns: the rows are locked in that order.
    f"ORDER BY {', '.join(DELIVERY_STATS_KEY)} "
    "ON CONFLICT ON CONSTRAINT pk_delivery_stats DO UPDATE SET "
    + ", ".join(f"{c} = delivery_stats.{c} + excluded.{c}" for c in DELIVERY_STATS_ADDED))
_STATS_STAGE = _Stage("delivery_stats", _STATS_COLUMNS, _STATS_TYPES, _PG_STATS_UPSERT)


def add_to_stats(session: Session, rows: list[dict[str, Any]]) -> None:
    """Add ``rows`` to the delivery aggregate in one upsert: insert, or add to the row.

    Each row has every key column and every counter (a change, which may be negative);
    no two rows may share a key. They are locked in key order, so two transactions
    adding to the same rows never deadlock.
    """
    if not rows:
        return
    if is_postgresql(session):
        _STATS_STAGE.write(session, ([row[c] for c in _STATS_COLUMNS] for row in rows))
        return
    stmt = sqlite.insert(DELIVERY_STATS_TABLE)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(DELIVERY_STATS_KEY),
        set_={c: DELIVERY_STATS_TABLE.c[c] + stmt.excluded[c] for c in DELIVERY_STATS_ADDED})
    # SQLite runs in the process: one prepared statement stepped per row costs no trip.
    session.execute(stmt, sorted(rows, key=lambda r: [r[c] for c in DELIVERY_STATS_KEY]))


# --- the bulk receipt insert ---------------------------------------------------------

# Column order of the PostgreSQL bulk insert, and each column's array type.
_PG_COLUMNS = (
    ("id", "text"), ("tenant_id", "text"), ("account_id", "text"), ("inbox_id", "text"),
    ("type", "text"), ("provider", "text"), ("message_id", "text"), ("reference", "text"),
    ("phone", "text"), ("status", "text"), ("provider_status", "text"),
    ("error_code", "text"), ("error_message", "text"), ("segments", "int4"),
    ("part", "text"), ("sequence", "int8"), ("price", "text"), ("submitted_at", "timestamptz"),
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
# Through a stage: built from the constant column list above.
_RECEIPT_STAGE = _Stage("receipt", _PG_NAMES, _PG_TYPES, (
    f"INSERT INTO receipt ({_COLUMN_LIST}) SELECT {_COLUMN_LIST} FROM receipt_stage "  # noqa: S608
    "ON CONFLICT (account_id, dedupe_key) DO NOTHING RETURNING id"))


def insert_receipts(session: Session, rows: list[dict[str, Any]]) -> set[str]:
    """Insert receipt rows in bulk, skipping those already stored; return the ids inserted.

    A receipt is already stored when its (account_id, dedupe_key) is; every row must
    have every receipt column.
    """
    if not rows:
        return set()
    if is_postgresql(session):
        return {r[0] for r in _RECEIPT_STAGE.write(session, map(_receipt_values, rows))}
    stmt = sqlite.insert(RECEIPT_TABLE).on_conflict_do_nothing(
        index_elements=["account_id", "dedupe_key"]).returning(RECEIPT_TABLE.c.id)
    return set(session.execute(stmt, rows).scalars().all())


def _receipt_values(row: dict[str, Any]) -> list[Any]:
    values = [row[n] for n in _PG_NAMES]
    values[_PG_RAW_AT] = _jsonb(values[_PG_RAW_AT])
    if values[_PG_DETAILS_AT] is not None:
        values[_PG_DETAILS_AT] = _jsonb(values[_PG_DETAILS_AT])
    return values


# --- message rows, kept beside their receipts --------------------------------------

_MESSAGE_KEY = ["tenant_id", "message_id", "account_id", "phone"]
# What the rules write, with each column's type on PostgreSQL.
_MESSAGE_WRITE = (
    ("id", "text"), ("status", "text"), ("final", "bool"), ("provider_status", "text"),
    ("reason_class", "text"), ("retryable", "bool"), ("parts", "jsonb"), ("segments", "int4"),
    ("sequence", "int8"),
    ("submitted_at", "timestamptz"), ("reported_at", "timestamptz"),
    ("received_at", "timestamptz"), ("handset_latency_ms", "int8"),
    ("receipt_lag_ms", "int8"), ("out_of_order", "int4"), ("corrected", "bool"),
    ("status_receipt_id", "text"), ("first_receipt_id", "text"), ("last_receipt_id", "text"),
)
_MESSAGE_WRITE_NAMES = [c for c, _ in _MESSAGE_WRITE]
# A new row: what identifies it, what the rules made of its first receipts, and when.
_MESSAGE_NEW = (("tenant_id", "text"), ("account_id", "text"), ("provider", "text"),
                ("message_id", "text"), ("phone", "text"), *_MESSAGE_WRITE,
                ("created_at", "timestamptz"), ("updated_at", "timestamptz"))
_MESSAGE_NEW_NAMES = [c for c, _ in _MESSAGE_NEW]
# The order of a new row's values given to ``lock_messages``.
MESSAGE_NEW_COLUMNS = tuple(_MESSAGE_NEW_NAMES)
_PARTS_AT = _MESSAGE_NEW_NAMES.index("parts")
# What the lock returns of a row that existed: what identifies it, and what the rules
# read (the parts, or for a message reported whole, the status columns that are its one
# part).
_MESSAGE_LOCKED = ("id", "tenant_id", "account_id", "provider", "message_id", "phone", "parts",
                   "status", "status_receipt_id", "received_at", "reported_at",
                   "provider_status", "reason_class", "retryable", "sequence",
                   "segments", "submitted_at", "out_of_order", "corrected",
                   "first_receipt_id", "last_receipt_id", "created_at")
# Through stages, as receipts: built from the constant column lists above. The stage
# has one more column, ``ord``: each row's place in the order the caller gives (its
# key's). Sorting 10,000 rows by their four text key columns took PostgreSQL 20-30 ms
# (EXPLAIN ANALYZE), by one integer almost nothing. A row this statement inserted (xmax
# 0: no transaction updated it) is not returned: the caller has it, and reading back
# 10,000 new rows of a batch cost the worker more than writing them.
_MESSAGE_LOCK_STAGE = _Stage(
    "message", [*_MESSAGE_NEW_NAMES, "ord"], [*(t for _, t in _MESSAGE_NEW), "int4"], (
        f"WITH locked AS (INSERT INTO message ({', '.join(_MESSAGE_NEW_NAMES)}) "  # noqa: S608
        f"SELECT {', '.join(_MESSAGE_NEW_NAMES)} FROM message_lock_stage "
        # In the caller's order, whatever order the stage returns: the rows are locked
        # in that order.
        "ORDER BY ord "
        "ON CONFLICT (tenant_id, message_id, account_id, phone) "
        "DO UPDATE SET updated_at = message.updated_at "
        "RETURNING message.xmax <> 0 AS existed, "
        f"{', '.join(f'message.{c}' for c in _MESSAGE_LOCKED)}"
        f") SELECT {', '.join(_MESSAGE_LOCKED)} FROM locked WHERE existed"),
    name="message_lock_stage")
# An update finds its row by the key (the primary key): the id has no index of its own.
_MESSAGE_UPDATE = (*((c, "text") for c in _MESSAGE_KEY), *_MESSAGE_WRITE[1:],
                   ("updated_at", "timestamptz"))
_MESSAGE_UPDATE_NAMES = [c for c, _ in _MESSAGE_UPDATE]
_MESSAGE_WRITE_STAGE = _Stage("message", _MESSAGE_UPDATE_NAMES, [t for _, t in _MESSAGE_UPDATE], (
    "UPDATE message AS m SET "  # noqa: S608
    + ", ".join(f"{c} = v.{c}" for c in _MESSAGE_UPDATE_NAMES[len(_MESSAGE_KEY):])
    + " FROM message_write_stage AS v WHERE "
    + " AND ".join(f"m.{c} = v.{c}" for c in _MESSAGE_KEY)), name="message_write_stage")


def message_new_values(row: dict[str, Any], now: datetime) -> list[Any]:
    """Return a new message row (a dict, made ``now``) as ``lock_messages`` takes it."""
    return [row[c] for c in _MESSAGE_NEW_NAMES[:-2]] + [now, now]


def lock_messages(session: Session, rows: list[list[Any]]) -> list[dict[str, Any]]:
    """Insert the message rows that are missing, lock every one of ``rows``; return those
    that existed.

    One statement for the batch: an upsert whose update is a no-op, so that a row another
    transaction holds is waited for and returned as that one committed it. ``rows`` are
    new rows, each its values in ``MESSAGE_NEW_COLUMNS`` order (``parts`` a dict or
    None), one per key, in the order to lock them: every caller must give the same
    order for the same keys (``track``: by account, message id and phone), so that two
    workers never deadlock. A row not returned was inserted as given; each row returned
    has the columns of ``_MESSAGE_LOCKED`` as stored before this statement.
    """
    if not rows:
        return []
    if is_postgresql(session):
        locked = _MESSAGE_LOCK_STAGE.write(
            session, (_lock_row(r, i) for i, r in enumerate(rows)))
        return [dict(zip(_MESSAGE_LOCKED, row, strict=True)) for row in locked]
    stmt = sqlite.insert(MESSAGE_TABLE).on_conflict_do_update(
        index_elements=_MESSAGE_KEY, set_={"updated_at": MESSAGE_TABLE.c.updated_at})
    returning = stmt.returning(*(MESSAGE_TABLE.c[c] for c in _MESSAGE_LOCKED))
    # One writer at a time on SQLite: no two transactions wait for each other's rows.
    values = [dict(zip(_MESSAGE_NEW_NAMES, r, strict=True)) for r in rows]
    given = {r["id"] for r in values}
    return [dict(r._mapping) for r in session.execute(returning, values)
            if r.id not in given]


def _lock_row(values: list[Any], place: int) -> list[Any]:
    """Return a new message row's values as the lock's stage takes them: its ``parts``
    document for jsonb, and its place in the lock order."""
    row = [*values, place]
    if row[_PARTS_AT] is not None:
        row[_PARTS_AT] = _jsonb(row[_PARTS_AT])
    return row


def write_messages(session: Session, rows: list[dict[str, Any]], now: datetime) -> None:
    """Write what the rules made of locked message rows, in one statement.

    Each row has the key and the columns of ``_MESSAGE_WRITE`` but the id, which does
    not change (``parts`` a dict or None).
    """
    if not rows:
        return
    if is_postgresql(session):
        _MESSAGE_WRITE_STAGE.write(session, (_message_values({**r, "updated_at": now},
                                                             _MESSAGE_UPDATE_NAMES)
                                             for r in rows))
        return
    table = MESSAGE_TABLE
    # executemany: sqlite3 runs the one prepared statement for every row, in C.
    stmt = (update(table).where(*(table.c[c] == bindparam(f"b_{c}") for c in _MESSAGE_KEY))
            .values({**{c: bindparam(f"b_{c}") for c in _MESSAGE_WRITE_NAMES[1:]},
                     "updated_at": now}))
    session.execute(stmt, [{f"b_{c}": r[c] for c in (*_MESSAGE_KEY, *_MESSAGE_WRITE_NAMES[1:])}
                           for r in rows])


def _message_values(row: dict[str, Any], names: Sequence[str]) -> list[Any]:
    values = [row[c] for c in names]
    if row["parts"] is not None:
        values[names.index("parts")] = _jsonb(row["parts"])
    return values


def _raw(session: Session) -> psycopg.Connection[Any]:
    conn = session.connection().connection.driver_connection
    assert isinstance(conn, psycopg.Connection)
    return conn


# --- the relay's writes: a claim's leases, the attempts, what they left each delivery ---

# One statement each, the rows sent as one binary array per column (%b: psycopg's text
# arrays cost the client twice the CPU). Not through a stage, as ingest's thousands of
# rows are: a relay pass writes about a hundred, and each commit of a transaction that
# used a stage empties every ON COMMIT DELETE ROWS table of the connection, the ingest
# stages of the same worker's connection included. That cost PostgreSQL more than the
# rows: bench/relay --compare af1ba69 (17:33) measured 0.364 ms of its CPU per delivery
# through stages, against 0.110 for an executemany.
_LEASE_SQL = (
    "UPDATE delivery AS d SET next_attempt_at = v.next_attempt_at "
    "FROM unnest(%b::text[], %b::timestamptz[]) AS v(id, next_attempt_at) WHERE d.id = v.id")
ATTEMPT_COLUMNS = ("id", "delivery_id", "tenant_id", "at", "status_code", "latency_ms",
                   "error", "response_excerpt")
_ATTEMPT_SQL = (
    f"INSERT INTO attempt ({', '.join(ATTEMPT_COLUMNS)}) "  # noqa: S608
    "SELECT * FROM unnest(%b::text[], %b::text[], %b::text[], %b::timestamptz[], "
    "%b::int4[], %b::float8[], %b::text[], %b::text[])")
SETTLE_COLUMNS = ("id", "status", "attempts", "last_status_code", "last_error",
                  "next_attempt_at")
_SETTLE_SQL = (
    "UPDATE delivery AS d SET "  # noqa: S608
    + ", ".join(f"{c} = v.{c}" for c in SETTLE_COLUMNS[1:])
    + ", updated_at = %b FROM unnest(%b::text[], %b::text[], %b::int4[], %b::int4[], "
    f"%b::text[], %b::timestamptz[]) AS v({', '.join(SETTLE_COLUMNS)}) WHERE d.id = v.id")


def _by_column(rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """Return ``rows`` as one list per column (psycopg sends each as an array)."""
    return [list(c) for c in zip(*rows, strict=True)]


def lease_deliveries(session: Session, leases: Sequence[tuple[str, datetime]]) -> None:
    """Set each delivery's next_attempt_at, by id: (id, when) pairs, in one statement.

    An executemany runs the UPDATE once per row: a pass of 100 deliveries spent more
    of the relay's CPU on those executions than on the rows (bench/relay_pass.py).
    """
    if not leases:
        return
    if is_postgresql(session):
        _raw(session).execute(_LEASE_SQL, _by_column(leases))
        return
    table = DELIVERY_TABLE
    session.execute(update(table).where(table.c.id == bindparam("b_id"))
                    .values(next_attempt_at=bindparam("b_at")),
                    [{"b_id": i, "b_at": at} for i, at in leases])


def insert_attempts(session: Session, rows: Sequence[Sequence[Any]]) -> None:
    """Insert attempt rows, each its values in ``ATTEMPT_COLUMNS`` order."""
    if not rows:
        return
    if is_postgresql(session):
        _raw(session).execute(_ATTEMPT_SQL, _by_column(rows))
        return
    session.execute(ATTEMPT_TABLE.insert(),
                    [dict(zip(ATTEMPT_COLUMNS, r, strict=True)) for r in rows])


def settle_deliveries(session: Session, rows: Sequence[Sequence[Any]], now: datetime) -> None:
    """Write what attempts left their deliveries, each row in ``SETTLE_COLUMNS`` order;
    ``now`` is their updated_at."""
    if not rows:
        return
    if is_postgresql(session):
        _raw(session).execute(_SETTLE_SQL, [now, *_by_column(rows)])
        return
    table = DELIVERY_TABLE
    session.execute(update(table).where(table.c.id == bindparam("b_id")).values(
        {**{c: bindparam(f"b_{c}") for c in SETTLE_COLUMNS[1:]}, "updated_at": now}),
        [{f"b_{c}": v for c, v in zip(SETTLE_COLUMNS, r, strict=True)} for r in rows])


# --- ingest's inbox rows, done ----------------------------------------------------------

_PROCESSED_SQL = (
    "UPDATE inbound_callback AS i SET state = 'processed', reason = NULL, "
    "processed_at = %b, receipts = v.receipts, attempts = v.attempts "
    "FROM unnest(%b::text[], %b::int4[], %b::int4[]) AS v(id, receipts, attempts) "
    "WHERE i.id = v.id")


def mark_processed(session: Session, rows: Sequence[tuple[str, int, int]],
                   now: datetime) -> None:
    """Mark inbox rows processed at ``now``: (id, receipts, attempts), one statement.

    An executemany ran the UPDATE once per row: at batch 1, with about a hundred
    callbacks a task, 32 us of the worker's CPU and 38-46 us of PostgreSQL's per
    callback, more than storing its receipt; as one statement 6-7 and 26-28
    (``bench/ingest_batch.py --phases``; bench/README.md, "One ingest batch in process").
    """
    if not rows:
        return
    if is_postgresql(session):
        _raw(session).execute(_PROCESSED_SQL, [now, *_by_column(rows)])
        return
    table = INBOX_TABLE
    session.execute(update(table).where(table.c.id == bindparam("b_id")).values(
        state="processed", reason=None, processed_at=now, receipts=bindparam("b_receipts"),
        attempts=bindparam("b_attempts")),
        [{"b_id": i, "b_receipts": n, "b_attempts": a} for i, n, a in rows])


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


# --- expected messages ----------------------------------------------------------------

def insert_expectations(session: Session, rows: list[dict[str, Any]]) -> set[str]:
    """Insert expectation rows in bulk, skipping sends already registered; return the ids.

    A send is already registered when its (account_id, message_id, phone_key) is; no
    two ``rows`` may share one. On PostgreSQL the rows are first copied straight into
    the table (binary COPY, which writes heap pages a batch at a time), inside a
    savepoint: most chunks hold no send registered before, and that is all they cost.
    A chunk that does (a client resending after a time-out, two uploads racing) hits
    the unique key; the savepoint is rolled back and the chunk goes through a stage and
    INSERT ... SELECT ... ON CONFLICT DO NOTHING instead, which skips the registered
    ones. (A multi-row VALUES of a thousand rows would spend more time in the driver
    than in the database.)
    """
    if not rows:
        return set()
    table = EXPECTATION_TABLE
    if is_postgresql(session):
        values = [_exp_values(row) for row in rows]
        if _copy_all_new(session, values):
            return {row["id"] for row in rows}
        return {r[0] for r in _EXPECTATION_STAGE.write(session, values)}
    stmt = sqlite.insert(table).on_conflict_do_nothing(
        index_elements=["account_id", "message_id", "phone_key"]).returning(table.c.id)
    return set(session.execute(stmt, rows).scalars().all())


def _copy_all_new(session: Session, values: list[Sequence[Any]]) -> bool:
    """COPY expectation rows into the table; False (and nothing written) if one exists."""
    with _raw(session).cursor() as cur:
        cur.execute("SAVEPOINT expectation_copy")
        try:
            with cur.copy(_EXP_COPY) as copy:
                copy.set_types(_EXP_TYPES)
                for row in values:
                    copy.write_row(row)
        except psycopg.errors.UniqueViolation:
            cur.execute("ROLLBACK TO SAVEPOINT expectation_copy")
            return False
        cur.execute("RELEASE SAVEPOINT expectation_copy")
        return True


_EXP_NAMES = [c.name for c in EXPECTATION_TABLE.columns]
_EXP_TYPES = ["timestamptz" if isinstance(c.type, UTCDateTime) else "text"
              for c in EXPECTATION_TABLE.columns]
_EXP_LIST = ", ".join(_EXP_NAMES)
_EXP_COPY = f"COPY expectation ({_EXP_LIST}) FROM STDIN (FORMAT BINARY)"
# A row's values in column order, picked in C.
_exp_values = itemgetter(*_EXP_NAMES)
# Through a stage, as receipts: built from the table's own column names.
_EXPECTATION_STAGE = _Stage("expectation", _EXP_NAMES, _EXP_TYPES, (
    f"INSERT INTO expectation ({_EXP_LIST}) SELECT {_EXP_LIST} "  # noqa: S608
    "FROM expectation_stage ON CONFLICT (account_id, message_id, phone_key) DO NOTHING "
    "RETURNING id"))


_EXPECTATION_COLUMNS: dict[str, TypeEngine[Any]] = {
    "id": String(), "tenant_id": String(), "account_id": String(), "provider": String(),
    "message_id": String(), "phone": String(), "template": String(), "reference": String(),
    "sent_at": UTCDateTime(), "deadline_at": UTCDateTime(), "horizon_at": UTCDateTime(),
}
# The sweep's two steps: (partial index, the rows it holds, the order, the change).
_EXPECTATION_STEPS = {
    "missing": ("ix_expectation_due", "state = 'pending'", "deadline_at",
                "state = 'missing', missing_at = :now"),
    "horizon": ("ix_expectation_horizon", "state = 'missing' AND synthetic_at IS NULL",
                "horizon_at", "synthetic_at = :now"),
}


def claim_expectations(session: Session, step: str) -> TextualSelect:
    """Return the UPDATE that moves one batch of overdue expectations on, RETURNING them.

    ``step`` is ``missing`` (pending past the deadline: marked missing) or ``horizon``
    (missing without its synthetic status past the horizon: marked sent); bound
    parameters ``:now`` and ``:limit``. One statement per batch, reading only the
    step's partial index in its order: its WHERE is written as a literal for the index
    to match, SQLite is told the index (without statistics it may scan the table), and
    on PostgreSQL rows another sweeper holds are skipped. The outer WHERE repeats the
    state, so a row that changed since it was read is not moved (or emitted) twice.
    """
    index, rows, order, change = _EXPECTATION_STEPS[step]
    postgres = is_postgresql(session)
    hint = "" if postgres else f" INDEXED BY {index}"
    lock = " FOR UPDATE SKIP LOCKED" if postgres else ""
    returning = ", ".join(_EXPECTATION_COLUMNS)
    # Built from the constants above only; the values are bound parameters.
    return (sql_text(
        f"UPDATE expectation SET {change} WHERE id IN ("  # noqa: S608
        f"SELECT id FROM expectation{hint} WHERE {rows} AND {order} <= :now "
        f"ORDER BY {order} LIMIT :limit{lock}) AND {rows} RETURNING {returning}")
        .bindparams(bindparam("now", type_=UTCDateTime()))
        .columns(**_EXPECTATION_COLUMNS))
# --- rewriting the derived columns of stored receipts (``dlrhub receipt reclassify``) ---

_FACT_TYPES = (("reason_class", String(40)), ("retryable", Boolean()),
               ("country", String(2)), ("carrier", String(40)))


def update_receipt_facts(session: Session, rows: list[dict[str, Any]]) -> None:
    """Set reason_class, retryable, country and carrier of receipts by id, in one statement.

    ``rows`` hold ``id`` and the four columns. PostgreSQL joins the receipts to a VALUES
    list (one UPDATE ... FROM); SQLite runs one UPDATE by primary key, executemany.
    """
    if not rows:
        return
    table = RECEIPT_TABLE
    names = [name for name, _ in _FACT_TYPES]
    if is_postgresql(session):
        given = values(column("id", String(40)),
                       *(column(name, kind) for name, kind in _FACT_TYPES),
                       name="given").data([(r["id"], *(r[n] for n in names)) for r in rows])
        session.execute(update(table).where(table.c.id == given.c.id)
                        .values({n: given.c[n] for n in names}))
        return
    session.execute(update(table).where(table.c.id == bindparam("row_id"))
                    .values({n: bindparam(f"new_{n}") for n in names}),
                    [{"row_id": r["id"], **{f"new_{n}": r[n] for n in names}} for r in rows])


def insert_ignore(session: Session, table: Table) -> Any:
    """Return an INSERT into ``table`` that skips a row whose key is already there."""
    if is_postgresql(session):
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()
