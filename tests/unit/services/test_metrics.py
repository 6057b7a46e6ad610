"""What an ingest run and the relay count into the metrics; what a scrape reads."""

from __future__ import annotations

from collections import Counter

import pytest
from prometheus_client import REGISTRY, CollectorRegistry, Histogram
from sqlalchemy import create_engine

from dlrhub.models import DeliveryStatus
from dlrhub.services.ingest import IngestReport
from dlrhub.services.metrics import (
    QueueCollector,
    observe_many,
    record_attempts,
    record_ingest,
    render,
)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_out_of_order_receipts_and_corrections_are_counted_by_provider() -> None:
    late, corrections = (sample("dlrhub_receipts_out_of_order_total", provider="huawei"),
                         sample("dlrhub_status_corrections_total"))
    report = IngestReport(out_of_order=Counter({"huawei": 2}), corrections=1)
    record_ingest(report)
    assert sample("dlrhub_receipts_out_of_order_total", provider="huawei") == late + 2
    assert sample("dlrhub_status_corrections_total") == corrections + 1


def test_latencies_of_messages_that_became_final_are_observed_by_provider() -> None:
    def counts() -> tuple[float, float, float]:
        return (sample("dlrhub_handset_latency_seconds_count", provider="nxcloud"),
                sample("dlrhub_handset_latency_seconds_bucket", provider="nxcloud", le="5.0"),
                sample("dlrhub_receipt_lag_seconds_count", provider="nxcloud"))

    handset, fast, lag = counts()
    # the second message's provider gave no submission time: no handset latency
    record_ingest(IngestReport(finals=[("nxcloud", 4.0, 1.5), ("nxcloud", None, 30.0)]))
    assert counts() == (handset + 1, fast + 1, lag + 2)


def test_observing_many_counts_as_one_observe_each() -> None:
    registry = CollectorRegistry()
    bounds = (0.5, 1.0, 5.0, 60.0)
    one_by_one = Histogram("one_seconds", "h", buckets=bounds, registry=registry)
    at_once = Histogram("many_seconds", "h", buckets=bounds, registry=registry)
    values = [0.0, 0.5, 0.50001, 1.0, 3.3, 5.0, 59.9, 60.0, 61.0, 1e9, -2.0, 0.7] * 50
    for v in values:
        one_by_one.observe(v)
    observe_many(at_once, values)
    observe_many(at_once, [])

    def buckets(name: str) -> dict[str, float]:
        return {s.labels["le"]: s.value for m in registry.collect() if m.name == name
                for s in m.samples if s.name.endswith("_bucket")}

    assert buckets("many_seconds") == buckets("one_seconds")
    assert registry.get_sample_value("many_seconds_count") == len(values)
    assert registry.get_sample_value("many_seconds_sum") == pytest.approx(
        registry.get_sample_value("one_seconds_sum"))


def test_each_recorded_attempt_counts_by_what_it_left_its_delivery() -> None:
    outcomes = ("succeeded", "failed", "retrying", "dead")
    before = {o: sample("dlrhub_deliveries_total", outcome=o) for o in outcomes}
    timed = sample("dlrhub_delivery_attempt_seconds_count")
    record_attempts([(DeliveryStatus.succeeded, 0.2), (DeliveryStatus.pending, 10.0),
                     (DeliveryStatus.pending, 0.01), (DeliveryStatus.dead, 3.0)])
    after = {o: sample("dlrhub_deliveries_total", outcome=o) - before[o] for o in outcomes}
    assert after == {"succeeded": 1, "failed": 0, "retrying": 2, "dead": 1}
    assert sample("dlrhub_delivery_attempt_seconds_count") == timed + 4


def test_a_scrape_without_its_database_or_broker_answers_the_counters_alone() -> None:
    away = create_engine("postgresql+psycopg://postgres@127.0.0.1:1/nowhere",
                         connect_args={"connect_timeout": 2})
    page = render(away, lambda: {"ingest": None, "relay": None}).decode()
    assert "dlrhub_callbacks_total" in page
    for read_at_scrape in ("dlrhub_deliveries_pending", "dlrhub_inbox_pending",
                           "dlrhub_endpoints_disabled", 'dlrhub_queue_depth{'):
        assert read_at_scrape not in page


def test_only_the_queues_the_broker_could_tell_of_are_shown() -> None:
    registry = CollectorRegistry()
    registry.register(QueueCollector(lambda: {"ingest": 7, "relay": None}))
    assert registry.get_sample_value("dlrhub_queue_depth", {"queue": "ingest"}) == 7
    assert registry.get_sample_value("dlrhub_queue_depth", {"queue": "relay"}) is None
