"""Prometheus metrics: what the API and the worker count, and what is read at scrape."""

from __future__ import annotations

import math
import os
from bisect import bisect_left
from collections import Counter as Tally
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Connection, Engine
from sqlalchemy import text as sql_text
from sqlalchemy.exc import SQLAlchemyError

from dlrhub.models import DeliveryStatus, utcnow
from dlrhub.services import heartbeats, system
from dlrhub.services.ingest import IngestReport

CALLBACKS = Counter("dlrhub_callbacks_total", "Provider callbacks received, by outcome.",
                    ["provider", "outcome"])
RECEIPTS = Counter("dlrhub_receipts_total",
                   "Receipts stored (duplicates excluded); reason_class is empty on "
                   "delivered, pending and inbound ones.",
                   ["provider", "status", "reason_class"])
OUT_OF_ORDER = Counter("dlrhub_receipts_out_of_order_total",
                       "Receipts that came after their message's final status (kept, not "
                       "applied).", ["provider"])
CORRECTIONS = Counter("dlrhub_status_corrections_total",
                      "Final receipts that disagreed with their message's first final status "
                      "(each emits sms.status_corrected).")
DUPLICATES = Counter("dlrhub_receipt_duplicates_total", "Receipts dropped as duplicates.")
INGEST_LAG = Histogram("dlrhub_ingest_lag_seconds",
                       "From a callback's arrival to its receipts being stored.",
                       buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900))
# Seconds, from seconds to the 72 h after which providers give up on a receipt.
_LATENCY_BUCKETS = (1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600,
                    12 * 3600, 24 * 3600, 72 * 3600)
HANDSET_LATENCY = Histogram("dlrhub_handset_latency_seconds",
                            "From a message's submission to its final report, as the "
                            "provider dates both (messages that became final).",
                            ["provider"], buckets=_LATENCY_BUCKETS)
RECEIPT_LAG = Histogram("dlrhub_receipt_lag_seconds",
                        "From a final report's date to its arrival at dlrhub: the "
                        "provider's receipt pipeline, apart from delivery.",
                        ["provider"], buckets=_LATENCY_BUCKETS)
UNMATCHED = Counter("dlrhub_receipts_unmatched_total",
                    "Final receipts of accounts that register what they send, for which no "
                    "expectation was registered.", ["provider"])
ENQUEUE_DROPPED = Counter("dlrhub_enqueue_dropped_total",
                          "Callbacks not handed to the broker (left for the sweeper).")
# What an attempt left its delivery as: the relay's statuses, "pending" again named for
# what it means here.
DELIVERY_OUTCOMES = {DeliveryStatus.succeeded: "succeeded", DeliveryStatus.failed: "failed",
                     DeliveryStatus.pending: "retrying", DeliveryStatus.dead: "dead"}
DELIVERIES = Counter("dlrhub_deliveries_total",
                     "Delivery attempts recorded, by what each left its delivery: "
                     "succeeded, failed (refused for good), retrying (pending again) or "
                     "dead (given up).", ["outcome"])
for _outcome in DELIVERY_OUTCOMES.values():
    DELIVERIES.labels(_outcome)  # every outcome shows, at 0 until it happens
