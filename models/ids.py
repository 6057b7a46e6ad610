"""Prefixed, time-sortable ids (``evt_01J…``) and UTC clocks."""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime

# Crockford's base32 alphabet, which sorts the way the bits do.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# A random byte to one character, its low five bits: 256 is 8 x 32, so each character
# is equally likely.
_RANDOM_CHAR = bytes(_ALPHABET[b & 31].encode()[0] for b in range(256))
# The time part of the last millisecond an id was made in (ids come in batches).
_last: tuple[int, str] = (-1, "")
# Random characters are drawn from the system's generator this many at a time (256
# ids' worth): one getrandom call per id cost more than the rest of the id.
_POOL = 16 * 256


class _Pool(threading.local):
    """This thread's random characters not yet used, and where the next id's start.

    Per thread, so that two threads never take the same characters; emptied in a forked
    child (``os.register_at_fork``), so that a worker never makes its parent's ids.
    """

    chars = ""
    at = _POOL


_pool = _Pool()


def _forked() -> None:
    global _pool
    _pool = _Pool()


os.register_at_fork(after_in_child=_forked)


def new_id(prefix: str) -> str:
    """Return ``prefix_`` and 26 characters: 50 bits of time, then 80 random bits.

    The first 10 characters are the milliseconds since the epoch (48 bits) and two zero
    bits, so that ids sort by creation time, which keeps cursor pages and b-tree inserts
    in order; the last 16 are random, from the system's generator (``os.urandom``), read
    and encoded 256 ids at a time (``bytes.translate``, in C); the time part is made once
    a millisecond: ingest makes an id per receipt. Ids made before had the same first 48
    bits, so old and new ids sort together.
    """
    global _last
    millis = time.time_ns() // 1_000_000
    if _last[0] != millis:
        _last = (millis, time_part(millis))
    pool = _pool
    at = pool.at
    if at >= _POOL:
        pool.chars = os.urandom(_POOL).translate(_RANDOM_CHAR).decode()
        at = 0
    pool.at = at + 16
    return f"{prefix}_{_last[1]}{pool.chars[at:at + 16]}"


def time_part(millis: int) -> str:
    """Return the 10 characters of an id made at ``millis`` (48 bits, then two zero bits)."""
    n = millis << 2
    return "".join(_ALPHABET[(n >> shift) & 31] for shift in range(45, -1, -5))


def utcnow() -> datetime:
    """Return the current time, UTC-aware."""
    return datetime.now(UTC)
