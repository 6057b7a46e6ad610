"""A lock that only one process holds at a time, across every worker of one database.

The beat sends the purge every ``DLRHUB_PURGE_INTERVAL``; a run that lasts longer than
that, or two beats (one per host of a stack), would have two purges work at once, on
the same rows. On PostgreSQL the lock is a session advisory lock, seen by every worker
whatever host it runs on; on SQLite, whose database is a file of one host, a ``flock``
on a file beside the data. The kernel and PostgreSQL let go of it however a process
ends, so a killed purge never leaves it held.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, text


def advisory_key(name: str) -> int:
    """Return the 64-bit advisory lock key of ``name``."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextlib.contextmanager
def only_one(engine: Engine, name: str, folder: Path) -> Iterator[bool]:
    """Yield True while this process holds the lock ``name``; False if another holds it."""
    if engine.dialect.name == "postgresql":
        key = advisory_key(name)
        with engine.connect() as conn:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:key)"),
                                    {"key": key}).scalar_one())
            conn.commit()
            try:
                yield got
            finally:
                if got:
                    conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                    conn.commit()
        return
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # closing lets go of the lock