ATTEMPT_SECONDS = Histogram("dlrhub_delivery_attempt_seconds",
                            "How long an endpoint took to answer one delivery attempt "
                            "(or until the attempt failed without an answer).",
                            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
HTTP_REQUESTS = Counter("dlrhub_http_requests_total",
                        "HTTP requests answered, by route template, method and status.",
                        ["route", "method", "status"])
HTTP_DURATION = Histogram("dlrhub_http_request_duration_seconds",
                          "From a request reaching the app to its response, by route "
                          "template and method.", ["route", "method"],
                          buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
# The label of a request no route matched: never the raw path, which is the client's to
# choose (and would make a series per path).
UNMATCHED_ROUTE = "unmatched"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Every counter and histogram above: what /metrics shows outside multiprocess mode.
_COUNTED = (CALLBACKS, RECEIPTS, OUT_OF_ORDER, CORRECTIONS, DUPLICATES, INGEST_LAG,
            ENQUEUE_DROPPED, UNMATCHED, HANDSET_LATENCY, RECEIPT_LAG, DELIVERIES,
            ATTEMPT_SECONDS, HTTP_REQUESTS, HTTP_DURATION)


def record_callback(provider: str, outcome: str) -> None:
    """Count one callback by provider and outcome."""
    CALLBACKS.labels(provider, outcome).inc()


def record_ingest(report: IngestReport) -> None:
    """Count what one ingest run stored."""
    for (provider, status, reason_class), count in report.by_status.items():
        RECEIPTS.labels(provider, status, reason_class).inc(count)
    if report.duplicates:
        DUPLICATES.inc(report.duplicates)
    for provider, count in report.out_of_order.items():
        OUT_OF_ORDER.labels(provider).inc(count)
    if report.corrections:
        CORRECTIONS.inc(report.corrections)
    observe_many(INGEST_LAG, report.lags)
    for provider, count in report.unmatched.items():
        UNMATCHED.labels(provider).inc(count)
    handset: dict[str, list[float]] = {}
    lags: dict[str, list[float]] = {}
    for provider, handset_s, lag_s in report.finals:
        if handset_s is not None:
            handset.setdefault(provider, []).append(handset_s)
        if lag_s is not None:
            lags.setdefault(provider, []).append(lag_s)
    for provider, values in handset.items():
        observe_many(HANDSET_LATENCY.labels(provider), values)
    for provider, values in lags.items():
        observe_many(RECEIPT_LAG.labels(provider), values)


def record_attempts(attempts: Sequence[tuple[DeliveryStatus, float]]) -> None:
    """Count recorded delivery attempts: what each left its delivery as, and its seconds."""
    for status, count in Tally(status for status, _ in attempts).items():
        DELIVERIES.labels(DELIVERY_OUTCOMES[status]).inc(count)
    observe_many(ATTEMPT_SECONDS, [seconds for _, seconds in attempts])


def record_request(route: str | None, method: str, status: int, seconds: float) -> None:
    """Count one HTTP request under its route template (``None``: no route matched)."""
    label = route or UNMATCHED_ROUTE
    verb = method if method in _METHODS else "other"
    HTTP_REQUESTS.labels(label, verb, str(status)).inc()
    HTTP_DURATION.labels(label, verb).observe(seconds)


def observe_many(histogram: Histogram, values: Sequence[float]) -> None:
    """Observe each of ``values``: the same counts as one ``observe`` each, at a few writes.

    A batch of 10,000 receipts makes as many latencies, and in multiprocess mode each
    ``observe`` writes the sum and a bucket to the process's file (~7 us here). The
    values are counted per bucket first, then each bucket and the sum are added to once.
    Reads the histogram's own bounds and values (prometheus_client has no public bulk
    observe); tests/unit/services/test_metrics.py holds the result equal to one
    ``observe`` per value.
    """
    if not values:
        return
    child: Any = histogram
    bounds: Sequence[float] = child._upper_bounds
    per_bucket = Tally(bisect_left(bounds, v) for v in values)
    for i, n in per_bucket.items():
        child._buckets[min(i, len(bounds) - 1)].inc(n)
    child._sum.inc(math.fsum(values))


class InboxCollector(Collector):
    """Read the inbox backlog from the database at scrape time."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Yield the pending count and the age of the oldest pending callback."""
        pending = GaugeMetricFamily("dlrhub_inbox_pending", "Callbacks waiting for ingest.")
        oldest = GaugeMetricFamily("dlrhub_inbox_oldest_pending_seconds",
                                   "Age of the oldest callback waiting for ingest.")
        try:
            with scrape_connection(self._engine) as conn:
                backlog = system.inbox_backlog(conn, utcnow())
        except SQLAlchemyError:
            return
        pending.add_metric([], backlog.pending)
        oldest.add_metric([], backlog.oldest_age.total_seconds() if backlog.oldest_age else 0.0)
        yield pending
        yield oldest


# A scrape never waits on the database longer than this (PostgreSQL; SQLite's reads
# of these indexes are local and short).
SCRAPE_STATEMENT_TIMEOUT_MS = 2000


@contextmanager
def scrape_connection(engine: Engine) -> Iterator[Connection]:
    """Return a connection whose statements give up after ``SCRAPE_STATEMENT_TIMEOUT_MS``."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            # For this transaction only: the pooled connection is rolled back after.
            conn.execute(sql_text(
                f"SET LOCAL statement_timeout = {SCRAPE_STATEMENT_TIMEOUT_MS}"))
        yield conn


class RelayCollector(Collector):
    """Read the relay's backlog and held endpoints from the database at scrape time."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Yield pending and dead deliveries, the oldest pending's age, held endpoints."""
        now = utcnow()
        try:
            with scrape_connection(self._engine) as conn:
                backlog = system.delivery_backlog(conn)
                oldest = system.oldest_pending_delivery(conn, now)
                endpoints = system.endpoint_states(conn, now)
        except SQLAlchemyError:  # the database is away: no sample, never a failed scrape
            return
        yield _gauge("dlrhub_deliveries_pending",
                     "Deliveries waiting to be sent or retried.", backlog.pending)
        yield _gauge("dlrhub_deliveries_dead",
                     "Deliveries the relay gave up on (retries exhausted).", backlog.dead)
        yield _gauge("dlrhub_deliveries_oldest_pending_seconds",
                     "Age of the oldest delivery waiting to be sent or retried (0: none).",
                     max(oldest.total_seconds(), 0.0) if oldest else 0.0)
        yield _gauge("dlrhub_endpoints_circuit_open",
                     "Endpoints whose circuit is open: their deliveries are parked.",
                     endpoints.circuit_open)
        yield _gauge("dlrhub_endpoints_disabled",
                     "Endpoints disabled (by their tenant, or after failing for days).",
                     endpoints.disabled)


class QueueCollector(Collector):
    """Read the length of each broker queue at scrape time."""

    def __init__(self, depths: Callable[[], Mapping[str, int | None]]) -> None:
        self._depths = depths

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Yield the messages waiting in each queue the broker could tell of."""
        family = GaugeMetricFamily("dlrhub_queue_depth",
                                   "Task messages waiting in a broker queue.",
                                   labels=["queue"])
        for queue, depth in self._depths().items():
            if depth is not None:  # the broker could not tell: no sample
                family.add_metric([queue], depth)
        yield family


def _gauge(name: str, help_text: str, value: float) -> GaugeMetricFamily:
    gauge = GaugeMetricFamily(name, help_text)
    gauge.add_metric([], value)
    return gauge


class WorkerCollector(Collector):
    """Read the workers' newest heartbeat from the database at scrape time."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Yield the seconds since any worker process last recorded its heartbeat."""
        try:
            with scrape_connection(self._engine) as conn:
                newest = heartbeats.last_seen(conn)
        except SQLAlchemyError:
            return
        if newest is None:  # no worker ever: no sample, rather than a made-up age
            return
        family = GaugeMetricFamily(
            "dlrhub_worker_last_seen_seconds",
            "Seconds since a worker process last recorded its heartbeat.")
        family.add_metric([], max((utcnow() - newest).total_seconds(), 0.0))
        yield family


class ExpectationCollector(Collector):
    """Read the expected messages still waiting from the database at scrape time."""

    # Each count reads one of the sweep's partial indexes, never the table's met rows.
    _COUNTS = (
        ("dlrhub_expectations_pending",
         "Expected messages whose final receipt has not come, before the deadline.",
         "state = 'pending'"),
        ("dlrhub_expectations_missing",
         "Expected messages whose final receipt did not come by the deadline, not yet "
         "given up at the horizon.",
         "state = 'missing' AND synthetic_at IS NULL"),
    )

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Yield how many expectations are pending and how many are missing."""
        gauges = []
        try:
            with scrape_connection(self._engine) as conn:
                for name, help_text, where in self._COUNTS:
                    # A constant WHERE, written out so that it matches the index's.
                    count = conn.execute(sql_text(
                        f"SELECT count(*) FROM expectation WHERE {where}")).scalar_one()  # noqa: S608
                    gauge = GaugeMetricFamily(name, help_text)
                    gauge.add_metric([], count)
                    gauges.append(gauge)
        except SQLAlchemyError:
            return
        yield from gauges


def render(engine: Engine,
           queue_depths: Callable[[], Mapping[str, int | None]] | None = None) -> bytes:
    """Return the metrics page: every process's counters plus the gauges read now.

    The gauges are read here, by the process that answers the scrape, into this
    scrape's registry: in multiprocess mode they are never written to the shared
    folder, so they are never added up across the API's processes.
    """
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = _multiprocess_registry()
    else:
        registry = CollectorRegistry()
        for collector in _COUNTED:
            registry.register(collector)
    registry.register(InboxCollector(engine))
    registry.register(ExpectationCollector(engine))
    registry.register(WorkerCollector(engine))
    registry.register(RelayCollector(engine))
    if queue_depths is not None:
        registry.register(QueueCollector(queue_depths))
    return generate_latest(registry)


def serve_worker_metrics(port: int) -> None:
    """Serve this worker's counters (all its pool processes) on ``port``."""
    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = _multiprocess_registry()
    start_http_server(port, registry=registry)


def _multiprocess_registry() -> CollectorRegistry:
    """Return a registry that reads the counters every process wrote to the shared dir."""
    registry = CollectorRegistry()
    # prometheus_client leaves this constructor unannotated.
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry
