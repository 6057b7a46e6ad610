"""Per-key request rate limits of the tenant API: GCRA, in Redis or in the process.

The generic cell rate algorithm keeps one number per key, the theoretical arrival time
(TAT) of its next request: each request admitted moves it on by ``1 / rate`` seconds,
and a request is refused while the TAT is more than ``burst`` requests ahead of now.
A key may so make ``burst`` requests at once, then ``rate`` a second, and a refusal
says exactly when the next request would pass (``Retry-After``).

With Redis as the broker the TAT lives in Redis, updated by one script in one round
trip, so every API process of every machine shares each key's limit. The embedded
default (file broker) keeps it in each API process: a key may then get up to
``DLRHUB_API_WORKERS`` times its limit, the price of needing no server. Callbacks are
never limited: they are the data.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import redis
from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from dlrhub.models import API_REFUSAL_TABLE, utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Limit:
    """``rate`` requests a second, ``burst`` of them at once."""

    rate: float
    burst: int

    @classmethod
    def of(cls, rate: float, burst_seconds: float) -> Limit:
        """Return the limit of ``rate`` a second with ``burst_seconds`` of it at once."""
        return cls(rate, max(1, math.ceil(rate * burst_seconds)))


class Limiter(Protocol):
    """Admit or refuse one request of a key."""

    def take(self, key: str, limit: Limit) -> float:
        """Admit a request (0.0) or return the seconds until one would be admitted."""
        ...


_EPSILON = 1e-9


def decide(tat: float, now: float, limit: Limit) -> tuple[float, float]:
    """Return (seconds to wait, the new TAT) for a request at ``now``; 0 wait admits it.

    ``tat`` is the key's stored TAT (0 for a key not seen). Refused, the TAT stays.
    """
    interval = 1.0 / limit.rate
    tat = max(tat, now)
    # Admitted while the TAT is at most burst - 1 intervals ahead of now.
    wait = tat - now - (limit.burst - 1) * interval
    if wait > _EPSILON:  # the TAT is a sum of intervals: rounding must not refuse
        return wait, tat
    return 0.0, tat + interval


class MemoryLimiter:
    """The TATs in this process, for the embedded default; the oldest keys are forgotten."""

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 100_000) -> None:
        self._clock = clock
        self._max_keys = max_keys
        self._tats: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str, limit: Limit) -> float:
        """Admit a request (0.0) or return the seconds until one would be admitted."""
        now = self._clock()
        with self._lock:
            wait, tat = decide(self._tats.get(key, 0.0), now, limit)
            self._tats[key] = tat
            self._tats.move_to_end(key)
            while len(self._tats) > self._max_keys:
                # A key not seen for longest: its TAT is long past, it would start afresh.
                self._tats.popitem(last=False)
        return wait


# KEYS[1]: the key's TAT (ms); ARGV: interval (ms), burst. Redis's own clock, so that
# every API machine judges by one time. Returns the wait in ms, 0 if admitted.
_GCRA = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - now - (burst - 1) * interval
if wait > 0 then return wait end
redis.call('SET', KEYS[1], tat + interval, 'PX', math.ceil(tat + interval - now) + 1000)
return 0
"""


class RedisLimiter:
    """The TATs in Redis, shared by every API process; admits all while Redis is away."""

    def __init__(self, url: str, prefix: str = "dlrhub:ratelimit:") -> None:
        self._client = redis.Redis.from_url(url, socket_timeout=0.5,
                                            socket_connect_timeout=0.5)
        self._script = self._client.register_script(_GCRA)
        self._prefix = prefix
        self._warned = False

    def take(self, key: str, limit: Limit) -> float:
        """Admit a request (0.0) or return the seconds until one would be admitted."""
        interval = max(1, round(1000 / limit.rate))
        try:
            wait_ms = self._script(keys=[self._prefix + key], args=[interval, limit.burst])
        except redis.RedisError as ex:
            # A limiter that is down must not take the API down with it.
            if not self._warned:
                log.warning("rate limits are not enforced: Redis is unreachable (%s)",
                            type(ex).__name__)
                self._warned = True
            return 0.0
        self._warned = False
        return int(wait_ms) / 1000

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()


class RefusalLog:
    """Record which tenants' keys are refused, for the operator (admin events).

    A refusal costs no database write of its own: each process writes a tenant's row
    at most every ``every`` seconds, adding the refusals it counted meanwhile, so a
    script hammering the API costs the database one upsert per few seconds, not one per
    request. A write that fails is logged once and the counts wait for the next.
    """

    def __init__(self, engine: Engine, every: float = 5.0,
                 clock: Callable[[], float] = time.monotonic,
                 now: Callable[[], datetime] = utcnow) -> None:
        self._engine = engine
        self._every = every
        self._clock = clock
        self._now = now
        self._pending: dict[str, int] = {}
        self._written: dict[str, float] = {}
        self._lock = threading.Lock()
        self._warned = False

    def note(self, tenant_id: str) -> None:
        """Count one refusal of the tenant's keys; write the count when it is time."""
        at = self._clock()
        with self._lock:
            self._pending[tenant_id] = self._pending.get(tenant_id, 0) + 1
            if at - self._written.get(tenant_id, float("-inf")) < self._every:
                return
            count = self._pending.pop(tenant_id)
            self._written[tenant_id] = at
        self._write(tenant_id, count)

    def _write(self, tenant_id: str, count: int) -> None:
        now = self._now()
        table = API_REFUSAL_TABLE
        stmt = (postgresql.insert(table) if self._engine.dialect.name == "postgresql"
                else sqlite.insert(table))
        stmt = stmt.values(tenant_id=tenant_id, first_at=now, last_at=now, refusals=count)
        # A tenant refused again after a quiet spell starts a new episode.
        stmt = stmt.on_conflict_do_update(index_elements=["tenant_id"], set_={
            "last_at": stmt.excluded.last_at,
            "refusals": table.c.refusals + stmt.excluded.refusals})
        try:
            with self._engine.begin() as conn:
                conn.execute(stmt)
        except SQLAlchemyError as ex:
            with self._lock:
                self._pending[tenant_id] = self._pending.get(tenant_id, 0) + count
            if not self._warned:
                log.warning("could not record rate-limit refusals (%s)", type(ex).__name__)
                self._warned = True


def limiter_for(broker_url: str | None) -> Limiter:
    """Return the limiter of a deployment: Redis where the broker is, else in-process."""
    if broker_url and broker_url.startswith(("redis://", "rediss://", "unix://")):
        return RedisLimiter(broker_url)
    return MemoryLimiter()
