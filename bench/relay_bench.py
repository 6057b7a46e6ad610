"""The relay benchmark of dlrhub; run it as ``bench/relay`` (see bench/README.md).

For one stack (``dlrhub api`` + ``dlrhub worker`` on PostgreSQL and Redis, or
``dlrhub serve`` on the embedded SQLite + file broker) and each endpoint
``batch_size`` (1 and 100) it measures how events stored by dlrhub reach a fast local
customer endpoint (``customer_app.py``):

1. **Drain.** With ``DLRHUB_WORKER_QUEUES=ingest`` (receipts stored and deliveries
   planned, nothing relayed) it builds a backlog of pending deliveries, then restarts
   the worker (or ``serve``) with the default queues and times the relay until the
   customer has every event: deliveries/s and events/s. A paced probe of 1-record
   callbacks measures the API's latency on the idle stack just before, and again
   while the backlog drains.
2. **Half load.** With the whole stack running it offers callbacks at half the
   target rate and reads, at the customer, the latency of each event from the
   callback's reception by dlrhub (``received_at``) to its arrival.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import json
import math
import os
import platform
import resource
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

import compare
import procstat
from ingest_bench import (
    HOST,
    PIPELINE,
    PROTECTED_DATABASES,
    SHANGHAI,
    Cpu,
    PgCounts,
    Processes,
    SqliteCounts,
    _n,
    _versions,
    add_stack_options,
    free_port,
    pg_url,
    product_code,
    reset_stores,
    stack_env,
    wait_http,
    wait_quiet,
)
from runs import BENCH, ROOT, in_venv, signals_raise, write_report

T = TypeVar("T")

# The targets, 2 cores, endpoint on the same box.
TARGET_EVENTS = {1: 1_000, 100: 20_000}  # batch_size → events/s (= deliveries/s at 1)
TARGET_P99_MS = 1_000.0  # callback → customer p99 at half the target load
TARGET_BACKLOG = 100_000  # pending deliveries drained without the API slowing down
# "Without the API slowing down": the probe's p99 during the drain is at most this many
# times its p99 on the idle stack, plus this many ms (room for noise at small values),
# and no probe request fails.
SLOWDOWN_FACTOR = 2.0
SLOWDOWN_MS = 10.0
RELAY_QUEUE = "relay"  # the Celery queue of the relay tasks (tasks/app.py)

QUICK = {"backlog": 5_000, "backlog_batched": 20_000, "probe_seconds": 4,
         "half_warmup": 2, "half_duration": 6, "drain_timeout": 60, "half_timeout": 30,
         "stall_timeout": 20, "quiet_wait": 5}
FULL = {"backlog": TARGET_BACKLOG, "backlog_batched": 300_000, "probe_seconds": 10,
        "half_warmup": 5, "half_duration": 20, "drain_timeout": 900, "half_timeout": 120,
        "stall_timeout": 120, "quiet_wait": 60}


# --- command line ----------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Read the command line."""
    p = argparse.ArgumentParser(
        prog="bench/relay", formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Measure dlrhub's relay: stored events delivered to a fast local endpoint\n"
            "(bench/customer_app.py), at endpoint batch_size 1 and 100. Per batch size: a\n"
            "backlog of pending deliveries drained (deliveries/s, events/s, the API's\n"
            "latency idle vs while draining), then callback -> customer latency at half\n"
            "the target load. Starts and stops every server itself; see bench/README.md.\n\n"
            "Targets (2 cores, endpoint on the same box): >= 1,000 deliveries/s at\n"
            "batch_size 1, >= 20,000 events/s at batch_size 100, callback -> customer\n"
            "p99 < 1 s at half that load, 100,000 pending deliveries drained without\n"
            "the API slowing down."),
        epilog=(
            "--stack postgres DROPS and recreates the database --database and FLUSHES\n"
            "the Redis database --redis. Results: a Markdown table on stdout and in\n"
            "bench/results/relay-<stack>-<timestamp>.md."))
    p.add_argument("--stack", choices=["postgres", "embedded"], default="postgres",
                   help="postgres: dlrhub api + worker on PostgreSQL and Redis (default); "
                        "embedded: dlrhub serve on SQLite and the file broker")
    p.add_argument("--quick", action="store_true",
                   help="small backlogs and short runs (about 1-2 minutes per stack) to "
                        "check that everything works; not the benchmark's figures")
    p.add_argument("--batch-sizes", default="1,100",
                   help="endpoint batch_size values, comma-separated (default 1,100)")
    p.add_argument("--backlog", type=int,
                   help=f"events (= pending deliveries) of the batch_size 1 backlog "
                        f"(default {FULL['backlog']:,}; --quick {QUICK['backlog']:,})")
    p.add_argument("--backlog-batched", type=int,
                   help=f"events of the backlog at a batch_size above 1 (default "
                        f"{FULL['backlog_batched']:,}; --quick {QUICK['backlog_batched']:,})")
    p.add_argument("--records", type=int, default=100,
                   help="records per callback while building a backlog (default 100)")
    p.add_argument("--post-concurrency", type=int, default=8,
                   help="concurrent POSTs while building a backlog (default 8)")
    p.add_argument("--probe-rate", type=float, default=100,
                   help="callbacks/s (1 record each) of the API probe, idle and during "
                        "the drain (default 100)")
    p.add_argument("--probe-seconds", type=float,
                   help="length of the idle probe, s (default 10; --quick 4)")
    p.add_argument("--half-load", type=float, default=0.5,
                   help="share of the target offered in the latency run (default 0.5)")
    p.add_argument("--half-callbacks", type=float, default=100,
                   help="callbacks/s of the latency run; records per callback = events/s "
                        "÷ this (default 100: 5 records at batch_size 1, 100 at 100)")
    p.add_argument("--half-warmup", type=float, help="warm-up of the latency run, s "
                   "(default 5; --quick 2)")
    p.add_argument("--half-duration", type=float, help="measured latency run, s "
                   "(default 20; --quick 6)")
    p.add_argument("--drain-timeout", type=float,
                   help="longest wait for a backlog to reach the customer, s "
                        "(default 900; --quick 60)")
    p.add_argument("--half-timeout", type=float,
                   help="longest wait after the latency run for its events, s "
                        "(default 120; --quick 30)")
    p.add_argument("--stall-timeout", type=float,
                   help="give up a wait when no new event arrived for this long, s "
                        "(default 120; --quick 20)")
    p.add_argument("--ingest-timeout", type=float, default=900,
                   help="longest wait for a backlog to be stored, s (default 900)")
    p.add_argument("--timeout", type=float, default=10,
                   help="seconds before a callback POST counts as failed (default 10)")
    add_stack_options(p)
    p.add_argument("--quiet-busy", type=float, default=0.15,
                   help="before each measured phase, wait until the machine is at most "
                        "this busy (share of all cores, default 0.15)")
    p.add_argument("--quiet-wait", type=float,
                   help="longest wait for that, s (default 60; --quick 5)")
    p.add_argument("--no-drain-probe", dest="drain_probe", action="store_false",
                   help="no API probe during the drain: its CPU is then the relay's alone "
                        "(the probe's callbacks are ingested by the same worker)")
    p.add_argument("--compare", metavar="REF",
                   help="also run git revision REF (from a temporary worktree), "
                        "interleaved with this tree, and report both revisions' drains "
                        "(rates and CPU per delivered event) and their ratio; implies "
                        "--no-drain-probe and skips the latency run (see bench/compare.py)")
    p.add_argument("--rounds", type=int, default=2,
                   help="with --compare: runs of each revision, in A B B A order "
                        "(default 2)")
    p.add_argument("--results", type=Path, default=BENCH / "results",
                   help="folder of the Markdown result files (default bench/results)")
    p.add_argument("--keep", action="store_true",
                   help="keep the work folder (server logs, the embedded data)")
    args = p.parse_args(argv)
    if args.compare:
        args.drain_probe = False
    for name, value in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    try:
        args.batch_size_list = sorted({int(b) for b in args.batch_sizes.split(",")
                                       if b.strip()})
    except ValueError:
        p.error("--batch-sizes takes numbers, e.g. 1,100")
    if not args.batch_size_list or not all(1 <= b <= 100 for b in args.batch_size_list):
        p.error("--batch-sizes takes numbers from 1 to 100 (the endpoint's limits)")
    for name in ("backlog", "backlog_batched", "records", "post_concurrency", "api_workers",
                 "api_threads", "worker_concurrency", "rounds"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    for name in ("probe_rate", "probe_seconds", "half_load", "half_callbacks",
                 "half_duration", "drain_timeout", "half_timeout", "stall_timeout",
                 "timeout"):
        if getattr(args, name) <= 0:
            p.error(f"--{name.replace('_', '-')} must be positive")
    if args.database in PROTECTED_DATABASES:
        p.error(f"refusing to drop the database {args.database!r}; pick another --database")
    return args


# --- callbacks and the load client -----------------------------------------------------

# A Tencent status report, as bench/wrkload.py's Lua builds it: one record in ten FAIL.
_OK_RECORD = ('{"user_receive_time":"%s","nationcode":"86","mobile":"138%08d",'
              '"report_status":"SUCCESS","errmsg":"DELIVRD","description":"ok","sid":"%s-%d"}')
_FAIL_RECORD = ('{"user_receive_time":"%s","nationcode":"86","mobile":"138%08d",'
                '"report_status":"FAIL","errmsg":"MK:0001","description":"user busy",'
                '"sid":"%s-%d"}')
_HEADERS = {"Content-Type": "application/json"}


def callback_body(run: str, n: int, records: int) -> bytes:
    """Return callback ``n`` of ``run``: ``records`` unique status reports (sid run-n-i)."""
    stamp = datetime.now(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
    prefix = f"{run}-{n}"
    parts = []
    for i in range(records):
        k = n * records + i
        template = _FAIL_RECORD if k % 10 == 9 else _OK_RECORD
        parts.append(template % (stamp, (k * 7919) % 100_000_000, prefix, i))
    return ("[" + ",".join(parts) + "]").encode()


def _percentile(ordered: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list (NaN when empty)."""
    if not ordered:
        return math.nan
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


@dataclass
class Load:
    """What one run of callbacks got from the API; latencies in ms."""

    rate: float  # offered callbacks/s (0: as fast as the concurrency allows)
    records: int  # per callback
    planned: int = 0  # callbacks due in the run
    ok: int = 0  # answered 200
    bad: int = 0  # answered something else
    errors: int = 0  # no answer (connection error, timeout)
    skipped: int = 0  # due while too many were in flight: not sent
    seconds: float = 0.0  # first send to last answer
    span: float = 0.0  # a paced run's schedule: callbacks due ÷ rate
    max_lag_ms: float = 0.0  # worst delay of a send behind its schedule (client side)
    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)

    def _p(self, p: float) -> float:
        return _percentile(self.latencies, p)

    @property
    def p50(self) -> float:
        """Return the median latency."""
        return self._p(50)

    @property
    def p90(self) -> float:
        """Return the 90th percentile latency."""
        return self._p(90)

    @property
    def p99(self) -> float:
        """Return the 99th percentile latency."""
        return self._p(99)

    @property
    def max(self) -> float:
        """Return the worst latency."""
        return self.latencies[-1] if self.latencies else math.nan

    @property
    def accepted_records(self) -> int:
        """Return the records of the callbacks answered 200."""
        return self.ok * self.records

    @property
    def ok_per_second(self) -> float:
        """Return the 200 answers per second (of a paced run: over its schedule)."""
        seconds = self.span or self.seconds
        return self.ok / seconds if seconds else 0.0

    @property
    def failed(self) -> int:
        """Return the callbacks not answered 200 (or not sent)."""
        return self.bad + self.errors + self.skipped


class Loader:
    """An asyncio loop in a thread of its own that posts callbacks with aiohttp.

    Running it beside the benchmark's main thread (which only sleeps and counts) keeps
    the schedule of a paced run independent of the polling.
    """

    def __init__(self, timeout: float) -> None:
        self._timeout = timeout
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="load",
                                        daemon=True)
        self._thread.start()
        self._session: Any = self.run(self._open())

    async def _open(self) -> Any:
        import aiohttp

        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=512, force_close=False),
            timeout=aiohttp.ClientTimeout(total=self._timeout), trust_env=False)

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Start ``coro`` on the loader's loop."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loader's loop and wait for its result."""
        return self.submit(coro).result()

    def close(self) -> None:
        """Close the HTTP session and stop the loop."""
        with contextlib.suppress(Exception):
            self.run(self._session.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    async def _post(self, url: str, body: bytes, load: Load, start: float) -> None:
        import aiohttp

        loop = asyncio.get_running_loop()
        try:
            async with self._session.post(url, data=body, headers=_HEADERS) as resp:
                await resp.read()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError, OSError):
            status = 0
        load.latencies.append((loop.time() - start) * 1000)
        load.statuses[status] += 1
        if status == 200:
            load.ok += 1
        elif status:
            load.bad += 1
        else:
            load.errors += 1

    async def post_many(self, url: str, *, run: str, count: int, records: int,
                        concurrency: int) -> Load:
        """Post ``count`` callbacks of ``records`` as fast as ``concurrency`` allows."""
        _check_loopback(url)
        load = Load(0.0, records, planned=count)
        loop = asyncio.get_running_loop()
        numbers = iter(range(count))
        started = loop.time()

        async def worker() -> None:
            for n in numbers:
                body = callback_body(run, n, records)
                await self._post(url, body, load, loop.time())

        await asyncio.gather(*(worker() for _ in range(min(concurrency, count))))
        load.seconds = loop.time() - started
        load.latencies.sort()
        return load

    async def paced(self, url: str, *, run: str, rate: float, records: int,
                    duration: float | None = None, stop: threading.Event | None = None,
                    max_in_flight: int = 512) -> Load:
        """Post callbacks at ``rate``/s for ``duration`` s (or until ``stop`` is set).

        Open loop: callback i is due at start + i/rate whatever the answers before it,
        and its latency runs from when it was due (a late send counts against the
        server, not hidden by it: no coordinated omission).
        """
        _check_loopback(url)
        load = Load(rate, records)
        loop = asyncio.get_running_loop()
        tasks: set[asyncio.Task[None]] = set()
        started = loop.time()
        n = 0
        while True:
            due = started + n / rate
            if (duration is not None and due - started >= duration) \
                    or (stop is not None and stop.is_set()):
                break
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            load.planned += 1
            if len(tasks) >= max_in_flight:
                load.skipped += 1
            else:
                load.max_lag_ms = max(load.max_lag_ms, (loop.time() - due) * 1000)
                task = loop.create_task(self._post(url, callback_body(run, n, records),
                                                   load, due))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            n += 1
        load.span = load.planned / rate
        if tasks:
            await asyncio.gather(*tasks)
        load.seconds = loop.time() - started
        load.latencies.sort()
        return load


def _check_loopback(url: str) -> None:
    if not url.startswith(f"http://{HOST}:"):
        raise ValueError(f"refusing to load anything but {HOST}: {url}")


# --- small HTTP helpers ----------------------------------------------------------------

def http_json(method: str, url: str, *, token: str | None = None,
              body: dict[str, Any] | None = None, timeout: float = 30) -> dict[str, Any]:
    """Send one JSON request to a loopback URL and return the JSON answer."""
    _check_loopback(url)
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
    except urllib.error.HTTPError as ex:
        raise RuntimeError(f"{method} {urlsplit(url).path} answered {ex.code}: "
                           f"{ex.read()[:500].decode(errors='replace')}") from ex
    except (urllib.error.URLError, OSError) as ex:
        raise RuntimeError(f"{method} {urlsplit(url).path} failed: {ex}") from ex
    doc: dict[str, Any] = json.loads(raw) if raw else {}
    return doc


# --- the database, seen from outside ---------------------------------------------------

_DELIVERIES = "SELECT status, count(*) FROM delivery WHERE endpoint_id = {p} GROUP BY status"
_ATTEMPTS = ("SELECT count(*), COALESCE(SUM(CASE WHEN a.status_code >= 200 AND "
             "a.status_code < 300 THEN 1 ELSE 0 END), 0) FROM attempt a "
             "JOIN delivery d ON d.id = a.delivery_id WHERE d.endpoint_id = {p}")

_STAGES = ("SELECT r.received_at, d.created_at, d.updated_at, d.status FROM delivery d "
           "JOIN receipt r ON r.id = {first} WHERE d.endpoint_id = {p} "
           "AND d.created_at >= {p} AND r.received_at >= {p}")


class _RelayCounts:
    """Delivery counts, on top of the ingest benchmark's receipt and inbox counts."""

    placeholder: str
    _conn: Any

    def deliveries(self, endpoint: str) -> dict[str, int]:
        """Return the endpoint's deliveries by status (pending, succeeded, failed, dead)."""
        rows = self._conn.execute(_DELIVERIES.format(p=self.placeholder),
                                  (endpoint,)).fetchall()
        out = {"pending": 0, "succeeded": 0, "failed": 0, "dead": 0}
        out.update({str(status): int(count) for status, count in rows})
        return out

    def attempts(self, endpoint: str) -> tuple[int, int]:
        """Return the endpoint's attempts: all, and those answered 2xx."""
        row = self._conn.execute(_ATTEMPTS.format(p=self.placeholder), (endpoint,)).fetchone()
        return (int(row[0]), int(row[1])) if row else (0, 0)


    _first_event: str  # the SQL of a delivery's first event id

    def stages(self, endpoint: str, since: float) -> tuple[list[float], list[float]]:
        """Split the latency of the deliveries of events received since ``since``.

        Per delivery, from its first event's ``received_at``: seconds until the
        delivery was planned (``created_at``: the ingest's part), and for those that
        succeeded, seconds from planned to settled (``updated_at``, after the
        customer's answer: the relay's part). Both lists come back sorted.
        """
        query = _STAGES.format(first=self._first_event, p=self.placeholder)
        stamp = self._stamp(since)
        ingest, relay = [], []
        for received, created, updated, status in self._conn.execute(
                query, (endpoint, stamp, stamp)).fetchall():
            r, c, u = _epoch(received), _epoch(created), _epoch(updated)
            ingest.append(c - r)
            if status == "succeeded":
                relay.append(u - c)
        return sorted(ingest), sorted(relay)

    def _stamp(self, epoch: float) -> Any:
        return datetime.fromtimestamp(epoch, UTC)


def _epoch(value: Any) -> float:
    """Return a timestamp read from either database as epoch seconds (naive = UTC)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return float(value.timestamp())


class PgRelayCounts(_RelayCounts, PgCounts):
    """Counts on PostgreSQL."""

    _first_event = "d.event_ids->>0"


class SqliteRelayCounts(_RelayCounts, SqliteCounts):
    """Counts on the embedded SQLite file."""

    _first_event = "json_extract(d.event_ids, '$[0]')"

    def _stamp(self, epoch: float) -> Any:
        # dlrhub keeps SQLite timestamps as naive UTC text ("YYYY-MM-DD HH:MM:SS.ffffff").
        return datetime.fromtimestamp(epoch, UTC).replace(tzinfo=None).isoformat(sep=" ")


# --- results ---------------------------------------------------------------------------

@dataclass
class Drain:
    """One backlog: how it was built and how it reached the customer."""

    events: int = 0  # receipts of the backlog's account (each an event for the endpoint)
    deliveries: int = 0  # pending deliveries when the relay started
    relay_messages: int | None = None  # relay tasks waiting in the broker then
    build: Load | None = None
    build_seconds: float = 0.0  # first POST until every record was stored
    relayed_early: int = 0  # events the customer got while the relay was off
    start_to_first: float | None = None  # relay (re)start → first delivery arrives
    first_to_last: float | None = None  # first arrival → the last new event arrives
    start_to_last: float | None = None
    customer: dict[str, Any] = field(default_factory=dict)  # its counters at the end
    db: dict[str, int] = field(default_factory=dict)  # deliveries by status after
    attempts: tuple[int, int] = (0, 0)
    complete: bool = False
    note: str = ""
    cpu: Cpu | None = None
    # From the first events at the customer to the end: the worker's start (a second or
    # so of CPU per process, importing dlrhub) is behind, and these events are ahead.
    steady_cpu: Cpu | None = None
    steady_unique: int = 0

    @property
    def unique(self) -> int:
        """Return the backlog's events the customer got (each counted once)."""
        return int(self.customer.get("unique", 0))

    @property
    def deliveries_per_second(self) -> float | None:
        """Return the customer's distinct deliveries ÷ (first → last arrival)."""
        got = int(self.customer.get("deliveries", 0))
        return got / self.first_to_last if self.first_to_last else None

    @property
    def events_per_second(self) -> float | None:
        """Return the customer's unique events ÷ (first → last arrival)."""
        return self.unique / self.first_to_last if self.first_to_last else None


def cpu_per_event(d: Drain) -> dict[str, float]:
    """Return CPU milliseconds per delivered event (and per delivery) of a drain.

    Each of dlrhub's components (API, worker, database, broker) over the drain ÷ the
    unique events the customer got, then their sum; the customer and this script are
    not dlrhub. With the API probe on during the drain, its callbacks' cost (API,
    ingest) is in these figures too: ``--no-drain-probe`` leaves the relay's alone.
    """
    out: dict[str, float] = {}
    if d.cpu is None or not d.unique:
        return out
    total = 0.0
    for name in PIPELINE:
        cpu = d.cpu.by.get(name, 0.0)
        if cpu:
            out[f"{name} CPU ms per delivered event"] = 1000 * cpu / d.unique
            total += cpu
    out["dlrhub CPU ms per delivered event"] = 1000 * total / d.unique
    deliveries = int(d.customer.get("deliveries", 0))
    if deliveries:
        out["dlrhub CPU ms per delivery"] = 1000 * total / deliveries
    if d.steady_cpu is not None and d.steady_unique > 0:
        steady = sum(d.steady_cpu.by.get(name, 0.0) for name in PIPELINE)
        out["worker CPU ms per delivered event, from the first delivery"] = \
            1000 * d.steady_cpu.by.get("worker", 0.0) / d.steady_unique
        out["dlrhub CPU ms per delivered event, from the first delivery"] = \
            1000 * steady / d.steady_unique
    return out


@dataclass
class HalfLoad:
    """The latency run: callbacks offered at a share of the target rate."""

    events_per_second: float  # offered
    records: int  # per callback
    rate: float  # callbacks/s
    warmup: Load | None = None
    load: Load | None = None
    expected: int = 0  # records accepted in the measured run
    window: dict[str, Any] = field(default_factory=dict)  # the customer's, since the mark
    customer: dict[str, Any] = field(default_factory=dict)
    after_load: float | None = None  # end of the load → last event arrived, s
    ingest_stage: list[float] = field(default_factory=list)  # received → planned, s
    relay_stage: list[float] = field(default_factory=list)  # planned → settled, s
    delivered_per_second: float | None = None
    complete: bool = False
    note: str = ""
    cpu: Cpu | None = None

    @property
    def p50(self) -> float | None:
        """Return the median callback → customer latency, ms."""
        value = self.window.get("p50_ms")
        return float(value) if value is not None else None

    @property
    def p99(self) -> float | None:
        """Return the 99th percentile callback → customer latency, ms."""
        value = self.window.get("p99_ms")
        return float(value) if value is not None else None


@dataclass
class Row:
    """One endpoint batch_size of one stack."""

    stack: str
    batch: int
    drain: Drain | None = None
    idle: Load | None = None  # the API probe on the idle stack
    during: Load | None = None  # the same probe while the backlog drains
    half: HalfLoad | None = None
    final_db: dict[str, int] = field(default_factory=dict)  # deliveries by status, end
    notes: list[str] = field(default_factory=list)

    @property
    def duplicates(self) -> int:
        """Return the events the customer received more than once, both phases."""
        return sum(int(doc.get("duplicates", 0)) for doc in
                   (self.drain.customer if self.drain else {},
                    self.half.customer if self.half else {}))

    @property
    def not_succeeded(self) -> int:
        """Return the endpoint's deliveries not succeeded at the end."""
        return sum(v for k, v in self.final_db.items() if k != "succeeded")

    @property
    def api_held(self) -> bool | None:
        """Tell whether the API kept its idle latency while the backlog drained."""
        if self.idle is None or self.during is None or not self.during.latencies:
            return None
        return (self.during.failed == 0 and self.during.p99
                <= SLOWDOWN_FACTOR * self.idle.p99 + SLOWDOWN_MS)


def half_load_plan(batch: int, share: float, callbacks: float) -> tuple[float, int, float]:
    """Return the latency run's offered events/s, records per callback and callbacks/s.

    The target of a batch_size without one of its own is taken as 1,000 x batch_size
    events/s, at most 20,000.
    """
    target = TARGET_EVENTS.get(batch, min(TARGET_EVENTS[100], TARGET_EVENTS[1] * batch))
    events = target * share
    records = max(1, min(100, round(events / callbacks)))
    return events, records, events / records


# --- one stack -------------------------------------------------------------------------

class Bench:
    """One benchmark run of one stack."""

    def __init__(self, args: argparse.Namespace, work: Path,
                 revision: compare.Revision | None = None) -> None:
        self.args = args
        self.work = work
        # The code measured: this tree, or a worktree of --compare's revision (its
        # servers start in its folder, which comes first on their import path).
        self.revision = revision or compare.Revision(compare.THIS)
        self.root = self.revision.root or ROOT
        self.logs = work / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.procs = Processes(self.logs, self.root)
        self.port = free_port()
        self.customer_port = free_port()
        self.base = f"http://{HOST}:{self.port}"
        self.customer = f"http://{HOST}:{self.customer_port}"
        self.tag = datetime.now(SHANGHAI).strftime("%Y%m%d%H%M%S")
        self.data_dir = work / "data"
        self.admin_token = secrets.token_urlsafe(24)
        self.env = self.revision.env(stack_env(
            args, self.data_dir, self.port, DLRHUB_ADMIN_TOKEN=self.admin_token,
            # the customer is on 127.0.0.1
            DLRHUB_ALLOW_PRIVATE_ENDPOINTS="true"))
        self.counts: PgRelayCounts | SqliteRelayCounts | None = None
        self.loader: Loader | None = None
        self.rows: list[Row] = []
        self.commands: list[str] = []
        self.info: dict[str, str] = {}
        self.error = ""
        self.code_start = self.code_end = product_code(self.root)
        self.queues = ""
        # Per batch_size: the tenant's key, the account and its callback URL, the endpoint.
        self.setup: dict[int, dict[str, str]] = {}
        self.probe_url = ""
        self._probe_n = 0  # numbers the probe runs: every record's sid stays unique

    # -- setting up --

    def _say(self, message: str) -> None:
        print(f"[relay {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    def _dlrhub(self) -> str:
        return str(Path(sys.executable).parent / "dlrhub")

    def prepare(self) -> None:
        """Reset the stores, start the customer and the stack, create what is measured.

        Per batch_size: a tenant with a key, a Tencent account and one normalized
        endpoint of that batch_size pointing at the customer (``/hook/b<size>``); and a
        probe tenant with an account and no endpoint, whose callbacks load the API
        (and the ingest) without adding deliveries.
        """
        if self.args.stack == "postgres":
            reset_stores(self.args, self.env, self.commands, self._say, self.root)
        cmd = [sys.executable, str(BENCH / "customer_app.py"), "--port",
               str(self.customer_port)]
        self.commands.append(f"python bench/customer_app.py --port {self.customer_port}")
        self.procs.start("customer", cmd, self.env)
        wait_http(f"{self.customer}/healthz", self.procs)
        if self.args.stack == "postgres":
            self.commands.append(f"dlrhub api --port {self.port}")
            self.procs.start("api", [self._dlrhub(), "api", "--port", str(self.port)],
                             self.env)
        self.start_worker("ingest")
        self.loader = Loader(self.args.timeout)

        def account(name: str) -> tuple[str, dict[str, Any]]:
            tenant = http_json("POST", f"{self.base}/v1/tenants", token=self.admin_token,
                               body={"name": name})["id"]
            key = http_json("POST", f"{self.base}/v1/tenants/{tenant}/keys",
                            token=self.admin_token, body={"name": "bench"})["key"]
            acc = http_json("POST", f"{self.base}/v1/accounts", token=key,
                            body={"provider": "tencent", "name": name})
            if not str(acc.get("callback_url", "")).startswith(f"{self.base}/"):
                raise RuntimeError(f"unexpected callback_url {acc.get('callback_url')}")
            return key, acc

        self.commands += ["POST /v1/tenants, POST /v1/tenants/{id}/keys (admin token); "
                          "POST /v1/accounts {provider: tencent} (tenant key)"]
        _, probe = account("bench-relay-probe")
        self.probe_url = probe["callback_url"]
        for batch in self.args.batch_size_list:
            key, acc = account(f"bench-relay-b{batch}")
            spec = {"url": f"{self.customer}/hook/b{batch}", "batch_size": batch,
                    "description": f"bench/relay batch_size {batch}"}
            endpoint = http_json("POST", f"{self.base}/v1/endpoints", token=key, body=spec)
            self.commands.append(f"POST /v1/endpoints {json.dumps(spec)}")
            self.setup[batch] = {"account": acc["id"], "url": acc["callback_url"],
                                 "endpoint": endpoint["id"], "tag": f"b{batch}"}
        if self.args.stack == "postgres":
            self.counts = PgRelayCounts(pg_url(self.args, self.args.database))
        else:
            self.counts = SqliteRelayCounts(self.data_dir / "dlrhub.sqlite3")
        self.info["database"] = self.counts.version()

    # -- the stack --

    def start_worker(self, queues: str) -> None:
        """Start the worker (postgres) or ``dlrhub serve`` (embedded) on ``queues``.

        ``ingest`` stores receipts and plans deliveries without relaying them;
        ``ingest,relay`` (dlrhub's default) does both.
        """
        env = dict(self.env, DLRHUB_WORKER_QUEUES=queues)
        self.queues = queues
        if self.args.stack == "postgres":
            self.commands.append(f"DLRHUB_WORKER_QUEUES={queues} dlrhub worker")
            self.procs.start("worker", [self._dlrhub(), "worker"], env)
            wait_http(f"{self.base}/readyz", self.procs)
            # The worker has no HTTP side: give Celery a moment to connect.
            time.sleep(1.5)
        else:
            self.commands.append(f"DLRHUB_WORKER_QUEUES={queues} dlrhub serve "
                                 f"--port {self.port}")
            self.procs.start("serve", [self._dlrhub(), "serve", "--port", str(self.port)],
                             env)
            wait_http(f"{self.base}/healthz", self.procs)
            wait_http(f"{self.base}/readyz", self.procs)
        self.procs.check()

    def stop_worker(self) -> None:
        """Stop the worker (postgres) or ``dlrhub serve`` (embedded)."""
        self.procs.stop("worker" if self.args.stack == "postgres" else "serve")

    def relay_messages(self) -> int | None:
        """Return the relay tasks waiting in the broker (None if unknown)."""
        try:
            if self.args.stack == "postgres":
                import redis

                client = redis.Redis.from_url(self.args.redis, socket_connect_timeout=5)
                try:
                    return int(client.llen(RELAY_QUEUE))
                finally:
                    client.close()
            folder = self.data_dir / "broker" / "queue"
            return sum(1 for e in os.scandir(folder)
                       if e.name.endswith(f".{RELAY_QUEUE}.msg"))
        except Exception:  # only a detail of the report
            return None

    # -- the customer --

    def customer_stats(self, tag: str, since: float | None = None) -> dict[str, Any]:
        """Return the customer's counters for ``tag`` (and the window since ``since``)."""
        query = {"tag": tag} | ({"since": repr(since)} if since is not None else {})
        return http_json("GET", f"{self.customer}/stats?{urlencode(query)}")

    def customer_reset(self, tag: str) -> None:
        """Make the customer forget ``tag``."""
        http_json("POST", f"{self.customer}/reset?{urlencode({'tag': tag})}")

    # -- helpers --

    def _wait_quiet(self, row: Row, what: str) -> None:
        wait_quiet(self.args.quiet_wait, self.args.quiet_busy, row.notes, what, self._say)

    def _cpu_mark(self) -> tuple[procstat.Snapshot, float, float]:
        me = resource.getrusage(resource.RUSAGE_SELF)
        return procstat.snapshot(self.procs.groups()), me.ru_utime + me.ru_stime, \
            time.monotonic()

    def _cpu_since(self, mark: tuple[procstat.Snapshot, float, float]) -> Cpu:
        snap0, mine0, t0 = mark
        snap1, mine1, t1 = self._cpu_mark()
        by = procstat.used(snap0, snap1)
        by["bench"] += mine1 - mine0  # this script: the load client and the polling
        return Cpu(t1 - t0, by, procstat.machine_busy(snap0, snap1))

    def _flag(self, row: Row, what: str, cpu: Cpu) -> None:
        if cpu.other >= 0.25:
            row.notes.append(f"{what}: {cpu.other:.2f} cores busy outside the benchmark's "
                             f"components (other processes?); its figures are disturbed")

    def _loader(self) -> Loader:
        assert self.loader is not None
        return self.loader

    # -- the backlog --

    def build_backlog(self, row: Row) -> Drain:
        """Post the backlog's callbacks with the relay off, wait until all are stored."""
        assert self.counts is not None
        s = self.setup[row.batch]
        events = self.args.backlog if row.batch == 1 else self.args.backlog_batched
        records = min(self.args.records, events)
        count = math.ceil(events / records)
        d = Drain()
        self._say(f"batch_size {row.batch}: building a backlog of {count * records:,} events "
                  f"({count:,} callbacks x {records}, relay off)")
        t0 = time.monotonic()
        d.build = self._loader().run(self._loader().post_many(
            s["url"], run=f"{self.tag}-b{row.batch}-backlog", count=count, records=records,
            concurrency=self.args.post_concurrency))
        if d.build.failed:
            row.notes.append(f"backlog: {d.build.failed} of {count} callbacks not accepted "
                             f"(statuses {dict(d.build.statuses)})")
        expected = d.build.accepted_records
        deadline = t0 + self.args.ingest_timeout
        while True:
            stored = self.counts.receipts(s["account"])
            inbox = self.counts.inbox(s["account"])
            # The inbox rows were committed before their 200s: none pending, all done.
            if stored >= expected or inbox["pending"] == 0:
                break
            if time.monotonic() > deadline:
                row.notes.append(f"backlog: only {stored:,} of {expected:,} records stored "
                                 f"after {self.args.ingest_timeout:.0f}s")
                break
            self.procs.check()
            time.sleep(0.25)
        d.build_seconds = time.monotonic() - t0
        d.events = self.counts.receipts(s["account"])
        if d.events != expected:
            row.notes.append(f"backlog: {d.events:,} receipts stored for {expected:,} "
                             f"records accepted")
        d.deliveries = self.counts.deliveries(s["endpoint"])["pending"]
        d.relay_messages = self.relay_messages()
        d.relayed_early = int(self.customer_stats(s["tag"]).get("unique", 0))
        if d.relayed_early:
            row.notes.append(f"backlog: the customer got {d.relayed_early:,} events while "
                             f"the relay was meant to be off (DLRHUB_WORKER_QUEUES=ingest "
                             f"not honoured?)")
        self._say(f"batch_size {row.batch}: {d.events:,} events stored in "
                  f"{d.build_seconds:.1f}s; {d.deliveries:,} deliveries pending, "
                  f"{_n(d.relay_messages)} relay tasks queued")
        return d

    def probe(self, seconds: float | None = None, stop: threading.Event | None = None,
              ) -> concurrent.futures.Future[Load]:
        """Start the API probe: paced 1-record callbacks to the probe account."""
        self._probe_n += 1
        return self._loader().submit(self._loader().paced(
            self.probe_url, run=f"{self.tag}-probe{self._probe_n}", rate=self.args.probe_rate,
            records=1, duration=seconds, stop=stop))

    # -- the drain --

    def drain(self, row: Row) -> None:
        """Measure the API idle, then restart the relay and time the backlog's drain."""
        assert self.counts is not None
        assert row.drain is not None
        d = row.drain
        s = self.setup[row.batch]
        self._wait_quiet(row, "idle probe")
        self._say(f"batch_size {row.batch}: API probe on the idle stack, "
                  f"{self.args.probe_rate:g} callbacks/s for {self.args.probe_seconds:g}s")
        row.idle = self.probe(self.args.probe_seconds).result()
        self._say(f"batch_size {row.batch}: idle API p50 {row.idle.p50:.1f} ms, "
                  f"p99 {row.idle.p99:.1f} ms")
        # Let the probe's callbacks be ingested before the relay starts.
        deadline = time.monotonic() + 60
        while self.counts.pending() and time.monotonic() < deadline:
            time.sleep(0.2)
        self.customer_reset(s["tag"])
        self.counts.checkpoint()
        self._wait_quiet(row, "drain")
        self._say(f"batch_size {row.batch}: restarting the "
                  f"{'worker' if self.args.stack == 'postgres' else 'stack (dlrhub serve)'} "
                  f"with the relay on; draining {d.deliveries:,} deliveries")
        self.stop_worker()
        mark = self._cpu_mark()  # after the stop: its shutdown is not the drain's
        t_start = time.time()
        stop = threading.Event()
        probe: concurrent.futures.Future[Load] | None = None
        steady: tuple[tuple[procstat.Snapshot, float, float], int] | None = None
        if self.args.stack == "postgres" and self.args.drain_probe:
            probe = self.probe(stop=stop)  # the API keeps running: probe from the start
        try:
            self.start_worker("ingest,relay")
            if probe is None and self.args.stack != "postgres" and self.args.drain_probe:
                # Embedded: the API restarted with the relay. Its first callbacks pay
                # for imports and caches in each API process: not the drain's cost.
                self._loader().run(self._loader().post_many(
                    self.probe_url, run=f"{self.tag}-b{row.batch}-apiwarm",
                    count=4 * self.args.api_workers * self.args.api_threads, records=1,
                    concurrency=self.args.api_workers * self.args.api_threads))
                probe = self.probe(stop=stop)
            steady = self._first_events(s["tag"])
            self._wait_customer(row, d, t_start)
            # What the customer had when the wait ended: the rates are of that moment.
            d.customer = self.customer_stats(s["tag"])
        finally:
            stop.set()
            if probe is not None:
                row.during = probe.result()
        d.cpu = self._cpu_since(mark)
        if steady is not None:
            d.steady_cpu = self._cpu_since(steady[0])
            d.steady_unique = d.unique - steady[1]
        self._flag(row, "drain", d.cpu)
        # Deliveries are recorded after their POST: let the last ones settle.
        deadline = time.monotonic() + (10 if d.complete else 0)
        while self.counts.deliveries(s["endpoint"])["pending"] and time.monotonic() < deadline:
            time.sleep(0.25)
        d.db = self.counts.deliveries(s["endpoint"])
        d.attempts = self.counts.attempts(s["endpoint"])
        if d.customer.get("first_arrival") and d.customer.get("last_unique_arrival"):
            first = float(d.customer["first_arrival"])
            last = float(d.customer["last_unique_arrival"])
            d.start_to_first, d.first_to_last = first - t_start, last - first
            d.start_to_last = last - t_start
        self._say(f"batch_size {row.batch}: {d.unique:,}/{d.events:,} events at the "
                  f"customer; {_n(d.deliveries_per_second)} deliveries/s, "
                  f"{_n(d.events_per_second)} events/s"
                  + ("" if d.complete else f" (INCOMPLETE: {d.note})")
                  + f"; API p99 idle {row.idle.p99:.1f} ms, while draining "
                    f"{row.during.p99 if row.during else math.nan:.1f} ms")

    def _first_events(self, tag: str
                      ) -> tuple[tuple[procstat.Snapshot, float, float], int] | None:
        """Wait for the first events at the customer; return a CPU mark and their count.

        The drain's own figures count the worker's start; this mark leaves it out, for
        a figure of the relay running (``cpu_per_event``, "from the first delivery").
        """
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            unique = int(self.customer_stats(tag).get("unique", 0))
            if unique:
                return self._cpu_mark(), unique
            self.procs.check()
            time.sleep(0.05)
        return None

    def _wait_customer(self, row: Row, d: Drain, t_start: float) -> None:
        """Poll the customer until it has every event of the backlog, or give up."""
        assert self.counts is not None
        s = self.setup[row.batch]
        deadline = time.monotonic() + self.args.drain_timeout
        last_unique, last_change = -1, time.monotonic()
        while True:
            stats = self.customer_stats(s["tag"])
            unique = int(stats.get("unique", 0))
            now = time.monotonic()
            if unique != last_unique:
                last_unique, last_change = unique, now
            if unique >= d.events:
                d.complete = True
                return
            if now > deadline:
                pending = self.counts.deliveries(s["endpoint"])["pending"]
                d.note = (f"timed out after {self.args.drain_timeout:.0f}s: "
                          f"{d.events - unique:,} events not delivered, "
                          f"{pending:,} deliveries pending")
                return
            if now - last_change > self.args.stall_timeout:
                db = self.counts.deliveries(s["endpoint"])
                d.note = (f"no new event for {self.args.stall_timeout:.0f}s: "
                          f"{d.events - unique:,} events not delivered; deliveries "
                          f"{_statuses(db)}")
                return
            self.procs.check()
            time.sleep(0.5)

    # -- the latency run --

    def half_load(self, row: Row) -> None:
        """Offer callbacks at half the target; time each event from dlrhub to customer."""
        assert self.counts is not None
        s = self.setup[row.batch]
        events, records, rate = half_load_plan(row.batch, self.args.half_load,
                                               self.args.half_callbacks)
        h = row.half = HalfLoad(events, records, rate)
        if row.drain is not None and not row.drain.complete:
            row.notes.append("latency run: it started before the backlog was drained; "
                             "the rest of the backlog shared the relay with it")
        loader = self._loader()
        self.customer_reset(s["tag"])
        label = f"batch_size {row.batch}: latency at {events:,.0f} events/s " \
                f"({rate:g} callbacks/s x {records})"
        warm_expected = 0
        if self.args.half_warmup:
            self._say(f"{label}: warm-up {self.args.half_warmup:g}s")
            h.warmup = loader.run(loader.paced(
                s["url"], run=f"{self.tag}-b{row.batch}-warm", rate=rate, records=records,
                duration=self.args.half_warmup))
            warm_expected = h.warmup.accepted_records
            if not self._settle(s["tag"], warm_expected, self.args.half_timeout):
                row.notes.append("latency run: the warm-up's events were not all delivered "
                                 "before the measured run")
        self._wait_quiet(row, "latency run")
        self._say(f"{label}: {self.args.half_duration:g}s")
        mark = self._cpu_mark()
        t_mark = time.time()
        h.load = loader.run(loader.paced(
            s["url"], run=f"{self.tag}-b{row.batch}-half", rate=rate, records=records,
            duration=self.args.half_duration))
        t_end = time.time()
        h.expected = h.load.accepted_records
        h.complete = self._settle(s["tag"], warm_expected + h.expected, self.args.half_timeout)
        h.cpu = self._cpu_since(mark)
        self._flag(row, "latency run", h.cpu)
        h.customer = self.customer_stats(s["tag"])
        h.window = self.customer_stats(s["tag"], since=t_mark).get("window", {})
        try:
            h.ingest_stage, h.relay_stage = self.counts.stages(s["endpoint"], t_mark)
        except Exception as ex:  # a detail of the report: never the run's end
            row.notes.append(f"latency run: could not split the latency ({ex})")
        got = int(h.window.get("unique", 0))
        last = h.window.get("last_arrival")
        if last is not None:
            h.after_load = max(0.0, float(last) - t_end)
            h.delivered_per_second = got / (float(last) - t_mark) if last > t_mark else None
        if h.load.failed:
            h.note = f"{h.load.failed} of {h.load.planned} callbacks not accepted; "
        if not h.complete:
            h.note += (f"{h.expected - got:,} of {h.expected:,} events not at the customer "
                       f"{self.args.half_timeout:.0f}s after the load (p50/p99 are over the "
                       f"events that arrived)")
        self._say(f"{label}: p50 {_n(h.p50)} ms, p99 {_n(h.p99)} ms over {got:,} events"
                  + ("" if h.complete else " (INCOMPLETE)"))
        deadline = time.monotonic() + 10
        while self.counts.deliveries(s["endpoint"])["pending"] and time.monotonic() < deadline:
            time.sleep(0.25)
        row.final_db = self.counts.deliveries(s["endpoint"])

    def _settle(self, tag: str, expected: int, timeout: float) -> bool:
        """Wait until the customer has ``expected`` unique events of ``tag``."""
        deadline = time.monotonic() + timeout
        last, last_change = -1, time.monotonic()
        while True:
            unique = int(self.customer_stats(tag).get("unique", 0))
            now = time.monotonic()
            if unique >= expected:
                return True
            if unique != last:
                last, last_change = unique, now
            if now > deadline or now - last_change > self.args.stall_timeout:
                return False
            self.procs.check()
            time.sleep(0.2)

    # -- the whole run --

    def run(self) -> None:
        """Prepare, then per batch_size: backlog, drain, latency run."""
        self.prepare()
        for i, batch in enumerate(self.args.batch_size_list):
            row = Row(self.args.stack, batch)
            self.rows.append(row)
            if i:
                self._say("restarting with the relay off for the next backlog")
                self.stop_worker()
                self.start_worker("ingest")
            row.drain = self.build_backlog(row)
            self.drain(row)
            if not self.args.compare:
                self.half_load(row)
        self.procs.stop_all()
        self.code_end = product_code(self.root)

    def stop(self) -> None:
        """Stop the load client and every server (``runs.run_bench`` calls it)."""
        if self.loader is not None:
            self.loader.close()
            self.loader = None
        self.procs.stop_all()
        if self.counts is not None:
            with contextlib.suppress(Exception):
                self.counts.close()


def _statuses(db: dict[str, int]) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in db.items() if v) or "none"


# --- report ----------------------------------------------------------------------------

def _ms(value: float | None) -> str:
    return _n(value, 1)


def _aiohttp_version() -> str:
    try:
        return f"aiohttp {metadata.version('aiohttp')}"
    except metadata.PackageNotFoundError:
        return "aiohttp ?"


def targets(row: Row) -> list[tuple[str, str, str]]:
    """Return the row's targets: (target, measured, met)."""
    out: list[tuple[str, str, str]] = []
    d, h = row.drain, row.half

    def verdict(ok: bool, complete: bool = True) -> str:
        if not complete:
            return "**NO** (incomplete)"
        return "yes" if ok else "**NO**"

    if d is not None and row.batch == 1:
        rate = d.deliveries_per_second
        out.append((f"≥ {TARGET_EVENTS[1]:,} deliveries/s", f"{_n(rate)} deliveries/s",
                    verdict(rate is not None and rate >= TARGET_EVENTS[1], d.complete)))
    elif d is not None and row.batch in TARGET_EVENTS:
        rate = d.events_per_second
        out.append((f"≥ {TARGET_EVENTS[row.batch]:,} events/s", f"{_n(rate)} events/s",
                    verdict(rate is not None and rate >= TARGET_EVENTS[row.batch],
                            d.complete)))
    if h is not None and h.load is not None and row.batch in TARGET_EVENTS:
        out.append((f"p99 < 1 s at {h.events_per_second:,.0f} events/s",
                    f"p99 {_ms(h.p99)} ms",
                    verdict(h.p99 is not None and h.p99 < TARGET_P99_MS
                            and not h.load.failed, h.complete)))
    if d is not None and row.idle is not None and row.during is not None:
        measured = (f"{d.deliveries:,} deliveries; API p99 {_ms(row.idle.p99)} → "
                    f"{_ms(row.during.p99)} ms, {row.during.failed} failed")
        held = bool(row.api_held)
        if row.batch == 1 and d.deliveries >= TARGET_BACKLOG:
            out.append((f"{TARGET_BACKLOG:,} pending deliveries drained, API not slower",
                        measured, verdict(held, d.complete)))
        else:
            what = "API not slower while draining" + (
                f" (backlog below {TARGET_BACKLOG:,}: not the target's size)"
                if row.batch == 1 else "")
            out.append((what, measured, "yes" if held else "**NO**"))
    return out


def _load_line(name: str, w: Load | None) -> str:
    if w is None:
        return f"| {name} | – | – | – | – | – | – | – | – | – | – |"
    return (f"| {name} | {w.rate:g} × {w.records} | {w.planned:,} | {w.ok:,} "
            f"| {w.bad:,} / {w.errors:,} / {w.skipped:,} | {w.ok_per_second:,.1f} "
            f"| {_ms(w.p50)} | {_ms(w.p90)} | {_ms(w.p99)} | {_ms(w.max)} "
            f"| {_ms(w.max_lag_ms)} |")


def report(bench: Bench, started: datetime) -> str:
    """Return the Markdown report: the result table, the targets, then the details."""
    a = bench.args
    lines = [
        f"# dlrhub relay benchmark — {a.stack} stack" + (" (--quick)" if a.quick else ""),
        "",
        f"{started:%Y-%m-%d %H:%M:%S %Z}; {os.cpu_count()} CPUs, "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{bench.info.get('database', '?')}; {_versions()}, {_aiohttp_version()}.",
        f"Backlogs of {a.backlog:,} events at batch_size 1 and {a.backlog_batched:,} above "
        f"(callbacks of {a.records} records), relay off while built; API probe "
        f"{a.probe_rate:g} callbacks/s × 1 record ({a.probe_seconds:g}s idle, then during "
        f"the drain); latency run {a.half_duration:g}s at {a.half_load:.0%} of the target "
        f"after a {a.half_warmup:g}s warm-up; uvicorn {a.api_workers} workers × "
        f"{a.api_threads} threads, worker concurrency {a.worker_concurrency}.",
        f"dlrhub sources (api, cli, config, models, providers, services, tasks): sha256 "
        f"{bench.code_start[0]}" + ("" if bench.code_end[0] == bench.code_start[0] else
                                    f" at the start, {bench.code_end[0]} at the end: **the "
                                    f"sources changed during the run**") + ".",
    ]
    if a.quick:
        lines += ["", "**--quick**: small backlogs and short runs, to check the benchmark "
                  "works; its rates are not the benchmark's figures."]
    if bench.error:
        lines += ["", f"**The run stopped early**: {bench.error}"]
    lines += [
        "",
        "| stack | batch_size | backlog: deliveries (events) | deliveries/s | events/s "
        "| API p50 / p99 ms, idle | API p50 / p99 ms, draining | half load: events/s "
        "offered → delivered | p50 ms | p99 ms | duplicates | not succeeded |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in bench.rows:
        d, h = r.drain, r.half
        inc = "" if d is None or d.complete else " (incomplete)"
        half_inc = "" if h is None or h.complete else " (incomplete)"
        lines.append(
            f"| {r.stack} | {r.batch} "
            f"| {f'{d.deliveries:,} ({d.events:,})' if d else '–'} "
            f"| {_n(d.deliveries_per_second) if d else '–'}{inc} "
            f"| {_n(d.events_per_second) if d else '–'}{inc} "
            f"| {_ms(r.idle.p50) if r.idle else '–'} / {_ms(r.idle.p99) if r.idle else '–'} "
            f"| {_ms(r.during.p50) if r.during else '–'} / "
            f"{_ms(r.during.p99) if r.during else '–'} "
            f"| {f'{h.events_per_second:,.0f} → {_n(h.delivered_per_second)}' if h else '–'}"
            f"{half_inc} "
            f"| {_ms(h.p50) if h else '–'} | {_ms(h.p99) if h else '–'}{half_inc} "
            f"| {r.duplicates:,} | {r.not_succeeded:,} |")
    lines += [
        "",
        "deliveries/s, events/s: the backlog's deliveries (distinct webhook-id) and unique "
        "events at the customer ÷ the time from its first to its last arrival, after the "
        "relay was switched on. API p50/p99: the probe's callbacks (open loop, timed from "
        "when each was due). half load: callback → customer latency (arrival at the "
        "customer − the event's received_at) over the measured run's events. duplicates: "
        "events the customer received more than once (both phases). not succeeded: the "
        "endpoint's deliveries not `succeeded` at the end.",
        "",
        "## Targets",
        "",
        "| stack | batch_size | target | measured | met |",
        "|---|---:|---|---|---|",
    ]
    for r in bench.rows:
        for target, measured, met in targets(r):
            lines.append(f"| {r.stack} | {r.batch} | {target} | {measured} | {met} |")
    lines += ["", f"API not slower: the probe's p99 while draining ≤ {SLOWDOWN_FACTOR:g} × "
              f"its idle p99 + {SLOWDOWN_MS:g} ms, and none of its callbacks failed.", "",
              "## Details", ""]
    for r in bench.rows:
        d, h = r.drain, r.half
        lines += [f"### batch_size {r.batch}", ""]
        if d is not None:
            b = d.build
            lines += [
                f"- Backlog: {b.ok if b else 0:,} callbacks × {b.records if b else 0} records "
                f"accepted in {b.seconds if b else 0:.1f}s, all stored after "
                f"{d.build_seconds:.1f}s; {d.events:,} events → {d.deliveries:,} pending "
                f"deliveries, {_n(d.relay_messages)} relay tasks in the broker.",
                f"- Drain: relay start → first arrival {_n(d.start_to_first, 2)}s, first → "
                f"last new event {_n(d.first_to_last, 2)}s, relay start → last "
                f"{_n(d.start_to_last, 2)}s"
                + ("." if d.complete else f"; **incomplete**: {d.note}."),
                f"- Customer after the drain: {_counters(d.customer)}.",
                f"- Deliveries after the drain: {_statuses(d.db)}; attempts {d.attempts[0]:,} "
                f"({d.attempts[1]:,} answered 2xx).",
            ]
            if d.cpu is not None:
                lines.append(f"- CPU during the drain ({d.cpu.seconds:.1f}s), in cores: "
                             f"{d.cpu.render()}.")
                per = cpu_per_event(d)
                if per:
                    lines.append(
                        "- CPU per delivered event, ms: " + ", ".join(
                            f"{name.split(' CPU')[0]} {v:.3f}" for name, v in per.items()
                            if name.endswith("per delivered event"))
                        + (f"; {per['dlrhub CPU ms per delivery']:.3f} per delivery"
                           if "dlrhub CPU ms per delivery" in per else "")
                        + (" (the API probe's callbacks included)" if a.drain_probe
                           else " (no probe during the drain)") + ".")
                    steady = {name.split(" CPU")[0]: v for name, v in per.items()
                              if name.endswith("from the first delivery")}
                    if steady and d.steady_cpu is not None:
                        lines.append(
                            f"- The same from the first delivery on ({d.steady_unique:,} "
                            f"events, {d.steady_cpu.seconds:.1f}s; the worker's start "
                            "left out): " + ", ".join(f"{k} {v:.3f}"
                                                      for k, v in steady.items()) + ".")
        if h is not None:
            w = h.window
            lines += [
                f"- Latency run: {h.events_per_second:,.0f} events/s offered as {h.rate:g} "
                f"callbacks/s × {h.records}; {h.expected:,} events accepted, "
                f"{int(w.get('unique', 0)):,} at the customer; p50 {_ms(h.p50)}, p90 "
                f"{_ms(w.get('p90_ms'))}, p99 {_ms(h.p99)}, max {_ms(w.get('max_ms'))} ms; "
                f"last event {_n(h.after_load, 2)}s after the load ended"
                + ("." if not h.note else f"; {h.note.strip()}."),
                f"- Where it went, per delivery of the run (from its first event's "
                f"received_at): callback → delivery planned (the ingest) p50 "
                f"{_sec_ms(h.ingest_stage, 50)}, p99 {_sec_ms(h.ingest_stage, 99)} ms; "
                f"planned → settled after the customer's 200 (the relay) p50 "
                f"{_sec_ms(h.relay_stage, 50)}, p99 {_sec_ms(h.relay_stage, 99)} ms "
                f"({len(h.relay_stage):,} of {len(h.ingest_stage):,} deliveries succeeded).",
                f"- Customer after the latency run (warm-up included): "
                f"{_counters(h.customer)}.",
                f"- Deliveries at the end: {_statuses(r.final_db)}.",
            ]
            if h.cpu is not None:
                lines.append(f"- CPU during the latency run ({h.cpu.seconds:.1f}s), in cores: "
                             f"{h.cpu.render()}.")
        lines += [
            "", "| callbacks | offered/s × records | due | 200 | other / errors / skipped "
            "| 200/s | p50 ms | p90 ms | p99 ms | max ms | client lag max ms |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            _load_line("API probe, idle", r.idle),
            _load_line("API probe, draining", r.during),
            _load_line("latency run", h.load if h else None),
        ]
        if r.notes:
            lines += ["", *(f"- {note}" for note in r.notes)]
        lines.append("")
    lines += [
        "CPU components: `api` (the API server), `worker` (Celery), `customer` (the endpoint), "
        "`bench` (this script: the load client and its polling), `postgres`, `redis`, "
        "`serve` (its supervisor), `other` (the rest of the machine's busy time).",
        "", "Commands (environment: DLRHUB_* as set by bench/relay, including "
        "DLRHUB_ALLOW_PRIVATE_ENDPOINTS=true):", "", "```", *bench.commands, "```", ""]
    return "\n".join(lines)


def _sec_ms(ordered: list[float], p: float) -> str:
    return _ms(_percentile(ordered, p) * 1000 if ordered else None)


def _counters(doc: dict[str, Any]) -> str:
    if not doc:
        return "–"
    return (f"{int(doc.get('requests', 0)):,} requests, {int(doc.get('events', 0)):,} events, "
            f"{int(doc.get('unique', 0)):,} unique, {int(doc.get('duplicates', 0)):,} "
            f"duplicates, {int(doc.get('deliveries', 0)):,} deliveries, "
            f"{int(doc.get('redeliveries', 0)):,} redelivered, {int(doc.get('bad', 0)):,} "
            f"unreadable")


# --- main ------------------------------------------------------------------------------

def _finish(bench: Bench, args: argparse.Namespace, ok: bool, work: Path) -> None:
    """Stop the load client and every server; remove the work folder after a success."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if bench.loader is not None:
        bench.loader.close()
    bench.procs.stop_all()
    if bench.counts is not None:
        with contextlib.suppress(Exception):
            bench.counts.close()
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if ok and not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"bench/relay: logs and data kept in {work}", file=sys.stderr)


def compare_figures(row: Row) -> dict[str, float | None]:
    """Return what ``--compare`` sets side by side for one batch_size: rates and CPU."""
    d = row.drain
    if d is None:
        return {}
    return {"deliveries/s": d.deliveries_per_second if d.complete else None,
            "events/s": d.events_per_second if d.complete else None,
            **cpu_per_event(d)}


def compare_report(args: argparse.Namespace, started: datetime,
                   runs: list[tuple[compare.Revision, Bench]]) -> str:
    """Return the Markdown of a ``--compare`` run: both revisions' drains and the ratio."""
    other = next(rev for rev, _ in runs if rev.root is not None)
    this = next(rev for rev, _ in runs if rev.root is None)
    sequence = ", ".join(rev.label for rev, _ in runs)
    lines = [
        f"# dlrhub relay benchmark — {args.stack} stack, {this.label} ({this.commit}) "
        f"against {other.label} ({other.commit})",
        "",
        f"{started:%Y-%m-%d %H:%M:%S %Z}; {os.cpu_count()} CPUs, "
        f"{platform.python_implementation()} {platform.python_version()}; {_versions()}.",
        f"Backlogs of {args.backlog:,} events at batch_size 1 and {args.backlog_batched:,} "
        f"above, drained with no API probe and no latency run; {args.rounds} runs of each "
        f"revision, in this order: {sequence}. Each run recreates the database and runs "
        "its revision's migrations. A cell lists each run's figure, then the ratio of the "
        "means.",
        "",
        *compare.table("batch_size", args.batch_size_list, runs, lambda bench, batch: [
            compare_figures(r) for r in bench.rows if r.batch == batch]),
    ]
    lines += compare.appendix(
        "batch_size", runs, lambda bench: [(row.batch, note) for row in bench.rows for note in (
            [row.drain.note] if row.drain and row.drain.note else []) + row.notes],
        lambda bench: report(bench, started))
    return "\n".join(lines)


def run_compare(args: argparse.Namespace, started: datetime) -> int:
    """Run ``--rounds`` of each revision, interleaved; write the comparison."""
    runs, failed = compare.interleaved(
        "relay", args.compare, args.rounds,
        lambda rev, work: Bench(args, work, revision=rev), keep=args.keep,
        kept="logs and data")
    if failed is not None:
        return failed
    write_report(args.results, f"relay-{args.stack}-compare", started,
                 compare_report(args, started, runs))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return the exit status."""
    args = parse_args(argv)
    in_venv("relay", argv)
    started = datetime.now().astimezone()
    if args.compare:
        return run_compare(args, started)
    work = Path(tempfile.mkdtemp(prefix=f"dlrhub-relay-{args.stack}-"))
    bench = Bench(args, work)
    ok = False
    status = 0
    try:
        with signals_raise():
            bench.run()
        ok = True
    except KeyboardInterrupt:
        print("bench/relay: interrupted; stopping the servers", file=sys.stderr)
        status = 130
    except (RuntimeError, OSError, ValueError) as ex:
        # Report what was measured before the failure, marked as such.
        bench.error = (str(ex).strip() or repr(ex)).splitlines()[0]
        print(f"bench/relay: {ex}", file=sys.stderr)
        status = 1
    finally:
        _finish(bench, args, ok, work)
    if status == 130 or not bench.rows:
        return status
    text = report(bench, started)
    args.results.mkdir(parents=True, exist_ok=True)
    out = args.results / f"relay-{args.stack}-{started:%Y%m%d-%H%M%S}.md"
    out.write_text(text)
    print(text)
    print(f"(written to {out})", file=sys.stderr)
    return status

